//! None, booleans, ints and floats.

use std::os::raw::c_char;

use oxpickle_core::text::strtol;
use oxpickle_core::{Arg, Op};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;

use super::machine::LoadMachine;
use crate::ffi::{owned, TEXT_INT_BASE};

impl<'py> LoadMachine<'py, '_> {
    /// Opcodes whose value is their argument: NONE, NEWTRUE/NEWFALSE and
    /// the binary ints.
    #[inline(always)]
    pub(super) fn load_constant(&mut self, op: Op, arg: Arg<'_>) -> PyResult<()> {
        let py = self.py;
        let value = match (op, arg) {
            (Op::None, _) => py.None().into_bound(py),
            (Op::NewTrue, _) => pyo3::types::PyBool::new(py, true).to_owned().into_any(),
            (Op::NewFalse, _) => pyo3::types::PyBool::new(py, false).to_owned().into_any(),
            (_, Arg::Int(value)) => value.into_pyobject(py)?.into_any(),
            (_, Arg::Uint(value)) => value.into_pyobject(py)?.into_any(),
            _ => return Err(self.fail("bad argument")),
        };
        self.push(value);
        Ok(())
    }

    /// The text numbers and the long ints (BINFLOAT is in the run loop).
    pub(super) fn load_number(&mut self, op: Op, arg: Arg<'_>) -> PyResult<()> {
        match (op, arg) {
            (Op::Long1 | Op::Long4, Arg::Data(bytes)) => {
                let value = int_from_le_bytes(self.py, bytes)?;
                self.push(value);
                Ok(())
            }
            (Op::Int, Arg::Line(line)) => {
                let value = self.int_line(line)?;
                self.push(value);
                Ok(())
            }
            (Op::Long, Arg::Line(line)) => {
                if line.is_empty() {
                    return Err(self.fail("pickle data was truncated"));
                }
                // The 'L' suffix of Python 2 is optional.
                let digits = line.strip_suffix(b"L").unwrap_or(line);
                self.check_int_text(digits, true)?;
                let value = parse_int(self.py, digits, TEXT_INT_BASE.number())?;
                self.push(value);
                Ok(())
            }
            (Op::Float, Arg::Line(line)) => {
                let value = parse_float(self.py, line)?;
                self.push(value);
                Ok(())
            }
            _ => Err(self.fail("bad argument")),
        }
    }

    /// INT: a C long as C's strtol reads it in the running CPython's base
    /// (`TEXT_INT_BASE`), `00`/`01` for booleans, anything longer as a
    /// Python int.
    fn int_line(&self, line: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        if line.is_empty() {
            return Err(self.fail("pickle data was truncated"));
        }
        self.check_int_text(line, false)?;
        // Only the exact texts protocol 0 writes for booleans: `I+0` and
        // `I 0` are the int 0, as in the pure-Python unpickler (C's read
        // them as False until 3.15, gh-135241).
        if let b"00" | b"01" = line {
            return Ok(pyo3::types::PyBool::new(py, line == b"01").to_owned().into_any());
        }
        match strtol(line, TEXT_INT_BASE) {
            Some(value) => Ok(value.into_pyobject(py)?.into_any()),
            None => parse_int(py, line, TEXT_INT_BASE.number())
                .map_err(|_| PyValueError::new_err("could not convert string to int")),
        }
    }
}

/// `int(text, base)` with CPython's PyLong_FromString rules.
pub(super) fn parse_int<'py>(
    py: Python<'py>,
    text: &[u8],
    base: i32,
) -> PyResult<Bound<'py, PyAny>> {
    let c_text = nul_terminated(text);
    // SAFETY: `c_text` is NUL-terminated and outlives the call.
    owned(py, unsafe { ffi::PyLong_FromString(c_text.as_ptr(), std::ptr::null_mut(), base) })
}

/// FLOAT: Python's float syntax, the whole line.
fn parse_float<'py>(py: Python<'py>, line: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let c_text = nul_terminated(line);
    let mut end: *mut c_char = std::ptr::null_mut();
    // SAFETY: `c_text` is NUL-terminated; `end` receives a pointer into it.
    let value =
        unsafe { ffi::PyOS_string_to_double(c_text.as_ptr(), &mut end, ffi::PyExc_OverflowError) };
    if value == -1.0 {
        if let Some(err) = PyErr::take(py) {
            return Err(err);
        }
    }
    // SAFETY: `end` points into `c_text`, at most at its terminating NUL.
    let consumed_all = !end.is_null() && unsafe { *end } == 0;
    if !consumed_all {
        return Err(PyValueError::new_err("could not convert string to float"));
    }
    // SAFETY: creating a float cannot fail but for memory.
    owned(py, unsafe { ffi::PyFloat_FromDouble(value) })
}

/// LONG1/LONG4 payload: little-endian two's complement.
pub(super) fn int_from_le_bytes<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // Most longs fit 64 bits, signed or not: convert those here rather
    // than take CPython's byte-by-byte path for any length.
    if bytes.len() <= 8 {
        let fill = if bytes.last().is_some_and(|&top| top & 0x80 != 0) { 0xff } else { 0 };
        let mut word = [fill; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        return owned(py, int_from_i64(i64::from_le_bytes(word)));
    }
    if let Some((word, [0])) = bytes.split_first_chunk::<8>() {
        // SAFETY: creating an int cannot fail but for memory.
        return owned(py, unsafe { ffi::PyLong_FromUnsignedLongLong(u64::from_le_bytes(*word)) });
    }
    crate::ffi::int_from_le_bytes(py, bytes)
}

/// A new int, or null with MemoryError set. `PyLong_FromLong` has the
/// fast path for one-digit values that `PyLong_FromLongLong` lacks.
#[inline(always)]
pub(super) fn int_from_i64(value: i64) -> *mut ffi::PyObject {
    // SAFETY (both): creating an int cannot fail but for memory.
    match std::os::raw::c_long::try_from(value) {
        Ok(value) => unsafe { ffi::PyLong_FromLong(value) },
        Err(_) => unsafe { ffi::PyLong_FromLongLong(value) },
    }
}

fn nul_terminated(text: &[u8]) -> Vec<c_char> {
    text.iter().map(|&b| b as c_char).chain(std::iter::once(0)).collect()
}
