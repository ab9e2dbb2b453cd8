//! The run loop's fast path: the opcodes that make up nearly all of a
//! pickle of data, run straight from the bytes.
//!
//! The general path decodes an instruction into an `Instr` and dispatches
//! on it again; here the opcode byte picks the handler once, the way C's
//! unpickler works. Anything not listed, or whose argument is not wholly
//! at hand (a file's buffer may end mid-instruction), is left to the
//! general path, which also owns every decoding error.

use oxpickle_core::{Arg, Op};
use pyo3::ffi;
use pyo3::prelude::*;

use super::machine::LoadMachine;
use super::scalars::{int_from_i64, int_from_le_bytes};

/// The `N` argument bytes after the opcode at `bytes[0]`.
#[inline(always)]
fn fixed<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    bytes.get(1..=N)?.try_into().ok()
}

/// A payload whose length comes first, in `N` little-endian bytes, and
/// the whole instruction's length.
#[inline(always)]
fn counted<const N: usize>(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let mut len = [0u8; 8];
    len[..N].copy_from_slice(bytes.get(1..=N)?);
    let end = usize::try_from(u64::from_le_bytes(len)).ok()?.checked_add(1 + N)?;
    Some((bytes.get(1 + N..end)?, end))
}

impl<'py> LoadMachine<'py, '_> {
    /// Runs the instructions at the start of `bytes` (which sits at
    /// `offset` in the pickle) for as long as they are frequent ones and
    /// whole; returns how many bytes they took, 0 leaving the first to the
    /// general path.
    #[inline(always)]
    pub(super) fn run_frequent(&mut self, bytes: &[u8], offset: usize) -> PyResult<usize> {
        let mut done = 0;
        // `done` never passes the end (each step takes bytes it was given);
        // the slice check costs less here than a default for the None arm.
        while let Some(rest) = bytes.get(done..) {
            let taken = self.run_one_frequent(rest, offset + done)?;
            if taken == 0 {
                break;
            }
            done += taken;
        }
        Ok(done)
    }

    /// Runs the instruction at the start of `bytes` if it is a frequent
    /// one and whole; returns how many bytes it took, or 0.
    #[inline(always)]
    fn run_one_frequent(&mut self, bytes: &[u8], offset: usize) -> PyResult<usize> {
        let Some(op) = bytes.first().and_then(|&byte| Op::from_byte(byte)) else {
            return Ok(0);
        };
        self.at = (op, offset);
        // Each arm returns the instruction's length, or 0 when its argument
        // runs past `bytes`.
        let taken = match op {
            Op::BinInt1 => match fixed::<1>(bytes) {
                Some([value]) => self.push_int(i64::from(value)).map(|()| 2)?,
                None => 0,
            },
            Op::BinInt2 => match fixed(bytes) {
                Some(value) => self.push_int(i64::from(u16::from_le_bytes(value))).map(|()| 3)?,
                None => 0,
            },
            Op::BinInt => match fixed(bytes) {
                Some(value) => self.push_int(i64::from(i32::from_le_bytes(value))).map(|()| 5)?,
                None => 0,
            },
            Op::BinFloat => match fixed(bytes) {
                // SAFETY: creating a float cannot fail but for memory.
                Some(value) => self
                    .push_owned(unsafe { ffi::PyFloat_FromDouble(f64::from_be_bytes(value)) })
                    .map(|()| 9)?,
                None => 0,
            },
            Op::Long1 => match counted::<1>(bytes) {
                Some((data, len)) => {
                    self.push(int_from_le_bytes(self.py, data)?);
                    len
                }
                None => 0,
            },
            Op::ShortBinUnicode | Op::ShortBinBytes => match counted::<1>(bytes) {
                Some((data, len)) => self.load_text(op, Arg::Data(data)).map(|()| len)?,
                None => 0,
            },
            Op::BinUnicode | Op::BinBytes => match counted::<4>(bytes) {
                Some((data, len)) => self.load_text(op, Arg::Data(data)).map(|()| len)?,
                None => 0,
            },
            Op::BinGet | Op::BinPut => match fixed::<1>(bytes) {
                Some([index]) => self.load_memo_op(op, usize::from(index)).map(|()| 2)?,
                None => 0,
            },
            Op::LongBinGet | Op::LongBinPut => match fixed(bytes) {
                Some(index) => {
                    let index = u32::from_le_bytes(index) as usize;
                    self.load_memo_op(op, index).map(|()| 5)?
                }
                None => 0,
            },
            Op::None | Op::NewTrue | Op::NewFalse => {
                self.load_constant(op, Arg::None).map(|()| 1)?
            }
            Op::Memoize => self.load_memoize().map(|()| 1)?,
            Op::Mark => self.load_mark().map(|()| 1)?,
            Op::EmptyList | Op::EmptyTuple | Op::EmptyDict => self.load_empty(op).map(|()| 1)?,
            Op::Tuple | Op::Tuple1 | Op::Tuple2 | Op::Tuple3 => self.load_tuple(op).map(|()| 1)?,
            Op::Append | Op::Appends => self.load_append(op).map(|()| 1)?,
            Op::SetItem | Op::SetItems => self.load_setitems(op).map(|()| 1)?,
            Op::StackGlobal => self.load_stack_global().map(|()| 1)?,
            Op::NewObj => self.load_newobj(false).map(|()| 1)?,
            Op::Reduce => self.load_reduce().map(|()| 1)?,
            Op::Build => self.load_build().map(|()| 1)?,
            _ => 0,
        };
        Ok(taken)
    }

    /// BINGET/LONG_BINGET or BINPUT/LONG_BINPUT with its index.
    #[inline(always)]
    fn load_memo_op(&mut self, op: Op, index: usize) -> PyResult<()> {
        let index = Arg::Uint(index as u64);
        match op {
            Op::BinGet | Op::LongBinGet => self.load_get(index),
            _ => self.load_put(index),
        }
    }

    /// An int of the binary int opcodes.
    #[inline(always)]
    fn push_int(&mut self, value: i64) -> PyResult<()> {
        self.push_owned(int_from_i64(value))
    }
}
