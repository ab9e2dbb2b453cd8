//! The dict behind a class's `__dict__` proxy: public from 3.12
//! (`PyType_GetDict`), the type's `tp_dict` field before it.

use pyo3::ffi;
use pyo3::prelude::*;

/// The address of the dict holding a class's namespace, which code
/// compiled in the class body (3.14's `__annotate__`, say) captures in a
/// `__classdict__` cell. An identity only: nothing is read through it.
pub fn class_namespace_address(class: &Bound<'_, PyAny>) -> usize {
    let ty = class.as_ptr().cast::<ffi::PyTypeObject>();
    #[cfg(Py_3_12)]
    {
        // SAFETY: `class` is a live type object; the call returns a new
        // reference to its dict (null, with an error set, only for a type
        // without one), released at once: the type keeps the dict alive.
        unsafe {
            let dict = ffi::PyType_GetDict(ty);
            if dict.is_null() {
                ffi::PyErr_Clear();
                return 0;
            }
            ffi::Py_DECREF(dict);
            dict as usize
        }
    }
    #[cfg(not(Py_3_12))]
    // SAFETY: `class` is a live type object; reading a field of its header.
    unsafe {
        (*ty).tp_dict as usize
    }
}
