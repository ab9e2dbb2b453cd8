//! The text of a value as a list of pieces to write: fixed text and child
//! values, expanded one at a time from a stack. Walks that write values
//! ([`render`](super::render), [`json`](super::json)) use it so that no
//! depth of nesting can exhaust the call stack.

use std::borrow::Cow;

use super::node::NodeId;

/// One thing left to write.
pub(super) enum Piece {
    Text(Cow<'static, str>),
    Value(NodeId),
    /// The value's text is complete: it may appear again without being
    /// its own ancestor.
    Leave(NodeId),
}

pub(super) fn text(text: &'static str) -> Piece {
    Piece::Text(Cow::Borrowed(text))
}

pub(super) fn owned(text: String) -> Piece {
    Piece::Text(Cow::Owned(text))
}

/// `open`, the items separated by `, `, then `close`.
pub(super) fn sequence(
    open: impl Into<Cow<'static, str>>,
    items: &[NodeId],
    close: &'static str,
) -> Vec<Piece> {
    let mut pieces = vec![Piece::Text(open.into())];
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            pieces.push(text(", "));
        }
        pieces.push(Piece::Value(*item));
    }
    pieces.push(text(close));
    pieces
}
