//! The codecs pickle payloads are decoded with: UTF-8 (strict, or with
//! `surrogatepass` for BINUNICODE and friends), ASCII and Latin-1. Errors
//! read like Python's `UnicodeDecodeError`.

use std::fmt;

use crate::pystr::PyStr;

/// A decoding failure, worded like Python's `UnicodeDecodeError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError {
    /// The codec's name as Python spells it (`utf-8`, `ascii`).
    pub codec: &'static str,
    /// Offset of the first byte that could not be decoded.
    pub start: usize,
    /// Offset just past the bytes the error covers.
    pub end: usize,
    /// The byte at `start`.
    pub byte: u8,
    /// Why, in Python's words.
    pub reason: &'static str,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CodecError { codec, start, end, byte, reason } = self;
        if end.saturating_sub(*start) <= 1 {
            write!(
                f,
                "'{codec}' codec can't decode byte 0x{byte:02x} in position {start}: {reason}"
            )
        } else {
            let last = end - 1;
            write!(f, "'{codec}' codec can't decode bytes in position {start}-{last}: {reason}")
        }
    }
}

impl std::error::Error for CodecError {}

/// UTF-8, as `bytes.decode("utf-8", errors)` reads it: strict, or with
/// `surrogatepass` also taking three-byte encoded surrogates.
pub fn decode_utf8(bytes: &[u8], surrogatepass: bool) -> Result<PyStr, CodecError> {
    let mut points = Vec::with_capacity(bytes.len());
    let mut pos = 0;
    while pos < bytes.len() {
        let (point, len) = match strict_sequence(bytes, pos) {
            Ok(found) => found,
            Err(err) => match surrogatepass.then(|| encoded_surrogate(bytes, pos)).flatten() {
                Some(surrogate) => (surrogate, 3),
                None => return Err(err),
            },
        };
        points.push(point);
        pos += len;
    }
    Ok(PyStr::from_code_points(points))
}

/// ASCII: every byte below 0x80.
pub fn decode_ascii(bytes: &[u8]) -> Result<String, CodecError> {
    match bytes.iter().enumerate().find(|(_, byte)| !byte.is_ascii()) {
        Some((start, &byte)) => Err(CodecError {
            codec: "ascii",
            start,
            end: start + 1,
            byte,
            reason: "ordinal not in range(128)",
        }),
        None => Ok(bytes.iter().map(|&byte| char::from(byte)).collect()),
    }
}

/// Latin-1: each byte is the code point of the same value.
pub fn decode_latin1(bytes: &[u8]) -> PyStr {
    PyStr::from_code_points(bytes.iter().map(|&byte| u32::from(byte)))
}

/// The code point of the well-formed UTF-8 sequence at `pos`, and its length.
fn strict_sequence(bytes: &[u8], pos: usize) -> Result<(u32, usize), CodecError> {
    let lead = bytes.get(pos).copied().unwrap_or_default();
    let fail =
        |end: usize, reason| CodecError { codec: "utf-8", start: pos, end, byte: lead, reason };
    // Length, initial bits and the range the second byte must fall in
    // (which is how UTF-8 rules out overlong forms, surrogates and values
    // past U+10FFFF).
    let (len, bits, second) = match lead {
        0x00..=0x7F => return Ok((u32::from(lead), 1)),
        0xC2..=0xDF => (2, lead & 0x1F, 0x80..=0xBF),
        0xE0 => (3, lead & 0x0F, 0xA0..=0xBF),
        0xE1..=0xEC | 0xEE..=0xEF => (3, lead & 0x0F, 0x80..=0xBF),
        0xED => (3, lead & 0x0F, 0x80..=0x9F),
        0xF0 => (4, lead & 0x07, 0x90..=0xBF),
        0xF1..=0xF3 => (4, lead & 0x07, 0x80..=0xBF),
        0xF4 => (4, lead & 0x07, 0x80..=0x8F),
        _ => return Err(fail(pos + 1, "invalid start byte")),
    };
    let mut point = u32::from(bits);
    for index in 1..len {
        let Some(&byte) = bytes.get(pos + index) else {
            return Err(fail(bytes.len(), "unexpected end of data"));
        };
        let allowed =
            if index == 1 { second.contains(&byte) } else { (0x80..=0xBF).contains(&byte) };
        if !allowed {
            return Err(fail(pos + index, "invalid continuation byte"));
        }
        point = (point << 6) | u32::from(byte & 0x3F);
    }
    Ok((point, len))
}

/// The surrogate that `surrogatepass` reads at `pos`, if one is there.
fn encoded_surrogate(bytes: &[u8], pos: usize) -> Option<u32> {
    match bytes.get(pos..pos + 3)? {
        &[0xED, second @ 0xA0..=0xBF, third @ 0x80..=0xBF] => {
            Some(0xD000 | (u32::from(second & 0x3F) << 6) | u32::from(third & 0x3F))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf8_error(bytes: &[u8]) -> String {
        decode_utf8(bytes, true).unwrap_err().to_string()
    }

    #[test]
    fn surrogatepass_takes_lone_surrogates() {
        let text = decode_utf8(b"a\xed\xa0\x80\xed\xbf\xbfz", true).unwrap();
        assert_eq!(text.code_points().collect::<Vec<_>>(), [0x61, 0xD800, 0xDFFF, 0x7A]);
        assert!(decode_utf8(b"\xed\xa0\x80", false).is_err());
        assert_eq!(decode_utf8("é😀".as_bytes(), false).unwrap().as_str(), Some("é😀"));
    }

    #[test]
    fn errors_read_like_python() {
        assert_eq!(
            utf8_error(b"\xff"),
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        );
        assert_eq!(
            utf8_error(b"ab\xe9z"),
            "'utf-8' codec can't decode byte 0xe9 in position 2: invalid continuation byte"
        );
        assert_eq!(
            utf8_error(b"\xf0\x9fa"),
            "'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte"
        );
        assert_eq!(
            utf8_error(b"\xf0\x9f\x98"),
            "'utf-8' codec can't decode bytes in position 0-2: unexpected end of data"
        );
        assert_eq!(
            utf8_error(b"\xed\xa0"),
            "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"
        );
        // Overlong forms and values past U+10FFFF are refused.
        assert!(decode_utf8(b"\xc0\x80", true).is_err());
        assert!(decode_utf8(b"\xf4\x90\x80\x80", true).is_err());
    }

    #[test]
    fn ascii_and_latin1() {
        assert_eq!(decode_ascii(b"abc").unwrap(), "abc");
        assert_eq!(
            decode_ascii(b"a\xe9").unwrap_err().to_string(),
            "'ascii' codec can't decode byte 0xe9 in position 1: ordinal not in range(128)"
        );
        assert_eq!(decode_latin1(b"\xe9\x00").as_str(), Some("é\0"));
    }
}
