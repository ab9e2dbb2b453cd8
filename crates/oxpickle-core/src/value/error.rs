//! Why the value machine stopped: what went wrong, at which opcode and
//! byte offset.

use std::fmt;

use super::document::Values;
use crate::error::DecodeError;
use crate::frame::FrameError;
use crate::op::Op;

/// A pickle the value machine could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The instruction itself could not be decoded.
    Decode(DecodeError),
    /// An instruction decoded but could not be carried out.
    Op {
        /// The opcode at fault.
        op: Op,
        /// Its byte offset.
        offset: usize,
        /// What went wrong.
        fault: Fault,
    },
}

/// What went wrong with an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The opcode needs more values than the stack holds above the top MARK.
    StackUnderflow,
    /// The opcode needs a MARK and none is open.
    MarkNotFound,
    /// GET of a memo index nothing was stored at.
    MemoNotFound { index: i64 },
    /// PUT of a negative memo index.
    NegativeMemoIndex,
    /// The argument is malformed (a number, escape or encoding CPython refuses).
    BadArgument(String),
    /// APPEND(S), SETITEM(S) or ADDITEMS on a value of a type that lacks the
    /// method (a tuple, an int, …).
    NotMutable { type_name: &'static str },
    /// DICT or SETITEMS with a key left without a value.
    OddItemCount,
    /// PROTO names a protocol newer than 5.
    UnsupportedProtocol(u8),
    /// FRAME announces more bytes than the input holds.
    FrameTooLong { len: u64, available: usize },
    /// An instruction breaks the frame rules (see [`crate::frame`]), so
    /// loaders read the bytes differently.
    Frame(FrameError),
    /// EXT1/EXT2/EXT4 with a code of zero or less.
    BadExtensionCode(i64),
    /// A [`ValueLimits`](crate::limits::ValueLimits) bound was passed.
    LimitExceeded { limit: &'static str, value: usize },
}

impl LoadError {
    /// Byte offset of the instruction at fault.
    pub fn offset(&self) -> usize {
        match self {
            LoadError::Decode(err) => err.offset(),
            LoadError::Op { offset, .. } => *offset,
        }
    }
}

impl From<DecodeError> for LoadError {
    fn from(err: DecodeError) -> Self {
        LoadError::Decode(err)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Decode(err) => err.fmt(f),
            LoadError::Op { op, offset, fault } => {
                write!(f, "{fault} ({} at byte {offset})", op.name())
            }
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::StackUnderflow => f.write_str("unpickling stack underflow"),
            Fault::MarkNotFound => f.write_str("could not find MARK"),
            Fault::MemoNotFound { index } => write!(f, "Memo value not found at index {index}"),
            Fault::NegativeMemoIndex => f.write_str("negative PUT argument"),
            Fault::BadArgument(why) => f.write_str(why),
            Fault::NotMutable { type_name } => {
                write!(f, "cannot add items to a '{type_name}' object")
            }
            Fault::OddItemCount => f.write_str("odd number of items"),
            Fault::UnsupportedProtocol(proto) => write!(f, "unsupported pickle protocol: {proto}"),
            Fault::FrameTooLong { len, available } => {
                write!(f, "frame of {len} bytes, but only {available} remain")
            }
            Fault::Frame(err) => err.fmt(f),
            Fault::BadExtensionCode(_) => f.write_str("EXT specifies code <= 0"),
            Fault::LimitExceeded { limit, value } => {
                write!(f, "{limit} exceeded (limit is {value})")
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// A pickle that stopped on an error, and every value it made before.
/// CPython runs a pickle as it reads it, so what a broken stream named
/// before its error still matters: that is what a scanner looks at.
#[derive(Clone, Debug, PartialEq)]
pub struct Interrupted {
    /// Why it stopped.
    pub error: LoadError,
    /// The values made before the error.
    pub made: Values,
}
