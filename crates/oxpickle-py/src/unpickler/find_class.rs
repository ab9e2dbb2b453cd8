//! `find_class`: from (module, name) to the object, as CPython's unpickler
//! resolves it: audit event, Python 2 names mapped for protocols below 3,
//! dotted names followed from protocol 4.

use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::ffi::{
    audit_find_class, global_not_found, global_path_not_found, import_module, local_path_refused,
};
use crate::stdlib::Stdlib;

pub fn find_class<'py>(
    module: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
    proto: u8,
    fix_imports: bool,
    stdlib: &Stdlib,
) -> PyResult<Bound<'py, PyAny>> {
    audit_find_class(module, name)?;
    let (module_name, name) = if proto < 3 && fix_imports {
        python3_name(module, name, stdlib)?
    } else {
        (module.clone(), name.clone())
    };
    let module = import_module(&module_name)?;
    attribute(&module_name, &module, &name, proto >= 4)
}

/// `name` on `module`: from protocol 4 a dotted path followed part by
/// part, before it one attribute whatever its text. A miss is worded as
/// the running CPython words it (see `ffi::globals`).
fn attribute<'py>(
    module_name: &Bound<'py, PyAny>,
    module: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
    dotted: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = module.py();
    let Ok(name) = name.cast::<PyString>() else {
        // The TypeError getattr raises (find_class called with a name
        // that is not a str; a pickle's names are str by now).
        return Err(PyTypeError::new_err(format!(
            "attribute name must be string, not '{}'",
            name.get_type().name()?
        )));
    };
    let text = name.to_str()?;
    if dotted {
        if let Some(err) = local_path_refused(module, name)? {
            return Err(err);
        }
    }
    if !dotted || !text.contains('.') {
        return match module.getattr(name) {
            Err(err) if err.is_instance_of::<PyAttributeError>(py) => {
                Err(global_not_found(module, name, err)?)
            }
            found => found,
        };
    }
    let mut current = module.clone();
    for part in text.split('.') {
        current = match current.getattr(PyString::new(py, part)) {
            Err(err) if err.is_instance_of::<PyAttributeError>(py) => {
                return Err(global_path_not_found(module_name, module, name, err)?);
            }
            found => found?,
        };
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
