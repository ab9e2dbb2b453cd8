//! The module functions: `dumps`, `dump`, `loads`, `load`. They run the
//! engine directly, without building Pickler/Unpickler objects.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyMemoryView};

use crate::pickler::{
    self, file_write, resolve_buffer_callback, resolve_protocol, Hooks, Settings,
};
use crate::signing;
use crate::unpickler::{self, buffers_iterator, LoadHooks, LoadLimits, LoadPolicy, LoadSettings};

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

/// What a module-level load was asked for.
struct LoadArgs<'a, 'py> {
    fix_imports: bool,
    encoding: &'a str,
    errors: &'a str,
    buffers: Option<Bound<'py, PyAny>>,
    allow: Option<Bound<'py, PyAny>>,
    limits: Option<LoadLimits>,
    persistent_load: Option<Bound<'py, PyAny>>,
}

impl<'py> LoadArgs<'_, 'py> {
    /// The settings and hooks of the load.
    fn setup(self) -> PyResult<(LoadSettings, LoadHooks<'py>)> {
        let policy = LoadPolicy::new(self.allow.as_ref(), self.limits)?;
        let settings = LoadSettings::new(self.fix_imports, self.encoding, self.errors, policy)?;
        let hooks = LoadHooks {
            buffers: buffers_iterator(self.buffers)?,
            persistent_load: self.persistent_load.filter(|p| !p.is_none()),
            ..LoadHooks::default()
        };
        Ok((settings, hooks))
    }
}

/// `key=` given and not None: the keys it names.
fn signing_keys(key: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<Vec<u8>>>> {
    key.filter(|key| !key.is_none()).map(signing::keys).transpose()
}

/// Return the pickled representation of obj as a bytes object.
///
/// With key=, the result starts with an HMAC-SHA256 signature that
/// loads(..., key=) checks before running anything.
#[pyfunction]
#[pyo3(signature = (obj, protocol=None, *, fix_imports=true, buffer_callback=None, deterministic=false, key=None))]
pub fn dumps<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    protocol: Option<&Bound<'py, PyAny>>,
    fix_imports: bool,
    buffer_callback: Option<Bound<'py, PyAny>>,
    deterministic: bool,
    key: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let keys = signing_keys(key)?;
    let settings = dump_settings(protocol, fix_imports, deterministic)?;
    let buffer_callback = resolve_buffer_callback(buffer_callback, settings.protocol)?;
    let pickle = pickler::dumps(py, obj, settings, Hooks { buffer_callback, ..Hooks::default() })?;
    match keys {
        Some(keys) => signing::signed(py, &keys, pickle.as_bytes()),
        None => Ok(pickle),
    }
}

/// Write a pickled representation of obj to the open file object file.
///
/// With key=, the pickle is built in memory, signed, then written.
#[pyfunction]
#[pyo3(signature = (obj, file, protocol=None, *, fix_imports=true, buffer_callback=None, deterministic=false, key=None))]
#[allow(clippy::too_many_arguments)] // The stdlib's signature, plus ours.
pub fn dump<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    file: &Bound<'py, PyAny>,
    protocol: Option<&Bound<'py, PyAny>>,
    fix_imports: bool,
    buffer_callback: Option<Bound<'py, PyAny>>,
    deterministic: bool,
    key: Option<&Bound<'py, PyAny>>,
) -> PyResult<()> {
    let write = file_write(file)?;
    if key.is_some_and(|key| !key.is_none()) {
        let signed = dumps(py, obj, protocol, fix_imports, buffer_callback, deterministic, key)?;
        write.call1((signed,))?;
        return Ok(());
    }
    let settings = dump_settings(protocol, fix_imports, deterministic)?;
    let buffer_callback = resolve_buffer_callback(buffer_callback, settings.protocol)?;
    pickler::dump_to(py, obj, write, settings, Hooks { buffer_callback, ..Hooks::default() })
}

/// Read and return an object from the given pickle data.
///
/// allow= loads untrusted data: only the globals it names (profiles such
/// as "data" or "numpy", or "module.qualname" strings) resolve. key=
/// checks the signature dumps(..., key=) wrote before anything runs.
/// limits= bounds nesting, memo size and what calls may allocate.
#[pyfunction]
#[pyo3(signature = (data, /, *, fix_imports=true, encoding="ASCII", errors="strict", buffers=None, allow=None, key=None, limits=None, persistent_load=None))]
#[allow(clippy::too_many_arguments)] // The stdlib's signature, plus ours.
pub fn loads<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    fix_imports: bool,
    encoding: &str,
    errors: &str,
    buffers: Option<Bound<'py, PyAny>>,
    allow: Option<Bound<'py, PyAny>>,
    key: Option<&Bound<'py, PyAny>>,
    limits: Option<LoadLimits>,
    persistent_load: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let keys = signing_keys(key)?;
    let args = LoadArgs { fix_imports, encoding, errors, buffers, allow, limits, persistent_load };
    let (settings, hooks) = args.setup()?;
    let load = |data: &[u8]| match &keys {
        Some(keys) => {
            let pickle = signing::opened(py, data, keys)?;
            unpickler::load_from_memory(py, pickle, &settings, hooks)
        }
        None => {
            signing::refuse_if_signed(py, data)?;
            unpickler::load_from_memory(py, data, &settings, hooks)
        }
    };
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return load(bytes.as_bytes());
    }
    // Other bytes-like objects are copied first: Python code run by the
    // load (a __setstate__, say) could otherwise change them under us.
    let copy = PyMemoryView::from(data)?.call_method0(pyo3::intern!(py, "tobytes"))?;
    load(copy.cast::<PyBytes>()?.as_bytes())
}

/// Read and return an object from the pickle data stored in a file.
///
/// allow=, key= and limits= work as for loads(). With key=, one signed
/// pickle is read whole and checked before it is loaded.
#[pyfunction]
#[pyo3(signature = (file, *, fix_imports=true, encoding="ASCII", errors="strict", buffers=None, allow=None, key=None, limits=None, persistent_load=None))]
#[allow(clippy::too_many_arguments)] // The stdlib's signature, plus ours.
pub fn load<'py>(
    py: Python<'py>,
    file: &Bound<'py, PyAny>,
    fix_imports: bool,
    encoding: &str,
    errors: &str,
    buffers: Option<Bound<'py, PyAny>>,
    allow: Option<Bound<'py, PyAny>>,
    key: Option<&Bound<'py, PyAny>>,
    limits: Option<LoadLimits>,
    persistent_load: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let keys = signing_keys(key)?;
    let args = LoadArgs { fix_imports, encoding, errors, buffers, allow, limits, persistent_load };
    let (settings, hooks) = args.setup()?;
    match keys {
        Some(keys) => {
            let read = unpickler::file_methods(file)?.read;
            let pickle = signing::read_signed(&read, &keys)?;
            unpickler::load_from_memory(py, &pickle, &settings, hooks)
        }
        None => unpickler::load_from_file(py, file, &settings, hooks),
    }
}
