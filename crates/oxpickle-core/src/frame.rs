//! The frame rules of protocol 4 (PEP 3154), in the one place every reader
//! of the crate and of the extension applies them.
//!
//! A FRAME says how many bytes the instructions after it take. CPython's
//! loaders disagree about an instruction that runs past that end. The C
//! unpickler reading from memory reads on into the next bytes. Reading
//! from a file it refills its buffer there and reads them differently.
//! The pure-Python unpickler refuses the instruction. So a stream can show
//! one loader data and another opcodes (issue 15's second bypass family).
//! CPython 3.15 refuses such streams (gh-154848), and so does everything
//! here, on every version:
//!
//! * no instruction may cross the end of the frame it starts in, a FRAME's
//!   own header included;
//! * a FRAME may not begin before the frame it is read in is used up.
//!
//! Instructions after a frame's end and outside any frame are allowed, as
//! they are everywhere: a pickler may stop framing at any point.

use std::fmt;

use crate::decode::{Arg, Instr, Instructions};
use crate::op::Op;

/// The frame being read, if any. Offsets are from the start of the pickle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Frames {
    /// The end of the current frame and the offset of its FRAME.
    current: Option<(usize, usize)>,
}

/// An instruction that breaks the frame rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The instruction at `offset` ends past `end`, where the frame begun
    /// by the FRAME at `frame_at` ends.
    Crosses { op: Op, offset: usize, frame_at: usize, end: usize },
    /// The FRAME at `offset` begins while `left` bytes of the frame begun
    /// at `frame_at` are still to be read.
    Nested { offset: usize, frame_at: usize, left: usize },
}

impl Frames {
    /// Where the bytes from `at` must stop for a reader that runs
    /// instructions without admitting each one (the unpickler's fast
    /// path): the end of a frame still being read.
    #[inline(always)]
    pub fn limit(&self, at: usize) -> Option<usize> {
        self.current.map(|(end, _)| end).filter(|&end| end > at)
    }

    /// Admits the next instruction: it must end within the frame it starts
    /// in, and one that starts at or past the end leaves the frame behind.
    /// A FRAME is then [`begin`](Self::begin)'s to check.
    #[inline(always)]
    pub fn admit(&mut self, instr: &Instr<'_>) -> Result<(), FrameError> {
        let Some((end, frame_at)) = self.current else {
            return Ok(());
        };
        if instr.offset >= end {
            self.current = None;
        } else if instr.end > end {
            return Err(FrameError::Crosses { op: instr.op, offset: instr.offset, frame_at, end });
        }
        Ok(())
    }

    /// A FRAME at `offset` whose header ends at `header_end` opens a frame
    /// of `len` bytes: only once the current frame, if any, is used up.
    pub fn begin(
        &mut self,
        offset: usize,
        header_end: usize,
        len: usize,
    ) -> Result<(), FrameError> {
        if let Some((end, frame_at)) = self.current.filter(|&(end, _)| end > header_end) {
            return Err(FrameError::Nested { offset, frame_at, left: end - header_end });
        }
        self.current = Some((header_end.saturating_add(len), offset));
        Ok(())
    }
}

impl FrameError {
    /// Byte offset of the instruction at fault.
    pub fn offset(&self) -> usize {
        match *self {
            FrameError::Crosses { offset, .. } | FrameError::Nested { offset, .. } => offset,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::Crosses { op, offset, frame_at, end } => write!(
                f,
                "the {} instruction at byte {offset} runs past the end of its frame (the FRAME \
                 at byte {frame_at} ends at byte {end}): the pickle is corrupt, or made to be \
                 read differently by different loaders",
                op.name()
            ),
            FrameError::Nested { offset, frame_at, left } => write!(
                f,
                "the FRAME at byte {offset} begins a new frame while {left} bytes of the frame \
                 begun at byte {frame_at} are left: the pickle is corrupt, or made to be read \
                 differently by different loaders"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// Runs the frame rules over the pickle at the start of `input`, through
/// its STOP or up to the first instruction that does not decode; the
/// first violation, if any. The fuzz target checks the rules through it.
pub fn check_frames(input: &[u8]) -> Result<(), FrameError> {
    let mut frames = Frames::default();
    for instr in Instructions::new(input, 0) {
        let Ok(instr) = instr else { return Ok(()) };
        frames.admit(&instr)?;
        if let (Op::Frame, Arg::Uint(len)) = (instr.op, instr.arg) {
            frames.begin(instr.offset, instr.end, usize::try_from(len).unwrap_or(usize::MAX))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME6: &[u8] = b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00";

    fn framed(body: &[u8]) -> Vec<u8> {
        [FRAME6, body].concat()
    }

    #[test]
    fn instructions_inside_and_after_a_frame_pass() {
        assert_eq!(check_frames(&framed(b"NNNNNN.")), Ok(()));
        assert_eq!(check_frames(&framed(b"NNNNN).")), Ok(()));
        // A frame used up exactly by the next FRAME's header.
        let exact =
            b"\x80\x04\x95\x0a\x00\x00\x00\x00\x00\x00\x00N\x95\x00\x00\x00\x00\x00\x00\x00\x00N.";
        assert_eq!(check_frames(exact), Ok(()));
    }

    #[test]
    fn an_argument_that_runs_past_the_end_is_refused() {
        let err = check_frames(&framed(b"X\x0a\x00\x00\x00helloworld.")).unwrap_err();
        assert_eq!(
            err,
            FrameError::Crosses { op: Op::BinUnicode, offset: 11, frame_at: 2, end: 17 }
        );
        assert!(err.to_string().contains("BINUNICODE instruction at byte 11"));
        // A line argument, read up to its newline.
        assert!(check_frames(&framed(b"Vhelloworld\n.")).is_err());
    }

    #[test]
    fn a_frame_header_may_not_cross_the_end_either() {
        let data =
            b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N\x95\x01\x00\x00\x00\x00\x00\x00\x00N.";
        assert!(matches!(check_frames(data), Err(FrameError::Crosses { op: Op::Frame, .. })));
    }

    #[test]
    fn a_frame_inside_a_frame_is_refused() {
        let data =
            b"\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00N\x95\x00\x00\x00\x00\x00\x00\x00\x00NN.";
        assert_eq!(
            check_frames(data),
            Err(FrameError::Nested { offset: 12, frame_at: 2, left: 2 })
        );
    }

    #[test]
    fn the_fast_path_limit_stops_at_the_frame_end() {
        let mut frames = Frames::default();
        frames.begin(2, 11, 6).unwrap();
        assert_eq!(frames.limit(11), Some(17));
        assert_eq!(frames.limit(17), None);
    }
}
