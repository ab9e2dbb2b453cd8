//! The value machine: runs a pickle (protocols 0–5) into a graph of plain
//! Rust values without importing, calling or resolving anything.
//!
//! Values live in an arena ([`Document`]); the memo maps indices to node
//! ids, so a value stored once and fetched many times is one node, and a
//! list that holds itself is a cycle in the graph. Every stack operation
//! is checked against CPython's C unpickler's rules and fails with a
//! [`LoadError`] naming the opcode and byte offset; [`ValueLimits`] bound
//! nesting, memo size and node count.
//!
//! ```
//! use oxpickle_core::value::{load, Node};
//!
//! // pickle.dumps([1, "a"], protocol=2)
//! let (doc, end) = load(b"\x80\x02]q\x00(K\x01X\x01\x00\x00\x00aq\x01e.").unwrap();
//! assert_eq!(end, 18);
//! assert_eq!(doc.render(doc.root(), 80), "[1, 'a']");
//! assert!(matches!(doc.get(doc.root()), Some(Node::List(items)) if items.len() == 2));
//! ```

mod containers;
mod document;
mod error;
mod json;
mod machine;
mod node;
mod objects;
mod pieces;
mod render;
mod scalars;

pub use document::{Document, Values};
pub use error::{Fault, Interrupted, LoadError};
pub use node::{AddedItems, Node, NodeId};

use crate::limits::ValueLimits;

/// Runs the pickle at the start of `input` with the default [`ValueLimits`];
/// returns its values and the offset just past its STOP.
pub fn load(input: &[u8]) -> Result<(Document, usize), LoadError> {
    load_at(input, 0, ValueLimits::default())
}

/// Runs the pickle that starts at `offset`. Several pickles written one
/// after another (as repeated `pickle.dump` calls make) load by passing
/// each call the end offset the previous one returned. Each pickle has
/// its own memo, as with a fresh `pickle.load` per pickle.
pub fn load_at(
    input: &[u8],
    offset: usize,
    limits: ValueLimits,
) -> Result<(Document, usize), LoadError> {
    run_at(input, offset, limits).map_err(|interrupted| interrupted.error)
}

/// [`load_at`], keeping on failure the values made before the error.
pub fn run_at(
    input: &[u8],
    offset: usize,
    limits: ValueLimits,
) -> Result<(Document, usize), Box<Interrupted>> {
    machine::run(input, offset, limits)
}
