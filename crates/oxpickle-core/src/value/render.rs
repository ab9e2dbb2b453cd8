//! A one-line, Python-like rendering of a value, for people and tests:
//! `[1, 'a', (2,), {b'k': None}, os.getcwd()]`. Values made at load time
//! read as calls (`newobj(m.C, ())`). The walk is iterative, shows a value
//! that contains itself as `...` (as Python's repr does), and stops at a
//! length bound, since shared values can make the text exponentially long.

use std::collections::HashSet;

use super::document::Values;
use super::node::{Node, NodeId};
use super::pieces::{owned, sequence, text, Piece};
use crate::integer::Integer;
use crate::text::{float_repr, is_printable, repr_bytearray, repr_bytes, repr_str};

impl Values {
    /// Renders the value `id` in at most about `max_len` bytes; longer text
    /// ends with `…`.
    pub fn render(&self, id: NodeId, max_len: usize) -> String {
        let mut out = String::new();
        let mut pending = vec![Piece::Value(id)];
        let mut open: HashSet<NodeId> = HashSet::new();
        while let Some(piece) = pending.pop() {
            if out.len() > max_len {
                out.push('…');
                break;
            }
            match piece {
                Piece::Text(text) => out.push_str(&text),
                Piece::Leave(id) => {
                    open.remove(&id);
                }
                Piece::Value(id) if open.contains(&id) => out.push_str("..."),
                Piece::Value(id) => {
                    open.insert(id);
                    pending.push(Piece::Leave(id));
                    let mut pieces = self.pieces(id);
                    self.push_added_items(id, &mut pieces);
                    pending.extend(pieces.into_iter().rev());
                }
            }
        }
        out
    }

    /// The text and child values of one node, in writing order.
    fn pieces(&self, id: NodeId) -> Vec<Piece> {
        let Some(node) = self.get(id) else { return vec![text("<missing>")] };
        match node {
            Node::None => vec![text("None")],
            Node::Bool(true) => vec![text("True")],
            Node::Bool(false) => vec![text("False")],
            Node::Int(value) => vec![owned(value.to_string())],
            Node::BigInt(bytes) => {
                let decimal = Integer::Big(bytes.clone()).to_decimal();
                vec![owned(decimal.unwrap_or_else(|_| format!("<int of {} bytes>", bytes.len())))]
            }
            Node::Float(value) => vec![owned(float_repr(*value))],
            Node::Str(value) => vec![owned(repr_str(value))],
            Node::Bytes(value) => vec![owned(repr_bytes(value))],
            Node::ByteArray(value) => vec![owned(repr_bytearray(value))],
            Node::LegacyStr(value) => vec![owned(format!("py2str({})", repr_bytes(value)))],
            Node::List(items) => sequence("[", items, "]"),
            Node::Tuple(items) if items.len() == 1 => sequence("(", items, ",)"),
            Node::Tuple(items) => sequence("(", items, ")"),
            Node::Dict(pairs) => mapping("{", pairs, "}"),
            Node::Set(items) if items.is_empty() => vec![text("set()")],
            Node::Set(items) => sequence("{", items, "}"),
            Node::FrozenSet(items) if items.is_empty() => vec![text("frozenset()")],
            Node::FrozenSet(items) => sequence("frozenset({", items, "})"),
            Node::Global { module, name } => vec![owned(qualified_name(module, name))],
            Node::DynamicGlobal { module, name } => call("stack_global", &[*module, *name]),
            Node::Reduce { callable, args } => {
                let mut pieces = vec![Piece::Value(*callable)];
                match self.get(*args) {
                    Some(Node::Tuple(items)) => pieces.extend(sequence("(", items, ")")),
                    _ => pieces.extend([text("(*"), Piece::Value(*args), text(")")]),
                }
                pieces
            }
            Node::Build { target, state } => call("build", &[*target, *state]),
            Node::NewObj { cls, args } => call("newobj", &[*cls, *args]),
            Node::NewObjEx { cls, args, kwargs } => call("newobj_ex", &[*cls, *args, *kwargs]),
            Node::Inst { module, name, args } => {
                sequence(format!("{}(", qualified_name(module, name)), args, ")")
            }
            Node::Obj { cls, args } => {
                let mut pieces = vec![Piece::Value(*cls)];
                pieces.extend(sequence("(", args, ")"));
                pieces
            }
            Node::PersId(pid) => call("persistent_load", &[*pid]),
            Node::Ext(code) => vec![owned(format!("ext({code})"))],
            Node::OutOfBandBuffer { index, readonly: false } => {
                vec![owned(format!("buffer({index})"))]
            }
            Node::OutOfBandBuffer { index, readonly: true } => {
                vec![owned(format!("readonly_buffer({index})"))]
            }
            Node::ReadOnly(inner) => call("readonly", &[*inner]),
        }
    }

    /// Items added to a value made at load time read as method calls.
    fn push_added_items(&self, id: NodeId, pieces: &mut Vec<Piece>) {
        let Some(added) = self.added_items(id) else { return };
        if !added.appended.is_empty() {
            pieces.extend(sequence(".extend([", &added.appended, "])"));
        }
        if !added.set_items.is_empty() {
            pieces.extend(mapping(".update({", &added.set_items, "})"));
        }
        if !added.added.is_empty() {
            pieces.extend(sequence(".add_all({", &added.added, "})"));
        }
    }
}

/// `module.name` when both are plain names; otherwise quoted, so a
/// hostile name cannot smuggle newlines or terminal escapes into the text.
fn qualified_name(module: &str, name: &str) -> String {
    let plain = |text: &str| {
        !text.is_empty() && text.chars().all(|c| is_printable(c) && !c.is_whitespace() && c != '\'')
    };
    if plain(module) && plain(name) {
        format!("{module}.{name}")
    } else {
        format!("global({}, {})", repr_str(&module.into()), repr_str(&name.into()))
    }
}

fn call(name: &str, args: &[NodeId]) -> Vec<Piece> {
    sequence(format!("{name}("), args, ")")
}

fn mapping(open: &'static str, pairs: &[(NodeId, NodeId)], close: &'static str) -> Vec<Piece> {
    let mut pieces = vec![text(open)];
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            pieces.push(text(", "));
        }
        pieces.extend([Piece::Value(*key), text(": "), Piece::Value(*value)]);
    }
    pieces.push(text(close));
    pieces
}
