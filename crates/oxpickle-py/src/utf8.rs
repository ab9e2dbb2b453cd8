//! `str` objects built straight from UTF-8, the way pickles carry text.
//!
//! CPython's decoder takes a general route for anything not ASCII: it
//! guesses a width, writes through a growable writer, then shrinks and
//! copies the result. Valid UTF-8 tells us the length and the widest code
//! point in one pass, so the object can be allocated once at its final
//! size and kind and filled directly. Input that is not valid UTF-8 (a
//! lone surrogate, which pickle writes as `surrogatepass`, or garbage)
//! goes to CPython's decoder, so the results and errors are its own.

use pyo3::ffi;
use pyo3::prelude::*;

use crate::ffi::owned;

/// `bytes.decode("utf-8", "surrogatepass")`.
#[inline]
pub fn decode_surrogatepass<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if data.is_ascii() {
        return new_str(py, data.len(), 0x7f, |target: &mut [u8]| target.copy_from_slice(data));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        // SAFETY: the pointer and length describe `data`; the error
        // handler's name is NUL-terminated.
        return owned(py, unsafe {
            ffi::PyUnicode_DecodeUTF8(
                data.as_ptr().cast(),
                data.len() as ffi::Py_ssize_t,
                c"surrogatepass".as_ptr(),
            )
        });
    };
    let (count, widest) =
        text.chars().fold((0usize, 0u32), |(count, widest), c| (count + 1, widest.max(c.into())));
    match widest {
        0..=0xff => new_str(py, count, widest, |target: &mut [u8]| fill(target, text)),
        0x100..=0xffff => new_str(py, count, widest, |target: &mut [u16]| fill(target, text)),
        _ => new_str(py, count, widest, |target: &mut [u32]| fill(target, text)),
    }
}

/// Writes each code point of `text` into one unit of `target`, which the
/// caller sized to the number of code points and chose wide enough.
fn fill<T: TryFrom<u32>>(target: &mut [T], text: &str) {
    for (unit, c) in target.iter_mut().zip(text.chars()) {
        if let Ok(value) = T::try_from(u32::from(c)) {
            *unit = value;
        }
    }
}

/// A new str of `len` code points, the widest `widest`, whose units (of
/// the width that implies: u8, u16 or u32) `write` fills.
#[inline(always)]
fn new_str<'py, T>(
    py: Python<'py>,
    len: usize,
    widest: u32,
    write: impl FnOnce(&mut [T]),
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: creating a str of a known size cannot fail but for memory.
    let obj = owned(py, unsafe { ffi::PyUnicode_New(len as ffi::Py_ssize_t, widest) })?;
    // SAFETY: PyUnicode_New gave a compact str of `len` units whose width
    // is the one `widest` implies, which is `T` as the callers pair them;
    // nothing else sees the object until it is filled.
    let units = unsafe {
        std::slice::from_raw_parts_mut(ffi::PyUnicode_DATA(obj.as_ptr()).cast::<T>(), len)
    };
    write(units);
    Ok(obj)
}
