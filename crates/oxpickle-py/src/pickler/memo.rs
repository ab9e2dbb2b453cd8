//! The pickler's memo: object identity → memo slot.
//!
//! It holds a strong reference to every object it lists. Otherwise an
//! object freed mid-dump could hand its address to a new one, which would
//! then be written as a back-reference to the dead object.

use std::cell::Cell;

use pyo3::exceptions::PyMemoryError;
use pyo3::prelude::*;

use super::address::AddressMap;

/// A memo slot: the index written in PUT/GET and the object it stands for.
pub struct Slot {
    pub index: usize,
    pub object: Py<PyAny>,
}

/// Identity-keyed memo, persistent across `dump()` calls until cleared.
pub struct PickleMemo {
    slots: AddressMap<Slot>,
    /// The next free slot index; also counts slots reserved for objects
    /// that stand in for another (see `reserve`).
    next: usize,
}

/// Slots a new memo has room for: enough that pickling a small object
/// (an array, a DataFrame) never regrows the table.
const INITIAL_SLOTS: usize = 32;

impl Default for PickleMemo {
    fn default() -> Self {
        PickleMemo {
            slots: AddressMap::with_capacity_and_hasher(INITIAL_SLOTS, Default::default()),
            next: 0,
        }
    }
}

/// Slots past which a table is not kept for the next dump: about 1.5 MiB.
const SPARE_MAX_SLOTS: usize = 1 << 16;

thread_local! {
    /// The emptied table of the last one-shot dump on this thread. The
    /// next starts at the size it reached: no regrowth, and no fresh pages
    /// for the kernel to fault in and zero.
    static SPARE_TABLE: Cell<Option<AddressMap<Slot>>> = const { Cell::new(None) };
}

impl PickleMemo {
    /// A memo for one dump, on the table the last one on this thread left.
    pub fn reused() -> Self {
        let slots = SPARE_TABLE.take().unwrap_or_else(|| PickleMemo::default().slots);
        PickleMemo { slots, next: 0 }
    }

    /// Empties the memo, keeping its table for the next `reused` unless it
    /// grew large. The table kept is sized for the dump that just ended:
    /// emptying costs as much as the table is large, which a run of small
    /// dumps after a large one should not keep paying.
    pub fn recycle(mut self) {
        let used = self.slots.len();
        self.slots.clear();
        self.slots.shrink_to(used.max(INITIAL_SLOTS));
        if self.slots.capacity() <= SPARE_MAX_SLOTS {
            SPARE_TABLE.set(Some(self.slots));
        }
    }

    /// The slot index of `obj`, if memoized.
    #[inline]
    pub fn get(&self, obj: &Bound<'_, PyAny>) -> Option<usize> {
        self.slots.get(&(obj.as_ptr() as usize)).map(|slot| slot.index)
    }

    /// Memoizes `obj` in the next free slot and returns that slot, or
    /// MemoryError when the table cannot grow for it.
    #[inline]
    pub fn insert(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<usize> {
        self.slots.try_reserve(1).map_err(|_| {
            PyMemoryError::new_err(format!(
                "the pickler's memo cannot grow past {} objects",
                self.slots.len()
            ))
        })?;
        let index = self.reserve();
        self.insert_at(obj, index);
        Ok(index)
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
