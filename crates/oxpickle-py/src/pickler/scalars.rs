//! None, bool, int and float: atoms, written inline and never memoized.

use std::os::raw::c_int;

use oxpickle_core::Op;
use pyo3::ffi;
use pyo3::prelude::*;

use super::dumper::Dumper;
use super::output::encode_error;
use crate::ffi::int_to_le_bytes;

impl<'py> Dumper<'py, '_> {
    pub(super) fn save_bool(&mut self, obj: &Bound<'py, PyAny>) {
        // SAFETY: comparing against the True singleton's address only.
        let value = obj.as_ptr() == unsafe { ffi::Py_True() };
        if self.proto >= 2 {
            self.out.enc.op(if value { Op::NewTrue } else { Op::NewFalse });
        } else {
            self.out.enc.write(if value { b"I01\n" } else { b"I00\n" });
        }
    }

    pub(super) fn save_int(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let mut overflow: c_int = 0;
        // SAFETY: `obj` is an exact int, for which this call cannot fail;
        // overflow is reported through `overflow`.
        let value = unsafe { ffi::PyLong_AsLongAndOverflow(obj.as_ptr(), &mut overflow) };
        if overflow == 0 {
            if let Ok(small) = i32::try_from(value) {
                self.out.enc.int32(small, self.bin);
                return Ok(());
            }
            if self.proto >= 2 {
                self.out.enc.long_i64(value);
                return Ok(());
            }
        } else if self.proto >= 2 {
            let mut bytes = std::mem::take(&mut self.int_bytes);
            let written = int_to_le_bytes(obj, &mut bytes)
                .and_then(|()| self.out.enc.long_binary(&bytes).map_err(encode_error));
            self.int_bytes = bytes;
            return written;
        }
        let decimal = obj.repr()?;
        self.out.enc.long_text(decimal.to_str()?.as_bytes());
        Ok(())
    }

    pub(super) fn save_float(&mut self, obj: &Bound<'py, PyAny>) {
        // SAFETY: `obj` is an exact float.
        let value = unsafe { ffi::PyFloat_AS_DOUBLE(obj.as_ptr()) };
        self.out.enc.float(value, self.bin);
    }
}
