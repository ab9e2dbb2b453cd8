//! The values a pickle describes, as plain data: nothing is imported,
//! called or resolved, so globals stay names and calls stay descriptions.

use crate::integer::Integer;
use crate::pystr::PyStr;

/// Where a node sits in its [`Document`](super::Document).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(usize);

impl NodeId {
    pub(crate) fn new(index: usize) -> NodeId {
        NodeId(index)
    }

    /// The node's position in the document, in the order the stream made them.
    pub fn index(self) -> usize {
        self.0
    }
}

/// One value of the stream. Children are [`NodeId`]s, so a value shared
/// through the memo is one node, and a container may hold itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// `None`.
    None,
    /// `True` or `False` (NEWTRUE/NEWFALSE, or INT's `01`/`00`).
    Bool(bool),
    /// An int that fits 64 bits.
    Int(i64),
    /// Any other int: minimal little-endian two's-complement bytes, as
    /// LONG1 carries them (see [`Integer::to_decimal`] for its digits).
    BigInt(Vec<u8>),
    /// A float.
    Float(f64),
    /// A `str`.
    Str(PyStr),
    /// A `bytes`.
    Bytes(Vec<u8>),
    /// A `bytearray`.
    ByteArray(Vec<u8>),
    /// A Python 2 `str` (STRING, BINSTRING, SHORT_BINSTRING): raw bytes
    /// whose meaning depends on the reader's `encoding=`.
    LegacyStr(Vec<u8>),
    /// A `list`.
    List(Vec<NodeId>),
    /// A `tuple`.
    Tuple(Vec<NodeId>),
    /// A `dict`, in stream order. Keys are not checked for hashability or
    /// duplicates: that is for whoever builds real objects.
    Dict(Vec<(NodeId, NodeId)>),
    /// A `set`, in stream order.
    Set(Vec<NodeId>),
    /// A `frozenset`, in stream order.
    FrozenSet(Vec<NodeId>),
    /// `module.name` from GLOBAL, or from STACK_GLOBAL on two literal strings.
    Global { module: String, name: String },
    /// STACK_GLOBAL on operands that are not literal strings (results of
    /// calls, Python 2 strings, strings with surrogates): what it names is
    /// only known at load time, which a security scanner wants to know.
    DynamicGlobal { module: NodeId, name: NodeId },
    /// REDUCE: `callable(*args)`.
    Reduce { callable: NodeId, args: NodeId },
    /// BUILD: `target` after `__setstate__(state)` or a `__dict__` update.
    /// The memo keeps pointing at `target`, as the stream stored it first.
    Build { target: NodeId, state: NodeId },
    /// NEWOBJ: `cls.__new__(cls, *args)`.
    NewObj { cls: NodeId, args: NodeId },
    /// NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`.
    NewObjEx { cls: NodeId, args: NodeId, kwargs: NodeId },
    /// INST: the class `module.name` called with the items above the MARK.
    Inst { module: String, name: String, args: Vec<NodeId> },
    /// OBJ: `cls(*args)`, both taken from above the MARK.
    Obj { cls: NodeId, args: Vec<NodeId> },
    /// PERSID (with a `str` id node) or BINPERSID: `persistent_load(id)`.
    PersId(NodeId),
    /// EXT1/EXT2/EXT4: an entry of the copyreg extension registry, which is
    /// not consulted here.
    Ext(u32),
    /// NEXT_BUFFER: the `index`-th out-of-band buffer, read-only once
    /// READONLY_BUFFER has applied to it.
    OutOfBandBuffer { index: usize, readonly: bool },
    /// READONLY_BUFFER on anything but an out-of-band buffer or bytes: a
    /// read-only `memoryview` of the value.
    ReadOnly(NodeId),
}

/// Items that APPEND(S), SETITEM(S) and ADDITEMS gave a value whose type
/// is only known at load time (an object made by REDUCE, NEWOBJ, …): at
/// load time they become calls to its `extend`/`append`, `__setitem__` and
/// `add`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddedItems {
    /// From APPEND and APPENDS.
    pub appended: Vec<NodeId>,
    /// From SETITEM and SETITEMS.
    pub set_items: Vec<(NodeId, NodeId)>,
    /// From ADDITEMS.
    pub added: Vec<NodeId>,
}

impl AddedItems {
    /// Every node the items refer to.
    pub fn children(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.appended
            .iter()
            .copied()
            .chain(self.set_items.iter().flat_map(|&(key, value)| [key, value]))
            .chain(self.added.iter().copied())
    }
}

/// A node's children in three parts: up to three single ids, a run of
/// ids, and a run of key/value pairs.
type ChildParts<'a> = ([Option<NodeId>; 3], &'a [NodeId], &'a [(NodeId, NodeId)]);

impl Node {
    /// The nodes this one refers to directly, in stream order.
    pub fn children(&self) -> impl Iterator<Item = NodeId> + '_ {
        let (fixed, items, pairs): ChildParts<'_> = match self {
            Node::List(items)
            | Node::Tuple(items)
            | Node::Set(items)
            | Node::FrozenSet(items)
            | Node::Inst { args: items, .. } => ([None; 3], items, &[]),
            Node::Dict(pairs) => ([None; 3], &[], pairs),
            Node::Obj { cls, args } => ([Some(*cls), None, None], args, &[]),
            Node::DynamicGlobal { module: first, name: second }
            | Node::Reduce { callable: first, args: second }
            | Node::Build { target: first, state: second }
            | Node::NewObj { cls: first, args: second } => {
                ([Some(*first), Some(*second), None], &[], &[])
            }
            Node::NewObjEx { cls, args, kwargs } => {
                ([Some(*cls), Some(*args), Some(*kwargs)], &[], &[])
            }
            Node::PersId(inner) | Node::ReadOnly(inner) => ([Some(*inner), None, None], &[], &[]),
            Node::None
            | Node::Bool(_)
            | Node::Int(_)
            | Node::BigInt(_)
            | Node::Float(_)
            | Node::Str(_)
            | Node::Bytes(_)
            | Node::ByteArray(_)
            | Node::LegacyStr(_)
            | Node::Global { .. }
            | Node::Ext(_)
            | Node::OutOfBandBuffer { .. } => ([None; 3], &[], &[]),
        };
        fixed
            .into_iter()
            .flatten()
            .chain(items.iter().copied())
            .chain(pairs.iter().flat_map(|&(key, value)| [key, value]))
    }

    /// The Python type name of a value whose type the stream fixes, for
    /// error messages; None for values made at load time.
    pub fn type_name(&self) -> Option<&'static str> {
        Some(match self {
            Node::None => "NoneType",
            Node::Bool(_) => "bool",
            Node::Int(_) | Node::BigInt(_) => "int",
            Node::Float(_) => "float",
            Node::Str(_) => "str",
            Node::Bytes(_) => "bytes",
            Node::ByteArray(_) => "bytearray",
            Node::LegacyStr(_) => "Python 2 str",
            Node::List(_) => "list",
            Node::Tuple(_) => "tuple",
            Node::Dict(_) => "dict",
            Node::Set(_) => "set",
            Node::FrozenSet(_) => "frozenset",
            _ => return None,
        })
    }
}

impl From<Integer> for Node {
    fn from(value: Integer) -> Self {
        match value {
            Integer::Small(value) => Node::Int(value),
            Integer::Big(bytes) => Node::BigInt(bytes),
        }
    }
}
