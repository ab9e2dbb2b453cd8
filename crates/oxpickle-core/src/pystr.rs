//! Python `str` values, which are sequences of code points and, unlike
//! Rust strings, may hold lone surrogates (`'\ud800'`). Pickles carry such
//! strings: protocol 1+ writes them with UTF-8 `surrogatepass`, protocol 0
//! as `\ud800` raw-unicode-escapes.

use std::fmt;

/// A Python `str`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PyStr {
    /// Every code point is a Unicode scalar value.
    Utf8(String),
    /// At least one code point is a surrogate. The bytes are the code points
    /// in the form CPython's `surrogatepass` handler writes: UTF-8, each
    /// surrogate as its own three-byte sequence (`ED A0 80` for U+D800).
    Surrogates(Vec<u8>),
}

impl PyStr {
    /// Builds a string from code points; values past U+10FFFF are not code
    /// points, so callers check them first.
    pub fn from_code_points(points: impl IntoIterator<Item = u32>) -> PyStr {
        let mut bytes = Vec::new();
        let mut has_surrogate = false;
        for point in points {
            has_surrogate |= is_surrogate(point);
            push_code_point(&mut bytes, point);
        }
        if has_surrogate {
            return PyStr::Surrogates(bytes);
        }
        match String::from_utf8(bytes) {
            Ok(text) => PyStr::Utf8(text),
            // Only reachable for out-of-range input; keep it rather than lose it.
            Err(err) => PyStr::Surrogates(err.into_bytes()),
        }
    }

    /// The text as a Rust string, when it holds no surrogate.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PyStr::Utf8(text) => Some(text),
            PyStr::Surrogates(_) => None,
        }
    }

    /// The code points, surrogates included.
    pub fn code_points(&self) -> CodePoints<'_> {
        let bytes = match self {
            PyStr::Utf8(text) => text.as_bytes(),
            PyStr::Surrogates(bytes) => bytes,
        };
        CodePoints { rest: bytes }
    }

    /// The `surrogatepass` UTF-8 bytes, as a pickle carries them.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            PyStr::Utf8(text) => text.as_bytes(),
            PyStr::Surrogates(bytes) => bytes,
        }
    }
}

impl From<&str> for PyStr {
    fn from(text: &str) -> Self {
        PyStr::Utf8(text.to_owned())
    }
}

impl fmt::Display for PyStr {
    /// Writes the text; a surrogate, which has no Rust `char`, shows as U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PyStr::Utf8(text) => f.write_str(text),
            PyStr::Surrogates(_) => self
                .code_points()
                .try_for_each(|point| fmt::Write::write_char(f, char_or_replacement(point))),
        }
    }
}

/// Whether a code point is a UTF-16 surrogate, which Python allows alone.
pub fn is_surrogate(point: u32) -> bool {
    (0xD800..=0xDFFF).contains(&point)
}

/// The `char` for a code point, or U+FFFD for a surrogate.
pub fn char_or_replacement(point: u32) -> char {
    char::from_u32(point).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Appends a code point in generalized UTF-8 (surrogates encoded like any
/// other three-byte code point).
pub fn push_code_point(out: &mut Vec<u8>, point: u32) {
    // Each `as u8` below keeps only bits the mask or shift selected.
    match point {
        0..=0x7F => out.push(point as u8),
        0x80..=0x7FF => out.extend_from_slice(&[0xC0 | (point >> 6) as u8, continuation(point)]),
        0x800..=0xFFFF => out.extend_from_slice(&[
            0xE0 | (point >> 12) as u8,
            continuation(point >> 6),
            continuation(point),
        ]),
        _ => out.extend_from_slice(&[
            0xF0 | ((point >> 18) & 0x07) as u8,
            continuation(point >> 12),
            continuation(point >> 6),
            continuation(point),
        ]),
    }
}

fn continuation(bits: u32) -> u8 {
    0x80 | (bits & 0x3F) as u8
}

/// Iterator over the code points of a [`PyStr`].
#[derive(Clone, Debug)]
pub struct CodePoints<'a> {
    rest: &'a [u8],
}

impl Iterator for CodePoints<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (&lead, tail) = self.rest.split_first()?;
        let extra = match lead {
            0x00..=0x7F => 0,
            0xC0..=0xDF => 1,
            0xE0..=0xEF => 2,
            _ => 3,
        };
        let mut point = match extra {
            0 => u32::from(lead),
            1 => u32::from(lead & 0x1F),
            2 => u32::from(lead & 0x0F),
            _ => u32::from(lead & 0x07),
        };
        // A PyStr is built only from validated bytes, so a short tail cannot
        // happen; stop there rather than read past the end.
        let Some(continuation) = tail.get(..extra) else {
            self.rest = &[];
            return Some(char::REPLACEMENT_CHARACTER as u32);
        };
        for &byte in continuation {
            point = (point << 6) | u32::from(byte & 0x3F);
        }
        self.rest = &tail[extra..];
        Some(point)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_stays_a_rust_string() {
        let text = PyStr::from_code_points("héllo 😀".chars().map(u32::from));
        assert_eq!(text.as_str(), Some("héllo 😀"));
        assert_eq!(text.code_points().count(), 7);
    }

    #[test]
    fn surrogates_round_trip_through_code_points() {
        let points = [0x61, 0xD800, 0xDFFF, 0x1F600];
        let text = PyStr::from_code_points(points);
        assert_eq!(text.as_str(), None);
        assert_eq!(text.as_bytes(), b"a\xed\xa0\x80\xed\xbf\xbf\xf0\x9f\x98\x80");
        assert_eq!(text.code_points().collect::<Vec<_>>(), points);
        assert_eq!(text.to_string(), "a\u{fffd}\u{fffd}😀");
    }

    #[test]
    fn every_length_of_encoding_round_trips() {
        let points = [0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF];
        let text = PyStr::from_code_points(points);
        assert_eq!(text.code_points().collect::<Vec<_>>(), points);
    }
}
