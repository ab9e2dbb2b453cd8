//! Ints: small values read straight from the object, the little-endian
//! two's-complement bytes of LONG1/LONG4, and the base of the INT/LONG
//! text. CPython changed the int layout in 3.12, gave the byte conversions
//! a public API in 3.13 and made the text decimal in 3.14; each version's
//! way is chosen here and nowhere else.

use oxpickle_core::text::IntBase;
use pyo3::ffi;
use pyo3::prelude::*;

use super::owned;

/// The base the unpickler reads the text of INT and LONG in. From 3.14
/// decimal, as the protocol documents and pickletools always read it, so
/// `I010` is ten and `I0x10` an error (gh-126992); before, C's `strtol` and
/// `int()` with base 0, so `I010` is eight and `I0x10` sixteen.
#[cfg(Py_3_14)]
pub const TEXT_INT_BASE: IntBase = IntBase::Ten;
#[cfg(not(Py_3_14))]
pub const TEXT_INT_BASE: IntBase = IntBase::Auto;

/// The value of an exact int when it can be read from the object itself,
/// without a call into CPython; None to ask CPython. `thirty_bit_digits`
/// says the interpreter stores 30-bit digits in 32-bit words (`sys.int_info`;
/// a build may choose 15-bit digits), the only layout read here.
///
/// 3.11 stores the signed digit count in `ob_size`: up to four digits (below
/// 2**120 in magnitude) are read. From 3.12 the count and sign share a tag
/// word, and the unstable API (`PyUnstable_Long_IsCompact` and
/// `PyUnstable_Long_CompactValue`) reads "compact" ints, below 2**30 in
/// magnitude: those are static inline functions Rust cannot call, so their
/// bodies, from `cpython/longintrepr.h`, are written out here, and debug
/// builds check each result against the exported functions.
#[inline(always)]
pub fn int_value_from_object(int: &Bound<'_, PyAny>, thirty_bit_digits: bool) -> Option<i128> {
    if !thirty_bit_digits {
        return None;
    }
    #[cfg(not(Py_3_12))]
    {
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
            Some(if size < 0 { -magnitude } else { magnitude })
        }
    }
    #[cfg(Py_3_12)]
    {
        let value = compact::value(int)?;
        debug_assert_eq!(Some(value), compact::value_from_cpython(int));
        Some(i128::from(value))
    }
}

/// The body of the unstable API's inline functions, for 3.12 and later.
#[cfg(Py_3_12)]
mod compact {
    use pyo3::ffi;
    use pyo3::prelude::*;

    /// Bits of the tag below the digit count (sign and flags).
    const NON_SIZE_BITS: u32 = 3;
    const SIGN_MASK: usize = 3;

    /// `PyUnstable_Long_IsCompact` then `PyUnstable_Long_CompactValue`.
    #[inline(always)]
    pub fn value(int: &Bound<'_, PyAny>) -> Option<i64> {
        // SAFETY: an exact int is a PyLongObject: the object header, then
        // `long_value`, whose first word is the tag and whose digits follow;
        // a compact int (tag below 2 << NON_SIZE_BITS) has one digit, a u32
        // where digits are 30 bits (the caller checked).
        unsafe {
            let value = int.as_ptr().cast::<u8>().add(std::mem::size_of::<ffi::PyObject>());
            let tag = *value.cast::<usize>();
            if tag >= 2 << NON_SIZE_BITS {
                return None;
            }
            let digit = *value.add(std::mem::size_of::<usize>()).cast::<u32>();
            let sign = 1 - (tag & SIGN_MASK) as i64;
            Some(sign * i64::from(digit))
        }
    }

    /// The same, through the functions CPython exports.
    pub fn value_from_cpython(int: &Bound<'_, PyAny>) -> Option<i64> {
        extern "C" {
            fn PyUnstable_Long_IsCompact(op: *mut ffi::PyObject) -> std::ffi::c_int;
            fn PyUnstable_Long_CompactValue(op: *mut ffi::PyObject) -> ffi::Py_ssize_t;
        }
        // SAFETY: both read an exact int and cannot fail.
        unsafe {
            (PyUnstable_Long_IsCompact(int.as_ptr()) != 0)
                .then(|| PyUnstable_Long_CompactValue(int.as_ptr()) as i64)
        }
    }
}

/// An int too large for an i64, as the pickler writes it.
pub enum WideInt {
    /// It fits an i128 (LONG1 from the value).
    Fits(i128),
    /// Wider: its little-endian two's-complement bytes, as few as CPython's
    /// pickler writes, are in the caller's buffer.
    InBuffer,
}

/// Reads an int too large for an i64 (`negative` says which side) with as
/// few calls into CPython as the version allows: from 3.13 one
/// `PyLong_AsNativeBytes` into 32 bytes on the stack, a second only for a
/// wider int; before, a masked conversion for magnitudes within 64 bits,
/// which skips `_PyLong_AsByteArray`'s byte loop. `bytes` is a buffer the
/// caller reuses, so wide ints cost no allocation each.
pub fn wide_int(int: &Bound<'_, PyAny>, negative: bool, bytes: &mut Vec<u8>) -> PyResult<WideInt> {
    #[cfg(Py_3_13)]
    {
        let _ = negative;
        let mut word = [0u8; 32];
        let needed = native_bytes(int, &mut word)?;
        if needed <= 16 {
            // Sign-extended to the whole word, so its low half is the value.
            let mut low = [0u8; 16];
            low.copy_from_slice(&word[..16]);
            return Ok(WideInt::Fits(i128::from_le_bytes(low)));
        }
        bytes.clear();
        if needed <= word.len() {
            bytes.extend_from_slice(&word[..needed]);
        } else {
            bytes.resize(needed, 0);
            let written = native_bytes(int, bytes)?;
            debug_assert_eq!(written, needed);
        }
    }
    #[cfg(not(Py_3_13))]
    {
        let bits = magnitude_bits(int)?;
        if bits <= 64 {
            // SAFETY: an exact int, for which the masked conversion cannot fail.
            let low = i128::from(unsafe { ffi::PyLong_AsUnsignedLongLongMask(int.as_ptr()) });
            // The mask gives a negative value modulo 2**64.
            return Ok(WideInt::Fits(if negative { low - (1 << 64) } else { low }));
        }
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
    }
    // The sizes asked for leave room for a sign bit, which may be a whole
    // redundant byte.
    oxpickle_core::integer::trim_twos_complement(bytes);
    Ok(WideInt::InBuffer)
}

/// An int from little-endian two's-complement bytes (the LONG1/LONG4
/// payload).
pub fn int_from_le_bytes<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    #[cfg(Py_3_13)]
    // SAFETY: the pointer and length describe `bytes`; the flags ask for a
    // signed little-endian reading.
    let int =
        unsafe { ffi::PyLong_FromNativeBytes(bytes.as_ptr().cast(), bytes.len(), LITTLE_ENDIAN) };
    #[cfg(not(Py_3_13))]
    // SAFETY: the pointer and length describe `bytes`.
    let int = unsafe { ffi::_PyLong_FromByteArray(bytes.as_ptr(), bytes.len(), 1, 1) };
    owned(py, int)
}

/// `Py_ASNATIVEBYTES_LITTLE_ENDIAN`, signed.
#[cfg(Py_3_13)]
const LITTLE_ENDIAN: std::ffi::c_int = 1;

/// Writes as much of the int as fits `buffer`, two's complement and little
/// endian, and says how many bytes the whole value needs (a sign bit
/// included).
#[cfg(Py_3_13)]
fn native_bytes(int: &Bound<'_, PyAny>, buffer: &mut [u8]) -> PyResult<usize> {
    let len = ffi::Py_ssize_t::try_from(buffer.len()).unwrap_or(ffi::PY_SSIZE_T_MAX);
    // SAFETY: `buffer` has `len` writable bytes (none when empty, which the
    // API allows, to ask for the size); the int is a live exact int.
    let needed = unsafe {
        ffi::PyLong_AsNativeBytes(int.as_ptr(), buffer.as_mut_ptr().cast(), len, LITTLE_ENDIAN)
    };
    usize::try_from(needed).map_err(|_| PyErr::fetch(int.py()))
}

/// Bits in the magnitude of an exact int.
#[cfg(not(Py_3_13))]
fn magnitude_bits(int: &Bound<'_, PyAny>) -> PyResult<usize> {
    extern "C" {
        /// Bits in `abs(v)`; `(size_t)-1` with an exception set on overflow.
        fn _PyLong_NumBits(v: *mut ffi::PyObject) -> usize;
    }
    // SAFETY: `int` is an exact int (the caller dispatched on its type).
    let bits = unsafe { _PyLong_NumBits(int.as_ptr()) };
    if bits == usize::MAX {
        return Err(PyErr::fetch(int.py()));
    }
    Ok(bits)
}
