//! The module functions: `dumps`, `dump`, `loads`, `load`. They run the
//! engine directly, without building Pickler/Unpickler objects.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyMemoryView};

use crate::pickler::{
    self, file_write, resolve_buffer_callback, resolve_protocol, Hooks, Settings,
};
use crate::unpickler::{self, buffers_iterator, LoadHooks, LoadSettings};

fn dump_settings(
    protocol: Option<&Bound<'_, PyAny>>,
    fix_imports: bool,
    deterministic: bool,
) -> PyResult<Settings> {
    let protocol = resolve_protocol(protocol)?;
    Ok(Settings {
        protocol,
        bin: protocol > 0,
        fix_imports,
        fast: false,
        deterministic,
        one_shot: true,
    })
}

/// The settings and hooks of a module-level load.
fn load_setup<'py>(
    fix_imports: bool,
    encoding: &str,
    errors: &str,
    buffers: Option<Bound<'py, PyAny>>,
) -> PyResult<(LoadSettings, LoadHooks<'py>)> {
    let settings = LoadSettings::new(fix_imports, encoding, errors)?;
    Ok((settings, LoadHooks { buffers: buffers_iterator(buffers)?, ..LoadHooks::default() }))
}

/// Return the pickled representation of obj as a bytes object.
#[pyfunction]
#[pyo3(signature = (obj, protocol=None, *, fix_imports=true, buffer_callback=None, deterministic=false))]
pub fn dumps<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    protocol: Option<&Bound<'py, PyAny>>,
    fix_imports: bool,
    buffer_callback: Option<Bound<'py, PyAny>>,
    deterministic: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let settings = dump_settings(protocol, fix_imports, deterministic)?;
    let buffer_callback = resolve_buffer_callback(buffer_callback, settings.protocol)?;
    pickler::dumps(py, obj, settings, Hooks { buffer_callback, ..Hooks::default() })
}

/// Write a pickled representation of obj to the open file object file.
#[pyfunction]
#[pyo3(signature = (obj, file, protocol=None, *, fix_imports=true, buffer_callback=None, deterministic=false))]
pub fn dump<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    file: &Bound<'py, PyAny>,
    protocol: Option<&Bound<'py, PyAny>>,
    fix_imports: bool,
    buffer_callback: Option<Bound<'py, PyAny>>,
    deterministic: bool,
) -> PyResult<()> {
    let settings = dump_settings(protocol, fix_imports, deterministic)?;
    let write = file_write(file)?;
    let buffer_callback = resolve_buffer_callback(buffer_callback, settings.protocol)?;
    pickler::dump_to(py, obj, write, settings, Hooks { buffer_callback, ..Hooks::default() })
}

/// Read and return an object from the given pickle data.
#[pyfunction]
#[pyo3(signature = (data, /, *, fix_imports=true, encoding="ASCII", errors="strict", buffers=None))]
pub fn loads<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    fix_imports: bool,
    encoding: &str,
    errors: &str,
    buffers: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (settings, hooks) = load_setup(fix_imports, encoding, errors, buffers)?;
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return unpickler::load_from_memory(py, bytes.as_bytes(), &settings, hooks);
    }
    // Other bytes-like objects are copied first: Python code run by the
    // load (a __setstate__, say) could otherwise change them under us.
    let copy = PyMemoryView::from(data)?.call_method0(pyo3::intern!(py, "tobytes"))?;
    let copy = copy.cast::<PyBytes>()?;
    unpickler::load_from_memory(py, copy.as_bytes(), &settings, hooks)
}

/// Read and return an object from the pickle data stored in a file.
#[pyfunction]
#[pyo3(signature = (file, *, fix_imports=true, encoding="ASCII", errors="strict", buffers=None))]
pub fn load<'py>(
    py: Python<'py>,
    file: &Bound<'py, PyAny>,
    fix_imports: bool,
    encoding: &str,
    errors: &str,
    buffers: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (settings, hooks) = load_setup(fix_imports, encoding, errors, buffers)?;
    unpickler::load_from_file(py, file, &settings, hooks)
}
