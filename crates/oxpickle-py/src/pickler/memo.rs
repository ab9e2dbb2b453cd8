//! The pickler's memo: object identity → memo slot.
//!
//! It holds a strong reference to every object it lists. Otherwise an
//! object freed mid-dump could hand its address to a new one, which would
//! then be written as a back-reference to the dead object.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::prelude::*;

/// A memo slot: the index written in PUT/GET and the object it stands for.
pub struct Slot {
    pub index: usize,
    pub object: Py<PyAny>,
}

/// Identity-keyed memo, persistent across `dump()` calls until cleared.
#[derive(Default)]
pub struct PickleMemo {
    slots: HashMap<usize, Slot, BuildHasherDefault<AddressHasher>>,
    /// The next free slot index; also counts slots reserved for objects
    /// that stand in for another (see `reserve`).
    next: usize,
}

impl PickleMemo {
    /// The slot index of `obj`, if memoized.
    #[inline]
    pub fn get(&self, obj: &Bound<'_, PyAny>) -> Option<usize> {
        self.slots.get(&(obj.as_ptr() as usize)).map(|slot| slot.index)
    }

    /// Memoizes `obj` in the next free slot and returns that slot.
    #[inline]
    pub fn insert(&mut self, obj: &Bound<'_, PyAny>) -> usize {
        let index = self.reserve();
        self.insert_at(obj, index);
        index
    }

    /// A slot for an object that exists only in the pickle (a dict standing
    /// in for a module's globals), which no lookup by identity may find.
    #[inline]
    pub fn reserve(&mut self) -> usize {
        let index = self.next;
        self.next += 1;
        index
    }

    /// Memoizes `obj` at a given slot (memo priming through `Pickler.memo`).
    pub fn insert_at(&mut self, obj: &Bound<'_, PyAny>, index: usize) {
        let slot = Slot { index, object: obj.clone().unbind() };
        self.slots.insert(obj.as_ptr() as usize, slot);
        self.next = self.next.max(index + 1);
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.next = 0;
    }

    /// Every slot, in no particular order.
    pub fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots.values()
    }
}

/// A hasher for object addresses: they are unique already, so one multiply
/// spreads them; the fold brings high bits down because the table indexes
/// by the low bits and addresses are 16-byte aligned.
#[derive(Default)]
pub struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte) ^ self.0.rotate_left(8));
        }
    }

    #[inline]
    fn write_usize(&mut self, address: usize) {
        self.write_u64(address as u64);
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        let mixed = value.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = mixed ^ (mixed >> 29);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}
