//! How the unpickler's `find_class` words a global it cannot find, which
//! changed in 3.14: before it, every miss reads "Can't get attribute …
//! on <module …>" and a dotted path through `<locals>` is refused before
//! any lookup, in 3.13's words ("Can't get local attribute"; 3.11 and
//! 3.12 say "Can't pickle local attribute" there, which reads as if the
//! load were a dump); from 3.14 a plain name keeps the interpreter's own
//! AttributeError ("module 'math' has no attribute 'spam'"), a dotted
//! path that breaks reads "Can't resolve path … on module …" with the
//! lookup that failed as its context, and `<locals>` is an ordinary part.

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// The error for `name` (one attribute, no path walk) missing from
/// `module`; `err` is the AttributeError the lookup raised.
pub fn global_not_found(
    module: &Bound<'_, PyAny>,
    name: &Bound<'_, PyString>,
    err: PyErr,
) -> PyResult<PyErr> {
    #[cfg(Py_3_14)]
    {
        let _ = (module, name);
        Ok(err)
    }
    #[cfg(not(Py_3_14))]
    {
        let _ = err;
        cannot_get(module, name.as_any())
    }
}

/// The error for the dotted `path` (protocol 4 and later) not leading
/// anywhere from the module imported as `module_name`; `err` is the
/// AttributeError of the part that is missing.
pub fn global_path_not_found(
    module_name: &Bound<'_, PyAny>,
    module: &Bound<'_, PyAny>,
    path: &Bound<'_, PyString>,
    err: PyErr,
) -> PyResult<PyErr> {
    #[cfg(Py_3_14)]
    {
        let _ = module;
        let py = path.py();
        let wrapped = PyAttributeError::new_err(format!(
            "Can't resolve path {} on module {}",
            path.repr()?,
            module_name.repr()?
        ));
        wrapped.set_context(py, Some(err));
        Ok(wrapped)
    }
    #[cfg(not(Py_3_14))]
    {
        let _ = (module_name, err);
        cannot_get(module, path.as_any())
    }
}

/// Before 3.14, the error for a dotted path with a `<locals>` part, which
/// is refused without looking anything up; from 3.14 None: the walk runs
/// and fails (or not) like any other.
pub fn local_path_refused(
    module: &Bound<'_, PyAny>,
    path: &Bound<'_, PyString>,
) -> PyResult<Option<PyErr>> {
    #[cfg(Py_3_14)]
    {
        let _ = (module, path);
        Ok(None)
    }
    #[cfg(not(Py_3_14))]
    {
        let through_locals = path.to_str()?.split('.').any(|part| part == "<locals>");
        if !through_locals {
            return Ok(None);
        }
        Ok(Some(PyAttributeError::new_err(format!(
            "Can't get local attribute {} on {}",
            path.repr()?,
            module.repr()?
        ))))
    }
}

#[cfg(not(Py_3_14))]
fn cannot_get(module: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>) -> PyResult<PyErr> {
    Ok(PyAttributeError::new_err(format!(
        "Can't get attribute {} on {}",
        name.repr()?,
        module.repr()?
    )))
}
