//! oxpickle-core: the pickle format without Python.
//!
//! One opcode table ([`op`]), a decoder that borrows from its input and
//! checks every length ([`decode`]), an encoder with protocol-4 framing
//! ([`encode`]), the text forms of a pickle ([`text`]), a value machine
//! that runs a pickle into plain Rust values ([`value`]) and a
//! disassembler that prints what `pickletools.dis` prints ([`dis`]).
//! Nothing here imports or runs anything: it is safe on hostile input.

pub mod allowlist;
pub mod decode;
pub mod dis;
pub mod encode;
pub mod error;
pub mod frame;
pub mod integer;
pub mod limits;
pub mod op;
pub mod pystr;
pub mod scan;
pub mod sign;
pub mod text;
pub mod value;

pub use allowlist::{Allowlist, ArgumentRule, Profile};
pub use decode::{decode_at, Arg, Instr, Instructions, LARGEST_SIZE};
pub use encode::{EncodeError, Encoder, Header, OutputBuffer, FRAME_SIZE_TARGET};
pub use error::DecodeError;
pub use frame::{FrameError, Frames};
pub use integer::Integer;
pub use limits::ValueLimits;
pub use op::{ArgKind, Op};
pub use pystr::PyStr;
