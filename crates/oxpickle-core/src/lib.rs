//! oxpickle-core: the pickle format without Python.
//!
//! One opcode table ([`op`]), a decoder that borrows from its input and
//! checks every length ([`decode`]), an encoder with protocol-4 framing
//! ([`encode`]), and the text forms numbers take in a pickle ([`text`]).
//! Nothing here imports or runs anything: it is safe on hostile input.

pub mod decode;
pub mod encode;
pub mod error;
pub mod op;
pub mod text;

pub use decode::{decode_at, Arg, Instr, Instructions};
pub use encode::{EncodeError, Encoder, Header, FRAME_SIZE_TARGET};
pub use error::DecodeError;
pub use op::{ArgKind, Op};
