//! Tuples, lists, dicts, sets, frozensets, and filling them.

use oxpickle_core::Op;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyList, PySet, PyTuple};

use super::guard::{Call, Fill};
use super::machine::LoadMachine;

impl<'py> LoadMachine<'py, '_> {
    pub(super) fn load_empty(&mut self, op: Op) -> PyResult<()> {
        let py = self.py;
        let obj = match op {
            Op::EmptyList => PyList::empty(py).into_any(),
            Op::EmptyTuple => PyTuple::empty(py).into_any(),
            Op::EmptyDict => PyDict::new(py).into_any(),
            _ => PySet::empty(py)?.into_any(),
        };
        self.push(obj);
        Ok(())
    }

    pub(super) fn load_tuple(&mut self, op: Op) -> PyResult<()> {
        let start = match op {
            Op::Tuple => self.pop_mark()?,
            _ => {
                let len = match op {
                    Op::Tuple1 => 1,
                    Op::Tuple2 => 2,
                    _ => 3,
                };
                self.stack.len().checked_sub(len).ok_or_else(|| self.underflow())?
            }
        };
        let tuple = self.take_tuple(start)?;
        self.push(tuple.into_any());
        Ok(())
    }

    pub(super) fn load_list(&mut self) -> PyResult<()> {
        let start = self.pop_mark()?;
        let list = self.take_list(start)?;
        self.push(list.into_any());
        Ok(())
    }

    pub(super) fn load_dict(&mut self) -> PyResult<()> {
        let start = self.pop_mark()?;
        if (self.stack.len() - start) % 2 != 0 {
            return Err(self.fail("odd number of items for DICT"));
        }
        let dict = PyDict::new(self.py);
        for pair in self.stack[start..].chunks_exact(2) {
            // SAFETY: a new exact dict; key and value are live.
            if unsafe { ffi::PyDict_SetItem(dict.as_ptr(), pair[0].as_ptr(), pair[1].as_ptr()) } < 0
            {
                return Err(PyErr::fetch(self.py));
            }
        }
        self.stack.truncate(start);
        self.push(dict.into_any());
        Ok(())
    }

    pub(super) fn load_frozenset(&mut self) -> PyResult<()> {
        let start = self.pop_mark()?;
        let items = self.take_tuple(start)?;
        let set = PyFrozenSet::new(self.py, items.iter())?;
        self.push(set.into_any());
        Ok(())
    }

    /// APPEND (the top item) or APPENDS (the items above the MARK).
    #[inline(always)]
    pub(super) fn load_append(&mut self, op: Op) -> PyResult<()> {
        let at = match op {
            Op::Append => self.stack.len().checked_sub(1),
            _ => Some(self.pop_mark()?),
        };
        self.append_from(at)
    }

    /// SETITEM (the top pair) or SETITEMS (the pairs above the MARK).
    #[inline(always)]
    pub(super) fn load_setitems(&mut self, op: Op) -> PyResult<()> {
        let at = match op {
            Op::SetItem => self.stack.len().checked_sub(2),
            _ => Some(self.pop_mark()?),
        };
        self.set_items_from(at)
    }

    /// APPEND/APPENDS: `stack[at..]` go into the list at `stack[at - 1]`.
    /// Anything with `extend` or `append` will do, as PEP 307 says.
    /// With no items the target must still be able to take them (an
    /// AttributeError otherwise), as in the pure-Python unpickler and C's
    /// from 3.15 (gh-135573): held on every version.
    fn append_from(&mut self, at: Option<usize>) -> PyResult<()> {
        let (at, target) = self.target_below(at)?;
        self.check_fill_target(&target)?;
        if let Ok(target) = target.cast_exact::<PyList>() {
            if at == self.stack.len() {
                return Ok(());
            }
            // The references move from the stack into the list's storage,
            // where C's unpickler builds a list to assign as a slice.
            return self.move_to_list(at, target);
        }
        if let Some(extend) = self.method(target.as_any(), pyo3::intern!(self.py, "extend"))? {
            if at == self.stack.len() {
                return Ok(());
            }
            let fill = Fill::Extend(extend, self.take_list(at)?);
            self.checked_call(Call::Fill { target: &target, fill })?;
            return Ok(());
        }
        let append = self.required_method(&target, pyo3::intern!(self.py, "append"))?;
        let fill = Fill::EachItem(append, self.stack.drain(at..).collect());
        self.checked_call(Call::Fill { target: &target, fill })?;
        Ok(())
    }

    /// SETITEM/SETITEMS: key/value pairs from `stack[at..]` go into the
    /// mapping at `stack[at - 1]`.
    /// With no pairs nothing is checked, as in both of CPython's unpicklers.
    fn set_items_from(&mut self, at: Option<usize>) -> PyResult<()> {
        let (at, target) = self.target_below(at)?;
        if at == self.stack.len() {
            return Ok(());
        }
        self.check_fill_target(&target)?;
        if (self.stack.len() - at) % 2 != 0 {
            return Err(self.fail("odd number of items for SETITEMS"));
        }
        if !target.is_exact_instance_of::<PyDict>() {
            // Through the type's `__setitem__`, which the checked call makes.
            let fill = Fill::SetItems(self.stack.drain(at..).collect());
            return self.checked_call(Call::Fill { target: &target, fill }).map(drop);
        }
        let mut status = Ok(());
        for pair in self.stack[at..].chunks_exact(2) {
            // SAFETY: `target` is an exact dict; key and value are live.
            let code =
                unsafe { ffi::PyDict_SetItem(target.as_ptr(), pair[0].as_ptr(), pair[1].as_ptr()) };
            if code < 0 {
                status = Err(PyErr::fetch(self.py));
                break;
            }
        }
        self.stack.truncate(at);
        status
    }

    /// ADDITEMS: `stack[mark..]` go into the set below the mark. With no
    /// items the target must still have `add`, as for APPENDS.
    pub(super) fn load_additems(&mut self) -> PyResult<()> {
        let mark = self.pop_mark()?;
        let (at, target) = self.target_below(Some(mark))?;
        self.check_fill_target(&target)?;
        if let Ok(set) = target.cast::<PySet>() {
            for item in self.stack.drain(at..) {
                set.add(item)?;
            }
            return Ok(());
        }
        let add = self.required_method(&target, pyo3::intern!(self.py, "add"))?;
        let fill = Fill::EachItem(add, self.stack.drain(at..).collect());
        self.checked_call(Call::Fill { target: &target, fill })?;
        Ok(())
    }

    /// The container under `stack[at..]` for the filling opcodes, which
    /// must sit above the fence, and `at`.
    fn target_below(&self, at: Option<usize>) -> PyResult<(usize, Bound<'py, PyAny>)> {
        let len = self.stack.len();
        let at = at.filter(|&at| at <= len && at > self.fence()).ok_or_else(|| self.underflow())?;
        Ok((at, self.stack[at - 1].clone()))
    }
}
