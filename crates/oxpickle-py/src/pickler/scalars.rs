//! None, bool, int and float: atoms, written inline and never memoized.

use std::os::raw::c_int;
use std::ptr::addr_of_mut;

use oxpickle_core::Op;
use pyo3::ffi;
use pyo3::prelude::*;

use super::dumper::Dumper;
use super::output::encode_error;
use crate::ffi::{int_value_from_object, wide_int, WideInt};

impl<'py> Dumper<'py, '_> {
    /// Writes `obj` if it is None, a bool, an int or a float (exact types:
    /// subclasses reduce like any object); false for anything else.
    #[inline(always)]
    pub(super) fn write_scalar(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<bool> {
        let ty = obj.get_type_ptr();
        // SAFETY: only the addresses of the static type objects and of
        // None are taken; nothing is read or written through them.
        unsafe {
            if ty == addr_of_mut!(ffi::PyFloat_Type) {
                self.save_float(obj);
            } else if ty == addr_of_mut!(ffi::PyLong_Type) {
                self.save_int(obj)?;
            } else if obj.as_ptr() == ffi::Py_None() {
                self.out.enc.op(Op::None);
            } else if ty == addr_of_mut!(ffi::PyBool_Type) {
                self.save_bool(obj);
            } else {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn save_bool(&mut self, obj: &Bound<'py, PyAny>) {
        // SAFETY: comparing against the True singleton's address only.
        let value = obj.as_ptr() == unsafe { ffi::Py_True() };
        if self.proto >= 2 {
            self.out.enc.op(if value { Op::NewTrue } else { Op::NewFalse });
        } else {
            self.out.enc.write(if value { b"I01\n" } else { b"I00\n" });
        }
    }

    #[inline(always)]
    fn save_int(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let value = match int_value_from_object(obj, self.stdlib.thirty_bit_digits) {
            Some(value) => value,
            None => {
                let mut overflow: c_int = 0;
                // SAFETY: `obj` is an exact int, for which this call cannot
                // fail; overflow is reported through `overflow`.
                let value = unsafe { ffi::PyLong_AsLongAndOverflow(obj.as_ptr(), &mut overflow) };
                if overflow != 0 {
                    return self.save_wide_int(obj, overflow < 0);
                }
                i128::from(value)
            }
        };
        if self.bin {
            if let Ok(small) = i32::try_from(value) {
                self.out.enc.int32(small, true);
                return Ok(());
            }
            if self.proto >= 2 {
                self.out.enc.long_i128(value);
                return Ok(());
            }
        }
        self.save_int_as_text(obj, i32::try_from(value).ok())
    }

    /// Ints past 64 bits that the digits did not give.
    #[inline(never)]
    fn save_wide_int(&mut self, obj: &Bound<'py, PyAny>, negative: bool) -> PyResult<()> {
        if self.proto < 2 {
            return self.save_int_as_text(obj, None);
        }
        let mut bytes = std::mem::take(&mut self.int_bytes);
        let written = match wide_int(obj, negative, &mut bytes) {
            Ok(WideInt::Fits(value)) => {
                self.out.enc.long_i128(value);
                Ok(())
            }
            Ok(WideInt::InBuffer) => self.out.enc.long_binary(&bytes).map_err(encode_error),
            Err(err) => Err(err),
        };
        self.int_bytes = bytes;
        written
    }

    /// Protocols 0 and 1: INT for what fits 32 bits (`small`) in protocol
    /// 0, else LONG with the decimal digits.
    #[inline(never)]
    fn save_int_as_text(&mut self, obj: &Bound<'py, PyAny>, small: Option<i32>) -> PyResult<()> {
        match small {
            Some(small) if !self.bin => self.out.enc.int32(small, false),
            _ => {
                let decimal = obj.repr()?;
                self.out.enc.long_text(decimal.to_str()?.as_bytes());
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn save_float(&mut self, obj: &Bound<'py, PyAny>) {
        // SAFETY: `obj` is an exact float.
        let value = unsafe { ffi::PyFloat_AS_DOUBLE(obj.as_ptr()) };
        self.out.enc.float(value, self.bin);
    }
}
