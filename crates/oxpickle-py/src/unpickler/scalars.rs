//! None, booleans, ints and floats.

use std::os::raw::c_char;

use oxpickle_core::{Arg, Op};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;

use super::machine::Machine;
use crate::ffi::owned;

impl<'py> Machine<'py, '_> {
    /// Opcodes whose value is their argument: NONE, NEWTRUE/NEWFALSE and
    /// the binary ints.
    #[inline]
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

    pub(super) fn load_number(&mut self, op: Op, arg: Arg<'_>) -> PyResult<()> {
        match (op, arg) {
            (Op::BinFloat, Arg::Float(value)) => {
                // SAFETY: creating a float cannot fail but for memory.
                self.push_owned(unsafe { ffi::PyFloat_FromDouble(value) })
            }
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
                let value = parse_int(self.py, digits, 0)?;
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

    /// INT: a C long in any base C's strtol(…, 0) reads, `00`/`01` for
    /// booleans, anything longer as a Python int.
    fn int_line(&self, line: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        if line.is_empty() {
            return Err(self.fail("pickle data was truncated"));
        }
        match strtol_base0(line) {
            Some(value @ (0 | 1)) if line.len() == 2 => {
                Ok(pyo3::types::PyBool::new(py, value == 1).to_owned().into_any())
            }
            Some(value) => Ok(value.into_pyobject(py)?.into_any()),
            None => parse_int(py, line, 0)
                .map_err(|_| PyValueError::new_err("could not convert string to int")),
        }
    }
}

/// C's `strtol(text, &end, 0)` where the whole text must be consumed:
/// optional leading white space and sign, then `0x` hex, `0` octal or
/// decimal. None on overflow or anything left over.
fn strtol_base0(text: &[u8]) -> Option<i64> {
    let text = text.trim_ascii_start();
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (radix, digits) = match text {
        [b'0', b'x' | b'X', rest @ ..] if rest.first().is_some_and(u8::is_ascii_hexdigit) => {
            (16, rest)
        }
        [b'0', rest @ ..] if !rest.is_empty() => (8, rest),
        _ => (10, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: i128 = 0;
    for &byte in digits {
        let digit = char::from(byte).to_digit(radix)?;
        magnitude = magnitude.checked_mul(i128::from(radix))?.checked_add(i128::from(digit))?;
        if magnitude > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
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
fn int_from_le_bytes<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if bytes.is_empty() {
        return Ok(0i32.into_pyobject(py)?.into_any());
    }
    // SAFETY: the pointer and length describe `bytes`.
    owned(py, unsafe { ffi::_PyLong_FromByteArray(bytes.as_ptr(), bytes.len(), 1, 1) })
}

fn nul_terminated(text: &[u8]) -> Vec<c_char> {
    text.iter().map(|&b| b as c_char).chain(std::iter::once(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::strtol_base0;

    #[test]
    fn strtol_reads_what_c_reads() {
        assert_eq!(strtol_base0(b"42"), Some(42));
        assert_eq!(strtol_base0(b"-7"), Some(-7));
        assert_eq!(strtol_base0(b" +5"), Some(5));
        assert_eq!(strtol_base0(b"010"), Some(8));
        assert_eq!(strtol_base0(b"0x1f"), Some(31));
        assert_eq!(strtol_base0(b"0"), Some(0));
        assert_eq!(strtol_base0(b"01"), Some(1));
        assert_eq!(strtol_base0(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(strtol_base0(b"9223372036854775808"), None);
        assert_eq!(strtol_base0(b"12a"), None);
        assert_eq!(strtol_base0(b""), None);
        assert_eq!(strtol_base0(b"09"), None);
    }
}
