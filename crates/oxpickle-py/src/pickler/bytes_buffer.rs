//! The encoder's buffer as the storage of a bytes object, grown in place
//! (a realloc, as CPython's pickler grows its own): `dumps` writes each
//! byte once, where the caller gets it, and never holds the result twice.

use std::ffi::c_int;
use std::ptr::NonNull;

use oxpickle_core::OutputBuffer;
use pyo3::exceptions::PyMemoryError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

extern "C" {
    // Reallocates a bytes object that nothing else refers to; on failure
    // it frees the object, nulls the pointer and sets MemoryError.
    fn _PyBytes_Resize(bytes: *mut *mut ffi::PyObject, size: ffi::Py_ssize_t) -> c_int;
}

/// Results up to this size are copied out of a buffer grown far past them.
const SMALL_RESULT: usize = 128 * 1024;

/// A bytes object being written, its size the buffer's capacity.
pub struct BytesBuffer<'py> {
    py: Python<'py>,
    /// Null once the buffer failed to grow (CPython then freed the object).
    object: *mut ffi::PyObject,
    /// The object's storage; dangling when there is no object.
    data: NonNull<u8>,
    len: usize,
    capacity: usize,
    /// What the first growth grows to at least (0: no guess).
    expected_size: usize,
    /// Why the buffer stopped growing.
    failure: Option<PyErr>,
}

impl<'py> BytesBuffer<'py> {
    pub fn with_capacity(py: Python<'py>, capacity: usize) -> PyResult<Self> {
        // An empty bytes object is a shared singleton, never resized.
        let capacity = capacity.max(1);
        let size = ffi::Py_ssize_t::try_from(capacity).map_err(|_| too_large(capacity as u128))?;
        // SAFETY: a null source asks for an uninitialised bytes object of
        // `size` bytes (or null with MemoryError).
        let object = unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
        if object.is_null() {
            return Err(PyErr::fetch(py));
        }
        let mut buffer = BytesBuffer {
            py,
            object,
            data: NonNull::dangling(),
            len: 0,
            capacity,
            expected_size: 0,
            failure: None,
        };
        buffer.locate_storage();
        Ok(buffer)
    }

    /// Once the first `capacity` bytes are full, grows straight to
    /// `size` (if larger) instead of by steps, each of which may copy.
    pub fn expecting(mut self, size: usize) -> Self {
        self.expected_size = size;
        self
    }

    /// Fails with the error that stopped the buffer growing, if one did:
    /// the bytes it held are then gone.
    #[inline]
    pub fn check(&mut self) -> PyResult<()> {
        if self.object.is_null() {
            return Err(self.failure.take().unwrap_or_else(|| {
                PyMemoryError::new_err("the pickle's buffer could not grow (reported before)")
            }));
        }
        Ok(())
    }

    /// The bytes written, as the bytes object itself, trimmed to size.
    pub fn into_bytes(mut self) -> PyResult<Bound<'py, PyBytes>> {
        self.check()?;
        // At most the capacity, which was checked to fit.
        let size = self.len as ffi::Py_ssize_t;
        if self.len <= SMALL_RESULT && self.capacity > 2 * SMALL_RESULT {
            // A guessed size far too large: shrunk in place, the result would
            // keep a block (a mapping of its own) sized for the guess.
            // SAFETY: the first `len` bytes of `data` were written.
            let object = unsafe { ffi::PyBytes_FromStringAndSize(self.data.as_ptr().cast(), size) };
            if object.is_null() {
                return Err(PyErr::fetch(self.py));
            }
            // SAFETY: `object` is a new, owned, complete bytes object.
            return Ok(unsafe { Bound::from_owned_ptr(self.py, object).cast_into_unchecked() });
        }
        let mut object = std::mem::replace(&mut self.object, std::ptr::null_mut());
        if self.len != self.capacity {
            // SAFETY: `object` is a bytes object only this buffer refers to
            // (its reference is taken out of the buffer above); on failure
            // CPython frees it and nulls the pointer.
            if unsafe { _PyBytes_Resize(&mut object, size) } < 0 {
                return Err(PyErr::fetch(self.py));
            }
        }
        // SAFETY: `object` is an owned reference to a bytes object whose
        // first `len` bytes were written; it is now complete.
        Ok(unsafe { Bound::from_owned_ptr(self.py, object).cast_into_unchecked() })
    }

    /// Moves what was written to a new bytes object of `capacity` bytes;
    /// false, with nothing changed, if there is no memory for it. Only
    /// for a guessed size: the guess must not fail a dump that fits.
    fn move_to_new_object(&mut self, capacity: usize) -> bool {
        let Ok(size) = ffi::Py_ssize_t::try_from(capacity) else {
            return false;
        };
        // SAFETY: a null source asks for an uninitialised bytes object of
        // `size` bytes (or null with MemoryError).
        let object = unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
        if object.is_null() {
            // The guess was too large for this process: grow as without one.
            drop(PyErr::fetch(self.py));
            return false;
        }
        // SAFETY: `object` is a new bytes object of `capacity` bytes, at
        // least `len`; the first `len` bytes of `data` were written.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.data.as_ptr(),
                ffi::PyBytes_AsString(object).cast::<u8>(),
                self.len,
            );
        }
        self.release();
        self.object = object;
        self.capacity = capacity;
        self.locate_storage();
        true
    }

    fn locate_storage(&mut self) {
        // SAFETY: `object` is a live bytes object; its storage follows the
        // header and stays put until the object is resized.
        let storage = unsafe { ffi::PyBytes_AsString(self.object) };
        self.data = NonNull::new(storage.cast()).unwrap_or(NonNull::dangling());
        // SAFETY: the storage holds `capacity` bytes that this buffer owns;
        // the slice is only handed to madvise.
        let storage =
            unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr().cast(), self.capacity) };
        crate::ffi::advise_huge_pages(storage);
    }

    /// Stops growing: keeps `error` for `into_bytes` and lets go of the object.
    #[cold]
    fn fail(&mut self, error: PyErr) {
        self.release();
        self.data = NonNull::dangling();
        self.len = 0;
        self.capacity = 0;
        self.failure = Some(error);
    }

    fn release(&mut self) {
        let object = std::mem::replace(&mut self.object, std::ptr::null_mut());
        if !object.is_null() {
            // SAFETY: the buffer owns one reference to `object`; the GIL is
            // held, as `py` shows.
            unsafe { ffi::Py_DECREF(object) };
        }
    }
}

impl Drop for BytesBuffer<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

fn too_large(size: u128) -> PyErr {
    PyMemoryError::new_err(format!(
        "a pickle of {size} bytes is larger than a bytes object can be ({} bytes)",
        ffi::PY_SSIZE_T_MAX
    ))
}

// SAFETY: `data` is the storage of `object`, `capacity` bytes long, of which
// the first `len` were written; it moves only in `grow`, which locates it
// again. With no object, `data` is dangling and the capacity is zero.
unsafe impl OutputBuffer for BytesBuffer<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline(always)]
    fn as_ptr(&self) -> *const u8 {
        self.data.as_ptr()
    }

    #[inline(always)]
    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.data.as_ptr()
    }

    #[cold]
    fn grow(&mut self, additional: usize) -> bool {
        if self.object.is_null() {
            return false;
        }
        let Some(required) = self.len.checked_add(additional) else {
            self.fail(too_large(self.len as u128 + additional as u128));
            return false;
        };
        // Growing by half keeps the number of reallocations logarithmic
        // (large ones are remapped rather than copied by the system
        // allocator) while overshooting less than doubling: a buffer that
        // stays below the allocator's mapping threshold (up to 32 MiB)
        // reuses memory the process already has instead of faulting in
        // fresh pages.
        let grown = self.capacity.saturating_add(self.capacity / 2);
        let capacity = required.max(grown.min(ffi::PY_SSIZE_T_MAX as usize));
        let expected = std::mem::take(&mut self.expected_size);
        if expected > capacity && self.move_to_new_object(expected) {
            return true;
        }
        let Ok(size) = ffi::Py_ssize_t::try_from(capacity) else {
            self.fail(too_large(capacity as u128));
            return false;
        };
        // SAFETY: `object` is a bytes object only this buffer refers to; on
        // failure CPython frees it and nulls the pointer.
        if unsafe { _PyBytes_Resize(&mut self.object, size) } < 0 {
            let error = PyErr::fetch(self.py);
            self.fail(error);
            return false;
        }
        self.capacity = capacity;
        self.locate_storage();
        true
    }

    #[inline(always)]
    unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= self.capacity);
        self.len = len;
    }
}
