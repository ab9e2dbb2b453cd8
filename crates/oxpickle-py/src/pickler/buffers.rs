//! PEP 574 `PickleBuffer`s: in band as bytes/bytearray, or out of band as
//! NEXT_BUFFER when `buffer_callback` keeps the buffer.

use oxpickle_core::Op;
use pyo3::ffi;
use pyo3::prelude::*;

use super::dumper::{references, Dumper};
use crate::errors::pickling_error;
use crate::ffi::pickle_buffer_view;

impl<'py> Dumper<'py, '_> {
    pub(super) fn save_pickle_buffer(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let py = self.py;
        if self.proto < 5 {
            return Err(pickling_error(py, "PickleBuffer can only pickled with protocol >= 5"));
        }
        let view = pickle_buffer_view(obj)?;
        // SAFETY: `view` is the live buffer of `obj`; the check only reads its shape.
        let contiguous =
            unsafe { ffi::PyBuffer_IsContiguous(view, b'A' as std::os::raw::c_char) } != 0;
        if !view.suboffsets.is_null() || !contiguous {
            return Err(pickling_error(
                py,
                "PickleBuffer can not be pickled when pointing to a non-contiguous buffer",
            ));
        }
        let readonly = view.readonly != 0;
        let in_band = match &self.hooks.buffer_callback {
            Some(callback) => {
                let before = references(obj);
                let in_band = callback.call1((obj,))?.is_truthy()?;
                self.note_kept_references(obj, before);
                in_band
            }
            None => true,
        };
        if !in_band {
            self.out.enc.op(Op::NextBuffer);
            if readonly {
                self.out.enc.op(Op::ReadonlyBuffer);
            }
            return Ok(());
        }
        // Looked up again: the callback may have released the buffer.
        let view = pickle_buffer_view(obj)?;
        let len = usize::try_from(view.len).unwrap_or(0);
        // SAFETY: a contiguous buffer of `len` bytes at `view.buf`, kept
        // alive by `obj` for the duration of this call; no Python code runs
        // while the slice is in use (the payload is copied, or handed to
        // `write` as `obj` itself).
        let data = if len == 0 {
            &[][..]
        } else {
            unsafe { std::slice::from_raw_parts(view.buf.cast::<u8>(), len) }
        };
        self.write_binary(obj, data, readonly)
    }
}
