//! Where the unpickler's bytes come from: a buffer in memory, or a file
//! read exactly as far as the pickle goes (so pickles can follow each other
//! in one file), with `peek` used to read ahead where the file has it.

use oxpickle_core::{decode_at, DecodeError, FrameError, Frames, Instr, Op, LARGEST_SIZE};
use pyo3::exceptions::{PyNotImplementedError, PyOverflowError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyMemoryView};

use crate::errors::unpickling_error;

/// Bytes `peek` is asked for at once.
const PREFETCH: usize = 8192 * 16;
/// Largest single `read` for a long payload: the buffer grows with what
/// the file really holds, not with what a length prefix claims.
const READ_CHUNK: usize = 1 << 20;

/// A stream of instructions.
pub trait Source<'py> {
    /// The next instruction (offsets from the start of this pickle), or
    /// None when the input ends before an opcode.
    fn next_instr(&mut self) -> PyResult<Option<Instr<'_>>>;
    /// The bytes at hand and not yet run, and the pickle offset of the
    /// first: the run loop's fast path reads instructions from them.
    fn pending(&self) -> (&[u8], usize);
    /// The first `len` bytes of `pending` have been run.
    fn consume(&mut self, len: usize);
    /// FRAME: the next `len` bytes must be at hand, and they are the
    /// frame no later instruction may cross the end of.
    fn frame(&mut self, len: u64, offset: usize) -> PyResult<()>;
    /// After STOP: leave the file right behind the pickle.
    fn finish(&mut self) -> PyResult<()>;
}

/// The error for an instruction the decoder refused.
pub fn decode_failure(py: Python<'_>, err: &DecodeError, base: usize) -> PyErr {
    let offset = base + err.offset();
    match *err {
        DecodeError::Truncated { .. } => truncated(py, offset),
        DecodeError::UnknownOpcode { byte, .. } => {
            let shown = if (0x20..=0x7e).contains(&byte) && byte != b'\'' && byte != b'\\' {
                char::from(byte).to_string()
            } else {
                format!("\\x{byte:02x}")
            };
            unpickling_error(py, format!("invalid load key, '{shown}' (at byte {offset})."))
        }
        DecodeError::NegativeLength { op, len, .. } => {
            let what = if op == Op::Long4 { "LONG" } else { op.name() };
            unpickling_error(
                py,
                format!("{what} pickle has negative byte count ({len}, at byte {offset})"),
            )
        }
        DecodeError::TooLarge { op, len, .. } => too_large(
            format!("{} exceeds system's maximum size of {LARGEST_SIZE} bytes", op.name()),
            len,
            offset,
        ),
    }
}

/// A FRAME longer than any buffer can be: C's OverflowError.
pub fn frame_too_large(len: u64, offset: usize) -> PyErr {
    too_large(format!("FRAME length exceeds system's maximum of {LARGEST_SIZE} bytes"), len, offset)
}

/// A length no object can have: C's OverflowError, in its words, and what
/// was asked for.
fn too_large(what: String, len: u64, offset: usize) -> PyErr {
    PyOverflowError::new_err(format!(
        "{what} (the instruction at byte {offset} asks for {len}): the pickle is corrupt"
    ))
}

pub fn truncated(py: Python<'_>, offset: usize) -> PyErr {
    unpickling_error(py, format!("pickle data was truncated (in the instruction at byte {offset})"))
}

/// A frame rule broken (see `oxpickle_core::frame`): an UnpicklingError.
fn frame_error(py: Python<'_>, err: FrameError) -> PyErr {
    unpickling_error(py, err.to_string())
}

/// A pickle in memory.
pub struct MemorySource<'a> {
    data: &'a [u8],
    pos: usize,
    py: Python<'a>,
    frame: Frames,
}

impl<'a> MemorySource<'a> {
    pub fn new(py: Python<'a>, data: &'a [u8]) -> Self {
        MemorySource { data, pos: 0, py, frame: Frames::default() }
    }
}

impl<'py> Source<'py> for MemorySource<'_> {
    #[inline(always)]
    fn next_instr(&mut self) -> PyResult<Option<Instr<'_>>> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        match decode_at(self.data, self.pos) {
            Ok(instr) => {
                self.frame.admit(&instr).map_err(|err| frame_error(self.py, err))?;
                self.pos = instr.end;
                Ok(Some(instr))
            }
            Err(err) => Err(decode_failure(self.py, &err, 0)),
        }
    }

    #[inline(always)]
    fn pending(&self) -> (&[u8], usize) {
        let end = self.frame.limit(self.pos).unwrap_or(self.data.len());
        (self.data.get(self.pos..end).unwrap_or_default(), self.pos)
    }

    #[inline(always)]
    fn consume(&mut self, len: usize) {
        self.pos += len;
    }

    fn frame(&mut self, len: u64, offset: usize) -> PyResult<()> {
        let remaining = self.data.len() - self.pos;
        match usize::try_from(len) {
            Ok(len) if len <= remaining => {
                self.frame.begin(offset, self.pos, len).map_err(|err| frame_error(self.py, err))
            }
            _ => Err(truncated(self.py, offset)),
        }
    }

    fn finish(&mut self) -> PyResult<()> {
        Ok(())
    }
}

/// The methods of a file to read a pickle from.
pub struct FileMethods<'py> {
    pub read: Bound<'py, PyAny>,
    pub readline: Bound<'py, PyAny>,
    pub readinto: Option<Bound<'py, PyAny>>,
    pub peek: Option<Bound<'py, PyAny>>,
}

/// A pickle read from a file: `buf[pos..]` is what has been read and not
/// yet decoded.
pub struct FileSource<'py> {
    file: FileMethods<'py>,
    buf: Vec<u8>,
    pos: usize,
    /// Offset of `buf[0]` from the start of the pickle.
    base: usize,
    /// Bytes at the end of `buf` seen through `peek`, not yet read from
    /// the file.
    peeked: usize,
    frame: Frames,
}

impl<'py> FileSource<'py> {
    pub fn new(file: FileMethods<'py>) -> Self {
        FileSource { file, buf: Vec::new(), pos: 0, base: 0, peeked: 0, frame: Frames::default() }
    }

    fn py(&self) -> Python<'py> {
        self.file.read.py()
    }

    /// Makes at least `needed` bytes from `pos` available; false if the
    /// file ends first.
    fn fill(&mut self, needed: u64) -> PyResult<bool> {
        let mut missing = needed.saturating_sub((self.buf.len() - self.pos) as u64);
        if missing == 0 {
            return Ok(true);
        }
        self.compact();
        self.consume_peeked()?;
        if missing < PREFETCH as u64 && self.try_peek(missing as usize)? {
            return Ok(true);
        }
        // Chunks grow with what actually arrives, so a length prefix that
        // lies costs no more memory than the file holds.
        let mut chunk = READ_CHUNK as u64;
        while missing > 0 {
            let want = usize::try_from(missing.min(chunk)).unwrap_or(READ_CHUNK);
            let got = self.read_some(want)?;
            if got == 0 {
                return Ok(false);
            }
            missing = missing.saturating_sub(got as u64);
            chunk = chunk.saturating_mul(2);
        }
        Ok(true)
    }

    /// Reads up to `want` bytes onto the end of the buffer: straight into
    /// it with `readinto` where the file has it, else through `read`.
    fn read_some(&mut self, want: usize) -> PyResult<usize> {
        let Some(readinto) = self.file.readinto.clone() else {
            return self.read_into_buffer(self.file.read.call1((want,))?);
        };
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        let target = &mut self.buf[start..];
        // SAFETY: the view covers initialised bytes we own; it is released
        // right after the call, so the file cannot touch them later, and
        // the buffer is not resized while the view exists.
        let view = unsafe {
            let ptr = pyo3::ffi::PyMemoryView_FromMemory(
                target.as_mut_ptr().cast(),
                target.len() as pyo3::ffi::Py_ssize_t,
                pyo3::ffi::PyBUF_WRITE,
            );
            crate::ffi::owned(self.py(), ptr)?
        };
        let got = readinto.call1((&view,));
        view.call_method0(pyo3::intern!(self.py(), "release"))?;
        let got = match got?.extract::<Option<usize>>()? {
            Some(got) => got.min(want),
            None => 0,
        };
        self.buf.truncate(start + got);
        Ok(got)
    }

    /// Reads ahead with `peek`, without moving the file; true if that gave
    /// at least `missing` bytes.
    fn try_peek(&mut self, missing: usize) -> PyResult<bool> {
        let Some(peek) = &self.file.peek else {
            return Ok(false);
        };
        let data = match peek.call1((PREFETCH,)) {
            Ok(data) => data,
            Err(err) if err.is_instance_of::<PyNotImplementedError>(self.py()) => {
                self.file.peek = None;
                return Ok(false);
            }
            Err(err) => return Err(err),
        };
        let before = self.buf.len();
        let got = self.read_into_buffer(data)?;
        if got >= missing {
            self.peeked = got;
            return Ok(true);
        }
        // Too little to help: forget it and read for real.
        self.buf.truncate(before);
        Ok(false)
    }

    /// Moves the file past bytes already taken in through `peek`.
    fn consume_peeked(&mut self) -> PyResult<()> {
        if self.peeked > 0 {
            self.file.read.call1((self.peeked,))?;
            self.peeked = 0;
        }
        Ok(())
    }

    /// Appends what a read returned; returns how many bytes it was.
    fn read_into_buffer(&mut self, data: Bound<'py, PyAny>) -> PyResult<usize> {
        if let Ok(bytes) = data.cast::<PyBytes>() {
            self.buf.extend_from_slice(bytes.as_bytes());
            return Ok(bytes.as_bytes().len());
        }
        let copy = PyMemoryView::from(&data)?.call_method0("tobytes")?;
        let bytes = copy.cast::<PyBytes>()?;
        self.buf.extend_from_slice(bytes.as_bytes());
        Ok(bytes.as_bytes().len())
    }

    /// Drops decoded bytes from the front of the buffer.
    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos;
            self.pos = 0;
        }
    }

    /// Reads the rest of a line the decoder is waiting for.
    fn fill_line(&mut self) -> PyResult<bool> {
        self.compact();
        self.consume_peeked()?;
        let line = self.file.readline.call0()?;
        let got = self.read_into_buffer(line)?;
        Ok(got > 0 && self.buf.last() == Some(&b'\n'))
    }
}

impl<'py> Source<'py> for FileSource<'py> {
    fn next_instr(&mut self) -> PyResult<Option<Instr<'_>>> {
        if self.pos >= self.buf.len() && !self.fill(1)? {
            return Ok(None);
        }
        loop {
            // Decoded twice on the slow path (more input needed) so the
            // borrow of the buffer ends before the buffer grows.
            match decode_at(&self.buf, self.pos) {
                Ok(_) => break,
                // Filling may compact the buffer; the instruction still
                // starts at `pos`.
                Err(DecodeError::Truncated { needed: Some(needed), .. }) => {
                    if !self.fill(needed)? {
                        return Err(truncated(self.py(), self.base + self.pos));
                    }
                }
                Err(DecodeError::Truncated { needed: None, .. }) => {
                    if !self.fill_line()? {
                        return Err(truncated(self.py(), self.base + self.pos));
                    }
                }
                Err(err) => return Err(decode_failure(self.py(), &err, self.base)),
            }
        }
        let base = self.base;
        let py = self.py();
        let instr = decode_at(&self.buf, self.pos).map_err(|err| decode_failure(py, &err, base))?;
        self.pos = instr.end;
        let instr = Instr { offset: base + instr.offset, end: base + instr.end, ..instr };
        self.frame.admit(&instr).map_err(|err| frame_error(py, err))?;
        Ok(Some(instr))
    }

    #[inline(always)]
    fn pending(&self) -> (&[u8], usize) {
        let at = self.base + self.pos;
        let end = match self.frame.limit(at) {
            Some(end) => (end - self.base).min(self.buf.len()),
            None => self.buf.len(),
        };
        (self.buf.get(self.pos..end).unwrap_or_default(), at)
    }

    #[inline(always)]
    fn consume(&mut self, len: usize) {
        self.pos += len;
    }

    fn frame(&mut self, len: u64, offset: usize) -> PyResult<()> {
        if !self.fill(len)? {
            return Err(truncated(self.py(), offset));
        }
        // Filled, so the frame is in memory and its length fits.
        let len = usize::try_from(len).map_err(|_| truncated(self.py(), offset))?;
        let header_end = self.base + self.pos;
        self.frame.begin(offset, header_end, len).map_err(|err| frame_error(self.py(), err))
    }

    fn finish(&mut self) -> PyResult<()> {
        // The file stands `peeked` bytes before the end of the buffer; move
        // it to just past what was decoded.
        let file_at = self.buf.len() - self.peeked;
        if self.pos > file_at {
            self.file.read.call1((self.pos - file_at,))?;
        }
        self.peeked = 0;
        Ok(())
    }
}
