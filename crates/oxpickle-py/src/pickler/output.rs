//! Where pickled bytes go: straight into the bytes object `dumps` returns,
//! or into one frame's worth at a time handed to the file's `write`.

use std::cell::Cell;

use oxpickle_core::{EncodeError, Encoder, FRAME_SIZE_TARGET};

use super::bytes_buffer::BytesBuffer;
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

pub struct Output<'py> {
    pub enc: Encoder<BytesBuffer<'py>>,
    /// The file's `write`, or None for `dumps`.
    write: Option<Bound<'py, PyAny>>,
    /// Whether the result's size guides the next `dumps` (not for the
    /// pickles deterministic mode sorts by).
    remembered: bool,
}

/// The first buffer of a `dumps`, enough for most small objects.
const DUMPS_CAPACITY: usize = 4096;
/// The buffer of a `dump`: one frame and the opcode that overflows it.
const DUMP_CAPACITY: usize = FRAME_SIZE_TARGET + 1024;
/// The largest size a `dumps` buffer grows to at once on the strength of
/// the previous result: larger buffers are mappings of their own, which
/// the system allocator moves without copying, so stepwise growth is
/// cheap there. A guess too large costs a copy of what fits (see
/// `BytesBuffer::into_bytes`), and one the process has no room for is
/// dropped (see `BytesBuffer::grow`).
const LARGEST_EXPECTED_SIZE: usize = 32 << 20;

thread_local! {
    /// The size of this thread's last in-memory pickle. Programs tend to
    /// pickle objects of like size in a row (the tasks of a queue, the
    /// rounds of a loop), and a buffer that grows straight to that size,
    /// once the first 4 KiB are full, copies nothing on the way and leaves
    /// no outgrown blocks behind.
    static LAST_SIZE: Cell<usize> = const { Cell::new(0) };
}

impl<'py> Output<'py> {
    pub fn new(py: Python<'py>, write: Option<Bound<'py, PyAny>>) -> PyResult<Self> {
        let buffer = match write {
            Some(_) => BytesBuffer::with_capacity(py, DUMP_CAPACITY)?,
            None => BytesBuffer::with_capacity(py, DUMPS_CAPACITY)?
                .expecting(LAST_SIZE.get().min(LARGEST_EXPECTED_SIZE)),
        };
        Ok(Output { enc: Encoder::new(buffer), write, remembered: true })
    }

    /// An in-memory pickle that neither reads nor sets the size of the
    /// thread's last result.
    pub fn scratch(py: Python<'py>) -> PyResult<Self> {
        let buffer = BytesBuffer::with_capacity(py, DUMPS_CAPACITY)?;
        Ok(Output { enc: Encoder::new(buffer), write: None, remembered: false })
    }

    /// Between opcodes: commit a full frame, and with a file write it, so
    /// memory stays bounded by one frame. Without frames (protocols below
    /// 4) the file is written at the same size.
    #[inline]
    pub fn opcode_boundary(&mut self) -> PyResult<()> {
        if self.enc.frame_is_full() {
            self.enc.commit_frame();
            if self.write.is_some() {
                self.flush()?;
            }
        } else if self.write.is_some() && !self.enc.framing() && self.enc.len() >= FRAME_SIZE_TARGET
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

    /// Fails if the buffer could not grow: what it held is lost, so the
    /// dump stops there, before it runs more of the caller's code.
    #[inline]
    pub fn check(&mut self) -> PyResult<()> {
        self.enc.buffer_mut().check()
    }

    /// Whether output goes to a file (`dump`) rather than memory (`dumps`).
    pub fn has_file(&self) -> bool {
        self.write.is_some()
    }

    /// Writes what is buffered to the file, as a bytes object of its own:
    /// the file may keep what it is given (a list of chunks, say).
    pub fn flush(&mut self) -> PyResult<()> {
        self.check()?;
        let Some(write) = &self.write else {
            return Ok(());
        };
        if self.enc.is_empty() {
            return Ok(());
        }
        let fresh = BytesBuffer::with_capacity(write.py(), DUMP_CAPACITY)?;
        let chunk = self.enc.replace_buffer(fresh).into_bytes()?;
        write.call1((chunk,))?;
        Ok(())
    }

    /// The bytes of a `dumps`, after the final frame is committed.
    pub fn into_bytes(self) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.enc.into_buffer().into_bytes()?;
        if self.remembered {
            LAST_SIZE.set(bytes.as_bytes().len());
        }
        Ok(bytes)
    }
}

/// Encoder refusals as the exceptions CPython raises for them.
pub fn encode_error(err: EncodeError) -> PyErr {
    PyOverflowError::new_err(err.to_string())
}
