//! str, bytes, bytearray, Python 2 strings and PEP 574 buffers.

use oxpickle_core::{Arg, Op};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyMemoryView;

use super::machine::LoadMachine;

impl<'py> LoadMachine<'py, '_> {
    pub(super) fn load_text(&mut self, op: Op, arg: Arg<'_>) -> PyResult<()> {
        let (Arg::Data(data) | Arg::Line(data)) = arg else {
            return Err(self.fail("bad argument"));
        };
        let len = data.len() as ffi::Py_ssize_t;
        let ptr = data.as_ptr().cast();
        // SAFETY (every arm): `ptr` and `len` describe `data`, which
        // outlives the call; each function returns a new reference or null
        // with an exception set.
        let obj = match op {
            Op::ShortBinUnicode | Op::BinUnicode | Op::BinUnicode8 => {
                let text = crate::utf8::decode_surrogatepass(self.py, data)?;
                self.push(text);
                return Ok(());
            }
            Op::ShortBinBytes | Op::BinBytes | Op::BinBytes8 => unsafe {
                ffi::PyBytes_FromStringAndSize(ptr, len)
            },
            Op::ByteArray8 => unsafe { ffi::PyByteArray_FromStringAndSize(ptr, len) },
            Op::Unicode => unsafe {
                ffi::PyUnicode_DecodeRawUnicodeEscape(ptr, len, std::ptr::null())
            },
            Op::BinString | Op::ShortBinString => return self.push_python2_str(data),
            Op::String => {
                let quoted = unquote(data)
                    .ok_or_else(|| self.fail("the STRING opcode argument must be quoted"))?;
                let len = quoted.len() as ffi::Py_ssize_t;
                // SAFETY: `quoted` is a sub-slice of `data`.
                let raw = unsafe {
                    ffi::PyBytes_DecodeEscape(
                        quoted.as_ptr().cast(),
                        len,
                        std::ptr::null(),
                        0,
                        std::ptr::null(),
                    )
                };
                let raw = crate::ffi::owned(self.py, raw)?;
                return self.push_python2_str(crate::ffi::bytes_data(&raw));
            }
            _ => return Err(self.fail("bad argument")),
        };
        self.push_owned(obj)
    }

    /// A Python 2 `str`: bytes when `encoding="bytes"`, else decoded.
    fn push_python2_str(&mut self, data: &[u8]) -> PyResult<()> {
        let len = data.len() as ffi::Py_ssize_t;
        let ptr = data.as_ptr().cast();
        let obj = match &self.settings.encoding {
            // SAFETY: `ptr` and `len` describe `data`.
            None => unsafe { ffi::PyBytes_FromStringAndSize(ptr, len) },
            // SAFETY: as above; encoding and errors are NUL-terminated.
            Some(encoding) => unsafe {
                ffi::PyUnicode_Decode(ptr, len, encoding.as_ptr(), self.settings.errors.as_ptr())
            },
        };
        self.push_owned(obj)
    }

    /// NEXT_BUFFER: the next object from `buffers=`.
    pub(super) fn load_next_buffer(&mut self) -> PyResult<()> {
        let Some(buffers) = &mut self.hooks.buffers else {
            return Err(self.fail(
                "pickle stream refers to out-of-band data but no *buffers* argument was given",
            ));
        };
        match buffers.next() {
            Some(buffer) => {
                let buffer = buffer?;
                self.push(buffer);
                Ok(())
            }
            None => Err(self.fail("not enough out-of-band buffers")),
        }
    }

    /// READONLY_BUFFER: a writable buffer on top becomes a read-only view.
    pub(super) fn load_readonly_buffer(&mut self) -> PyResult<()> {
        let top = self.top()?.clone();
        let view = PyMemoryView::from(&top)?;
        if !view.getattr(pyo3::intern!(self.py, "readonly"))?.is_truthy()? {
            let readonly = view.call_method0(pyo3::intern!(self.py, "toreadonly"))?;
            self.pop()?;
            self.push(readonly);
        }
        Ok(())
    }
}

/// The text between matching outer quotes of a protocol-0 STRING.
fn unquote(line: &[u8]) -> Option<&[u8]> {
    match line {
        [first @ (b'\'' | b'"'), inner @ .., last] if first == last => Some(inner),
        _ => None,
    }
}
