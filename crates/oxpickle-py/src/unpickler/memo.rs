//! The unpickler's memo: slot index → object.
//!
//! Slots are usually dense (0, 1, 2, …), so they live in a vector; an index
//! far beyond what has been stored (a hostile LONG_BINPUT 4294967295, say)
//! goes to a map instead, so memory stays proportional to what was stored.

use std::collections::HashMap;

use pyo3::prelude::*;

#[derive(Default)]
pub struct UnpickleMemo {
    dense: Vec<Option<Py<PyAny>>>,
    sparse: HashMap<usize, Py<PyAny>>,
    /// Slots holding an object; MEMOIZE stores at this index.
    filled: usize,
}

impl UnpickleMemo {
    /// Stores `obj` in the next slot, as MEMOIZE does.
    #[inline(always)]
    pub fn push(&mut self, obj: Py<PyAny>) {
        self.put(self.filled, obj);
    }

    /// Stores `obj` in slot `index`.
    #[inline(always)]
    pub fn put(&mut self, index: usize, obj: Py<PyAny>) {
        if index == self.dense.len() && index == self.filled {
            // The usual case: the next slot of a dense memo.
            self.dense.push(Some(obj));
            self.filled += 1;
            return;
        }
        self.put_elsewhere(index, obj);
    }

    /// `put` into a slot already filled, or past a gap.
    fn put_elsewhere(&mut self, index: usize, obj: Py<PyAny>) {
        if index >= self.dense.len() && index < 2 * self.filled + 1024 {
            self.dense.resize_with(index + 1, || None);
        }
        let previous = match self.dense.get_mut(index) {
            Some(slot) => slot.replace(obj),
            None => self.sparse.insert(index, obj),
        };
        if previous.is_none() {
            self.filled += 1;
        }
    }

    /// The object in slot `index`.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&Py<PyAny>> {
        match self.dense.get(index) {
            Some(slot) => slot.as_ref(),
            None => self.sparse.get(&index),
        }
    }

    /// How many slots hold an object.
    pub fn len(&self) -> usize {
        self.filled
    }

    pub fn clear(&mut self) {
        self.dense.clear();
        self.sparse.clear();
        self.filled = 0;
    }

    /// Every filled slot.
    pub fn entries(&self) -> impl Iterator<Item = (usize, &Py<PyAny>)> {
        let dense = self.dense.iter().enumerate().filter_map(|(i, slot)| Some((i, slot.as_ref()?)));
        dense.chain(self.sparse.iter().map(|(i, obj)| (*i, obj)))
    }
}
