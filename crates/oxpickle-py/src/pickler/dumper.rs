//! One dump in progress: the object walk and the state it needs.
//!
//! `save` dispatches as CPython's C pickler does, in the same order, so the
//! output is the same bytes: persistent ids first, then atoms (never
//! memoized), the memo, str and bytes, containers, and last the reduce
//! protocol. Exact builtin types never call Python-level code here.

use super::address::AddressSet;

use oxpickle_core::Op;
use pyo3::exceptions::{PyRecursionError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;

use super::byvalue::ByValueState;
use super::deterministic::ContentMemo;
use super::memo::PickleMemo;
use super::output::{encode_error, Output};
use super::path::Step;
use super::plain::PlainTypes;
use super::stack::StackFloor;
use crate::errors::{pickling_error, with_note};
use crate::ffi::{exact_type, Exact};
use crate::stdlib::Stdlib;

/// Containers nested deeper than this are tracked for cycles in fast mode.
const FAST_NESTING_LIMIT: usize = 50;

/// The Python-level hooks of a Pickler, resolved once per dump.
#[derive(Default)]
pub struct Hooks<'py> {
    pub persistent_id: Option<Bound<'py, PyAny>>,
    pub reducer_override: Option<Bound<'py, PyAny>>,
    pub dispatch_table: Option<Bound<'py, PyAny>>,
    pub buffer_callback: Option<Bound<'py, PyAny>>,
}

/// The settings of one dump.
#[derive(Clone, Copy)]
pub struct Settings {
    pub protocol: u8,
    /// Binary opcodes (every protocol but 0, unless `Pickler.bin` says otherwise).
    pub bin: bool,
    /// Map names to their Python 2 spelling (protocols below 3).
    pub fix_imports: bool,
    /// `Pickler.fast`: no memo, cycles refused.
    pub fast: bool,
    /// Same bytes for the same program state in any process.
    pub deterministic: bool,
    /// A single `dumps`/`dump` call, whose memo dies with it.
    pub one_shot: bool,
}

pub struct Dumper<'py, 'm> {
    pub py: Python<'py>,
    pub out: Output<'py>,
    pub memo: &'m mut PickleMemo,
    pub proto: u8,
    pub bin: bool,
    pub fix_imports: bool,
    pub hooks: Hooks<'py>,
    pub stdlib: &'py Stdlib,
    pub deterministic: bool,
    /// Deterministic mode's content-keyed memo for str and bytes.
    pub content_memo: Option<ContentMemo>,
    pub byvalue: ByValueState,
    /// Classes whose instances skip `__reduce_ex__` (see `plain`).
    pub plain_types: PlainTypes,
    /// Reused for the bytes of ints beyond 64 bits.
    pub int_bytes: Vec<u8>,
    /// Steps an error has unwound through, innermost first.
    pub error_path: Vec<Step>,
    /// Type name of the object an error came from.
    pub error_origin: Option<String>,
    /// The error unwinding is CPython's own, whose exact text callers test
    /// for: it keeps its message and gets the path as a note.
    pub error_verbatim: bool,
    /// Skip the memo for objects that cannot be reached twice (one-shot
    /// dumps only: a Pickler's memo outlives the dump).
    skip_unshared_memo: bool,
    /// Address of the root object, which is never treated as unshared.
    root: usize,
    /// Address of the object being saved when it is unshared, else 0.
    unshared: usize,
    /// Where the items being saved come from (see `is_unshared`).
    pub(super) items_from: ItemsFrom,
    /// Address of the slot-state dict this dump built for the instance
    /// being saved (see `plain`), else 0.
    pub(super) own_state: usize,
    fast: Option<FastMode>,
    /// How deep the walk may recurse on the stack it runs on.
    stack_floor: StackFloor,
    /// Containers being saved, one inside the next.
    depth: usize,
    /// `sys.getrecursionlimit()` when the dump started (see `enter_level`).
    depth_limit: usize,
    /// The dtype of the last array written through its buffer (see `arrays`).
    pub(super) buffer_dtype: Option<Py<PyAny>>,
}

/// Where the items being saved come from: whether their container can be
/// walked twice, and how many references to each it holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ItemsFrom {
    /// A container that may be walked again: a tuple memoized after its
    /// items, a reduce's arguments (saved before the object is memoized),
    /// the items an iterator yields (it may yield one object twice, holding
    /// the only other reference between).
    Revisitable,
    /// A container memoized (or found unshared) before its items, so
    /// walked once, holding one reference to each.
    WalkedOnce,
    /// The slot-state dict this dump built for an instance: walked once,
    /// and each value has one reference more, from the dict, besides its
    /// slot's. Its keys are the class's slot names, shared by every
    /// instance's state, so they count as in `WalkedOnce`.
    OwnState,
}

/// Cycle detection for fast mode, which has no memo to break cycles.
#[derive(Default)]
struct FastMode {
    nesting: usize,
    open: AddressSet,
}

impl<'py, 'm> Dumper<'py, 'm> {
    pub fn new(
        py: Python<'py>,
        out: Output<'py>,
        memo: &'m mut PickleMemo,
        settings: Settings,
        hooks: Hooks<'py>,
    ) -> PyResult<Self> {
        Ok(Dumper {
            py,
            out,
            memo,
            proto: settings.protocol,
            bin: settings.bin,
            fix_imports: settings.fix_imports && settings.protocol < 3,
            hooks,
            stdlib: Stdlib::get(py)?,
            deterministic: settings.deterministic,
            content_memo: settings.deterministic.then(ContentMemo::default),
            byvalue: ByValueState::default(),
            plain_types: PlainTypes::default(),
            int_bytes: Vec::new(),
            error_path: Vec::new(),
            error_origin: None,
            error_verbatim: false,
            skip_unshared_memo: settings.one_shot && !settings.deterministic && !settings.fast,
            root: 0,
            unshared: 0,
            items_from: ItemsFrom::Revisitable,
            own_state: 0,
            fast: settings.fast.then(FastMode::default),
            stack_floor: StackFloor::current(),
            depth: 0,
            // SAFETY: reads an interpreter setting; the GIL is held.
            depth_limit: usize::try_from(unsafe { ffi::Py_GetRecursionLimit() }).unwrap_or(0),
            buffer_dtype: None,
        })
    }

    /// Writes one whole pickle: PROTO, the object, STOP.
    pub fn dump(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.proto >= 2 {
            self.out.enc.proto(self.proto);
            self.out.enc.set_framing(self.proto >= 4);
        }
        self.root = address(obj);
        let saved = self.save(obj);
        if saved.is_ok() {
            self.out.enc.op(Op::Stop);
            self.out.enc.commit_frame();
        }
        self.out.enc.set_framing(false);
        saved.map_err(|err| self.describe_failure(err))
    }

    /// Pickles one object. Without a `persistent_id` hook, None, bools,
    /// ints and floats are written here, inlined into each container's
    /// loop: they are most of the items of big lists and dicts.
    #[inline(always)]
    pub fn save(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.hooks.persistent_id.is_some() {
            return self.save_object(obj, true);
        }
        self.out.opcode_boundary()?;
        if self.write_scalar(obj)? {
            return Ok(());
        }
        self.save_compound(obj)
    }

    /// Pickles one object; `persistent` is false for the id a
    /// `persistent_id` returned, which must not be looked up again.
    pub fn save_object(&mut self, obj: &Bound<'py, PyAny>, persistent: bool) -> PyResult<()> {
        self.out.opcode_boundary()?;
        if persistent && self.hooks.persistent_id.is_some() && self.save_persistent_id(obj)? {
            return Ok(());
        }
        if self.write_scalar(obj)? {
            return Ok(());
        }
        self.save_compound(obj)
    }

    /// Anything but the scalars: through the memo, then by type.
    fn save_compound(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let kind = exact_type(obj);
        let unshared = self.is_unshared(obj, kind);
        if !unshared {
            if let Some(index) = self.memo.get(obj) {
                return self.write_memo_get(index);
            }
        }
        let outer = std::mem::replace(&mut self.unshared, if unshared { address(obj) } else { 0 });
        let saved = self.save_memoizable(obj, kind);
        self.unshared = outer;
        saved
    }

    fn save_memoizable(&mut self, obj: &Bound<'py, PyAny>, kind: Exact) -> PyResult<()> {
        match kind {
            Exact::Str => return self.save_str(obj),
            Exact::Bytes => return self.save_bytes(obj),
            _ => {}
        }
        self.enter_level()?;
        let saved = if self.stack_floor.has_room() {
            self.save_by_type(obj, kind)
        } else {
            self.on_new_stack_segment(|dumper| dumper.save_by_type(obj, kind))
        };
        self.depth -= 1;
        saved.map_err(|err| self.failed_at(err, obj))
    }

    /// The builtin containers by their writers, anything else by reduction.
    #[inline(always)]
    fn save_by_type(&mut self, obj: &Bound<'py, PyAny>, kind: Exact) -> PyResult<()> {
        match kind {
            Exact::Dict => self.save_dict(obj),
            Exact::List => self.save_list(obj),
            Exact::Tuple => self.save_tuple(obj),
            Exact::Set => self.save_set(obj),
            Exact::FrozenSet => self.save_frozenset(obj),
            Exact::ByteArray => self.save_bytearray(obj),
            Exact::PickleBuffer => self.save_pickle_buffer(obj),
            _ => self.save_other(obj, kind),
        }
    }

    /// Counts one more level of nesting. The walk's depth is bounded by
    /// `sys.getrecursionlimit()` on every version, as C pickle's is on
    /// 3.11. From 3.12 CPython's own recursion check (`Py_EnterRecursiveCall`)
    /// counts against a C limit the program cannot raise (3.12, 3.13) or
    /// the bounds of the thread's stack (3.14 on); the walk runs on stack
    /// segments of its own when it needs more, so it counts for itself and
    /// a program that raises the limit can pickle data nested that deep.
    #[inline(always)]
    fn enter_level(&mut self) -> PyResult<()> {
        if self.depth >= self.depth_limit {
            return Err(PyRecursionError::new_err(
                "maximum recursion depth exceeded while pickling an object",
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Runs `save` on a new stack segment, with the floor of that segment.
    fn on_new_stack_segment<T>(&mut self, save: impl FnOnce(&mut Self) -> T) -> T {
        let outer = self.stack_floor;
        outer.on_new_segment(|floor| {
            self.stack_floor = floor;
            let result = save(self);
            self.stack_floor = outer;
            result
        })
    }

    /// Whether `obj` cannot be reached again in this dump, so needs no memo
    /// entry. Its only references are its container's slot and the one
    /// this walk holds (every reference the walk takes is an owned one), so
    /// a second path to it would need a third. A cycle back to it would run
    /// through the same slot, which is harmless only if the container is
    /// not walked twice (see `ItemsFrom`). Objects holding no references
    /// (str, bytes) cannot be in a cycle. The root is excluded: it arrives
    /// as a borrowed reference.
    #[inline]
    fn is_unshared(&self, obj: &Bound<'py, PyAny>, kind: Exact) -> bool {
        let most = match self.items_from {
            ItemsFrom::WalkedOnce => 2,
            ItemsFrom::OwnState => 3,
            ItemsFrom::Revisitable if matches!(kind, Exact::Str | Exact::Bytes) => 2,
            ItemsFrom::Revisitable => return false,
        };
        self.skip_unshared_memo && references(obj) <= most && address(obj) != self.root
    }

    /// Runs `save` with the items it saves marked as coming from `from`.
    #[inline]
    pub fn items_context<T>(&mut self, from: ItemsFrom, save: impl FnOnce(&mut Self) -> T) -> T {
        let outer = std::mem::replace(&mut self.items_from, from);
        let result = save(self);
        self.items_from = outer;
        result
    }

    /// Whether `obj`, the object being saved, was found unshared.
    #[inline]
    pub fn is_being_saved_unshared(&self, obj: &Bound<'py, PyAny>) -> bool {
        self.unshared == address(obj)
    }

    /// After Python code was handed `obj` (a reducer, `buffer_callback`):
    /// if it kept a reference, its count is above `before`, and the walk may
    /// find `obj` again where that code put it. Judged unshared before, it
    /// is memoized after all, and a later visit (one reference more, the
    /// memo's) asks the memo.
    pub fn note_kept_references(&mut self, obj: &Bound<'py, PyAny>, before: isize) {
        if self.is_being_saved_unshared(obj) && references(obj) > before {
            self.unshared = 0;
        }
    }

    /// Memoizes `obj` and writes the PUT/MEMOIZE for it, unless it cannot
    /// be reached again (see `is_unshared`) or fast mode is on.
    #[inline]
    pub fn memoize(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.fast.is_some() || self.is_being_saved_unshared(obj) {
            return Ok(());
        }
        let index = self.memo.insert(obj)?;
        self.out.enc.memo_put(index, self.proto).map_err(encode_error)
    }

    /// Memoizes `obj` even if it is unshared (not in fast mode): it is about
    /// to be written again by reference.
    pub fn memoize_for_reference(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.fast.is_some() {
            return Ok(());
        }
        self.memoize_always(obj)
    }

    /// Memoizes `obj` even in fast mode: by-value objects rely on the memo
    /// to break the cycles they may contain.
    pub fn memoize_always(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let index = self.memo.insert(obj)?;
        self.out.enc.memo_put(index, self.proto).map_err(encode_error)
    }

    /// Memoizes the object on top of the stack in a slot of its own (one
    /// that no object identity maps to) and returns the slot.
    pub fn memoize_slot(&mut self) -> PyResult<usize> {
        let index = self.memo.reserve();
        self.out.enc.memo_put(index, self.proto).map_err(encode_error)?;
        Ok(index)
    }

    /// If `obj` is memoized (it was reached again while pickling its own
    /// parts), the slot to fetch it from.
    #[inline]
    pub fn memoized(&self, obj: &Bound<'py, PyAny>) -> Option<usize> {
        self.memo.get(obj)
    }

    #[inline]
    pub fn write_memo_get(&mut self, index: usize) -> PyResult<()> {
        self.out.enc.memo_get(index, self.proto).map_err(encode_error)
    }

    /// Asks `persistent_id`; writes PERSID/BINPERSID if it gave an id.
    fn save_persistent_id(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<bool> {
        let Some(persistent_id) = &self.hooks.persistent_id else {
            return Ok(false);
        };
        // The hook is the caller's code: not once the buffer has failed.
        self.out.check()?;
        let pid = persistent_id.call1((obj,))?;
        if pid.is_none() {
            return Ok(false);
        }
        if self.bin {
            self.save_object(&pid, false)?;
            self.out.enc.op(Op::BinPersId);
        } else {
            let text = pid.str()?;
            let text = text.to_str()?;
            if !text.is_ascii() {
                // The stdlib's message, word for word, with notes: this
                // one says which id and what to do, the one added on the
                // way out where it sits.
                self.error_verbatim = true;
                let err =
                    pickling_error(self.py, "persistent IDs in protocol 0 must be ASCII strings");
                let note = format!(
                    "persistent_id() returned {}, which protocol 0 cannot write: it writes \
                     persistent IDs as ASCII text lines. Return an ASCII id, or pickle with \
                     protocol 1 or higher.",
                    super::global::repr(&pid)
                );
                return Err(self.failed_at(with_note(self.py, err, note), obj));
            }
            self.out.enc.persid_text(text.as_bytes());
        }
        Ok(true)
    }

    /// Fast mode's guard around lists and dicts: refuses a container that
    /// is already open further up, past a nesting depth.
    pub fn fast_enter(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let Some(fast) = &mut self.fast else {
            return Ok(());
        };
        fast.nesting += 1;
        if fast.nesting >= FAST_NESTING_LIMIT && !fast.open.insert(obj.as_ptr() as usize) {
            return Err(PyValueError::new_err(format!(
                "fast mode: can't pickle cyclic objects including object type {} at {:p}",
                type_name(obj),
                obj.as_ptr()
            )));
        }
        Ok(())
    }

    pub fn fast_leave(&mut self, obj: &Bound<'py, PyAny>) {
        if let Some(fast) = &mut self.fast {
            if fast.nesting >= FAST_NESTING_LIMIT {
                fast.open.remove(&(obj.as_ptr() as usize));
            }
            fast.nesting = fast.nesting.saturating_sub(1);
        }
    }
}

/// An object's address, its identity for the memo.
#[inline]
/// The reference count of `obj`.
pub(super) fn references(obj: &Bound<'_, PyAny>) -> isize {
    // SAFETY: reading the reference count of a live object.
    unsafe { ffi::Py_REFCNT(obj.as_ptr()) }
}

pub(super) fn address(obj: &Bound<'_, PyAny>) -> usize {
    obj.as_ptr() as usize
}

/// The type's name as error messages show it.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|name| name.to_string()).unwrap_or_else(|_| "?".into())
}
