//! Signed pickles: a versioned header with an HMAC-SHA256 tag in front of
//! the pickle, checked before a single opcode runs.
//!
//! Layout, all of it covered by the tag but the tag itself:
//!
//! ```text
//! b"OXSG"  version (1 byte)  payload length (u64, little-endian)  tag (32 bytes)  payload
//! ```
//!
//! The magic starts with a byte that is not a pickle opcode, so a signed
//! pickle can never be mistaken for an unsigned one.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The first bytes of every signed pickle.
pub const MAGIC: &[u8; 4] = b"OXSG";
/// The header version this build writes and reads.
pub const VERSION: u8 = 1;
const TAG_LEN: usize = 32;
/// Magic, version, length and tag.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + 8 + TAG_LEN;

/// Why signed data was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// The data does not start with the signed-pickle magic.
    NotSigned,
    /// A header version this build does not know.
    UnknownVersion(u8),
    /// The data ends before the header or the payload it announces.
    Truncated { needed: u64, got: u64 },
    /// Bytes follow the signed payload.
    TrailingData { payload_end: u64, got: u64 },
    /// No key gives the header's tag: a wrong key or tampered data.
    BadTag { keys_tried: usize },
    /// No key to check with.
    NoKeys,
}

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignError::NotSigned => write!(
                f,
                "the data is not a signed pickle (it does not start with {MAGIC:?}); \
                 it was written without key=, or is not oxpickle's"
            ),
            SignError::UnknownVersion(version) => write!(
                f,
                "signed-pickle header version {version} is not supported (this oxpickle reads \
                 version {VERSION}); upgrade oxpickle"
            ),
            SignError::Truncated { needed, got } => write!(
                f,
                "the signed pickle is truncated: its header announces {needed} bytes, \
                 only {got} are present"
            ),
            SignError::TrailingData { payload_end, got } => write!(
                f,
                "{} bytes follow the signed pickle (which ends at byte {payload_end}); \
                 they are not covered by its signature",
                got - payload_end
            ),
            SignError::BadTag { keys_tried } => write!(
                f,
                "the signature does not match under any of the {keys_tried} key(s) given: \
                 the key is wrong or the data was changed"
            ),
            SignError::NoKeys => write!(f, "no key to check the signature with"),
        }
    }
}

impl std::error::Error for SignError {}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of every length"),
    }
}

/// The header to write in front of `payload`, signed with `key`.
pub fn header(key: &[u8], payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(MAGIC);
    header[4] = VERSION;
    header[5..13].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    let mut mac = mac(key);
    mac.update(&header[..13]);
    mac.update(payload);
    header[13..].copy_from_slice(&mac.finalize().into_bytes());
    header
}

/// What a header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Length of the payload that follows the header.
    pub payload_len: u64,
    tag: [u8; TAG_LEN],
    prefix: [u8; 13],
}

/// Reads the header at the start of `data` (which needs only the header's
/// bytes), without checking the tag.
pub fn parse_header(data: &[u8]) -> Result<Header, SignError> {
    if !data.starts_with(&MAGIC[..data.len().min(MAGIC.len())]) {
        return Err(SignError::NotSigned);
    }
    if data.len() < HEADER_LEN {
        if data.len() > MAGIC.len() && data[4] != VERSION {
            return Err(SignError::UnknownVersion(data[4]));
        }
        return Err(SignError::Truncated { needed: HEADER_LEN as u64, got: data.len() as u64 });
    }
    if data[4] != VERSION {
        return Err(SignError::UnknownVersion(data[4]));
    }
    let mut prefix = [0u8; 13];
    prefix.copy_from_slice(&data[..13]);
    let mut length = [0u8; 8];
    length.copy_from_slice(&data[5..13]);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&data[13..HEADER_LEN]);
    Ok(Header { payload_len: u64::from_le_bytes(length), tag, prefix })
}

/// Checks `payload` against `header` under each key in turn (key
/// rotation); the comparison is constant-time.
pub fn verify(header: &Header, payload: &[u8], keys: &[&[u8]]) -> Result<(), SignError> {
    if keys.is_empty() {
        return Err(SignError::NoKeys);
    }
    let matches = keys.iter().any(|key| {
        let mut mac = mac(key);
        mac.update(&header.prefix);
        mac.update(payload);
        mac.verify_slice(&header.tag).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(SignError::BadTag { keys_tried: keys.len() })
    }
}

/// Checks a whole signed pickle held in memory; returns its payload.
pub fn open<'a>(data: &'a [u8], keys: &[&[u8]]) -> Result<&'a [u8], SignError> {
    let header = parse_header(data)?;
    let got = data.len() as u64;
    let end = (HEADER_LEN as u64).saturating_add(header.payload_len);
    if got < end {
        return Err(SignError::Truncated { needed: end, got });
    }
    if got > end {
        return Err(SignError::TrailingData { payload_end: end, got });
    }
    let payload = &data[HEADER_LEN..];
    verify(&header, payload, keys)?;
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut data = header(key, payload).to_vec();
        data.extend_from_slice(payload);
        data
    }

    #[test]
    fn round_trip_and_rotation() {
        let data = signed(b"new", b"\x80\x05K\x01.");
        assert_eq!(open(&data, &[b"new"]), Ok(&b"\x80\x05K\x01."[..]));
        assert_eq!(open(&data, &[b"old", b"new"]), Ok(&b"\x80\x05K\x01."[..]));
        assert_eq!(open(&data, &[b"old"]), Err(SignError::BadTag { keys_tried: 1 }));
        assert_eq!(open(&data, &[]), Err(SignError::NoKeys));
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let data = signed(b"k", b"\x80\x05\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.");
        for index in 0..data.len() {
            for bit in 0..8 {
                let mut changed = data.clone();
                changed[index] ^= 1 << bit;
                assert!(open(&changed, &[b"k"]).is_err(), "byte {index} bit {bit}");
            }
        }
    }

    #[test]
    fn truncation_trailing_and_plain_pickles() {
        let data = signed(b"k", b"N.");
        for end in 0..data.len() {
            let error = open(&data[..end], &[b"k"]).unwrap_err();
            assert!(matches!(error, SignError::Truncated { .. }), "{end}: {error}");
        }
        let mut longer = data.clone();
        longer.push(b'.');
        assert!(matches!(open(&longer, &[b"k"]), Err(SignError::TrailingData { .. })));
        assert_eq!(open(b"\x80\x05N.", &[b"k"]), Err(SignError::NotSigned));
        let mut future = data;
        future[4] = 9;
        assert_eq!(open(&future, &[b"k"]), Err(SignError::UnknownVersion(9)));
    }
}
