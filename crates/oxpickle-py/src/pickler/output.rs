//! Where pickled bytes go: an in-memory encoder, flushed to the file's
//! `write` frame by frame when there is a file.

use oxpickle_core::{EncodeError, Encoder, FRAME_SIZE_TARGET};

use crate::ffi::{owned, BufferView};
use pyo3::exceptions::PyOverflowError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

pub struct Output<'py> {
    pub enc: Encoder,
    /// The file's `write`, or None for `dumps`.
    write: Option<Bound<'py, PyAny>>,
    /// `dumps` only: what came before each large payload, and the payloads
    /// themselves, read in place; each is copied once, into the result.
    pieces: Vec<Piece>,
}

/// Part of a `dumps` result assembled at the end.
enum Piece {
    Encoded(Vec<u8>),
    InPlace(BufferView),
}

impl Piece {
    fn bytes(&self) -> &[u8] {
        match self {
            Piece::Encoded(bytes) => bytes,
            Piece::InPlace(view) => view.as_slice(),
        }
    }
}

/// Payloads from this size up are not copied into the buffer by `dumps`.
const IN_PLACE_MIN: usize = 1 << 20;

impl<'py> Output<'py> {
    pub fn new(write: Option<Bound<'py, PyAny>>) -> Self {
        let capacity = if write.is_some() { FRAME_SIZE_TARGET + 1024 } else { 4096 };
        Output { enc: Encoder::with_capacity(capacity), write, pieces: Vec::new() }
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
    /// instead of being copied through the buffer; without one, a very large
    /// payload is kept in place until the result is assembled.
    pub fn payload(
        &mut self,
        header: &[u8],
        data: &[u8],
        owner: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let Some(write) = self.write.clone().filter(|_| data.len() >= FRAME_SIZE_TARGET) else {
            if data.len() >= IN_PLACE_MIN && self.write.is_none() {
                let same_memory = |view: &BufferView| {
                    let held = view.as_slice();
                    held.as_ptr() == data.as_ptr() && held.len() == data.len()
                };
                if let Some(view) = BufferView::of(owner).filter(same_memory) {
                    // Large payloads stand outside frames, as write_payload puts them.
                    self.enc.commit_frame();
                    let framing = self.enc.framing();
                    self.enc.set_framing(false);
                    self.enc.write(header);
                    self.enc.set_framing(framing);
                    self.pieces.push(Piece::Encoded(self.enc.take()));
                    self.pieces.push(Piece::InPlace(view));
                    return Ok(());
                }
            }
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
    pub fn into_bytes(mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        if self.pieces.is_empty() {
            return bytes_releasing(py, self.enc.take());
        }
        let pieces: Vec<&[u8]> =
            self.pieces.iter().map(Piece::bytes).chain([self.enc.as_bytes()]).collect();
        let total = pieces.iter().map(|piece| piece.len()).sum();
        filled_bytes(py, total, |out| {
            let mut at = 0;
            for piece in pieces {
                out[at..at + piece.len()].copy_from_slice(piece);
                at += piece.len();
            }
        })
    }
}

/// A new bytes object of `len` bytes, which `fill` must write entirely.
/// The contents are not zeroed first (as `PyBytes::new_with` would): a
/// large result's pages are touched once, by the copy that fills them.
fn filled_bytes(
    py: Python<'_>,
    len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> PyResult<Bound<'_, PyBytes>> {
    // SAFETY: a null source asks for an uninitialised bytes object of
    // `len` bytes (or null with MemoryError).
    let bytes = owned(py, unsafe {
        ffi::PyBytes_FromStringAndSize(std::ptr::null(), len as ffi::Py_ssize_t)
    })?;
    // SAFETY: a new bytes object of exactly `len` bytes that nothing else
    // refers to; the slice does not outlive this call, and `fill` writes
    // every byte before the object is returned to Python.
    let out = unsafe {
        std::slice::from_raw_parts_mut(ffi::PyBytes_AsString(bytes.as_ptr()).cast::<u8>(), len)
    };
    fill(out);
    Ok(bytes.cast_into::<PyBytes>()?)
}

/// The result of a `dumps` copied out of the encoder's buffer from the
/// end, the buffer shrinking behind each chunk: the memory both hold at
/// once stays about one copy of the result, not two.
fn bytes_releasing(py: Python<'_>, mut buffer: Vec<u8>) -> PyResult<Bound<'_, PyBytes>> {
    const CHUNK: usize = 1 << 18;
    filled_bytes(py, buffer.len(), |out| {
        let mut end = out.len();
        while end > 0 {
            let start = end.saturating_sub(CHUNK);
            out[start..end].copy_from_slice(&buffer[start..end]);
            buffer.truncate(start);
            buffer.shrink_to_fit();
            end = start;
        }
    })
}

/// Encoder refusals as the exceptions CPython raises for them.
pub fn encode_error(err: EncodeError) -> PyErr {
    PyOverflowError::new_err(err.to_string())
}
