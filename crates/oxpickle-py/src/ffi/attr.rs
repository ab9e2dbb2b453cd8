//! `getattr(obj, name, None)` without building an AttributeError: public
//! from 3.13 (`PyObject_GetOptionalAttr`), private before it, and on 3.11
//! read from a module's namespace, whose getattr builds one regardless.

use pyo3::ffi;
use pyo3::prelude::*;
#[cfg(not(Py_3_12))]
use pyo3::types::PyModule;
use pyo3::types::PyString;

#[cfg(not(Py_3_13))]
extern "C" {
    /// `getattr` that reports a missing attribute without raising (and so
    /// without building an AttributeError); `PyObject_GetOptionalAttr` from 3.13.
    fn _PyObject_LookupAttr(
        obj: *mut ffi::PyObject,
        name: *mut ffi::PyObject,
        result: *mut *mut ffi::PyObject,
    ) -> std::ffi::c_int;
}

/// `getattr(obj, name, None)` without the cost of an AttributeError when
/// the attribute is missing, which the hot paths hit constantly (BUILD
/// asking for `__setstate__`, say).
#[inline]
pub fn lookup_attr<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    #[cfg(not(Py_3_12))]
    if let Some(found) = module_attribute(obj, name)? {
        return Ok(found);
    }
    let mut result = std::ptr::null_mut();
    // SAFETY: both are live objects; on 1 `result` is a new reference, on 0
    // it is null with no exception, on -1 an exception is set.
    let found = unsafe {
        #[cfg(Py_3_13)]
        let found = ffi::PyObject_GetOptionalAttr(obj.as_ptr(), name.as_ptr(), &mut result);
        #[cfg(not(Py_3_13))]
        let found = _PyObject_LookupAttr(obj.as_ptr(), name.as_ptr(), &mut result);
        found
    };
    match found {
        0 => Ok(None),
        // SAFETY: a new reference we now own.
        1 => Ok(Some(unsafe { Bound::from_owned_ptr(obj.py(), result) })),
        _ => Err(PyErr::fetch(obj.py())),
    }
}

/// 3.11's module getattr formats an AttributeError for a missing name (and
/// asks the module's spec whether it is still initialising, for the
/// message) even when the caller discards it; 3.12 skips that. Pickling
/// by value asks a module for names it lacks all the time (`<lambda>`),
/// so look in the namespace: for a plain module without `__getattr__`,
/// a name that is not a dunder (the module type has only dunders) is an
/// entry there or missing. None means: ask the usual way.
#[cfg(not(Py_3_12))]
fn module_attribute<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Option<Bound<'py, PyAny>>>> {
    let Ok(module) = obj.cast_exact::<PyModule>() else {
        return Ok(None);
    };
    // A name with a lone surrogate has no UTF-8 form: the usual way then.
    if name.to_str().map_or(true, |text| text.starts_with("__")) {
        return Ok(None);
    }
    let namespace = module.dict();
    match namespace.get_item(name)? {
        Some(value) => Ok(Some(Some(value))),
        None if namespace.contains(pyo3::intern!(obj.py(), "__getattr__"))? => Ok(None),
        None => Ok(Some(None)),
    }
}
