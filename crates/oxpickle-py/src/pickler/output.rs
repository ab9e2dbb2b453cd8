//! Where pickled bytes go: an in-memory encoder, flushed to the file's
//! `write` frame by frame when there is a file.

use oxpickle_core::{EncodeError, Encoder, FRAME_SIZE_TARGET};
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

pub struct Output<'py> {
    pub enc: Encoder,
    /// The file's `write`, or None for `dumps`.
    write: Option<Bound<'py, PyAny>>,
}

impl<'py> Output<'py> {
    pub fn new(write: Option<Bound<'py, PyAny>>) -> Self {
        let capacity = if write.is_some() { FRAME_SIZE_TARGET + 1024 } else { 4096 };
        Output { enc: Encoder::with_capacity(capacity), write }
    }

    /// Between opcodes: commit a full frame and, with a file, hand it over
    /// so memory stays bounded by one frame. Without frames (protocols
    /// below 4) the buffer is handed over at the same size.
    #[inline]
    pub fn opcode_boundary(&mut self) -> PyResult<()> {
        if self.enc.frame_is_full() {
            self.enc.commit_frame();
            if self.write.is_some() {
                self.flush()?;
            }
        } else if !self.enc.framing() && self.write.is_some() && self.enc.len() >= FRAME_SIZE_TARGET
        {
            self.flush()?;
        }
        Ok(())
    }

    /// A length-prefixed payload. With a file, a large payload goes to
    /// `write` as `owner` (a bytes-like object holding the same bytes)
    /// instead of being copied through the buffer.
    pub fn payload(
        &mut self,
        header: &[u8],
        data: &[u8],
        owner: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let Some(write) = self.write.clone().filter(|_| data.len() >= FRAME_SIZE_TARGET) else {
            self.enc.write_payload(header, data);
            return Ok(());
        };
        self.enc.commit_frame();
        let framing = self.enc.framing();
        self.enc.set_framing(false);
        self.enc.write(header);
        let written = self.flush().and_then(|()| write.call1((owner,)).map(drop));
        self.enc.set_framing(framing);
        written
    }

    /// Whether output goes to a file (`dump`) rather than memory (`dumps`).
    pub fn has_file(&self) -> bool {
        self.write.is_some()
    }

    /// Writes what is buffered to the file.
    pub fn flush(&mut self) -> PyResult<()> {
        if let Some(write) = &self.write {
            if !self.enc.is_empty() {
                // The file may keep what it is given (a list of chunks, say),
                // so it gets a bytes object of its own, never a view.
                let chunk = PyBytes::new(write.py(), self.enc.as_bytes());
                self.enc.clear();
                write.call1((chunk,))?;
            }
        }
        Ok(())
    }

    /// The bytes of a `dumps`, after the final frame is committed.
    pub fn into_bytes(self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.enc.as_bytes())
    }
}

/// Encoder refusals as the exceptions CPython raises for them.
pub fn encode_error(err: EncodeError) -> PyErr {
    PyOverflowError::new_err(err.to_string())
}
