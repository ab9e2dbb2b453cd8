//! A JSON form of a value, for `python -m oxpickle show --json` and any
//! program that wants the tree without Python. Nothing is resolved:
//!
//! - `None`, bools, strs, floats and ints within ±2**53 are JSON values;
//!   lists are arrays. Bigger ints are `{"int": "digits"}`, non-finite
//!   floats `{"float": "nan"}`, lone surrogates `\udXXX` escapes.
//! - Every other value is an object named by its one tag: `{"tuple": [...]}`,
//!   `{"set": [...]}`, `{"frozenset": [...]}`, `{"dict": [[key, value], ...]}`
//!   (keys may be anything), `{"bytes": "hex"}`, `{"bytearray": "hex"}`,
//!   `{"py2str": "hex"}`.
//! - Load-time values: `{"global": "module.name"}`,
//!   `{"stack_global": [module, name]}`, calls `{"call": f, "args": a}`
//!   (REDUCE, INST, OBJ), `{"new": cls, "args": a}` (NEWOBJ, plus
//!   `"kwargs"` for NEWOBJ_EX), `{"build": target, "state": s}`,
//!   `{"persistent_id": pid}`, `{"ext": code}`,
//!   `{"buffer": index, "readonly": bool}`, `{"readonly_view": value}`;
//!   items given to them by APPEND(S)/SETITEM(S)/ADDITEMS add `"append"`,
//!   `"setitems"` and `"add"` members.
//! - A mutable or load-time value reached more than once (shared through
//!   the memo, or part of a cycle) carries `"id": N` where it first
//!   appears, in text order, and is `{"ref": N}` everywhere after; a
//!   shared list becomes `{"id": N, "list": [...]}`. Scalars are repeated.
//!
//! The walk is iterative and writes each node once, so the text is linear
//! in the size of the document whatever its depth or sharing.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::document::Values;
use super::node::{Node, NodeId};
use super::pieces::{owned, sequence, text, Piece};
use crate::integer::Integer;
use crate::text::float_repr;

/// Ints beyond this are not exact in every JSON reader (doubles).
const EXACT_INT: i64 = 1 << 53;

impl Values {
    /// The JSON text of the value `root` (see the module documentation).
    pub fn to_json(&self, root: NodeId) -> String {
        let shared = self.shared_nodes(root);
        let mut written: HashSet<NodeId> = HashSet::new();
        let mut out = String::new();
        let mut pending = vec![Piece::Value(root)];
        while let Some(piece) = pending.pop() {
            match piece {
                Piece::Text(text) => out.push_str(&text),
                // Every node is written once: nothing to leave.
                Piece::Leave(_) => {}
                Piece::Value(id) => {
                    let is_shared = shared.contains(&id);
                    if is_shared && !written.insert(id) {
                        let _ = write!(out, "{{\"ref\": {}}}", id.index());
                        continue;
                    }
                    let pieces = self.json_pieces(id, is_shared);
                    pending.extend(pieces.into_iter().rev());
                }
            }
        }
        out
    }

    /// Non-scalar nodes reachable from `root` more than once.
    fn shared_nodes(&self, root: NodeId) -> HashSet<NodeId> {
        let mut references: HashMap<NodeId, usize> = HashMap::from([(root, 1)]);
        let mut pending = vec![root];
        while let Some(id) = pending.pop() {
            for child in self.children(id) {
                let count = references.entry(child).or_insert(0);
                *count += 1;
                if *count == 1 {
                    pending.push(child);
                }
            }
        }
        let scalar = |id: NodeId| self.get(id).is_none_or(is_scalar);
        references
            .into_iter()
            .filter(|&(id, count)| count > 1 && !scalar(id))
            .map(|(id, _)| id)
            .collect()
    }

    /// The text and child values of one node, in writing order.
    fn json_pieces(&self, id: NodeId, shared: bool) -> Vec<Piece> {
        let Some(node) = self.get(id) else { return vec![text("null")] };
        let body = match node {
            Node::None => return vec![text("null")],
            Node::Bool(value) => return vec![text(if *value { "true" } else { "false" })],
            Node::Int(value) if (-EXACT_INT..=EXACT_INT).contains(value) => {
                return vec![owned(value.to_string())]
            }
            Node::Int(value) => return vec![owned(format!("{{\"int\": \"{value}\"}}"))],
            Node::BigInt(bytes) => return vec![owned(big_int(bytes))],
            Node::Float(value) if value.is_finite() => return vec![owned(float_repr(*value))],
            Node::Float(value) => {
                return vec![owned(format!("{{\"float\": \"{}\"}}", float_repr(*value)))]
            }
            Node::Str(value) => return vec![owned(json_string(value.code_points()))],
            Node::Bytes(bytes) => return vec![owned(tagged_hex("bytes", bytes))],
            Node::LegacyStr(bytes) => return vec![owned(tagged_hex("py2str", bytes))],
            Node::List(items) if !shared => return sequence("[", items, "]"),
            Node::List(items) => sequence("\"list\": [", items, "]"),
            Node::ByteArray(bytes) => vec![owned(format!("\"bytearray\": \"{}\"", hex(bytes)))],
            Node::Tuple(items) => sequence("\"tuple\": [", items, "]"),
            Node::Set(items) => sequence("\"set\": [", items, "]"),
            Node::FrozenSet(items) => sequence("\"frozenset\": [", items, "]"),
            Node::Dict(pairs) => pairs_array("\"dict\": [", pairs),
            Node::Global { module, name } => {
                vec![owned(format!("\"global\": {}", json_str(&format!("{module}.{name}"))))]
            }
            Node::DynamicGlobal { module, name } => {
                sequence("\"stack_global\": [", &[*module, *name], "]")
            }
            Node::Reduce { callable, args } => members(&[("call", *callable), ("args", *args)]),
            Node::NewObj { cls, args } => members(&[("new", *cls), ("args", *args)]),
            Node::NewObjEx { cls, args, kwargs } => {
                members(&[("new", *cls), ("args", *args), ("kwargs", *kwargs)])
            }
            Node::Build { target, state } => members(&[("build", *target), ("state", *state)]),
            Node::Inst { module, name, args } => {
                let called = json_str(&format!("{module}.{name}"));
                let mut pieces = vec![owned(format!("\"call\": {{\"global\": {called}}}, "))];
                pieces.extend(sequence("\"args\": {\"tuple\": [", args, "]}"));
                pieces
            }
            Node::Obj { cls, args } => {
                let mut pieces = vec![text("\"call\": "), Piece::Value(*cls), text(", ")];
                pieces.extend(sequence("\"args\": {\"tuple\": [", args, "]}"));
                pieces
            }
            Node::PersId(pid) => members(&[("persistent_id", *pid)]),
            Node::Ext(code) => vec![owned(format!("\"ext\": {code}"))],
            Node::OutOfBandBuffer { index, readonly } => {
                vec![owned(format!("\"buffer\": {index}, \"readonly\": {readonly}"))]
            }
            Node::ReadOnly(inner) => members(&[("readonly_view", *inner)]),
        };
        let mut pieces = vec![text("{")];
        if shared {
            pieces.push(owned(format!("\"id\": {}, ", id.index())));
        }
        pieces.extend(body);
        self.push_json_added_items(id, &mut pieces);
        pieces.push(text("}"));
        pieces
    }

    fn push_json_added_items(&self, id: NodeId, pieces: &mut Vec<Piece>) {
        let Some(added) = self.added_items(id) else { return };
        if !added.appended.is_empty() {
            pieces.extend(sequence(", \"append\": [", &added.appended, "]"));
        }
        if !added.set_items.is_empty() {
            pieces.extend(pairs_array(", \"setitems\": [", &added.set_items));
        }
        if !added.added.is_empty() {
            pieces.extend(sequence(", \"add\": [", &added.added, "]"));
        }
    }
}

/// Values written inline wherever they appear: immutable, and their
/// identity means nothing to a reader.
fn is_scalar(node: &Node) -> bool {
    matches!(
        node.type_name(),
        Some("NoneType" | "bool" | "int" | "float" | "str" | "bytes" | "Python 2 str")
    )
}

fn pairs_array(open: &'static str, pairs: &[(NodeId, NodeId)]) -> Vec<Piece> {
    let mut pieces = vec![text(open)];
    for (index, (key, value)) in pairs.iter().enumerate() {
        pieces.push(text(if index > 0 { ", [" } else { "[" }));
        pieces.extend([Piece::Value(*key), text(", "), Piece::Value(*value), text("]")]);
    }
    pieces.push(text("]"));
    pieces
}

/// `"name": value` members, comma-separated.
fn members(members: &[(&'static str, NodeId)]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for (index, (name, value)) in members.iter().enumerate() {
        let separator = if index > 0 { ", " } else { "" };
        pieces.push(owned(format!("{separator}\"{name}\": ")));
        pieces.push(Piece::Value(*value));
    }
    pieces
}

fn big_int(bytes: &[u8]) -> String {
    match Integer::Big(bytes.to_vec()).to_decimal() {
        Ok(digits) => format!("{{\"int\": \"{digits}\"}}"),
        // Too many digits to print: the two's-complement bytes instead.
        Err(_) => tagged_hex("int_le_bytes", bytes),
    }
}

fn tagged_hex(tag: &str, bytes: &[u8]) -> String {
    format!("{{\"{tag}\": \"{}\"}}", hex(bytes))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn json_str(text: &str) -> String {
    json_string(text.chars().map(u32::from))
}

/// A JSON string literal of these code points; lone surrogates become
/// `\uXXXX` escapes, which JSON allows and Python's `json` reads back.
fn json_string(points: impl Iterator<Item = u32>) -> String {
    let mut out = String::from("\"");
    for point in points {
        match char::from_u32(point) {
            Some('"') => out.push_str("\\\""),
            Some('\\') => out.push_str("\\\\"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some('\t') => out.push_str("\\t"),
            Some(c) if u32::from(c) >= 0x20 => out.push(c),
            _ => {
                let _ = write!(out, "\\u{point:04x}");
            }
        }
    }
    out.push('"');
    out
}
