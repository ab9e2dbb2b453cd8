//! Decoding: one instruction at a time, its argument borrowed from the input.
//!
//! Every length prefix is checked against the bytes that remain before it is
//! used, so a hostile length (2**60, say) fails at once and allocates
//! nothing. A truncated instruction says how many bytes it needs, which lets
//! a reader that pulls from a file fetch exactly that and try again.

use crate::error::DecodeError;
use crate::op::{ArgKind, Op};

/// The largest size any object, buffer or frame can have: `isize::MAX`,
/// CPython's `PY_SSIZE_T_MAX`. A length above it is an error of its own
/// ([`DecodeError::TooLarge`]), not a truncation.
pub const LARGEST_SIZE: u64 = isize::MAX as u64;

/// An opcode's argument, as it stands in the stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg<'a> {
    /// The opcode takes no argument.
    None,
    /// `uint1`, `uint2`, `uint4` and `uint8`.
    Uint(u64),
    /// `int4`.
    Int(i32),
    /// `float8`.
    Float(f64),
    /// Every newline-terminated kind but the pair: the line without its `\n`.
    Line(&'a [u8]),
    /// `stringnl_noescape_pair`: the two lines without their `\n`.
    Pair(&'a [u8], &'a [u8]),
    /// Every length-prefixed kind: the payload, without its prefix.
    Data(&'a [u8]),
}

/// One decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Instr<'a> {
    /// The opcode.
    pub op: Op,
    /// Its argument.
    pub arg: Arg<'a>,
    /// Byte offset of the opcode in the input.
    pub offset: usize,
    /// Byte offset just past the instruction.
    pub end: usize,
}

/// Decodes the instruction that starts at `offset`.
// Always inlined: the unpickler's loop calls it once per opcode, and out of
// line its result travels through memory.
#[inline(always)]
pub fn decode_at(input: &[u8], offset: usize) -> Result<Instr<'_>, DecodeError> {
    let Some(&byte) = input.get(offset) else {
        return Err(DecodeError::Truncated { offset, needed: Some(1) });
    };
    let Some(op) = Op::from_byte(byte) else {
        return Err(DecodeError::UnknownOpcode { byte, offset });
    };
    let mut cursor = Cursor { input, start: offset, pos: offset + 1 };
    let arg = cursor.arg(op)?;
    Ok(Instr { op, arg, offset, end: cursor.pos })
}

/// Iterates over the instructions of one pickle, ending after STOP.
///
/// It yields the error that stops it, then nothing more.
pub struct Instructions<'a> {
    input: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Instructions<'a> {
    /// Instructions of the pickle that starts at `offset`.
    pub fn new(input: &'a [u8], offset: usize) -> Self {
        Instructions { input, offset, done: false }
    }

    /// Where the next instruction would start.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl<'a> Iterator for Instructions<'a> {
    type Item = Result<Instr<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = decode_at(self.input, self.offset);
        match &item {
            Ok(instr) => {
                self.offset = instr.end;
                self.done = instr.op == Op::Stop;
            }
            Err(_) => self.done = true,
        }
        Some(item)
    }
}

struct Cursor<'a> {
    input: &'a [u8],
    /// Offset of the opcode, which truncation errors report.
    start: usize,
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn arg(&mut self, op: Op) -> Result<Arg<'a>, DecodeError> {
        Ok(match op.arg() {
            ArgKind::None => Arg::None,
            ArgKind::Uint1 => Arg::Uint(u64::from(self.fixed::<1>()?[0])),
            ArgKind::Uint2 => Arg::Uint(u64::from(u16::from_le_bytes(self.fixed()?))),
            ArgKind::Uint4 => Arg::Uint(u64::from(u32::from_le_bytes(self.fixed()?))),
            ArgKind::Uint8 => Arg::Uint(u64::from_le_bytes(self.fixed()?)),
            ArgKind::Int4 => Arg::Int(i32::from_le_bytes(self.fixed()?)),
            ArgKind::Float8 => Arg::Float(f64::from_be_bytes(self.fixed()?)),
            ArgKind::StringNl
            | ArgKind::StringNlNoEscape
            | ArgKind::UnicodeStringNl
            | ArgKind::DecimalNlShort
            | ArgKind::DecimalNlLong
            | ArgKind::FloatNl => Arg::Line(self.line()?),
            ArgKind::StringNlNoEscapePair => {
                let first = self.line()?;
                Arg::Pair(first, self.line()?)
            }
            ArgKind::String1 | ArgKind::Bytes1 | ArgKind::UnicodeString1 | ArgKind::Long1 => {
                let len = self.fixed::<1>()?[0];
                Arg::Data(self.take(u64::from(len))?)
            }
            ArgKind::Bytes4 | ArgKind::UnicodeString4 => {
                let len = u32::from_le_bytes(self.fixed()?);
                Arg::Data(self.take(u64::from(len))?)
            }
            ArgKind::String4 | ArgKind::Long4 => {
                let len = i32::from_le_bytes(self.fixed()?);
                let len = u64::try_from(len).map_err(|_| DecodeError::NegativeLength {
                    op,
                    offset: self.start,
                    len: i64::from(len),
                })?;
                Arg::Data(self.take(len)?)
            }
            ArgKind::Bytes8 | ArgKind::ByteArray8 | ArgKind::UnicodeString8 => {
                let len = u64::from_le_bytes(self.fixed()?);
                if len > LARGEST_SIZE {
                    return Err(DecodeError::TooLarge { op, offset: self.start, len });
                }
                Arg::Data(self.take(len)?)
            }
        })
    }

    #[inline(always)]
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N as u64)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Takes `len` bytes, or reports how many the instruction needs in all.
    #[inline(always)]
    fn take(&mut self, len: u64) -> Result<&'a [u8], DecodeError> {
        let remaining = (self.input.len() - self.pos) as u64;
        if len > remaining {
            let needed = ((self.pos - self.start) as u64).saturating_add(len);
            return Err(DecodeError::Truncated { offset: self.start, needed: Some(needed) });
        }
        // `len <= remaining`, so it fits in usize.
        let end = self.pos + len as usize;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn line(&mut self) -> Result<&'a [u8], DecodeError> {
        let rest = &self.input[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(len) => {
                self.pos += len + 1;
                Ok(&rest[..len])
            }
            None => Err(DecodeError::Truncated { offset: self.start, needed: None }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &[u8]) -> Result<Instr<'_>, DecodeError> {
        decode_at(input, 0)
    }

    #[test]
    fn fixed_width_arguments() {
        assert_eq!(one(b"K\x05").unwrap().arg, Arg::Uint(5));
        assert_eq!(one(b"M\x01\x02").unwrap().arg, Arg::Uint(0x0201));
        assert_eq!(one(b"J\xff\xff\xff\xff").unwrap().arg, Arg::Int(-1));
        assert_eq!(one(b"j\x01\x00\x00\x80").unwrap().arg, Arg::Uint(0x8000_0001));
        let frame = one(b"\x95\x10\0\0\0\0\0\0\0").unwrap();
        assert_eq!((frame.arg, frame.end), (Arg::Uint(16), 9));
        let float = one(b"G\x3f\xf0\0\0\0\0\0\0").unwrap();
        assert_eq!(float.arg, Arg::Float(1.0));
    }

    #[test]
    fn line_arguments_exclude_the_newline() {
        assert_eq!(one(b"I42\n").unwrap().arg, Arg::Line(b"42"));
        let global = one(b"cbuiltins\nlen\n").unwrap();
        assert_eq!(global.arg, Arg::Pair(b"builtins", b"len"));
        assert_eq!(global.end, 14);
    }

    #[test]
    fn counted_arguments() {
        assert_eq!(one(b"C\x02ab").unwrap().arg, Arg::Data(b"ab"));
        assert_eq!(one(b"X\x01\0\0\0z").unwrap().arg, Arg::Data(b"z"));
        assert_eq!(one(b"\x8a\x01\xff").unwrap().arg, Arg::Data(b"\xff"));
    }

    #[test]
    fn truncation_reports_what_the_instruction_needs() {
        assert_eq!(
            one(b"X\x05\0\0\0ab"),
            Err(DecodeError::Truncated { offset: 0, needed: Some(10) })
        );
        assert_eq!(one(b"J\x01"), Err(DecodeError::Truncated { offset: 0, needed: Some(5) }));
        assert_eq!(one(b"I12"), Err(DecodeError::Truncated { offset: 0, needed: None }));
        assert_eq!(one(b"cmod\nna"), Err(DecodeError::Truncated { offset: 0, needed: None }));
        assert_eq!(one(b""), Err(DecodeError::Truncated { offset: 0, needed: Some(1) }));
    }

    #[test]
    fn huge_lengths_fail_without_allocating() {
        let mut input = vec![0x8e];
        input.extend_from_slice(&(1u64 << 60).to_le_bytes());
        let err = one(&input).unwrap_err();
        assert_eq!(err, DecodeError::Truncated { offset: 0, needed: Some(9 + (1u64 << 60)) });
        let mut input = vec![0x8d];
        input.extend_from_slice(&(1u64 << 63).to_le_bytes());
        assert_eq!(
            one(&input),
            Err(DecodeError::TooLarge { op: Op::BinUnicode8, offset: 0, len: 1 << 63 })
        );
        let mut input = vec![0x96];
        input.extend_from_slice(&(isize::MAX as u64).to_le_bytes());
        assert!(matches!(one(&input), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn negative_signed_lengths_are_refused() {
        assert_eq!(
            one(b"T\xff\xff\xff\xff"),
            Err(DecodeError::NegativeLength { op: Op::BinString, offset: 0, len: -1 })
        );
        assert!(matches!(
            one(b"\x8b\0\0\0\x80"),
            Err(DecodeError::NegativeLength { op: Op::Long4, .. })
        ));
    }

    #[test]
    fn unknown_opcode_names_byte_and_offset() {
        assert_eq!(
            decode_at(b"N\xff", 1),
            Err(DecodeError::UnknownOpcode { byte: 0xff, offset: 1 })
        );
    }

    #[test]
    fn iteration_stops_after_stop() {
        let ops: Vec<Op> =
            Instructions::new(b"\x80\x05N.trailing", 0).map(|i| i.unwrap().op).collect();
        assert_eq!(ops, [Op::Proto, Op::None, Op::Stop]);
    }
}
