//! Python's `repr` of `str`, `bytes` and `bytearray`.

use std::fmt::Write;

use crate::pystr::PyStr;

/// `repr(text)`: single quotes unless the text has a single quote and no
/// double quote; `\\`, the quote, `\t`, `\n`, `\r` escaped; every other
/// non-printable code point as `\xHH`, `\uHHHH` or `\UHHHHHHHH`.
pub fn repr_str(text: &PyStr) -> String {
    let quote = pick_quote(text.code_points().filter_map(|p| u8::try_from(p).ok()));
    let mut out = String::with_capacity(text.as_bytes().len() + 2);
    out.push(char::from(quote));
    for point in text.code_points() {
        match char::from_u32(point) {
            Some(c) if u32::from(quote) == point || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            Some('\t') => out.push_str("\\t"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some(c) if is_printable(c) => out.push(c),
            // Non-printable characters and surrogates (which have no `char`).
            _ => push_hex_escape(&mut out, point),
        }
    }
    out.push(char::from(quote));
    out
}

/// `repr(data)` of a `bytes`: `b'...'` with the quoting of [`repr_str`],
/// printable ASCII as is and every other byte as `\xHH`.
pub fn repr_bytes(data: &[u8]) -> String {
    let quote = pick_quote(data.iter().copied());
    let mut out = String::with_capacity(data.len() + 3);
    out.push('b');
    out.push(char::from(quote));
    for &byte in data {
        match byte {
            b'\\' => out.push_str("\\\\"),
            _ if byte == quote => {
                out.push('\\');
                out.push(char::from(byte));
            }
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b' '..=b'~' => out.push(char::from(byte)),
            _ => push_hex_escape(&mut out, u32::from(byte)),
        }
    }
    out.push(char::from(quote));
    out
}

/// `repr(bytearray(data))`.
pub fn repr_bytearray(data: &[u8]) -> String {
    format!("bytearray({})", repr_bytes(data))
}

/// Python's `str.isprintable()` for one character: false for the Unicode
/// categories Other (Cc, Cf, Cs, Co, Cn) and Separator (Zl, Zp, Zs) except
/// the ASCII space.
///
/// Rust's `escape_debug` escapes exactly that set (plus grapheme extenders,
/// but only at the start of a string), so a character behind a leading
/// 'a' that comes out unescaped is printable. The Unicode version is the
/// Rust toolchain's, which can be newer than the Python's.
pub fn is_printable(c: char) -> bool {
    match c {
        // Printable, but escape_debug escapes them with a backslash.
        '\\' | '\'' | '"' => true,
        ' '..='~' => true,
        '\0'..='\u{7f}' => false,
        _ => {
            let mut probe = String::with_capacity(8);
            probe.push('a');
            probe.push(c);
            probe.escape_debug().nth(1) == Some(c)
        }
    }
}

/// `'` unless the text holds a `'` and no `"`.
fn pick_quote(units: impl Iterator<Item = u8>) -> u8 {
    let (mut single, mut double) = (false, false);
    for unit in units {
        single |= unit == b'\'';
        double |= unit == b'"';
    }
    if single && !double {
        b'"'
    } else {
        b'\''
    }
}

fn push_hex_escape(out: &mut String, point: u32) {
    // Writing to a String cannot fail.
    let _ = match point {
        0..=0xFF => write!(out, "\\x{point:02x}"),
        0x100..=0xFFFF => write!(out, "\\u{point:04x}"),
        _ => write!(out, "\\U{point:08x}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(text: &str) -> String {
        repr_str(&PyStr::from(text))
    }

    #[test]
    fn str_repr_matches_python() {
        assert_eq!(repr("abc"), "'abc'");
        assert_eq!(repr("a'b"), "\"a'b\"");
        assert_eq!(repr("a'b\""), "'a\\'b\"'");
        assert_eq!(repr("a\"b"), "'a\"b'");
        assert_eq!(repr("\\\t\n\r\0\x7f"), "'\\\\\\t\\n\\r\\x00\\x7f'");
        assert_eq!(repr("é\u{a0}\u{ad}\u{85}"), "'é\\xa0\\xad\\x85'");
        assert_eq!(repr("\u{2028}\u{200b}\u{feff}\u{e000}"), "'\\u2028\\u200b\\ufeff\\ue000'");
        assert_eq!(repr("😀\u{e0001}\u{10ffff}"), "'😀\\U000e0001\\U0010ffff'");
        // Combining marks are printable, even first.
        assert_eq!(repr("\u{301}x"), "'\u{301}x'");
        assert_eq!(repr("中文 ∑"), "'中文 ∑'");
        let surrogate = PyStr::from_code_points([0xD800, 0x61, 0xDFFF]);
        assert_eq!(repr_str(&surrogate), "'\\ud800a\\udfff'");
    }

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(repr_bytes(b""), "b''");
        assert_eq!(repr_bytes(b"a'b"), "b\"a'b\"");
        assert_eq!(repr_bytes(b"a'\""), "b'a\\'\"'");
        assert_eq!(
            repr_bytes(b"\x00\\\t\n\r\x7f\x80\xff~ "),
            "b'\\x00\\\\\\t\\n\\r\\x7f\\x80\\xff~ '"
        );
        assert_eq!(repr_bytearray(b"x"), "bytearray(b'x')");
    }
}
