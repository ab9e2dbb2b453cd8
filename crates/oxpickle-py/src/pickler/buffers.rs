//! PEP 574 `PickleBuffer`s: in band as bytes/bytearray, or out of band as
//! NEXT_BUFFER when `buffer_callback` keeps the buffer.

use oxpickle_core::Op;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::dumper::{references, Dumper};
use crate::errors::pickling_error;
use crate::ffi::{pickle_buffer_view, BufferExport};

impl<'py> Dumper<'py, '_> {
    pub(super) fn save_pickle_buffer(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let py = self.py;
        if self.proto < 5 {
            return Err(pickling_error(py, "PickleBuffer can only pickled with protocol >= 5"));
        }
        // An export of our own, taken before any of the caller's code runs:
        // the callback (or the `__bool__` of what it returns) may release
        // the PickleBuffer, and the bytes must stay where they are, and
        // stay alive, until they are written.
        let export = BufferExport::get(obj)?;
        let Some(data) = export.contiguous_bytes() else {
            return Err(pickling_error(
                py,
                "PickleBuffer can not be pickled when pointing to a non-contiguous buffer",
            ));
        };
        let readonly = export.readonly();
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
        if pickle_buffer_view(obj).is_ok() {
            self.write_binary(obj, data, readonly)
        } else {
            // Released by the callback: a file's write() could not read the
            // PickleBuffer any more, so a large payload goes as a copy.
            let copy = PyBytes::new(py, data).into_any();
            self.write_binary_from(obj, data, readonly, &copy)
        }
    }
}
