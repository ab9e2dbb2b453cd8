//! The unpickling machine: runs instructions from a `Source` against an
//! object stack, a mark stack and the memo, and builds Python objects.
//!
//! Stack discipline is CPython's: the top mark is a fence that ordinary
//! pops may not cross, and errors are the ones `_pickle` raises, with the
//! opcode and byte offset added.

use std::ffi::CString;

use oxpickle_core::{Arg, Instr, Op, LARGEST_SIZE};
use pyo3::exceptions::{PyEOFError, PyMemoryError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyIterator, PyList, PyTuple};

use super::guard::Guard;
use super::memo::UnpickleMemo;
use super::names::InternedNames;
use super::policy::LoadPolicy;
use super::source::{frame_too_large, Source};
use super::Unpickler;
use crate::errors::{is_unpickling_error, unpickling_error, with_note};
use crate::stdlib::Stdlib;

/// How strings from Python 2 pickles are decoded, whether Python 2 names
/// are mapped to Python 3 ones, and what the load trusts.
pub struct LoadSettings {
    pub fix_imports: bool,
    /// None means "bytes": STRING/BINSTRING payloads stay bytes.
    pub encoding: Option<CString>,
    pub errors: CString,
    pub policy: LoadPolicy,
}

impl LoadSettings {
    pub fn new(
        fix_imports: bool,
        encoding: &str,
        errors: &str,
        policy: LoadPolicy,
    ) -> PyResult<Self> {
        let c_string = |text: &str| {
            CString::new(text)
                .map_err(|_| pyo3::exceptions::PyValueError::new_err("embedded null character"))
        };
        Ok(LoadSettings {
            fix_imports,
            encoding: if encoding == "bytes" { None } else { Some(c_string(encoding)?) },
            errors: c_string(errors)?,
            policy,
        })
    }
}

/// The Python-level hooks of one load.
#[derive(Default)]
pub struct LoadHooks<'py> {
    /// An overriding `find_class` (a subclass's), bound to the unpickler.
    pub find_class: Option<Bound<'py, PyAny>>,
    pub persistent_load: Option<Bound<'py, PyAny>>,
    /// The iterator over `buffers=`.
    pub buffers: Option<Bound<'py, PyIterator>>,
    /// The Unpickler object, told the protocol so its `find_class` knows it.
    pub owner: Option<Bound<'py, Unpickler>>,
}

pub struct LoadMachine<'py, 'm> {
    pub py: Python<'py>,
    pub stack: Vec<Bound<'py, PyAny>>,
    /// Stack heights at each open MARK.
    pub marks: Vec<usize>,
    pub memo: &'m mut UnpickleMemo,
    pub proto: u8,
    pub settings: &'m LoadSettings,
    pub hooks: LoadHooks<'py>,
    pub stdlib: &'py Stdlib,
    /// The instruction being run, for error messages.
    pub(super) at: (Op, usize),
    pub(super) guard: Guard<'py>,
    pub(super) names: InternedNames,
}

impl<'py, 'm> LoadMachine<'py, 'm> {
    pub fn new(
        py: Python<'py>,
        memo: &'m mut UnpickleMemo,
        settings: &'m LoadSettings,
        hooks: LoadHooks<'py>,
    ) -> PyResult<Self> {
        Ok(LoadMachine {
            py,
            stack: Vec::with_capacity(16),
            marks: Vec::new(),
            memo,
            proto: 0,
            settings,
            hooks,
            stdlib: Stdlib::get(py)?,
            at: (Op::Stop, 0),
            guard: Guard::default(),
            names: InternedNames::default(),
        })
    }

    /// Runs instructions until STOP and returns the object on top.
    pub fn run(&mut self, source: &mut impl Source<'py>) -> PyResult<Bound<'py, PyAny>> {
        loop {
            let (bytes, offset) = source.pending();
            let taken = self.run_frequent(bytes, offset).map_err(|err| self.locate(err))?;
            if taken > 0 {
                source.consume(taken);
                continue;
            }
            let Some(instr) = source.next_instr()? else {
                return Err(PyEOFError::new_err("Ran out of input"));
            };
            let offset = instr.offset;
            self.at = (instr.op, offset);
            match (instr.op, instr.arg) {
                (Op::Frame, Arg::Uint(len)) if len > LARGEST_SIZE => {
                    return Err(frame_too_large(len, offset));
                }
                (Op::Frame, Arg::Uint(len)) => source.frame(len, offset)?,
                (Op::Stop, _) => {
                    source.finish()?;
                    return self.pop();
                }
                _ => self.exec(instr).map_err(|err| self.locate(err))?,
            }
        }
    }

    // Always inlined into the run loop: one dispatch per opcode, as in C.
    #[inline(always)]
    fn exec(&mut self, instr: Instr<'_>) -> PyResult<()> {
        let Instr { op, arg, .. } = instr;
        match op {
            Op::None | Op::NewTrue | Op::NewFalse | Op::BinInt | Op::BinInt1 | Op::BinInt2 => {
                self.load_constant(op, arg)
            }
            // The most frequent number, in line.
            Op::BinFloat => match arg {
                // SAFETY: creating a float cannot fail but for memory.
                Arg::Float(value) => self.push_owned(unsafe { ffi::PyFloat_FromDouble(value) }),
                _ => Err(self.fail("bad argument")),
            },
            Op::Int | Op::Long | Op::Float | Op::Long1 | Op::Long4 => self.load_number(op, arg),
            Op::String
            | Op::BinString
            | Op::ShortBinString
            | Op::BinBytes
            | Op::ShortBinBytes
            | Op::BinBytes8
            | Op::ByteArray8
            | Op::Unicode
            | Op::ShortBinUnicode
            | Op::BinUnicode
            | Op::BinUnicode8 => self.load_text(op, arg),
            Op::NextBuffer => self.load_next_buffer(),
            Op::ReadonlyBuffer => self.load_readonly_buffer(),
            Op::EmptyList | Op::EmptyTuple | Op::EmptyDict | Op::EmptySet => self.load_empty(op),
            Op::Tuple | Op::Tuple1 | Op::Tuple2 | Op::Tuple3 => self.load_tuple(op),
            Op::List => self.load_list(),
            Op::Dict => self.load_dict(),
            Op::FrozenSet => self.load_frozenset(),
            Op::Append | Op::Appends => self.load_append(op),
            Op::SetItem | Op::SetItems => self.load_setitems(op),
            Op::AddItems => self.load_additems(),
            Op::Pop => self.load_pop(),
            Op::Dup => {
                let top = self.top()?.clone();
                self.stack.push(top);
                Ok(())
            }
            Op::Mark => self.load_mark(),
            Op::PopMark => {
                let mark = self.pop_mark()?;
                self.stack.truncate(mark);
                Ok(())
            }
            Op::Get | Op::BinGet | Op::LongBinGet => self.load_get(arg),
            Op::Put | Op::BinPut | Op::LongBinPut => self.load_put(arg),
            Op::Memoize => self.load_memoize(),
            Op::Ext1 | Op::Ext2 | Op::Ext4 => self.load_ext(arg),
            Op::Global => self.load_global(arg),
            Op::StackGlobal => self.load_stack_global(),
            Op::Inst => self.load_inst(arg),
            Op::Obj => self.load_obj(),
            Op::NewObj => self.load_newobj(false),
            Op::NewObjEx => self.load_newobj(true),
            Op::Reduce => self.load_reduce(),
            Op::Build => self.load_build(),
            Op::PersId => self.load_persid(arg),
            Op::BinPersId => {
                let pid = self.pop()?;
                self.persistent_load(pid)
            }
            Op::Proto => self.load_proto(arg),
            // The run loop handles these two.
            Op::Frame | Op::Stop => Ok(()),
        }
    }

    fn load_proto(&mut self, arg: Arg<'_>) -> PyResult<()> {
        let Arg::Uint(proto) = arg else {
            return Err(self.fail("bad PROTO argument"));
        };
        match u8::try_from(proto).ok().filter(|p| *p <= oxpickle_core::op::HIGHEST_PROTOCOL) {
            Some(proto) => {
                self.proto = proto;
                if let Some(owner) = &self.hooks.owner {
                    owner.borrow_mut().proto = proto;
                }
                Ok(())
            }
            None => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unsupported pickle protocol: {proto}"
            ))),
        }
    }

    #[inline(always)]
    pub(super) fn load_mark(&mut self) -> PyResult<()> {
        self.check_depth()?;
        self.marks.push(self.stack.len());
        Ok(())
    }

    fn load_pop(&mut self) -> PyResult<()> {
        // POP also removes a MARK pushed last, as CPython's split stacks do.
        if self.marks.last() == Some(&self.stack.len()) {
            self.marks.pop();
            return Ok(());
        }
        self.pop().map(drop)
    }

    // ----- stack helpers -------------------------------------------------

    /// The lowest stack index ordinary pops may reach.
    #[inline]
    pub fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    #[inline]
    pub fn push(&mut self, obj: Bound<'py, PyAny>) {
        self.stack.push(obj);
    }

    /// Pushes the result of a C-API call that returns a new reference.
    #[inline]
    pub fn push_owned(&mut self, ptr: *mut ffi::PyObject) -> PyResult<()> {
        let obj = crate::ffi::owned(self.py, ptr)?;
        self.stack.push(obj);
        Ok(())
    }

    #[inline]
    pub fn pop(&mut self) -> PyResult<Bound<'py, PyAny>> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow());
        }
        self.stack.pop().ok_or_else(|| self.underflow())
    }

    #[inline]
    pub fn top(&self) -> PyResult<&Bound<'py, PyAny>> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow());
        }
        self.stack.last().ok_or_else(|| self.underflow())
    }

    /// Closes the innermost MARK; returns the stack height it marked.
    pub fn pop_mark(&mut self) -> PyResult<usize> {
        self.marks.pop().ok_or_else(|| self.fail("could not find MARK"))
    }

    /// Moves `stack[start..]` into a new tuple.
    #[inline]
    pub fn take_tuple(&mut self, start: usize) -> PyResult<Bound<'py, PyTuple>> {
        self.check_take(start)?;
        let len = (self.stack.len() - start) as ffi::Py_ssize_t;
        // SAFETY: PyTuple_New gives a tuple of `len` empty slots (or null
        // with an error); each slot is filled once with a reference we own.
        unsafe {
            let tuple = crate::ffi::owned(self.py, ffi::PyTuple_New(len))?;
            for (i, item) in self.stack.drain(start..).enumerate() {
                ffi::PyTuple_SET_ITEM(tuple.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr());
            }
            Ok(tuple.cast_into_unchecked())
        }
    }

    /// Moves `stack[start..]` into a new list.
    #[inline]
    pub fn take_list(&mut self, start: usize) -> PyResult<Bound<'py, PyList>> {
        self.check_take(start)?;
        let len = (self.stack.len() - start) as ffi::Py_ssize_t;
        // SAFETY: as for tuples: `len` empty slots, each filled once.
        unsafe {
            let list = crate::ffi::owned(self.py, ffi::PyList_New(len))?;
            for (i, item) in self.stack.drain(start..).enumerate() {
                ffi::PyList_SET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr());
            }
            Ok(list.cast_into_unchecked())
        }
    }

    /// Moves `stack[start..]` to the end of an exact list.
    pub fn move_to_list(&mut self, start: usize, list: &Bound<'py, PyList>) -> PyResult<()> {
        self.check_take(start)?;
        crate::ffi::list_extend(list, self.stack.drain(start..))
    }

    /// `stack[start..]` may be taken only from above the fence.
    #[inline]
    fn check_take(&self, start: usize) -> PyResult<()> {
        if start < self.fence() || start > self.stack.len() {
            return Err(self.underflow());
        }
        Ok(())
    }

    // ----- errors ---------------------------------------------------------

    pub fn underflow(&self) -> PyErr {
        if self.marks.is_empty() {
            self.fail("unpickling stack underflow")
        } else {
            self.fail("unexpected MARK found")
        }
    }

    /// An UnpicklingError that says which instruction failed and where.
    pub fn fail(&self, message: &str) -> PyErr {
        let (op, offset) = self.at;
        unpickling_error(self.py, format!("{message} ({} at byte {offset})", op.name()))
    }

    /// An UnpicklingError whose message is CPython's own, word for word
    /// (callers compare it); where it happened is a note.
    pub fn fail_verbatim(&self, message: &str) -> PyErr {
        with_note(self.py, unpickling_error(self.py, message), self.location())
    }

    /// Adds where it happened to an error raised by Python code the
    /// instruction called (a constructor, `__setstate__`, an import).
    fn locate(&self, err: PyErr) -> PyErr {
        // Out of memory, wording a note could itself fail, and a failed Rust
        // allocation aborts the process: a MemoryError goes up as it is.
        if is_unpickling_error(self.py, &err) || err.is_instance_of::<PyMemoryError>(self.py) {
            return err;
        }
        with_note(self.py, err, self.location())
    }

    /// The note that says which instruction was running.
    fn location(&self) -> String {
        let (op, offset) = self.at;
        format!("raised while unpickling {} at byte {offset} of the pickle", op.name())
    }
}
