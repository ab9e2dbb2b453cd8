//! Where pickled bytes go: an in-memory encoder, flushed to the file's
//! `write` frame by frame when there is a file.

use std::mem::MaybeUninit;

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
    /// `dumps` only: the result so far, in order: buffers set aside and
    /// large payloads read in place. Each is copied once, into the result.
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
/// `dumps` sets its buffer aside as a piece of the result from this size.
const PIECE_SIZE: usize = 1 << 20;

impl<'py> Output<'py> {
    pub fn new(write: Option<Bound<'py, PyAny>>) -> Self {
        let capacity = if write.is_some() { FRAME_SIZE_TARGET + 1024 } else { 4096 };
        Output { enc: Encoder::with_capacity(capacity), write, pieces: Vec::new() }
    }

    /// Between opcodes: commit a full frame and hand the bytes over (see
    /// `hand_over`). Without frames (protocols below 4) the bytes are
    /// handed over at the same size.
    #[inline]
    pub fn opcode_boundary(&mut self) -> PyResult<()> {
        if self.enc.frame_is_full() {
            self.enc.commit_frame();
            self.hand_over()?;
        } else if !self.enc.framing() && self.enc.len() >= FRAME_SIZE_TARGET {
            self.hand_over()?;
        }
        Ok(())
    }

    /// With a file, writes what is buffered, so memory stays bounded by
    /// one frame. Without one, sets a full buffer aside as a piece of the
    /// result: the buffer never grows past a piece, so what is written is
    /// not copied again by each reallocation.
    fn hand_over(&mut self) -> PyResult<()> {
        if self.write.is_some() {
            return self.flush();
        }
        if self.enc.len() >= PIECE_SIZE {
            let piece = self.enc.take_and_reserve(PIECE_SIZE + FRAME_SIZE_TARGET);
            self.pieces.push(Piece::Encoded(piece));
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
    pub fn into_bytes(self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let mut pieces = self.into_pieces();
        let total = pieces.iter().map(|piece| piece.bytes().len()).sum();
        filled_bytes(py, total, |out| {
            // From the end, each piece freed once copied: the result and
            // the pieces are never both whole in memory.
            let mut end = out.len();
            while let Some(piece) = pieces.pop() {
                let start = end - piece.bytes().len();
                match piece {
                    Piece::Encoded(buffer) => copy_releasing(&mut out[start..end], buffer),
                    Piece::InPlace(view) => copy_into(&mut out[start..end], view.as_slice()),
                }
                end = start;
            }
        })
    }

    /// The bytes of a `dumps` as one vector, after the final frame is
    /// committed.
    pub fn into_vec(self) -> Vec<u8> {
        let pieces = self.into_pieces();
        let mut bytes = Vec::with_capacity(pieces.iter().map(|piece| piece.bytes().len()).sum());
        for piece in &pieces {
            bytes.extend_from_slice(piece.bytes());
        }
        bytes
    }

    fn into_pieces(mut self) -> Vec<Piece> {
        let last = self.enc.take();
        self.pieces.push(Piece::Encoded(last));
        self.pieces
    }
}

/// A new bytes object of `len` bytes, which `fill` must write entirely.
/// The contents are not zeroed first (as `PyBytes::new_with` would): a
/// large result's pages are touched once, by the copy that fills them.
fn filled_bytes(
    py: Python<'_>,
    len: usize,
    fill: impl FnOnce(&mut [MaybeUninit<u8>]),
) -> PyResult<Bound<'_, PyBytes>> {
    // SAFETY: a null source asks for an uninitialised bytes object of
    // `len` bytes (or null with MemoryError).
    let bytes = owned(py, unsafe {
        ffi::PyBytes_FromStringAndSize(std::ptr::null(), len as ffi::Py_ssize_t)
    })?;
    // SAFETY: a new bytes object of exactly `len` bytes that nothing else
    // refers to, seen as not yet initialised; the slice does not outlive
    // this call, and `fill` writes every byte before the object is
    // returned to Python.
    let out = unsafe {
        std::slice::from_raw_parts_mut(
            ffi::PyBytes_AsString(bytes.as_ptr()).cast::<MaybeUninit<u8>>(),
            len,
        )
    };
    crate::ffi::advise_huge_pages(out);
    fill(out);
    Ok(bytes.cast_into::<PyBytes>()?)
}

/// Copies `data` into `out`, of the same length.
fn copy_into(out: &mut [MaybeUninit<u8>], data: &[u8]) {
    debug_assert_eq!(out.len(), data.len(), "pieces are sized to the result");
    let len = out.len().min(data.len());
    // SAFETY: both slices hold at least `len` bytes and cannot overlap:
    // `out` is a new object's storage.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), out.as_mut_ptr().cast(), len) };
}

/// Copies `buffer` into `out` (of the same length) from the end, the
/// buffer shrinking behind each chunk: a large buffer and its copy are
/// never both whole in memory.
fn copy_releasing(out: &mut [MaybeUninit<u8>], mut buffer: Vec<u8>) {
    const CHUNK: usize = 1 << 18;
    let mut end = out.len();
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        copy_into(&mut out[start..end], &buffer[start..end]);
        buffer.truncate(start);
        buffer.shrink_to_fit();
        end = start;
    }
}

/// Encoder refusals as the exceptions CPython raises for them.
pub fn encode_error(err: EncodeError) -> PyErr {
    PyOverflowError::new_err(err.to_string())
}
