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

use super::dumper::Dumper;
use crate::ffi::set_next_entry;

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
        for item in tuple.iter() {
            self.save(&item)?;
        }
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
        let saved = self.write_list(obj);
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
            return self.write_items(obj.try_iter()?, Self::save_item, Op::Append, Op::Appends);
        }
        if list.len() == 1 {
            self.save(&list.get_item(0)?)?;
            self.out.enc.op(Op::Append);
            return Ok(());
        }
        // The list can change while its items are pickled (a reducer may
        // mutate it): read the length afresh at each step, as CPython does.
        let next = std::cell::Cell::new(0);
        self.write_batches(
            |_| {
                let item = list.get_item(next.get()).ok();
                next.set(next.get() + usize::from(item.is_some()));
                Ok(item)
            },
            Self::save_item,
            Op::Appends,
            || next.get() < list.len(),
        )
    }

    pub(super) fn save_dict(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        self.fast_enter(obj)?;
        let saved = self.write_dict(obj);
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
            return self.write_items(items, Self::save_pair, Op::SetItem, Op::SetItems);
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
                self.save_entry(entry)?;
            }
            self.out.enc.op(Op::SetItem);
            return Ok(());
        }
        self.write_batches(|_| next_entry(dict), Self::save_entry, Op::SetItems, || true)
    }

    pub(super) fn save_set(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.proto < 4 {
            return self.save_set_as_reduce(obj);
        }
        self.out.enc.op(Op::EmptySet);
        self.memoize(obj)?;
        let size = obj.len()?;
        if size == 0 {
            return Ok(());
        }
        let mut pos: ffi::Py_ssize_t = 0;
        self.write_batches(
            |_| {
                if obj.len()? != size {
                    return Err(PyRuntimeError::new_err("set changed size during iteration"));
                }
                Ok(set_next_entry(obj, &mut pos))
            },
            Self::save_item,
            Op::AddItems,
            || true,
        )
    }

    pub(super) fn save_frozenset(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.proto < 4 {
            return self.save_set_as_reduce(obj);
        }
        self.out.enc.op(Op::Mark);
        for item in obj.try_iter()? {
            self.save(&item?)?;
        }
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
        let items = PyList::new(py, obj.try_iter()?.collect::<PyResult<Vec<_>>>()?)?;
        let args = PyTuple::new(py, [items])?;
        let reduce = PyTuple::new(py, [obj.get_type().into_any(), args.into_any()])?;
        self.save_reduce(&reduce, Some(obj))
    }

    /// Items from an iterator, as CPython batches them: protocol 0 one at a
    /// time with `one`; otherwise `one` for a lone trailing item and MARK …
    /// `many` for runs of two to 1000.
    pub(super) fn write_items(
        &mut self,
        mut items: Bound<'py, pyo3::types::PyIterator>,
        save_item: fn(&mut Self, Bound<'py, PyAny>) -> PyResult<()>,
        one: Op,
        many: Op,
    ) -> PyResult<()> {
        if self.proto == 0 {
            for item in &mut items {
                save_item(self, item?)?;
                self.out.enc.op(one);
            }
            return Ok(());
        }
        loop {
            let Some(first) = items.next().transpose()? else {
                return Ok(());
            };
            let Some(second) = items.next().transpose()? else {
                save_item(self, first)?;
                self.out.enc.op(one);
                return Ok(());
            };
            self.out.enc.op(Op::Mark);
            save_item(self, first)?;
            save_item(self, second)?;
            let mut count = 2;
            while count < BATCH_SIZE {
                let Some(item) = items.next().transpose()? else {
                    break;
                };
                save_item(self, item)?;
                count += 1;
            }
            self.out.enc.op(many);
            if count < BATCH_SIZE {
                return Ok(());
            }
        }
    }

    /// MARK, up to 1000 items, `batch`; again while a batch came out full
    /// and `more` says there may be more.
    fn write_batches<T>(
        &mut self,
        mut next: impl FnMut(&mut Self) -> PyResult<Option<T>>,
        save_item: fn(&mut Self, T) -> PyResult<()>,
        batch: Op,
        mut more: impl FnMut() -> bool,
    ) -> PyResult<()> {
        loop {
            self.out.enc.op(Op::Mark);
            let mut count = 0;
            while count < BATCH_SIZE {
                let Some(item) = next(self)? else { break };
                save_item(self, item)?;
                count += 1;
            }
            self.out.enc.op(batch);
            if count < BATCH_SIZE || !more() {
                return Ok(());
            }
        }
    }

    pub(super) fn save_item(&mut self, item: Bound<'py, PyAny>) -> PyResult<()> {
        self.save(&item)
    }

    fn save_entry(&mut self, (key, value): Entry<'py>) -> PyResult<()> {
        self.save(&key)?;
        self.save(&value)
    }

    /// A dict item from an `items()` iterator: must be a 2-tuple.
    pub(super) fn save_pair(&mut self, item: Bound<'py, PyAny>) -> PyResult<()> {
        let pair = item
            .cast::<PyTuple>()
            .ok()
            .filter(|pair| pair.len() == 2)
            .ok_or_else(|| PyTypeError::new_err("dict items iterator must return 2-tuples"))?;
        self.save(&pair.get_item(0)?)?;
        self.save(&pair.get_item(1)?)
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
