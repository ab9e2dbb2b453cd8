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
    let Some((count, widest)) = scan(data) else {
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
    match widest {
        0..=0xff => new_str(py, count, widest, |target: &mut [u8]| fill(target, data)),
        0x100..=0xffff => new_str(py, count, widest, |target: &mut [u16]| fill(target, data)),
        _ => new_str(py, count, widest, |target: &mut [u32]| fill(target, data)),
    }
}

/// The number of code points in `data` and a bound on the widest that
/// picks the same str kind (0x7f, 0xff, 0xffff or 0x10ffff); None unless
/// `data` is valid UTF-8 without surrogates. One pass, where the standard
/// library's check and then a walk over the chars would take two.
fn scan(data: &[u8]) -> Option<(usize, u32)> {
    let continuation = |at: usize| data.get(at).is_some_and(|&b| b & 0xc0 == 0x80);
    let (mut at, mut count, mut widest) = (0, 0, 0x7f);
    while let Some(&lead) = data.get(at) {
        let (len, wide) = match lead {
            0x00..=0x7f => (1, 0x7f),
            0xc2..=0xc3 => (2, 0xff),
            0xc4..=0xdf => (2, 0xffff),
            0xe0..=0xef => {
                let second = *data.get(at + 1)?;
                let allowed = match lead {
                    0xe0 => 0xa0..=0xbf,
                    0xed => 0x80..=0x9f, // past it are the surrogates
                    _ => 0x80..=0xbf,
                };
                if !allowed.contains(&second) {
                    return None;
                }
                (3, 0xffff)
            }
            0xf0..=0xf4 => {
                let second = *data.get(at + 1)?;
                let allowed = match lead {
                    0xf0 => 0x90..=0xbf,
                    0xf4 => 0x80..=0x8f,
                    _ => 0x80..=0xbf,
                };
                if !allowed.contains(&second) {
                    return None;
                }
                (4, 0x10ffff)
            }
            _ => return None,
        };
        if !(at + 1..at + len).all(continuation) {
            return None;
        }
        at += len;
        count += 1;
        widest = widest.max(wide);
    }
    Some((count, widest))
}

/// Writes each code point of `data`, valid UTF-8 as `scan` found it, into
/// one unit of `target`, which the caller sized to the number of code
/// points and chose wide enough.
fn fill<T: TryFrom<u32>>(target: &mut [T], data: &[u8]) {
    let mut at = 0;
    for unit in target.iter_mut() {
        let lead = u32::from(data[at]);
        let tail = |n: usize| u32::from(data[at + n] & 0x3f);
        let (code, len) = match lead {
            0x00..=0x7f => (lead, 1),
            0xc0..=0xdf => ((lead & 0x1f) << 6 | tail(1), 2),
            0xe0..=0xef => ((lead & 0x0f) << 12 | tail(1) << 6 | tail(2), 3),
            _ => ((lead & 0x07) << 18 | tail(1) << 12 | tail(2) << 6 | tail(3), 4),
        };
        if let Ok(value) = T::try_from(code) {
            *unit = value;
        }
        at += len;
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
