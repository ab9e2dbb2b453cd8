//! The stack effects `pickletools` documents for each opcode: what kinds of
//! values it takes from the stack and what it leaves. The disassembler
//! replays them to check a pickle and to indent MARK blocks.

use crate::op::Op;

/// A kind of value on the disassembler's stack, named as `pickletools`
/// names its stack objects (the names appear in error messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    IntOrBool,
    Bool,
    Float,
    BytesOrStr,
    Bytes,
    ByteArray,
    Str,
    None,
    Tuple,
    List,
    Dict,
    Set,
    FrozenSet,
    Buffer,
    Any,
    Mark,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Int => "int",
            Kind::IntOrBool => "int_or_bool",
            Kind::Bool => "bool",
            Kind::Float => "float",
            Kind::BytesOrStr => "bytes_or_str",
            Kind::Bytes => "bytes",
            Kind::ByteArray => "bytearray",
            Kind::Str => "str",
            Kind::None => "None",
            Kind::Tuple => "tuple",
            Kind::List => "list",
            Kind::Dict => "dict",
            Kind::Set => "set",
            Kind::FrozenSet => "frozenset",
            Kind::Buffer => "buffer",
            Kind::Any => "any",
            Kind::Mark => "mark",
        }
    }
}

/// What an opcode takes from the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Takes {
    /// This many entries from the top.
    Top(usize),
    /// Everything down to the topmost MARK, the MARK, and `below` more
    /// entries under it (APPENDS takes its list, for one).
    ThroughMark { below: usize },
}

/// One opcode's effect on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Effect {
    pub takes: Takes,
    /// What it leaves, bottom first.
    pub pushes: &'static [Kind],
}

const fn takes(count: usize, pushes: &'static [Kind]) -> Effect {
    Effect { takes: Takes::Top(count), pushes }
}

const fn takes_mark(below: usize, pushes: &'static [Kind]) -> Effect {
    Effect { takes: Takes::ThroughMark { below }, pushes }
}

pub(super) fn effect(op: Op) -> Effect {
    use Kind::*;
    match op {
        Op::Int => takes(0, &[IntOrBool]),
        Op::BinInt | Op::BinInt1 | Op::BinInt2 | Op::Long | Op::Long1 | Op::Long4 => {
            takes(0, &[Int])
        }
        Op::String | Op::BinString | Op::ShortBinString => takes(0, &[BytesOrStr]),
        Op::BinBytes | Op::ShortBinBytes | Op::BinBytes8 => takes(0, &[Bytes]),
        Op::ByteArray8 => takes(0, &[ByteArray]),
        Op::NextBuffer => takes(0, &[Buffer]),
        Op::ReadonlyBuffer => takes(1, &[Buffer]),
        Op::None => takes(0, &[None]),
        Op::NewTrue | Op::NewFalse => takes(0, &[Bool]),
        Op::Unicode | Op::ShortBinUnicode | Op::BinUnicode | Op::BinUnicode8 => takes(0, &[Str]),
        Op::Float | Op::BinFloat => takes(0, &[Float]),
        Op::EmptyList => takes(0, &[List]),
        Op::Append => takes(2, &[List]),
        Op::Appends => takes_mark(1, &[List]),
        Op::List => takes_mark(0, &[List]),
        Op::EmptyTuple => takes(0, &[Tuple]),
        Op::Tuple => takes_mark(0, &[Tuple]),
        Op::Tuple1 => takes(1, &[Tuple]),
        Op::Tuple2 => takes(2, &[Tuple]),
        Op::Tuple3 => takes(3, &[Tuple]),
        Op::EmptyDict => takes(0, &[Dict]),
        Op::Dict => takes_mark(0, &[Dict]),
        Op::SetItem => takes(3, &[Dict]),
        Op::SetItems => takes_mark(1, &[Dict]),
        Op::EmptySet => takes(0, &[Set]),
        Op::AddItems => takes_mark(1, &[Set]),
        Op::FrozenSet => takes_mark(0, &[FrozenSet]),
        Op::Pop => takes(1, &[]),
        Op::Dup => takes(1, &[Any, Any]),
        Op::Mark => takes(0, &[Mark]),
        Op::PopMark => takes_mark(0, &[]),
        Op::Get | Op::BinGet | Op::LongBinGet => takes(0, &[Any]),
        Op::Put | Op::BinPut | Op::LongBinPut => takes(0, &[]),
        Op::Memoize => takes(1, &[Any]),
        Op::Ext1 | Op::Ext2 | Op::Ext4 => takes(0, &[Any]),
        Op::Global => takes(0, &[Any]),
        Op::StackGlobal => takes(2, &[Any]),
        Op::Reduce | Op::Build | Op::NewObj => takes(2, &[Any]),
        Op::Inst => takes_mark(0, &[Any]),
        Op::Obj => takes_mark(0, &[Any]),
        Op::NewObjEx => takes(3, &[Any]),
        Op::Proto | Op::Frame => takes(0, &[]),
        Op::Stop => takes(1, &[]),
        Op::PersId => takes(0, &[Any]),
        Op::BinPersId => takes(1, &[Any]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::ALL;

    #[test]
    fn only_mark_pushes_a_mark() {
        for &op in ALL {
            assert_eq!(effect(op).pushes.contains(&Kind::Mark), op == Op::Mark, "{}", op.name());
        }
    }
}
