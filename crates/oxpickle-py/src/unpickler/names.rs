//! Attribute names for BUILD, interned once per key object.
//!
//! BUILD interns each state key, as CPython's unpickler does, so instance
//! dicts share their keys with the class and `PyObject_SetAttr` finds the
//! name interned. A key read from a pickle is a new str equal to the
//! interned name: interning it returns that name but leaves the key as it
//! was, so each instance would pay the interned-table lookup again. The
//! same key object comes back from the memo for every instance, so a small
//! table from key object to interned name answers with one comparison.

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::ffi::intern_in_place;

/// Entries; a collision only costs the interned-table lookup again.
const SLOTS: usize = 64;

#[derive(Default)]
pub struct InternedNames {
    /// (key object, its interned name), by the key's address. The key is
    /// held, so its address cannot be reused by another object.
    slots: Vec<Option<(Py<PyString>, Py<PyString>)>>,
}

impl InternedNames {
    /// The interned str equal to `key`.
    pub fn intern<'py>(&mut self, key: Bound<'py, PyString>) -> Bound<'py, PyString> {
        let py = key.py();
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        // Objects are 16-byte aligned: the low bits say nothing.
        let slot = &mut self.slots[(key.as_ptr() as usize >> 4) % SLOTS];
        if let Some((cached, interned)) = slot {
            if cached.as_ptr() == key.as_ptr() {
                return interned.bind(py).clone();
            }
        }
        let interned = intern_in_place(key.clone());
        *slot = Some((key.unbind(), interned.clone().unbind()));
        interned
    }
}
