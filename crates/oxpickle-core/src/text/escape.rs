//! The two escape syntaxes of protocol 0: Python 2 `repr`-style escapes in
//! STRING (CPython's `PyBytes_DecodeEscape`, `codecs.escape_decode`) and
//! `raw-unicode-escape` in UNICODE.

use std::fmt;

use super::codec::CodecError;
use crate::pystr::PyStr;

/// A malformed escape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EscapeError {
    /// A `\x` not followed by two hex digits; `position` is the backslash's.
    InvalidHex { position: usize },
    /// The text ends with a lone backslash.
    TrailingBackslash,
    /// A malformed `\u`/`\U` escape of raw-unicode-escape.
    Unicode(CodecError),
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EscapeError::InvalidHex { position } => {
                write!(f, "invalid \\x escape at position {position}")
            }
            EscapeError::TrailingBackslash => f.write_str("Trailing \\ in string"),
            EscapeError::Unicode(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for EscapeError {}

/// Undoes Python 2 string escapes: `\n`-style letters, `\\`, quotes, one to
/// three octal digits (the value kept modulo 256, as CPython does), `\xHH`,
/// and backslash-newline as a line continuation. An unknown escape stays as
/// it is, backslash included.
pub fn escape_decode(text: &[u8]) -> Result<Vec<u8>, EscapeError> {
    let mut out = Vec::with_capacity(text.len());
    let mut pos = 0;
    while let Some(&byte) = text.get(pos) {
        pos += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let backslash = pos - 1;
        let Some(&escape) = text.get(pos) else {
            return Err(EscapeError::TrailingBackslash);
        };
        pos += 1;
        match escape {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(escape),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'v' => out.push(0x0B),
            b'f' => out.push(0x0C),
            b'r' => out.push(b'\r'),
            b'0'..=b'7' => {
                let mut value = u32::from(escape - b'0');
                for _ in 0..2 {
                    match text.get(pos) {
                        Some(&digit @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(digit - b'0');
                            pos += 1;
                        }
                        _ => break,
                    }
                }
                // At most 0o777; CPython keeps the low byte.
                out.push((value & 0xFF) as u8);
            }
            b'x' => {
                let high = text.get(pos).and_then(|&d| hex_value(d));
                let low = text.get(pos + 1).and_then(|&d| hex_value(d));
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(EscapeError::InvalidHex { position: backslash });
                };
                // Two hex digits make one byte.
                out.push((high * 16 + low) as u8);
                pos += 2;
            }
            _ => out.extend_from_slice(&[b'\\', escape]),
        }
    }
    Ok(out)
}

/// Decodes raw-unicode-escape: every byte is the code point of its value,
/// except that `\uXXXX` and `\UXXXXXXXX` after an odd run of backslashes
/// name a code point (surrogates included).
pub fn raw_unicode_escape_decode(text: &[u8]) -> Result<PyStr, EscapeError> {
    let mut points = Vec::with_capacity(text.len());
    let mut pos = 0;
    while let Some(&byte) = text.get(pos) {
        if byte != b'\\' {
            points.push(u32::from(byte));
            pos += 1;
            continue;
        }
        let run_end = pos + text[pos..].iter().take_while(|&&b| b == b'\\').count();
        let width = match text.get(run_end) {
            Some(b'u') if (run_end - pos) % 2 == 1 => 4,
            Some(b'U') if (run_end - pos) % 2 == 1 => 8,
            _ => 0,
        };
        if width == 0 {
            points.extend(std::iter::repeat_n(u32::from(b'\\'), run_end - pos));
            pos = run_end;
            continue;
        }
        // The last backslash of the run starts the escape.
        points.extend(std::iter::repeat_n(u32::from(b'\\'), run_end - pos - 1));
        let (point, end) = unicode_escape(text, run_end - 1, width)?;
        points.push(point);
        pos = end;
    }
    Ok(PyStr::from_code_points(points))
}

/// Reads the `width` hex digits of the escape whose backslash is at `start`.
fn unicode_escape(text: &[u8], start: usize, width: usize) -> Result<(u32, usize), EscapeError> {
    let digits_start = start + 2;
    let mut point = 0u32;
    let mut end = digits_start;
    while end < digits_start + width {
        match text.get(end).and_then(|&d| hex_value(d)) {
            Some(digit) => point = point * 16 + digit,
            None => {
                let reason = if width == 4 {
                    "truncated \\uXXXX escape"
                } else {
                    "truncated \\UXXXXXXXX escape"
                };
                return Err(raw_unicode_error(start, end, reason));
            }
        }
        end += 1;
    }
    if point > 0x10FFFF {
        return Err(raw_unicode_error(start, end, "\\Uxxxxxxxx out of range"));
    }
    Ok((point, end))
}

fn raw_unicode_error(start: usize, end: usize, reason: &'static str) -> EscapeError {
    EscapeError::Unicode(CodecError { codec: "rawunicodeescape", start, end, byte: b'\\', reason })
}

fn hex_value(digit: u8) -> Option<u32> {
    char::from(digit).to_digit(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python2_escapes() {
        let decoded = escape_decode(br#"a\n\\b\x00c\td\'\"\101\777\400\0\q\9"#).unwrap();
        assert_eq!(decoded, b"a\n\\b\x00c\td'\"A\xff\x00\x00\\q\\9");
        assert_eq!(escape_decode(b"ab\\\ncd").unwrap(), b"abcd");
        assert_eq!(escape_decode(b"\\a\\b\\f\\v\\r").unwrap(), b"\x07\x08\x0c\x0b\r");
    }

    #[test]
    fn python2_escape_errors() {
        let err = escape_decode(b"ab\\x4").unwrap_err();
        assert_eq!(err.to_string(), "invalid \\x escape at position 2");
        assert_eq!(escape_decode(b"\\xg1").unwrap_err(), EscapeError::InvalidHex { position: 0 });
        assert_eq!(escape_decode(b"a\\").unwrap_err().to_string(), "Trailing \\ in string");
    }

    fn raw(text: &[u8]) -> Vec<u32> {
        raw_unicode_escape_decode(text).unwrap().code_points().collect()
    }

    #[test]
    fn raw_unicode_escapes() {
        assert_eq!(raw(b"\\u0041\xe9"), [0x41, 0xE9]);
        assert_eq!(raw(b"\\U0001f600"), [0x1F600]);
        assert_eq!(raw(b"\\ud800"), [0xD800]);
        // An even run of backslashes escapes nothing; an odd one escapes once.
        assert_eq!(raw(b"\\\\u0041"), [0x5C, 0x5C, 0x75, 0x30, 0x30, 0x34, 0x31]);
        assert_eq!(raw(b"\\\\\\u0041"), [0x5C, 0x5C, 0x41]);
        assert_eq!(raw(b"\\x41\\n"), [0x5C, 0x78, 0x34, 0x31, 0x5C, 0x6E]);
        assert_eq!(raw(b"a\\"), [0x61, 0x5C]);
    }

    #[test]
    fn raw_unicode_escape_errors() {
        let message = |text: &[u8]| raw_unicode_escape_decode(text).unwrap_err().to_string();
        assert_eq!(
            message(b"\\u00zz"),
            "'rawunicodeescape' codec can't decode bytes in position 0-3: truncated \\uXXXX escape"
        );
        assert_eq!(
            message(b"ab\\U0011"),
            "'rawunicodeescape' codec can't decode bytes in position 2-7: \
             truncated \\UXXXXXXXX escape"
        );
        assert_eq!(
            message(b"\\U00110000zz"),
            "'rawunicodeescape' codec can't decode bytes in position 0-9: \\Uxxxxxxxx out of range"
        );
    }
}
