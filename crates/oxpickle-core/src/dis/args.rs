//! Opcode arguments as `pickletools` reads and prints them, and its words
//! for arguments it cannot read.

use super::Dialect;
use crate::decode::{Arg, Instr};
use crate::error::DecodeError;
use crate::integer::{Integer, TooManyDigits};
use crate::op::{ArgKind, Op};
use crate::pystr::PyStr;
use crate::text::{
    decode_ascii, decode_latin1, decode_utf8, escape_decode, float_repr, parse_float, parse_int,
    raw_unicode_escape_decode, repr_bytearray, repr_bytes, repr_str, FloatSyntax, IntBase,
};

/// An argument's value, as the Python object `pickletools` makes of it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value<'a> {
    Int(Integer),
    Bool(bool),
    Float(f64),
    Str(PyStr),
    Bytes(&'a [u8]),
    ByteArray(&'a [u8]),
}

impl Value<'_> {
    /// Python's `repr` of the value; an int past the digit limit has none.
    pub(super) fn repr(&self) -> Result<String, TooManyDigits> {
        Ok(match self {
            Value::Int(value) => value.to_decimal()?,
            Value::Bool(true) => "True".to_owned(),
            Value::Bool(false) => "False".to_owned(),
            Value::Float(value) => float_repr(*value),
            Value::Str(text) => repr_str(text),
            Value::Bytes(data) => repr_bytes(data),
            Value::ByteArray(data) => repr_bytearray(data),
        })
    }

    /// The memo key a PUT or GET argument names (`True` is 1, as in Python).
    pub(super) fn memo_key(&self) -> Option<Integer> {
        match self {
            Value::Int(value) => Some(value.clone()),
            Value::Bool(value) => Some(Integer::Small(i64::from(*value))),
            _ => None,
        }
    }
}

/// Reads the argument of a decoded instruction the way `pickletools`'
/// argument readers do; the error is their message.
pub(super) fn read<'a>(instr: &Instr<'a>, dialect: Dialect) -> Result<Option<Value<'a>>, String> {
    let kind = instr.op.arg();
    let value = match (kind, instr.arg) {
        (ArgKind::None, _) => return Ok(None),
        (_, Arg::Uint(value)) => Value::Int(Integer::from(value)),
        (_, Arg::Int(value)) => Value::Int(Integer::Small(i64::from(value))),
        (_, Arg::Float(value)) => Value::Float(value),
        (ArgKind::StringNl, Arg::Line(line)) => {
            Value::Str(PyStr::Utf8(escaped_ascii(unquote(line, dialect)?)?))
        }
        (ArgKind::StringNlNoEscape, Arg::Line(line)) => {
            Value::Str(PyStr::Utf8(escaped_ascii(line)?))
        }
        (ArgKind::StringNlNoEscapePair, Arg::Pair(first, second)) => {
            let (first, second) = (escaped_ascii(first)?, escaped_ascii(second)?);
            Value::Str(PyStr::Utf8(format!("{first} {second}")))
        }
        (ArgKind::UnicodeStringNl, Arg::Line(line)) => {
            Value::Str(raw_unicode_escape_decode(line).map_err(|err| err.to_string())?)
        }
        (ArgKind::DecimalNlShort, Arg::Line(b"00")) => Value::Bool(false),
        (ArgKind::DecimalNlShort, Arg::Line(b"01")) => Value::Bool(true),
        (ArgKind::DecimalNlShort, Arg::Line(line)) => Value::Int(python_int(line)?),
        (ArgKind::DecimalNlLong, Arg::Line(line)) => {
            Value::Int(python_int(line.strip_suffix(b"L").unwrap_or(line))?)
        }
        (ArgKind::FloatNl, Arg::Line(line)) => Value::Float(
            parse_float(line, FloatSyntax::Python)
                .map_err(|err| format!("{err}: {}", repr_bytes(line)))?,
        ),
        (ArgKind::String1 | ArgKind::String4, Arg::Data(data)) => Value::Str(decode_latin1(data)),
        (ArgKind::Bytes1 | ArgKind::Bytes4 | ArgKind::Bytes8, Arg::Data(data)) => {
            Value::Bytes(data)
        }
        (ArgKind::ByteArray8, Arg::Data(data)) => Value::ByteArray(data),
        (
            ArgKind::UnicodeString1 | ArgKind::UnicodeString4 | ArgKind::UnicodeString8,
            Arg::Data(data),
        ) => Value::Str(decode_utf8(data, true).map_err(|err| err.to_string())?),
        (ArgKind::Long1 | ArgKind::Long4, Arg::Data(data)) => {
            Value::Int(Integer::from_le_twos_complement(data))
        }
        _ => return Err(format!("malformed {} argument", kind.name())),
    };
    Ok(Some(value))
}

/// `int(line)`, with Python's error message.
fn python_int(line: &[u8]) -> Result<Integer, String> {
    parse_int(line, IntBase::Ten).map_err(|err| err.message(line, IntBase::Ten))
}

/// A STRING argument without its quotes, which must match.
fn unquote(line: &[u8], dialect: Dialect) -> Result<&[u8], String> {
    let string = match dialect {
        // pickletools' own spelling, before 3.14 fixed it.
        Dialect::UpTo3_13 => "strinq",
        Dialect::From3_14 => "string",
    };
    for quote in [b'"', b'\''] {
        if line.first() == Some(&quote) {
            return match line.last() {
                // A lone quote is both ends: the text inside is empty.
                Some(&last) if last == quote => Ok(line.get(1..line.len() - 1).unwrap_or_default()),
                _ => Err(format!(
                    "{string} quote {} not found at both ends of {}",
                    repr_bytes(&[quote]),
                    repr_bytes(line)
                )),
            };
        }
    }
    Err(format!("no string quotes around {}", repr_bytes(line)))
}

/// Escapes undone, then decoded as ASCII.
fn escaped_ascii(text: &[u8]) -> Result<String, String> {
    let raw = escape_decode(text).map_err(|err| err.to_string())?;
    decode_ascii(&raw).map_err(|err| err.to_string())
}

/// `pickletools`' message for an instruction the decoder refused.
pub(super) fn decode_error_message(input: &[u8], err: &DecodeError) -> String {
    match *err {
        DecodeError::UnknownOpcode { byte, offset } => {
            format!("at position {offset}, opcode {} unknown", repr_bytes(&[byte]))
        }
        DecodeError::NegativeLength { op, len, .. } => {
            format!("{} byte count < 0: {len}", op.arg().name())
        }
        DecodeError::TooLarge { op, len, .. } => {
            format!("{} byte count > sys.maxsize: {len}", op.arg().name())
        }
        DecodeError::Truncated { offset, .. } => match input
            .get(offset)
            .and_then(|&b| Op::from_byte(b))
        {
            Some(op) => truncation_message(op.arg(), input.get(offset + 1..).unwrap_or_default()),
            None => "pickle exhausted before seeing STOP".to_owned(),
        },
    }
}

/// What `pickletools` says when an argument of `kind` runs past the end
/// of the input; `rest` is what follows the opcode.
fn truncation_message(kind: ArgKind, rest: &[u8]) -> String {
    let (prefix, width) = match kind {
        // pickletools decodes the first line of a pair before it reads the
        // second, so a bad first line is what it reports.
        ArgKind::StringNlNoEscapePair => {
            let first_line = rest.split(|&b| b == b'\n').next().filter(|l| l.len() < rest.len());
            return match first_line.map(escaped_ascii) {
                Some(Err(message)) => message,
                _ => "no newline found when trying to read stringnl".to_owned(),
            };
        }
        ArgKind::StringNl
        | ArgKind::StringNlNoEscape
        | ArgKind::DecimalNlShort
        | ArgKind::DecimalNlLong
        | ArgKind::FloatNl => return "no newline found when trying to read stringnl".to_owned(),
        ArgKind::UnicodeStringNl => {
            return "no newline found when trying to read unicodestringnl".to_owned()
        }
        ArgKind::String1 | ArgKind::Bytes1 | ArgKind::UnicodeString1 | ArgKind::Long1 => {
            (ArgKind::Uint1, 1)
        }
        ArgKind::String4 | ArgKind::Long4 => (ArgKind::Int4, 4),
        ArgKind::Bytes4 | ArgKind::UnicodeString4 => (ArgKind::Uint4, 4),
        ArgKind::Bytes8 | ArgKind::ByteArray8 | ArgKind::UnicodeString8 => (ArgKind::Uint8, 8),
        // Fixed-width arguments, and none at all (which cannot run short).
        _ => return format!("not enough data in stream to read {}", kind.name()),
    };
    let Some(length) = rest.get(..width) else {
        return format!("not enough data in stream to read {}", prefix.name());
    };
    let mut le = [0u8; 8];
    le[..width].copy_from_slice(length);
    // Lengths of four bytes and more are read signed or unsigned as their
    // readers do; only int4 can be negative, and it is refused earlier.
    let count = u64::from_le_bytes(le);
    let remain = rest.len() - width;
    match kind {
        ArgKind::Long1 | ArgKind::Long4 => {
            format!("not enough data in stream to read {}", kind.name())
        }
        _ if count > i64::MAX as u64 => {
            format!("{} byte count > sys.maxsize: {count}", kind.name())
        }
        _ => format!("expected {count} bytes in a {}, but only {remain} remain", kind.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_at;

    fn shown(input: &[u8]) -> Result<Option<String>, String> {
        let instr = decode_at(input, 0).map_err(|err| decode_error_message(input, &err))?;
        Ok(read(&instr, Dialect::UpTo3_13)?.map(|value| value.repr().unwrap()))
    }

    fn ok(input: &[u8]) -> String {
        shown(input).unwrap().unwrap()
    }

    #[test]
    fn arguments_print_as_python_reprs() {
        assert_eq!(ok(b"I01\n"), "True");
        assert_eq!(ok(b"I 01\n"), "1");
        assert_eq!(ok(b"I-0012_3\n"), "-123");
        assert_eq!(ok(b"L123456789012345678901234567890L\n"), "123456789012345678901234567890");
        assert_eq!(ok(b"F1_0.5 \n"), "10.5");
        assert_eq!(ok(b"F-inFINITY\n"), "-inf");
        assert_eq!(ok(b"S'a\\'b'\n"), "\"a'b\"");
        assert_eq!(ok(b"S\"\\x41\"\n"), "'A'");
        assert_eq!(ok(b"cos\nsystem\n"), "'os system'");
        assert_eq!(ok(b"P\\x41\n"), "'A'");
        assert_eq!(ok(b"V\\ud800\\u20ac\xe9\n"), "'\\ud800€é'");
        assert_eq!(ok(b"U\x02\xe9\xad"), "'é\\xad'");
        assert_eq!(ok(b"\x8c\x03\xed\xa0\x80"), "'\\ud800'");
        assert_eq!(ok(b"C\x02a'"), "b\"a'\"");
        assert_eq!(ok(b"\x96\x01\0\0\0\0\0\0\0\xff"), "bytearray(b'\\xff')");
        assert_eq!(ok(b"\x8a\x09\0\0\0\0\0\0\0\0\x01"), "18446744073709551616");
        assert_eq!(ok(b"\x95\xff\xff\xff\xff\xff\xff\xff\xff"), "18446744073709551615");
        assert_eq!(ok(b"J\xff\xff\xff\xff"), "-1");
        assert_eq!(ok(b"G\x3f\xb9\x99\x99\x99\x99\x99\x9a"), "0.1");
        assert_eq!(shown(b"N"), Ok(None));
    }

    #[test]
    fn unreadable_arguments_say_what_pickletools_says() {
        let err = |input: &[u8]| shown(input).unwrap_err();
        assert_eq!(err(b"I0x10\n"), "invalid literal for int() with base 10: b'0x10'");
        assert_eq!(err(b"Fx\n"), "could not convert string to float: b'x'");
        assert_eq!(err(b"S'a\n"), "strinq quote b\"'\" not found at both ends of b\"'a\"");
        assert_eq!(err(b"Sa\n"), "no string quotes around b'a'");
        assert_eq!(err(b"S'\\x4'\n"), "invalid \\x escape at position 0");
        assert_eq!(
            err(b"S'\xe9'\n"),
            "'ascii' codec can't decode byte 0xe9 in position 0: ordinal not in range(128)"
        );
        assert_eq!(
            err(b"X\x02\0\0\0\xff\xfe"),
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        );
        let mut long_int = b"I".to_vec();
        long_int.extend([b'9'; 4301]);
        long_int.push(b'\n');
        assert_eq!(
            err(&long_int),
            "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 \
             digits; use sys.set_int_max_str_digits() to increase the limit"
        );
        assert_eq!(ok(b"S'\n"), "''");
    }

    #[test]
    fn truncation_messages() {
        let err = |input: &[u8]| shown(input).unwrap_err();
        assert_eq!(err(b""), "pickle exhausted before seeing STOP");
        assert_eq!(err(b"\xff"), "at position 0, opcode b'\\xff' unknown");
        assert_eq!(err(b"J\x01"), "not enough data in stream to read int4");
        assert_eq!(err(b"G\x01"), "not enough data in stream to read float8");
        assert_eq!(err(b"I12"), "no newline found when trying to read stringnl");
        assert_eq!(err(b"cmod\nna"), "no newline found when trying to read stringnl");
        assert_eq!(
            err(b"cm\xe9\nna"),
            "'ascii' codec can't decode byte 0xe9 in position 1: ordinal not in range(128)"
        );
        assert_eq!(err(b"V12"), "no newline found when trying to read unicodestringnl");
        assert_eq!(err(b"C\x05ab"), "expected 5 bytes in a bytes1, but only 2 remain");
        assert_eq!(err(b"X\x05\0\0"), "not enough data in stream to read uint4");
        assert_eq!(err(b"T\x05\0\0\0ab"), "expected 5 bytes in a string4, but only 2 remain");
        assert_eq!(err(b"T\xff\xff\xff\xff"), "string4 byte count < 0: -1");
        assert_eq!(err(b"\x8b\xfe\xff\xff\xff"), "long4 byte count < 0: -2");
        assert_eq!(err(b"\x8a\x02\x01"), "not enough data in stream to read long1");
        assert_eq!(
            err(b"\x8e\0\0\0\0\0\0\0\x80"),
            "bytes8 byte count > sys.maxsize: 9223372036854775808"
        );
        assert_eq!(
            err(b"\x96\x03\0\0\0\0\0\0\0a"),
            "expected 3 bytes in a bytearray8, but only 1 remain"
        );
    }
}
