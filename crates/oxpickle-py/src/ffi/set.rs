//! Set iteration in table order, the order C pickle writes a set's items.
//!
//! CPython has no public API for it: `_PySet_NextEntry`, which C pickle
//! calls, is exported on every supported version (an internal header's
//! since 3.13). The alternative, the iterator protocol, costs an iterator
//! object and a call per item, and yields the same order.

use pyo3::ffi;
use pyo3::prelude::*;

extern "C" {
    fn _PySet_NextEntry(
        set: *mut ffi::PyObject,
        pos: *mut ffi::Py_ssize_t,
        key: *mut *mut ffi::PyObject,
        hash: *mut ffi::Py_hash_t,
    ) -> std::ffi::c_int;
}

/// The next entry of a set, advancing `pos`; borrowed, so the caller
/// takes its own reference.
pub fn set_next_entry<'py>(
    set: &Bound<'py, PyAny>,
    pos: &mut ffi::Py_ssize_t,
) -> Option<Bound<'py, PyAny>> {
    let mut key = std::ptr::null_mut();
    let mut hash: ffi::Py_hash_t = 0;
    // SAFETY: `set` is an exact set or frozenset; `pos` was started at 0
    // and only advanced by this function.
    let found = unsafe { _PySet_NextEntry(set.as_ptr(), pos, &mut key, &mut hash) };
    if found == 0 {
        return None;
    }
    // SAFETY: the entry is a borrowed, live reference; we take our own.
    Some(unsafe { Bound::from_borrowed_ptr(set.py(), key) })
}
