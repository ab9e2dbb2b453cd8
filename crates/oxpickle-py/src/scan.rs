//! `scan(data)` and `show(data)`: the core crate's scanner and value
//! machine, for `python -m oxpickle scan` and `show`. Nothing in the data
//! is imported or run; both release the GIL while they read.

use oxpickle_core::allowlist::{Profile, PROFILES};
use oxpickle_core::scan::{scan_from, Import, Note, Scan, StreamScan};
use oxpickle_core::value::load_at;
use oxpickle_core::{Allowlist, ValueLimits};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// scan(data, /, allow=(), *, start=0)
/// --
///
/// What loading the pickles of `data` from byte `start` on would import:
/// a dict with the overall "verdict" ("safe", "unknown" or "dangerous"),
/// "unreadable" (why the data is not a pickle, or None), "streams" (one
/// dict per pickle) and "rest" (trailing bytes that are not a pickle, or
/// None). `allow` holds profile names and "module.qualname" globals.
#[pyfunction]
#[pyo3(signature = (data, /, allow=Vec::new(), *, start=0))]
pub fn scan<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    allow: Vec<String>,
    start: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let allowlist = Allowlist::from_entries(allow.iter().map(String::as_str))
        .map_err(|err| PyValueError::new_err(err.to_string()))?;
    let bytes = data.as_bytes();
    let found = py.detach(|| scan_from(bytes, start, &allowlist));
    scan_dict(py, &found)
}

fn scan_dict<'py>(py: Python<'py>, found: &Scan) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("verdict", found.verdict().as_str())?;
    dict.set_item("unreadable", found.unreadable().map(ToString::to_string))?;
    let streams = PyList::empty(py);
    for stream in &found.streams {
        streams.append(stream_dict(py, stream)?)?;
    }
    dict.set_item("streams", streams)?;
    let rest = match &found.rest {
        Some(rest) => {
            let item = PyDict::new(py);
            item.set_item("offset", rest.offset)?;
            item.set_item("error", rest.error.to_string())?;
            Some(item)
        }
        None => None,
    };
    dict.set_item("rest", rest)?;
    Ok(dict)
}

fn stream_dict<'py>(py: Python<'py>, stream: &StreamScan) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("offset", stream.offset)?;
    dict.set_item("end", stream.end.as_ref().ok())?;
    dict.set_item("error", stream.end.as_ref().err().map(ToString::to_string))?;
    dict.set_item("protocol", stream.protocol)?;
    dict.set_item("verdict", stream.verdict().as_str())?;
    let imports = PyList::empty(py);
    for import in &stream.imports {
        imports.append(import_dict(py, import)?)?;
    }
    dict.set_item("imports", imports)?;
    let notes = PyList::empty(py);
    for note in &stream.notes {
        notes.append(note_dict(py, note)?)?;
    }
    dict.set_item("notes", notes)?;
    Ok(dict)
}

fn import_dict<'py>(py: Python<'py>, import: &Import) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("module", &import.module)?;
    dict.set_item("name", &import.name)?;
    let written = import.written.as_ref().map(|(module, name)| format!("{module}.{name}"));
    dict.set_item("written", written)?;
    dict.set_item("verdict", import.verdict.as_str())?;
    dict.set_item("why", import.why)?;
    Ok(dict)
}

fn note_dict<'py>(py: Python<'py>, note: &Note) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("kind", note.kind.as_str())?;
    dict.set_item("detail", &note.detail)?;
    dict.set_item("verdict", note.verdict.as_str())?;
    Ok(dict)
}

/// A profile as `allowlist_profiles` gives it: its name, its summary, and
/// each global with what its calls' arguments are checked for.
type ProfileRow = (&'static str, &'static str, Vec<(&'static str, &'static str, &'static str)>);

/// allowlist_profiles()
/// --
///
/// The allowlist profiles `allow=` and `--allow` accept, from the core's
/// profile table: (name, summary, globals) triples, each global a
/// (module, qualname, argument rule) triple.
#[pyfunction]
pub fn allowlist_profiles() -> Vec<ProfileRow> {
    let globals = |profile: &Profile| {
        profile
            .globals
            .iter()
            .map(|entry| (entry.module, entry.qualname, entry.rule.describe()))
            .collect()
    };
    PROFILES.iter().map(|profile| (profile.name, profile.summary, globals(profile))).collect()
}

/// show(data, /, *, json=False, max_chars=1000000)
/// --
///
/// The value of each pickle in `data`, one after another, decoded without
/// importing or running anything: a list of (byte offset, text) pairs,
/// the text Python-like (cut near `max_chars` characters) or JSON, and the
/// error that stopped the reading, or None.
#[pyfunction]
#[pyo3(signature = (data, /, *, json=false, max_chars=1_000_000))]
pub fn show(
    py: Python<'_>,
    data: &Bound<'_, PyBytes>,
    json: bool,
    max_chars: usize,
) -> (Vec<(usize, String)>, Option<String>) {
    let bytes = data.as_bytes();
    py.detach(|| {
        let mut shown = Vec::new();
        let mut offset = 0;
        while offset < bytes.len() || offset == 0 {
            match load_at(bytes, offset, ValueLimits::default()) {
                Ok((document, end)) => {
                    let root = document.root();
                    let text = if json {
                        document.to_json(root)
                    } else {
                        document.render(root, max_chars)
                    };
                    shown.push((offset, text));
                    offset = end;
                }
                Err(err) => {
                    return (shown, Some(format!("{err} (pickle starting at byte {offset})")))
                }
            }
        }
        (shown, None)
    })
}
