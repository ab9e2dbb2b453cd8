//! str, bytes and bytearray: length-prefixed payloads, memoized.
//!
//! Protocols without an opcode for a type fall back to the same reduce
//! tuples CPython writes, so Python 2 can read protocol 0–2 output.

use oxpickle_core::{Header, FRAME_SIZE_TARGET};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyTuple};

use super::dumper::Dumper;
use super::output::encode_error;
use crate::ffi::{bytes_data, code_points, owned};

impl<'py> Dumper<'py, '_> {
    pub(super) fn save_str(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.content_memo.is_some() {
            return self.save_by_content(obj, true);
        }
        self.write_str(obj)
    }

    fn write_utf8(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let mut len: ffi::Py_ssize_t = 0;
        // SAFETY: `obj` is an exact str. Its UTF-8 form is cached inside
        // the str, so the data lives as long as `obj`.
        let utf8 = unsafe { ffi::PyUnicode_AsUTF8AndSize(obj.as_ptr(), &mut len) };
        if utf8.is_null() {
            // Lone surrogates have no UTF-8 form; "surrogatepass" encodes
            // them the way CPython's pickler (and unpickler) expect.
            drop(PyErr::fetch(self.py));
            let encoded = obj.call_method1("encode", ("utf-8", "surrogatepass"))?;
            return self.write_utf8_payload(bytes_data(&encoded), &encoded);
        }
        // SAFETY: as above; `len` is the length CPython reported.
        let data = unsafe { std::slice::from_raw_parts(utf8.cast::<u8>(), len as usize) };
        if data.len() >= FRAME_SIZE_TARGET && self.out.has_file() {
            // A large payload is handed to the file as is, and the file
            // may keep it: give it a bytes object that owns its memory.
            // SAFETY: `data` is `len` readable bytes; a new reference
            // comes back, or null with MemoryError (which `owned` raises;
            // PyBytes::new would panic).
            let owner = owned(self.py, unsafe {
                ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), len)
            })?;
            return self.write_utf8_payload(data, &owner);
        }
        self.write_utf8_payload(data, obj)
    }

    fn write_utf8_payload(&mut self, utf8: &[u8], owner: &Bound<'py, PyAny>) -> PyResult<()> {
        let header = Header::unicode(utf8.len(), self.proto).map_err(encode_error)?;
        self.out.payload(header.as_slice(), utf8, owner)
    }

    /// Deterministic mode: an equal str or bytes written before is fetched
    /// from the memo whether or not it is the same object.
    fn save_by_content(&mut self, obj: &Bound<'py, PyAny>, is_str: bool) -> PyResult<()> {
        let content = if is_str {
            obj.call_method1(pyo3::intern!(self.py, "encode"), ("utf-8", "surrogatepass"))?
        } else {
            obj.clone()
        };
        let content = bytes_data(&content).to_vec();
        if let Some(index) = self.content_memo.as_ref().and_then(|memo| memo.get(is_str, &content))
        {
            return self.write_memo_get(index);
        }
        let memo = self.content_memo.take();
        let written = if is_str { self.write_str(obj) } else { self.write_bytes(obj) };
        self.content_memo = memo;
        written?;
        if let (Some(memo), Some(index)) = (self.content_memo.as_mut(), self.memo.get(obj)) {
            memo.insert(is_str, &content, index);
        }
        Ok(())
    }

    fn write_str(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.bin {
            self.write_utf8(obj)?;
        } else {
            self.out.enc.unicode_text(code_points(obj));
        }
        self.memoize(obj)
    }

    pub(super) fn save_bytes(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.content_memo.is_some() {
            return self.save_by_content(obj, false);
        }
        self.write_bytes(obj)
    }

    fn write_bytes(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let data = bytes_data(obj);
        if self.proto < 3 {
            return self.save_bytes_for_python2(obj, data);
        }
        self.write_binary(obj, data, true)
    }

    /// A BINBYTES-family payload (`readonly`) or BYTEARRAY8, then its memo
    /// entry. `obj` is what the payload is handed to a file as.
    pub(super) fn write_binary(
        &mut self,
        obj: &Bound<'py, PyAny>,
        data: &[u8],
        readonly: bool,
    ) -> PyResult<()> {
        self.write_binary_from(obj, data, readonly, obj)
    }

    /// [`write_binary`](Self::write_binary) where a large payload is handed
    /// to the file's `write` as `owner` (an object whose buffer is `data`)
    /// rather than as `obj`.
    pub(super) fn write_binary_from(
        &mut self,
        obj: &Bound<'py, PyAny>,
        data: &[u8],
        readonly: bool,
        owner: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let header = if readonly {
            Header::bytes(data.len(), self.proto).map_err(encode_error)?
        } else {
            Header::bytearray(data.len())
        };
        self.out.payload(header.as_slice(), data, owner)?;
        self.memoize(obj)
    }

    /// Protocols 0–2 have no bytes opcode: `codecs.encode(text, "latin1")`
    /// rebuilds bytes on Python 3 and a str on Python 2.
    fn save_bytes_for_python2(&mut self, obj: &Bound<'py, PyAny>, data: &[u8]) -> PyResult<()> {
        let py = self.py;
        let reduce = if data.is_empty() {
            let class = py.get_type::<PyBytes>().into_any();
            PyTuple::new(py, [class, PyTuple::empty(py).into_any()])?
        } else {
            let latin1 = pyo3::intern!(py, "latin1").clone().into_any();
            let args = PyTuple::new(py, [decode_latin1(py, data)?, latin1])?;
            PyTuple::new(py, [self.stdlib.codecs_encode.bind(py).clone(), args.into_any()])?
        };
        self.save_reduce(&reduce, Some(obj))
    }

    pub(super) fn save_bytearray(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let py = self.py;
        let array = obj.cast::<PyByteArray>()?;
        if self.proto >= 5 {
            // SAFETY: no Python code runs while the slice is alive (the
            // payload is copied, or handed to `write` as the bytearray
            // itself), so the bytearray cannot be resized under it.
            let data = unsafe { array.as_bytes() };
            return self.write_binary(obj, data, false);
        }
        let class = py.get_type::<PyByteArray>().into_any();
        let args = if array.len() == 0 {
            PyTuple::empty(py)
        } else {
            // PyBytes_FromObject, as CPython: always a new object (never
            // the cached one-byte singleton), so the memo sees what C's does.
            // SAFETY: `obj` is a bytearray; a new reference or null is returned.
            PyTuple::new(py, [owned(py, unsafe { ffi::PyBytes_FromObject(obj.as_ptr()) })?])?
        };
        let reduce = PyTuple::new(py, [class, args.into_any()])?;
        self.save_reduce(&reduce, Some(obj))
    }
}

fn decode_latin1<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let len = data.len() as ffi::Py_ssize_t;
    // SAFETY: the pointer and length describe `data`; latin-1 accepts any byte.
    owned(py, unsafe { ffi::PyUnicode_DecodeLatin1(data.as_ptr().cast(), len, std::ptr::null()) })
}
