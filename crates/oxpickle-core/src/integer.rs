//! Python ints of any size, kept the way LONG1/LONG4 carry them, and their
//! decimal form.
//!
//! Ints that fit an `i64` stay an `i64`; the rest keep their minimal
//! little-endian two's-complement bytes, so nothing is converted until a
//! caller asks for decimal text. Decimal text obeys CPython's limit of
//! 4300 digits (`sys.get_int_max_str_digits()`), which is also what keeps
//! the quadratic base conversion cheap on hostile input.

use std::fmt;

/// The most decimal digits CPython converts to or from an int by default.
pub const MAX_STR_DIGITS: usize = 4300;

/// A Python int.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Integer {
    /// An int that fits 64 bits.
    Small(i64),
    /// Any other int: its minimal little-endian two's-complement bytes
    /// (always more than eight of them).
    Big(Vec<u8>),
}

/// An int whose decimal form would pass CPython's digit limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyDigits {
    /// The digit count, when known (parsing knows it, printing does not).
    pub digits: Option<usize>,
}

impl fmt::Display for TooManyDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Exceeds the limit ({MAX_STR_DIGITS} digits) for integer string conversion")?;
        if let Some(digits) = self.digits {
            write!(f, ": value has {digits} digits")?;
        }
        f.write_str("; use sys.set_int_max_str_digits() to increase the limit")
    }
}

impl std::error::Error for TooManyDigits {}

impl Integer {
    /// The int that little-endian two's-complement bytes spell (LONG1 and
    /// LONG4; no bytes is zero).
    pub fn from_le_twos_complement(bytes: &[u8]) -> Integer {
        let mut bytes = bytes.to_vec();
        trim_twos_complement(&mut bytes);
        match small_from_twos_complement(&bytes) {
            Some(value) => Integer::Small(value),
            None => Integer::Big(bytes),
        }
    }

    /// The int with this sign and magnitude (little-endian 32-bit limbs).
    pub fn from_magnitude(negative: bool, limbs: &[u32]) -> Integer {
        let mut bytes: Vec<u8> = limbs.iter().flat_map(|limb| limb.to_le_bytes()).collect();
        // A zero top byte keeps the magnitude non-negative before negation.
        bytes.push(0);
        if negative {
            negate(&mut bytes);
        }
        Integer::from_le_twos_complement(&bytes)
    }

    /// Decimal text, as Python's `repr` of the int prints it.
    pub fn to_decimal(&self) -> Result<String, TooManyDigits> {
        let bytes = match self {
            Integer::Small(value) => return Ok(value.to_string()),
            Integer::Big(bytes) => bytes,
        };
        let negative = bytes.last().is_some_and(|top| top & 0x80 != 0);
        let mut magnitude = bytes.clone();
        if negative {
            negate(&mut magnitude);
        }
        let mut limbs = limbs_from_le_bytes(&magnitude);
        // 2**14285 already has 4301 digits: refuse before the quadratic work.
        if bit_length(&limbs) > 14_285 {
            return Err(TooManyDigits { digits: None });
        }
        let digits = decimal_digits(&mut limbs);
        if digits.len() > MAX_STR_DIGITS {
            return Err(TooManyDigits { digits: None });
        }
        Ok(if negative { format!("-{digits}") } else { digits })
    }
}

impl From<i64> for Integer {
    fn from(value: i64) -> Self {
        Integer::Small(value)
    }
}

impl From<u64> for Integer {
    fn from(value: u64) -> Self {
        match i64::try_from(value) {
            Ok(small) => Integer::Small(small),
            // Split into 32-bit limbs, low half first.
            Err(_) => Integer::from_magnitude(false, &[value as u32, (value >> 32) as u32]),
        }
    }
}

/// Drops top bytes that only repeat the sign, leaving the shortest
/// two's-complement form (zero becomes no bytes at all).
pub fn trim_twos_complement(bytes: &mut Vec<u8>) {
    bytes.truncate(minimal_twos_complement_len(bytes));
}

/// How many of these little-endian two's-complement bytes the shortest
/// form of the same number keeps (none for zero).
pub fn minimal_twos_complement_len(bytes: &[u8]) -> usize {
    let mut len = bytes.len();
    while let [.., next, top] = bytes[..len] {
        let redundant = (top == 0x00 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0);
        if !redundant {
            break;
        }
        len -= 1;
    }
    if bytes[..len] == [0] {
        0
    } else {
        len
    }
}

/// The `i64` that at most eight two's-complement bytes hold.
fn small_from_twos_complement(bytes: &[u8]) -> Option<i64> {
    if bytes.len() > 8 {
        return None;
    }
    let fill = match bytes.last() {
        Some(top) if top & 0x80 != 0 => 0xFF,
        _ => 0x00,
    };
    let mut wide = [fill; 8];
    wide[..bytes.len()].copy_from_slice(bytes);
    Some(i64::from_le_bytes(wide))
}

/// Two's-complement negation in place: invert, then add one.
fn negate(bytes: &mut [u8]) {
    let mut carry = true;
    for byte in bytes {
        let (sum, overflow) = (!*byte).overflowing_add(u8::from(carry));
        *byte = sum;
        carry = overflow;
    }
}

fn limbs_from_le_bytes(bytes: &[u8]) -> Vec<u32> {
    let mut limbs: Vec<u32> = bytes
        .chunks(4)
        .map(|chunk| {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            u32::from_le_bytes(word)
        })
        .collect();
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    limbs
}

fn bit_length(limbs: &[u32]) -> usize {
    match limbs.last() {
        Some(top) => (limbs.len() - 1) * 32 + (32 - top.leading_zeros() as usize),
        None => 0,
    }
}

/// Decimal digits of a magnitude, consuming it: repeated division by 10**9.
fn decimal_digits(limbs: &mut Vec<u32>) -> String {
    const CHUNK: u64 = 1_000_000_000;
    let mut chunks = Vec::new();
    while !limbs.is_empty() {
        let mut remainder = 0u64;
        for limb in limbs.iter_mut().rev() {
            let current = (remainder << 32) | u64::from(*limb);
            // `current < CHUNK << 32`, so the quotient fits 32 bits.
            *limb = (current / CHUNK) as u32;
            remainder = current % CHUNK;
        }
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        chunks.push(remainder);
    }
    let mut text = match chunks.pop() {
        Some(top) => top.to_string(),
        None => return "0".to_owned(),
    };
    for chunk in chunks.iter().rev() {
        text.push_str(&format!("{chunk:09}"));
    }
    text
}

/// Multiplies a magnitude by `factor` and adds `addend`, in place.
pub(crate) fn multiply_add(limbs: &mut Vec<u32>, factor: u32, addend: u32) {
    let mut carry = u64::from(addend);
    for limb in limbs.iter_mut() {
        let product = u64::from(*limb) * u64::from(factor) + carry;
        // Low 32 bits stay in the limb, the rest carries.
        *limb = product as u32;
        carry = product >> 32;
    }
    if carry != 0 {
        limbs.push(carry as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(bytes: &[u8]) -> String {
        Integer::from_le_twos_complement(bytes).to_decimal().unwrap()
    }

    #[test]
    fn small_values_come_back_as_i64() {
        assert_eq!(Integer::from_le_twos_complement(b""), Integer::Small(0));
        assert_eq!(Integer::from_le_twos_complement(b"\xff"), Integer::Small(-1));
        assert_eq!(Integer::from_le_twos_complement(b"\xff\x00"), Integer::Small(255));
        assert_eq!(
            Integer::from_le_twos_complement(&i64::MIN.to_le_bytes()),
            Integer::Small(i64::MIN)
        );
        // Redundant sign bytes do not make a small int big.
        assert_eq!(
            Integer::from_le_twos_complement(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Integer::Small(1)
        );
    }

    #[test]
    fn big_values_print_in_decimal() {
        // 2**64 and -2**64 - 1, as pickle writes them.
        assert_eq!(decimal(b"\x00\x00\x00\x00\x00\x00\x00\x00\x01"), "18446744073709551616");
        assert_eq!(decimal(b"\xff\xff\xff\xff\xff\xff\xff\xff\xfe"), "-18446744073709551617");
        // 2**70 = 1180591620717411303424.
        assert_eq!(decimal(b"\x00\x00\x00\x00\x00\x00\x00\x00\x40"), "1180591620717411303424");
        // -2**63 - 1 needs nine bytes.
        assert_eq!(decimal(b"\xff\xff\xff\xff\xff\xff\xff\x7f\xff"), "-9223372036854775809");
        // 10**18 * 10**9 + 1 crosses a chunk boundary with inner zeros.
        let limbs = [1u32, 0, 0, 0];
        let mut value = limbs.to_vec();
        for _ in 0..3 {
            multiply_add(&mut value, 1_000_000_000, 0);
        }
        multiply_add(&mut value, 1, 7);
        assert_eq!(
            Integer::from_magnitude(false, &value).to_decimal().unwrap(),
            "1000000000000000000000000007"
        );
    }

    #[test]
    fn unsigned_values_past_i64_become_big() {
        assert_eq!(Integer::from(7u64), Integer::Small(7));
        assert_eq!(Integer::from(u64::MAX).to_decimal().unwrap(), "18446744073709551615");
    }

    #[test]
    fn magnitudes_take_their_sign() {
        assert_eq!(
            Integer::from_magnitude(true, &[0, 0, 1]).to_decimal().unwrap(),
            "-18446744073709551616"
        );
        assert_eq!(Integer::from_magnitude(true, &[0, 0x8000_0000]), Integer::Small(i64::MIN));
        assert_eq!(
            Integer::from_magnitude(false, &[0, 0x8000_0000]).to_decimal().unwrap(),
            "9223372036854775808"
        );
        assert_eq!(Integer::from_magnitude(true, &[]), Integer::Small(0));
    }

    #[test]
    fn decimal_text_obeys_the_digit_limit() {
        // 10**4299 has 4300 digits and prints; 10**4300 has 4301 and does not.
        let mut limbs = vec![1u32];
        for _ in 0..4299 {
            multiply_add(&mut limbs, 10, 0);
        }
        assert_eq!(Integer::from_magnitude(false, &limbs).to_decimal().unwrap().len(), 4300);
        multiply_add(&mut limbs, 10, 0);
        let err = Integer::from_magnitude(false, &limbs).to_decimal().unwrap_err();
        assert!(err.to_string().starts_with("Exceeds the limit (4300 digits)"));
        // A huge int fails at once.
        let huge = vec![0x7Fu8; 1 << 20];
        assert!(Integer::from_le_twos_complement(&huge).to_decimal().is_err());
    }

    #[test]
    fn trimming_keeps_the_sign() {
        let mut bytes = vec![0x80, 0x00, 0x00];
        trim_twos_complement(&mut bytes);
        assert_eq!(bytes, [0x80, 0x00]);
        let mut bytes = vec![0x7F, 0xFF, 0xFF];
        trim_twos_complement(&mut bytes);
        assert_eq!(bytes, [0x7F, 0xFF]);
        let mut bytes = vec![0x00, 0x00];
        trim_twos_complement(&mut bytes);
        assert!(bytes.is_empty());
    }
}
