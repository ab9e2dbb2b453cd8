//! Opcodes whose value is their argument: numbers, strings and bytes, read
//! with the C unpickler's rules.

use super::error::Fault;
use super::node::Node;
use crate::decode::Arg;
use crate::integer::Integer;
use crate::op::Op;
use crate::text::{
    decode_utf8, escape_decode, parse_float, parse_int, raw_unicode_escape_decode, strtol_base0,
    until_nul, FloatSyntax, IntBase,
};

/// The node a constant-pushing opcode makes from its argument.
pub(super) fn scalar(op: Op, arg: Arg<'_>) -> Result<Node, Fault> {
    Ok(match (op, arg) {
        (Op::None, _) => Node::None,
        (Op::NewTrue, _) => Node::Bool(true),
        (Op::NewFalse, _) => Node::Bool(false),
        (Op::BinInt, Arg::Int(value)) => Node::Int(i64::from(value)),
        (Op::BinInt1 | Op::BinInt2, Arg::Uint(value)) => Node::Int(value as i64),
        (Op::Int, Arg::Line(line)) => int_line(line)?,
        (Op::Long, Arg::Line(line)) => long_line(line)?,
        (Op::Long1 | Op::Long4, Arg::Data(bytes)) => Integer::from_le_twos_complement(bytes).into(),
        (Op::Float, Arg::Line(line)) => float_line(line)?,
        (Op::BinFloat, Arg::Float(value)) => Node::Float(value),
        (Op::String, Arg::Line(line)) => Node::LegacyStr(quoted_string(line)?),
        (Op::BinString | Op::ShortBinString, Arg::Data(bytes)) => Node::LegacyStr(bytes.to_vec()),
        (Op::BinBytes | Op::ShortBinBytes | Op::BinBytes8, Arg::Data(bytes)) => {
            Node::Bytes(bytes.to_vec())
        }
        (Op::ByteArray8, Arg::Data(bytes)) => Node::ByteArray(bytes.to_vec()),
        (Op::Unicode, Arg::Line(line)) => Node::Str(raw_unicode_escape_decode(line).map_err(bad)?),
        (Op::ShortBinUnicode | Op::BinUnicode | Op::BinUnicode8, Arg::Data(bytes)) => {
            Node::Str(decode_utf8(bytes, true).map_err(bad)?)
        }
        _ => return Err(Fault::BadArgument("malformed argument".into())),
    })
}

fn bad(err: impl ToString) -> Fault {
    Fault::BadArgument(err.to_string())
}

fn truncated() -> Fault {
    bad("pickle data was truncated")
}

/// INT: a C `long` as `strtol(…, 0)` reads it (so `010` is eight), where
/// a two-character `00`/`01` (or ` 1`, `+0`, …) is a bool; anything else
/// goes to `int(…, 0)`. The text ends at a NUL, as C sees it.
fn int_line(line: &[u8]) -> Result<Node, Fault> {
    if line.is_empty() {
        return Err(truncated());
    }
    let text = until_nul(line);
    match strtol_base0(text) {
        Some(value @ (0 | 1)) if line.len() == 2 => Ok(Node::Bool(value == 1)),
        Some(value) => Ok(Node::Int(value)),
        None => parse_int(text, IntBase::Auto)
            .map(Node::from)
            .map_err(|_| bad("could not convert string to int")),
    }
}

/// LONG: `int(…, 0)` of the line without Python 2's `L` suffix.
fn long_line(line: &[u8]) -> Result<Node, Fault> {
    if line.is_empty() {
        return Err(truncated());
    }
    let digits = until_nul(line.strip_suffix(b"L").unwrap_or(line));
    parse_int(digits, IntBase::Auto)
        .map(Node::from)
        .map_err(|err| bad(err.message(digits, IntBase::Auto)))
}

/// FLOAT: the bare literal, overflow refused.
fn float_line(line: &[u8]) -> Result<Node, Fault> {
    if line.is_empty() {
        return Err(truncated());
    }
    parse_float(until_nul(line), FloatSyntax::C).map(Node::Float).map_err(bad)
}

/// STRING: a quoted Python 2 literal, escapes undone.
fn quoted_string(line: &[u8]) -> Result<Vec<u8>, Fault> {
    match line {
        [first @ (b'\'' | b'"'), inner @ .., last] if first == last => {
            escape_decode(inner).map_err(bad)
        }
        _ => Err(bad("the STRING opcode argument must be quoted")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(op: Op, text: &[u8]) -> Result<Node, Fault> {
        scalar(op, Arg::Line(text))
    }

    #[test]
    fn int_lines_follow_the_c_unpickler() {
        let cases: &[(&[u8], Node)] = &[
            (b"01", Node::Bool(true)),
            (b"00", Node::Bool(false)),
            (b" 1", Node::Bool(true)),
            (b"-0", Node::Bool(false)),
            (b"1", Node::Int(1)),
            (b"010", Node::Int(8)),
            (b"0o10", Node::Int(8)),
            (b"1_000", Node::Int(1000)),
            (b"1 ", Node::Int(1)),
            (b"12\0ab", Node::Int(12)),
            // C reads no digits before the NUL and calls that zero.
            (b"\0ab", Node::Int(0)),
            (b"\x001", Node::Bool(false)),
            (b" 0x1f", Node::Int(31)),
            (
                b"-9223372036854775809",
                Node::BigInt(b"\xff\xff\xff\xff\xff\xff\xff\x7f\xff".to_vec()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(line(Op::Int, text).as_ref(), Ok(expected), "{text:?}");
        }
        assert_eq!(line(Op::Int, b"0x"), Err(bad("could not convert string to int")));
        assert_eq!(line(Op::Int, b""), Err(truncated()));
    }

    #[test]
    fn long_lines_drop_the_suffix_and_use_base_zero() {
        assert_eq!(line(Op::Long, b"0x10L"), Ok(Node::Int(16)));
        assert_eq!(line(Op::Long, b" 12 L"), Ok(Node::Int(12)));
        assert_eq!(line(Op::Long, b"-0b11"), Ok(Node::Int(-3)));
        assert_eq!(
            line(Op::Long, b"010L"),
            Err(bad("invalid literal for int() with base 0: b'010'"))
        );
        assert!(line(Op::Long, b"12LL").is_err());
        assert_eq!(line(Op::Long, b""), Err(truncated()));
    }

    #[test]
    fn float_lines_are_strict() {
        assert_eq!(line(Op::Float, b"1.5\0zz"), Ok(Node::Float(1.5)));
        assert_eq!(line(Op::Float, b"-inf"), Ok(Node::Float(f64::NEG_INFINITY)));
        assert_eq!(line(Op::Float, b" 1.5"), Err(bad("could not convert string to float")));
        assert_eq!(line(Op::Float, b"1e400"), Err(bad("value too large to convert to float")));
    }

    #[test]
    fn strings_and_unicode() {
        assert_eq!(line(Op::String, b"'a\\x41'"), Ok(Node::LegacyStr(b"aA".to_vec())));
        assert_eq!(line(Op::String, b"\"it's\""), Ok(Node::LegacyStr(b"it's".to_vec())));
        for unquoted in [&b"ab"[..], b"'", b"'a\"", b""] {
            assert_eq!(
                line(Op::String, unquoted),
                Err(bad("the STRING opcode argument must be quoted"))
            );
        }
        let text = line(Op::Unicode, b"\\ud800\xe9").unwrap();
        let Node::Str(text) = text else { panic!("not a str: {text:?}") };
        assert_eq!(text.code_points().collect::<Vec<_>>(), [0xD800, 0xE9]);
        assert!(scalar(Op::BinUnicode, Arg::Data(b"\xff")).is_err());
    }
}
