//! `find_class`: from (module, name) to the object, as CPython's unpickler
//! resolves it: audit event, Python 2 names mapped for protocols below 3,
//! dotted names followed from protocol 4.

use pyo3::exceptions::{PyAttributeError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::ffi::lookup_attr;
use crate::ffi::{audit_find_class, import_module};
use crate::stdlib::Stdlib;

pub fn find_class<'py>(
    module: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
    proto: u8,
    fix_imports: bool,
    stdlib: &Stdlib,
) -> PyResult<Bound<'py, PyAny>> {
    audit_find_class(module, name)?;
    let (module, name) = if proto < 3 && fix_imports {
        python3_name(module, name, stdlib)?
    } else {
        (module.clone(), name.clone())
    };
    let module = import_module(&module)?;
    attribute(&module, &name, proto >= 4)
}

/// `name` on `module`: a dotted path from protocol 4, one attribute before.
fn attribute<'py>(
    module: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
    dotted: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let missing = || -> PyResult<PyErr> {
        Ok(PyAttributeError::new_err(format!(
            "Can't get attribute {} on {}",
            name.repr()?,
            module.repr()?
        )))
    };
    if !dotted {
        return match name.cast::<PyString>() {
            Ok(name) => lookup_attr(module, name)?.map_or_else(|| Err(missing()?), Ok),
            Err(_) => Err(missing()?),
        };
    }
    let text = name.str()?.to_string();
    if text.split('.').any(|part| part == "<locals>") {
        return Err(PyAttributeError::new_err(format!(
            "Can't get local attribute {} on {}",
            name.repr()?,
            module.repr()?
        )));
    }
    let mut current = module.clone();
    for part in text.split('.') {
        match lookup_attr(&current, &PyString::new(current.py(), part))? {
            Some(next) => current = next,
            None => return Err(missing()?),
        }
    }
    Ok(current)
}

/// The Python 3 spelling of a Python 2 name, from `_compat_pickle`.
pub(super) fn python3_name<'py>(
    module: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
    stdlib: &Stdlib,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let py = module.py();
    let key = PyTuple::new(py, [module, name])?;
    if let Some(mapped) = stdlib.name_mapping_2to3.bind(py).get_item(key)? {
        let pair =
            mapped.cast::<PyTuple>().ok().filter(|pair| pair.len() == 2).ok_or_else(|| {
                PyRuntimeError::new_err("_compat_pickle.NAME_MAPPING values should be 2-tuples")
            })?;
        let (module, name) = (pair.get_item(0)?, pair.get_item(1)?);
        if !module.is_instance_of::<PyString>() || !name.is_instance_of::<PyString>() {
            return Err(PyRuntimeError::new_err(
                "_compat_pickle.NAME_MAPPING values should be pairs of str",
            ));
        }
        return Ok((module, name));
    }
    if let Some(mapped) = stdlib.import_mapping_2to3.bind(py).get_item(module)? {
        if !mapped.is_instance_of::<PyString>() {
            return Err(PyRuntimeError::new_err(
                "_compat_pickle.IMPORT_MAPPING values should be strings",
            ));
        }
        return Ok((mapped, name.clone()));
    }
    Ok((module.clone(), name.clone()))
}
