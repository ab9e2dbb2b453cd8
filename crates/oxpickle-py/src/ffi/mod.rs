//! The C-API functions pyo3-ffi does not declare, and the exact-type tests
//! the hot paths dispatch on. Every raw call lives in a small named helper.
//! What differs between CPython versions lives in the submodules, each
//! choosing by `cfg(Py_3_x)`: the rest of the crate names no version.

mod attr;
mod globals;
mod int;
pub mod messages;
mod set;
pub mod stack;
mod types;

pub use attr::lookup_attr;
pub use globals::{global_not_found, global_path_not_found, local_path_refused};
pub use int::{int_from_le_bytes, int_value_from_object, wide_int, WideInt, TEXT_INT_BASE};
pub use set::set_next_entry;
pub use types::class_namespace_address;

/// Whether an exact dict or set whose size is a multiple of 1,000 ends
/// with an empty MARK … SETITEMS / ADDITEMS, as C pickle writes it before
/// 3.15; from 3.15 it stops once the items are used up, as it always did
/// for lists and for dicts reached through an iterator.
#[cfg(Py_3_15)]
pub const EMPTY_BATCH_AFTER_FULL: bool = false;
#[cfg(not(Py_3_15))]
pub const EMPTY_BATCH_AFTER_FULL: bool = true;

/// The `pickletools` whose listing `dis` prints: the running CPython's.
#[cfg(Py_3_14)]
pub const PICKLETOOLS: oxpickle_core::dis::Dialect = oxpickle_core::dis::Dialect::From3_14;
#[cfg(not(Py_3_14))]
pub const PICKLETOOLS: oxpickle_core::dis::Dialect = oxpickle_core::dis::Dialect::UpTo3_13;

use std::os::raw::{c_char, c_int};
use std::ptr::addr_of_mut;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

extern "C" {
    /// The buffer a `pickle.PickleBuffer` wraps.
    fn PyPickleBuffer_GetBuffer(obj: *mut ffi::PyObject) -> *const ffi::Py_buffer;
    /// A new `pickle.PickleBuffer` over an object's buffer.
    fn PyPickleBuffer_FromObject(obj: *mut ffi::PyObject) -> *mut ffi::PyObject;
    static mut PyPickleBuffer_Type: ffi::PyTypeObject;
    /// Raises an audit event (PEP 578).
    fn PySys_Audit(event: *const c_char, format: *const c_char, ...) -> c_int;
    /// One code point of a str.
    fn PyUnicode_ReadChar(unicode: *mut ffi::PyObject, index: ffi::Py_ssize_t) -> u32;
}

/// The builtin types the pickler and unpickler treat without calling any
/// Python-level code. Anything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exact {
    NoneType,
    Bool,
    Int,
    Float,
    Bytes,
    Str,
    Dict,
    Set,
    FrozenSet,
    List,
    Tuple,
    ByteArray,
    PickleBuffer,
    Type,
    Function,
    Code,
    Cell,
    Module,
    Other,
}

/// Classifies an object by its exact type: pointer comparisons only.
#[inline]
pub fn exact_type(obj: &Bound<'_, PyAny>) -> Exact {
    let ty = obj.get_type_ptr();
    // SAFETY: only the addresses of the static type objects are taken; no
    // reference to a `static mut` is formed and nothing is read or written.
    unsafe {
        if ty == addr_of_mut!(ffi::PyUnicode_Type) {
            Exact::Str
        } else if ty == addr_of_mut!(ffi::PyLong_Type) {
            Exact::Int
        } else if ty == addr_of_mut!(ffi::PyFloat_Type) {
            Exact::Float
        } else if ty == addr_of_mut!(ffi::PyDict_Type) {
            Exact::Dict
        } else if ty == addr_of_mut!(ffi::PyList_Type) {
            Exact::List
        } else if ty == addr_of_mut!(ffi::PyTuple_Type) {
            Exact::Tuple
        } else if ty == addr_of_mut!(ffi::PyBool_Type) {
            Exact::Bool
        } else if obj.as_ptr() == ffi::Py_None() {
            Exact::NoneType
        } else if ty == addr_of_mut!(ffi::PyBytes_Type) {
            Exact::Bytes
        } else if ty == addr_of_mut!(ffi::PySet_Type) {
            Exact::Set
        } else if ty == addr_of_mut!(ffi::PyFrozenSet_Type) {
            Exact::FrozenSet
        } else if ty == addr_of_mut!(ffi::PyByteArray_Type) {
            Exact::ByteArray
        } else if ty == addr_of_mut!(PyPickleBuffer_Type) {
            Exact::PickleBuffer
        } else if ty == addr_of_mut!(ffi::PyType_Type) {
            Exact::Type
        } else if ty == addr_of_mut!(ffi::PyFunction_Type) {
            Exact::Function
        } else if ty == addr_of_mut!(ffi::PyCode_Type) {
            Exact::Code
        } else if ty == addr_of_mut!(ffi::PyCell_Type) {
            Exact::Cell
        } else if ffi::PyModule_Check(obj.as_ptr()) != 0 {
            Exact::Module
        } else {
            Exact::Other
        }
    }
}

/// Asks the kernel to back a large, fresh buffer with huge pages: filling
/// it then takes one page fault per 2 MiB instead of one per 4 KiB, which
/// for a result of hundreds of megabytes costs more than the copy itself.
/// Below 64 MiB, the resident size rounded up to 2 MiB costs more than the
/// faults. Advice only: where huge pages are off or short, nothing changes.
pub fn advise_huge_pages(buffer: &mut [std::mem::MaybeUninit<u8>]) {
    const HUGE_PAGE: usize = 2 << 20;
    if buffer.len() < 32 * HUGE_PAGE {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        extern "C" {
            fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: c_int) -> c_int;
        }
        const MADV_HUGEPAGE: c_int = 14;
        // Every page the buffer touches, partial ones too: advice on part
        // of a mapping splits it, and a realloc can then no longer remap
        // the block (it copies it instead).
        let start = buffer.as_mut_ptr() as usize;
        let first = start / PAGE * PAGE;
        let end = (start + buffer.len()).next_multiple_of(PAGE);
        // SAFETY: whole mapped pages, each holding part of `buffer`; the
        // advice changes how they are backed, never what they hold (so
        // neighbours sharing the partial pages see nothing). Its result is
        // ignored: a refusal leaves memory as it was.
        unsafe { madvise(first as *mut std::ffi::c_void, end - first, MADV_HUGEPAGE) };
    }
}

/// Whether `obj` is a slot's descriptor (`types.MemberDescriptorType`).
pub fn is_member_descriptor(obj: &Bound<'_, PyAny>) -> bool {
    obj.get_type_ptr() == addr_of_mut!(ffi::PyMemberDescr_Type)
}

/// Whether `obj`'s type is `type` or a subclass of it (a class object).
pub fn is_class(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: PyType_Check only reads the object's type flags.
    unsafe { ffi::PyType_Check(obj.as_ptr()) != 0 }
}

/// Appends `items` to an exact list, handing their references over: no
/// temporary list and no reference counting per item, as a slice
/// assignment would cost. The item storage grows by half at least:
/// pickles fill long lists in batches of 1000 (APPENDS), and CPython grows
/// a list by an eighth, so past 8000 items every batch would reallocate,
/// and often copy, the whole item array again.
pub fn list_extend<'py>(
    list: &Bound<'py, PyList>,
    items: impl ExactSizeIterator<Item = Bound<'py, PyAny>>,
) -> PyResult<()> {
    let additional = items.len();
    let raw = list.as_ptr().cast::<ffi::PyListObject>();
    // SAFETY: reading a field of an exact list.
    let sorting = unsafe { (*raw).allocated } < 0;
    if sorting || cfg!(Py_GIL_DISABLED) {
        // A list being sorted has set its storage aside (sort then reports
        // the change), and a free-threaded build manages the storage
        // another way: a slice assignment handles both.
        let end = ffi::PY_SSIZE_T_MAX;
        let slice = PyList::new(list.py(), items)?;
        // SAFETY: two exact lists; the assignment takes its own references.
        if unsafe { ffi::PyList_SetSlice(list.as_ptr(), end, end, slice.as_ptr()) } < 0 {
            return Err(PyErr::fetch(list.py()));
        }
        return Ok(());
    }
    // SAFETY: `list` is an exact list, so its object is a PyListObject; its
    // item array comes from PyMem, as CPython's own list_resize assumes,
    // and only grows here. CPython resizes in place later as long as the
    // length is at least half the capacity, which holds since the capacity
    // at most doubles the length needed. Each slot past the length is then
    // written once, with a reference we own, before the length covers it;
    // no Python code runs in between (the items only move).
    unsafe {
        let len = ffi::Py_SIZE(list.as_ptr()) as usize;
        let allocated = (*raw).allocated as usize;
        let needed = len.saturating_add(additional);
        if needed > allocated {
            let capacity = needed.max(allocated + allocated / 2);
            let bytes = capacity
                .checked_mul(std::mem::size_of::<*mut ffi::PyObject>())
                .filter(|&bytes| bytes <= ffi::PY_SSIZE_T_MAX as usize)
                .ok_or_else(|| pyo3::exceptions::PyMemoryError::new_err("list too long"))?;
            let storage = ffi::PyMem_Realloc((*raw).ob_item.cast(), bytes);
            if storage.is_null() {
                return Err(pyo3::exceptions::PyMemoryError::new_err(()));
            }
            (*raw).ob_item = storage.cast();
            (*raw).allocated = capacity as ffi::Py_ssize_t;
        }
        let mut end = len;
        for item in items.take(additional) {
            *(*raw).ob_item.add(end) = item.into_ptr();
            end += 1;
        }
        (*raw).ob_base.ob_size = end as ffi::Py_ssize_t;
    }
    Ok(())
}

/// A buffer export of our own (`PyObject_GetBuffer`), released when it is
/// dropped: while it lives the exporter can neither free nor move the
/// memory, whatever Python code runs (a `PickleBuffer` released meanwhile
/// included). Tied to `'py`, so the GIL is held when it is released.
pub struct BufferExport<'py> {
    /// Boxed: an exporter may point the view's own fields at one another
    /// (`PyBuffer_FillInfo` sets `shape` to `&view.len`), so it must not move.
    view: Box<ffi::Py_buffer>,
    _py: Python<'py>,
}

impl<'py> BufferExport<'py> {
    /// Exports `obj`'s buffer with every field filled in (shape, strides,
    /// format), read-only.
    pub fn get(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        // SAFETY: Py_buffer is plain data (pointers and integers), for
        // which all zeroes is a valid value.
        let mut view: Box<ffi::Py_buffer> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `obj` is live and `view` points to writable memory the
        // size of a Py_buffer; on 0 the view is filled and must be
        // released (Drop does), on -1 it is left unfilled with an error set.
        if unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), &mut *view, ffi::PyBUF_FULL_RO) } != 0 {
            return Err(PyErr::fetch(obj.py()));
        }
        Ok(BufferExport { view, _py: obj.py() })
    }

    /// Whether the exporter allows no writes.
    pub fn readonly(&self) -> bool {
        self.view.readonly != 0
    }

    /// The exported bytes, when they are contiguous (in C or Fortran order).
    pub fn contiguous_bytes(&self) -> Option<&[u8]> {
        let view = &*self.view;
        // SAFETY: a filled view; the check only reads its shape.
        let contiguous = unsafe { ffi::PyBuffer_IsContiguous(view, b'A' as c_char) } != 0;
        if !contiguous {
            return None;
        }
        let len = usize::try_from(view.len).ok()?;
        if len == 0 || view.buf.is_null() {
            return Some(&[]);
        }
        // SAFETY: a contiguous buffer of `len` bytes at `view.buf`, which
        // the export keeps in place for as long as `self` is borrowed.
        Some(unsafe { std::slice::from_raw_parts(view.buf.cast::<u8>(), len) })
    }
}

impl Drop for BufferExport<'_> {
    fn drop(&mut self) {
        // SAFETY: the view was filled by PyObject_GetBuffer and is released
        // once; `_py` proves the GIL is held.
        unsafe { ffi::PyBuffer_Release(&mut *self.view) }
    }
}

/// The buffer of a `PickleBuffer`, valid while the object lives and has
/// not been released.
pub fn pickle_buffer_view<'a>(buffer: &'a Bound<'_, PyAny>) -> PyResult<&'a ffi::Py_buffer> {
    // SAFETY: the object is a PickleBuffer; a null return sets an error
    // (released buffer). The view lives inside the object, which the
    // returned reference's lifetime ties to `buffer`.
    unsafe {
        let view = PyPickleBuffer_GetBuffer(buffer.as_ptr());
        view.as_ref().ok_or_else(|| PyErr::fetch(buffer.py()))
    }
}

/// `pickle.PickleBuffer(obj)`.
pub fn new_pickle_buffer<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: a live object; a new reference or null with an error set.
    owned(obj.py(), unsafe { PyPickleBuffer_FromObject(obj.as_ptr()) })
}

/// Raises the `pickle.find_class` audit event, as the stdlib does.
pub fn audit_find_class(module: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: both format units are "O" and both arguments are live objects.
    let status = unsafe {
        PySys_Audit(c"pickle.find_class".as_ptr(), c"OO".as_ptr(), module.as_ptr(), name.as_ptr())
    };
    if status < 0 {
        Err(PyErr::fetch(module.py()))
    } else {
        Ok(())
    }
}

/// The code points of a str (surrogates included).
pub fn code_points<'a>(text: &'a Bound<'_, PyAny>) -> impl Iterator<Item = u32> + 'a {
    // SAFETY: `text` is an exact str; PyUnicode_GetLength cannot fail on it.
    let len = unsafe { ffi::PyUnicode_GetLength(text.as_ptr()) };
    // SAFETY: every index is below the length, so PyUnicode_ReadChar cannot fail.
    (0..len).map(move |i| unsafe { PyUnicode_ReadChar(text.as_ptr(), i) })
}

/// Interns a str object in place (attribute names in instance dicts are
/// interned, which makes later lookups compare by identity).
pub fn intern_in_place<'py>(text: Bound<'py, PyString>) -> Bound<'py, PyString> {
    let py = text.py();
    let mut ptr = text.into_ptr();
    // SAFETY: `ptr` is an owned reference to an exact str; the call swaps
    // it for the interned equal string, keeping the count balanced.
    unsafe {
        ffi::PyUnicode_InternInPlace(&mut ptr);
        Bound::from_owned_ptr(py, ptr).cast_into_unchecked()
    }
}

/// `import name`, as pickle does it: the module straight from `sys.modules`
/// when it is there and done initialising, else through `PyImport_Import`.
/// The shortcut skips the trip through `builtins.__import__` and the import
/// lock, which for a small pickle costs more than all the rest: pickle pays
/// it for every global it writes or reads. A module another thread is still
/// importing goes the long way, which waits for it as `import` would; so do
/// names that are not str and modules blocked with None.
pub fn import_module<'py>(name: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = name.py();
    if name.is_exact_instance_of::<PyString>() {
        if let Some(module) = modules(py)?.get_item(name)? {
            if !module.is_none() && !is_initializing(&module)? {
                return Ok(module);
            }
        }
    }
    // SAFETY: PyImport_Import takes any object (a non-str fails cleanly)
    // and returns a new reference or null with an exception set.
    owned(py, unsafe { ffi::PyImport_Import(name.as_ptr()) })
}

/// The interpreter's `sys.modules`, read without importing `sys`. (Not
/// `PyImport_GetModule`: on 3.11 it builds an AttributeError for every
/// module whose spec has no `_initializing`, which costs more than the
/// lookup.)
pub fn modules(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: a borrowed reference to the interpreter's module mapping,
    // which lives as long as the interpreter; null only before it exists.
    let modules = unsafe { ffi::PyImport_GetModuleDict() };
    if modules.is_null() {
        return Err(pyo3::exceptions::PyRuntimeError::new_err("sys.modules is gone"));
    }
    // SAFETY: non-null, and borrowed: the Bound takes its own reference.
    let modules = unsafe { Bound::from_borrowed_ptr(py, modules) };
    Ok(modules.cast_into::<PyDict>()?)
}

/// Whether a module's import is still running (`__spec__._initializing`).
fn is_initializing(module: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = module.py();
    let Some(spec) = lookup_attr(module, pyo3::intern!(py, "__spec__"))? else {
        return Ok(false);
    };
    match lookup_attr(&spec, pyo3::intern!(py, "_initializing"))? {
        Some(flag) => flag.is_truthy(),
        None => Ok(false),
    }
}

/// What a closure cell holds; None for an empty cell.
pub fn cell_contents<'py>(cell: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
    // SAFETY: `cell` is a cell object; PyCell_Get returns a new reference,
    // or null without an exception when the cell is empty.
    let contents = unsafe { ffi::PyCell_Get(cell.as_ptr()) };
    // SAFETY: non-null means a new reference that we now own.
    (!contents.is_null()).then(|| unsafe { Bound::from_owned_ptr(cell.py(), contents) })
}

/// The bytes of an exact bytes object, borrowed from it.
pub fn bytes_data<'a>(bytes: &'a Bound<'_, PyAny>) -> &'a [u8] {
    // SAFETY: `bytes` is an exact bytes object, whose buffer is immutable
    // and lives as long as the object, which outlives the borrow.
    unsafe {
        let data = ffi::PyBytes_AsString(bytes.as_ptr()).cast::<u8>();
        let len = ffi::PyBytes_Size(bytes.as_ptr());
        std::slice::from_raw_parts(data, len as usize)
    }
}

/// Turns an owned pointer from a C-API call into an object, or the error
/// the call set.
#[inline]
pub fn owned<'py>(py: Python<'py>, ptr: *mut ffi::PyObject) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: callers pass the fresh result of a C-API call that returns a
    // new reference, or null with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, ptr) }
}
