//! The C-API functions pyo3-ffi does not declare, and the exact-type tests
//! the hot paths dispatch on. Every raw call lives in a small named helper.

use std::os::raw::{c_char, c_int};
use std::ptr::addr_of_mut;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

extern "C" {
    /// Bits in `abs(v)`; `(size_t)-1` with an exception set on overflow.
    fn _PyLong_NumBits(v: *mut ffi::PyObject) -> usize;
    /// Iterates a set's entries in table order, like `PyDict_Next`.
    fn _PySet_NextEntry(
        set: *mut ffi::PyObject,
        pos: *mut ffi::Py_ssize_t,
        key: *mut *mut ffi::PyObject,
        hash: *mut ffi::Py_hash_t,
    ) -> c_int;
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

/// The value of an exact int below 2**120 in magnitude (at most four
/// digits), read from the object itself where CPython 3.11's layout
/// allows; None to ask CPython. `thirty_bit_digits` says the interpreter
/// stores 30-bit digits in 32-bit words.
#[inline(always)]
pub fn int_value_from_digits(int: &Bound<'_, PyAny>, thirty_bit_digits: bool) -> Option<i128> {
    #[cfg(not(Py_3_12))]
    if thirty_bit_digits {
        // SAFETY: an exact int is a PyLongObject: a variable-size header
        // whose size is the signed number of digits, then the digits, least
        // significant first; only as many as the size says are read.
        unsafe {
            // Not Py_SIZE, which refuses ints (their size field changed
            // meaning in 3.12).
            let size = (*int.as_ptr().cast::<ffi::PyVarObject>()).ob_size;
            let digits = int
                .as_ptr()
                .cast::<u8>()
                .add(std::mem::size_of::<ffi::PyVarObject>())
                .cast::<u32>();
            let count = size.unsigned_abs();
            if count > 4 {
                return None;
            }
            let magnitude = (0..count)
                .rev()
                .fold(0i128, |value, index| value << 30 | i128::from(*digits.add(index)));
            return Some(if size < 0 { -magnitude } else { magnitude });
        }
    }
    let _ = (int, thirty_bit_digits);
    None
}

/// An exact int too large for an i64 whose magnitude fits in 64 bits, as
/// an i128 (None when it is wider): its low 64 bits and its sign, which
/// the failed i64 conversion reported, without CPython's byte loop.
pub fn int_within_64_bits(int: &Bound<'_, PyAny>, negative: bool) -> PyResult<Option<i128>> {
    if magnitude_bits(int)? > 64 {
        return Ok(None);
    }
    // SAFETY: an exact int, for which the masked conversion cannot fail.
    let low = i128::from(unsafe { ffi::PyLong_AsUnsignedLongLongMask(int.as_ptr()) });
    // The mask gives a negative value modulo 2**64.
    Ok(Some(if negative { low - (1 << 64) } else { low }))
}

/// Little-endian two's-complement bytes of an int too large for an i64,
/// as few as CPython's pickler writes for LONG1/LONG4, into `bytes` (a
/// buffer the caller reuses, so large ints cost no allocation each).
pub fn int_to_le_bytes(int: &Bound<'_, PyAny>, bytes: &mut Vec<u8>) -> PyResult<()> {
    let bits = magnitude_bits(int)?;
    let len = (bits >> 3) + 1;
    bytes.clear();
    bytes.resize(len, 0);
    // SAFETY: `bytes` has room for `len` bytes, which holds any int of
    // `bits` bits in two's complement; the int is a PyLongObject.
    let status =
        unsafe { ffi::_PyLong_AsByteArray(int.as_ptr().cast(), bytes.as_mut_ptr(), len, 1, 1) };
    if status < 0 {
        return Err(PyErr::fetch(int.py()));
    }
    // A negative value may carry one redundant sign byte.
    oxpickle_core::integer::trim_twos_complement(bytes);
    Ok(())
}

/// Bits in the magnitude of an exact int.
fn magnitude_bits(int: &Bound<'_, PyAny>) -> PyResult<usize> {
    // SAFETY: `int` is an exact int (the caller dispatched on its type).
    let bits = unsafe { _PyLong_NumBits(int.as_ptr()) };
    if bits == usize::MAX {
        return Err(PyErr::fetch(int.py()));
    }
    Ok(bits)
}

/// The next entry of a set, advancing `pos`; borrowed, so the caller
/// takes its own reference.
pub fn set_next_entry<'py>(
    set: &Bound<'py, PyAny>,
    pos: &mut ffi::Py_ssize_t,
) -> Option<Bound<'py, PyAny>> {
    let mut key = std::ptr::null_mut();
    let mut hash: ffi::Py_hash_t = 0;
    // SAFETY: `set` is an exact set or frozenset; `pos` was started at 0
    // and only advanced by this function.
    let found = unsafe { _PySet_NextEntry(set.as_ptr(), pos, &mut key, &mut hash) };
    if found == 0 {
        return None;
    }
    // SAFETY: the entry is a borrowed, live reference; we take our own.
    Some(unsafe { Bound::from_borrowed_ptr(set.py(), key) })
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

#[cfg(not(Py_3_13))]
extern "C" {
    /// `getattr` that reports a missing attribute without raising (and so
    /// without building an AttributeError); `PyObject_GetOptionalAttr` from 3.13.
    fn _PyObject_LookupAttr(
        obj: *mut ffi::PyObject,
        name: *mut ffi::PyObject,
        result: *mut *mut ffi::PyObject,
    ) -> c_int;
}

/// `getattr(obj, name, None)` without the cost of an AttributeError when
/// the attribute is missing, which the hot paths hit constantly (BUILD
/// asking for `__setstate__`, say).
#[inline]
pub fn lookup_attr<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let mut result = std::ptr::null_mut();
    // SAFETY: both are live objects; on 1 `result` is a new reference, on 0
    // it is null with no exception, on -1 an exception is set.
    let found = unsafe {
        #[cfg(Py_3_13)]
        let found = ffi::PyObject_GetOptionalAttr(obj.as_ptr(), name.as_ptr(), &mut result);
        #[cfg(not(Py_3_13))]
        let found = _PyObject_LookupAttr(obj.as_ptr(), name.as_ptr(), &mut result);
        found
    };
    match found {
        0 => Ok(None),
        // SAFETY: a new reference we now own.
        1 => Ok(Some(unsafe { Bound::from_owned_ptr(obj.py(), result) })),
        _ => Err(PyErr::fetch(obj.py())),
    }
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
        // SAFETY: a str key; a new reference comes back, or null with an
        // exception set or, when the module is not there, without one.
        let found = unsafe { ffi::PyImport_GetModule(name.as_ptr()) };
        if found.is_null() {
            if let Some(err) = PyErr::take(py) {
                return Err(err);
            }
        } else {
            // SAFETY: non-null means a new reference that we now own.
            let module = unsafe { Bound::from_owned_ptr(py, found) };
            if !module.is_none() && !is_initializing(&module)? {
                return Ok(module);
            }
        }
    }
    // SAFETY: PyImport_Import takes any object (a non-str fails cleanly)
    // and returns a new reference or null with an exception set.
    owned(py, unsafe { ffi::PyImport_Import(name.as_ptr()) })
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
