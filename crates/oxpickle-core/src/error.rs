//! Errors of the core codec. Each names the byte offset it happened at.

use std::fmt;

use crate::op::Op;

/// Why an instruction could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ends inside the instruction that starts at `offset`.
    /// `needed` is how many bytes from `offset` the instruction takes, when
    /// known; `None` means a line argument whose newline has not been seen.
    Truncated { offset: usize, needed: Option<u64> },
    /// `byte` at `offset` is not a pickle opcode.
    UnknownOpcode { byte: u8, offset: usize },
    /// A signed length prefix is negative.
    NegativeLength { op: Op, offset: usize, len: i64 },
    /// An 8-byte length prefix is above [`LARGEST_SIZE`](crate::LARGEST_SIZE).
    TooLarge { op: Op, offset: usize, len: u64 },
}

impl DecodeError {
    /// Byte offset of the instruction at fault.
    pub fn offset(&self) -> usize {
        match *self {
            DecodeError::Truncated { offset, .. }
            | DecodeError::UnknownOpcode { offset, .. }
            | DecodeError::NegativeLength { offset, .. }
            | DecodeError::TooLarge { offset, .. } => offset,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { offset, .. } => {
                write!(f, "pickle data was truncated (instruction at byte {offset})")
            }
            DecodeError::UnknownOpcode { byte, offset } => {
                let shown = char::from(*byte).escape_default();
                write!(f, "invalid load key, '{shown}' (byte 0x{byte:02x} at offset {offset})")
            }
            DecodeError::NegativeLength { op, offset, len } => {
                write!(f, "{} pickle has negative byte count ({len}, at byte {offset})", op.name())
            }
            DecodeError::TooLarge { op, offset, len } => write!(
                f,
                "{} length {len} exceeds the largest possible size, {} bytes (at byte {offset})",
                op.name(),
                crate::LARGEST_SIZE
            ),
        }
    }
}

impl std::error::Error for DecodeError {}
