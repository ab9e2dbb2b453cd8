//! Tuples, lists, dicts, sets and frozensets.
//!
//! Batching follows CPython byte for byte: items go in MARK … APPENDS /
//! SETITEMS / ADDITEMS batches of 1000, a lone item of an exact list or
//! dict goes with APPEND / SETITEM, and protocol 0 writes one at a time.

use oxpickle_core::Op;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use super::dumper::{address, Dumper, ItemsFrom};
use super::path::{key_repr, Step};
use crate::ffi::{set_next_entry, EMPTY_BATCH_AFTER_FULL};

/// Items per MARK … APPENDS/SETITEMS/ADDITEMS batch.
const BATCH_SIZE: usize = 1000;

/// A dict entry as the batch writers see it.
type Entry<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

impl<'py> Dumper<'py, '_> {
    pub(super) fn save_tuple(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let tuple = obj.cast::<PyTuple>()?;
        let len = tuple.len();
        if len == 0 {
            self.out.enc.write(if self.proto > 0 { b")" } else { b"(t" });
            return Ok(());
        }
        let small = len <= 3 && self.proto >= 2;
        if !small {
            self.out.enc.op(Op::Mark);
        }
        // A tuple is memoized after its items, so a shared one may be
        // walked again through them; an unshared one cannot be reached again.
        let from = if self.is_being_saved_unshared(obj) {
            ItemsFrom::WalkedOnce
        } else {
            ItemsFrom::Revisitable
        };
        self.items_context(from, |dumper| {
            tuple.iter().enumerate().try_for_each(|(index, item)| dumper.save_at(&item, index))
        })?;
        // Reached again through its own items: the tuple is in the memo
        // now, so drop what was pushed and fetch it from there.
        if let Some(index) = self.memoized(obj) {
            if small {
                (0..len).for_each(|_| self.out.enc.op(Op::Pop));
            } else if self.bin {
                self.out.enc.op(Op::PopMark);
            } else {
                (0..=len).for_each(|_| self.out.enc.op(Op::Pop));
            }
            return self.write_memo_get(index);
        }
        self.out.enc.op(match (small, len) {
            (true, 1) => Op::Tuple1,
            (true, 2) => Op::Tuple2,
            (true, _) => Op::Tuple3,
            (false, _) => Op::Tuple,
        });
        self.memoize(obj)
    }

    pub(super) fn save_list(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        self.fast_enter(obj)?;
        let saved = self.items_context(ItemsFrom::WalkedOnce, |dumper| dumper.write_list(obj));
        self.fast_leave(obj);
        saved
    }

    fn write_list(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        self.out.enc.write(if self.bin { b"]" } else { b"(l" });
        self.memoize(obj)?;
        let list = obj.cast::<PyList>()?;
        if list.len() == 0 {
            return Ok(());
        }
        if self.proto == 0 {
            return self.write_items(
                obj.try_iter()?,
                |d, i, item| d.save_at(item, i),
                Op::Append,
                Op::Appends,
            );
        }
        if list.len() == 1 {
            self.save_at(&list.get_item(0)?, 0)?;
            self.out.enc.op(Op::Append);
            return Ok(());
        }
        // The list can change while its items are pickled (a reducer may
        // mutate it): read the length afresh at each step, as CPython does.
        let next = std::cell::Cell::new(0);
        self.write_batches(
            |_| {
                let index = next.get();
                if index >= list.len() {
                    return Ok(None);
                }
                next.set(index + 1);
                // SAFETY: `index` is below the length read just now, and no
                // Python code runs between that read and this one.
                Ok(Some(unsafe { list.get_item_unchecked(index) }))
            },
            |dumper, index, item| dumper.save_at(&item, index),
            Op::Appends,
            |_| next.get() < list.len(),
        )
    }

    pub(super) fn save_dict(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        self.fast_enter(obj)?;
        let from = if address(obj) == self.own_state {
            ItemsFrom::OwnState
        } else {
            ItemsFrom::WalkedOnce
        };
        let saved = self.items_context(from, |dumper| dumper.write_dict(obj));
        self.fast_leave(obj);
        saved
    }

    fn write_dict(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        self.out.enc.write(if self.bin { b"}" } else { b"(d" });
        self.memoize(obj)?;
        let dict = obj.cast::<PyDict>()?;
        let size = dict.len();
        if size == 0 {
            return Ok(());
        }
        if self.proto == 0 {
            let items = obj.call_method0(pyo3::intern!(self.py, "items"))?.try_iter()?;
            return self.write_items(
                items,
                |d, _, item| d.save_pair(item),
                Op::SetItem,
                Op::SetItems,
            );
        }
        let mut pos: ffi::Py_ssize_t = 0;
        let mut next_entry = move |dict: &Bound<'py, PyDict>| -> PyResult<Option<Entry<'py>>> {
            if dict.len() != size {
                return Err(PyRuntimeError::new_err("dictionary changed size during iteration"));
            }
            Ok(dict_next(dict, &mut pos))
        };
        if size == 1 {
            if let Some(entry) = next_entry(dict)? {
                self.save_entry(0, entry)?;
            }
            self.out.enc.op(Op::SetItem);
            return Ok(());
        }
        self.write_batches(
            |_| next_entry(dict),
            Self::save_entry,
            Op::SetItems,
            |written| written < size || EMPTY_BATCH_AFTER_FULL,
        )
    }

    pub(super) fn save_set(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.proto < 4 {
            return self.save_set_as_reduce(obj);
        }
        self.items_context(ItemsFrom::WalkedOnce, |dumper| dumper.write_set(obj))
    }

    fn write_set(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        self.out.enc.op(Op::EmptySet);
        self.memoize(obj)?;
        let size = obj.len()?;
        if size == 0 {
            return Ok(());
        }
        if self.deterministic {
            let mut sorted = self.sorted_set_items(obj)?.into_iter();
            return self.write_batches(
                |_| Ok(sorted.next()),
                |dumper, _, item| dumper.save_set_item(&item),
                Op::AddItems,
                |written| written < size || EMPTY_BATCH_AFTER_FULL,
            );
        }
        let mut pos: ffi::Py_ssize_t = 0;
        self.write_batches(
            |_| {
                if obj.len()? != size {
                    return Err(PyRuntimeError::new_err("set changed size during iteration"));
                }
                Ok(set_next_entry(obj, &mut pos))
            },
            |dumper, _, item| dumper.save_set_item(&item),
            Op::AddItems,
            |written| written < size || EMPTY_BATCH_AFTER_FULL,
        )
    }

    pub(super) fn save_frozenset(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.proto < 4 {
            return self.save_set_as_reduce(obj);
        }
        self.out.enc.op(Op::Mark);
        let items = self.set_items(obj)?;
        self.items_context(ItemsFrom::Revisitable, |dumper| {
            items.iter().try_for_each(|item| dumper.save_set_item(item))
        })?;
        if let Some(index) = self.memoized(obj) {
            self.out.enc.op(Op::PopMark);
            return self.write_memo_get(index);
        }
        self.out.enc.op(Op::FrozenSet);
        self.memoize(obj)
    }

    /// Sets before protocol 4: `set([items])` / `frozenset([items])`.
    fn save_set_as_reduce(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let py = self.py;
        let items = PyList::new(py, self.set_items(obj)?)?;
        let args = PyTuple::new(py, [items])?;
        let reduce = PyTuple::new(py, [obj.get_type().into_any(), args.into_any()])?;
        self.save_reduce(&reduce, Some(obj))
    }

    /// A set's items, sorted in deterministic mode.
    fn set_items(&self, set: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        if self.deterministic {
            return self.sorted_set_items(set);
        }
        set.try_iter()?.collect()
    }

    /// Items from an iterator, as CPython batches them: protocol 0 one at a
    /// time with `one`; otherwise `one` for a lone trailing item and MARK …
    /// `many` for runs of two to 1000. `save_item` gets each item's position.
    pub(super) fn write_items(
        &mut self,
        mut items: Bound<'py, pyo3::types::PyIterator>,
        save_item: impl Fn(&mut Self, usize, &Bound<'py, PyAny>) -> PyResult<()>,
        one: Op,
        many: Op,
    ) -> PyResult<()> {
        let mut position = 0;
        let mut save_next = |dumper: &mut Self, item: Bound<'py, PyAny>| {
            position += 1;
            save_item(dumper, position - 1, &item)
        };
        if self.proto == 0 {
            for item in &mut items {
                save_next(self, item?)?;
                self.out.enc.op(one);
            }
            return Ok(());
        }
        loop {
            let Some(first) = items.next().transpose()? else { return Ok(()) };
            let Some(second) = items.next().transpose()? else {
                save_next(self, first)?;
                self.out.enc.op(one);
                return Ok(());
            };
            self.out.enc.op(Op::Mark);
            save_next(self, first)?;
            save_next(self, second)?;
            let mut count = 2;
            while count < BATCH_SIZE {
                let Some(item) = items.next().transpose()? else { break };
                save_next(self, item)?;
                count += 1;
            }
            self.out.enc.op(many);
            if count < BATCH_SIZE {
                return Ok(());
            }
        }
    }

    /// MARK, up to 1000 items, `batch`; again while a batch came out full
    /// and `more`, given how many items are written, says there may be
    /// more. `save_item` gets each position.
    fn write_batches<T>(
        &mut self,
        mut next: impl FnMut(&mut Self) -> PyResult<Option<T>>,
        save_item: impl Fn(&mut Self, usize, T) -> PyResult<()>,
        batch: Op,
        mut more: impl FnMut(usize) -> bool,
    ) -> PyResult<()> {
        let mut position = 0;
        loop {
            self.out.enc.op(Op::Mark);
            let mut count = 0;
            while count < BATCH_SIZE {
                let Some(item) = next(self)? else { break };
                save_item(self, position, item)?;
                position += 1;
                count += 1;
            }
            self.out.enc.op(batch);
            if count < BATCH_SIZE || !more(position) {
                return Ok(());
            }
        }
    }

    /// A sequence item; a failure names its position.
    #[inline(always)]
    pub(super) fn save_at(&mut self, item: &Bound<'py, PyAny>, index: usize) -> PyResult<()> {
        self.save(item).map_err(|err| self.unwinding(err, || Step::Index(index)))
    }

    fn save_set_item(&mut self, item: &Bound<'py, PyAny>) -> PyResult<()> {
        self.save(item).map_err(|err| self.unwinding(err, || Step::SetItem))
    }

    fn save_entry(&mut self, _: usize, (key, value): Entry<'py>) -> PyResult<()> {
        self.save_key_value(&key, &value)
    }

    /// A dict entry; a failure names the key, and whether the key or the
    /// value failed.
    fn save_key_value(
        &mut self,
        key: &Bound<'py, PyAny>,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let saved_key = if self.items_from == ItemsFrom::OwnState {
            // The keys are slot names, in every instance's state.
            self.items_context(ItemsFrom::WalkedOnce, |dumper| dumper.save(key))
        } else {
            self.save(key)
        };
        saved_key.map_err(|err| self.unwinding(err, || Step::Key(key_repr(key))))?;
        self.save(value).map_err(|err| self.unwinding(err, || Step::Value(key_repr(key))))
    }

    /// A dict item from an `items()` iterator: must be a 2-tuple.
    pub(super) fn save_pair(&mut self, item: &Bound<'py, PyAny>) -> PyResult<()> {
        let pair = item
            .cast::<PyTuple>()
            .ok()
            .filter(|pair| pair.len() == 2)
            .ok_or_else(|| PyTypeError::new_err("dict items iterator must return 2-tuples"))?;
        self.save_key_value(&pair.get_item(0)?, &pair.get_item(1)?)
    }
}

/// The next entry of a dict in table order, with references of our own.
fn dict_next<'py>(dict: &Bound<'py, PyDict>, pos: &mut ffi::Py_ssize_t) -> Option<Entry<'py>> {
    let (mut key, mut value) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: `pos` started at 0 and is only advanced here; the dict's size
    // is checked before each call, so the table has not been resized.
    let found = unsafe { ffi::PyDict_Next(dict.as_ptr(), pos, &mut key, &mut value) };
    if found == 0 {
        return None;
    }
    let py = dict.py();
    // SAFETY: PyDict_Next returns borrowed references to live objects.
    Some(unsafe { (Bound::from_borrowed_ptr(py, key), Bound::from_borrowed_ptr(py, value)) })
}
