//! Integer literals as CPython reads them: `PyLong_FromString` (which
//! `int()` and the C unpickler use) and C's `strtol` (the C unpickler's
//! first try at an INT line).

use std::fmt;

use super::trim_py_space;
use crate::integer::{multiply_add, Integer, TooManyDigits, MAX_STR_DIGITS};

/// The base argument of `PyLong_FromString`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntBase {
    /// Base 10: decimal digits only; leading zeros are fine.
    Ten,
    /// Base 0: a `0x`, `0o` or `0b` prefix picks the base; a decimal may
    /// not start with 0 unless it is zero.
    Auto,
}

impl IntBase {
    /// The `base` argument of `int(text, base)` and `PyLong_FromString`.
    pub fn number(self) -> i32 {
        match self {
            IntBase::Ten => 10,
            IntBase::Auto => 0,
        }
    }
}

/// Why an integer literal was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntError {
    /// Not an integer literal.
    Invalid,
    /// A decimal literal past CPython's digit limit.
    TooManyDigits(TooManyDigits),
}

impl fmt::Display for IntError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntError::Invalid => f.write_str("invalid literal for int()"),
            IntError::TooManyDigits(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for IntError {}

impl IntError {
    /// The message `int(text, base)` raises with, which shows at most 200
    /// characters of the text's repr.
    pub fn message(self, text: &[u8], base: IntBase) -> String {
        match self {
            IntError::Invalid => {
                let shown: String = super::repr_bytes(text).chars().take(200).collect();
                format!("invalid literal for int() with base {}: {shown}", base.number())
            }
            IntError::TooManyDigits(err) => err.to_string(),
        }
    }
}

/// `PyLong_FromString(text, NULL, base)` where the whole text must be
/// used: surrounding white space, an optional sign, then digits that may
/// have single underscores between them (and right after a base prefix).
pub fn parse_int(text: &[u8], base: IntBase) -> Result<Integer, IntError> {
    let text = trim_py_space(text);
    let (negative, unsigned) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (radix, body, after_prefix) = match (base, unsigned) {
        (IntBase::Auto, [b'0', b'x' | b'X', rest @ ..]) => (16, rest, true),
        (IntBase::Auto, [b'0', b'o' | b'O', rest @ ..]) => (8, rest, true),
        (IntBase::Auto, [b'0', b'b' | b'B', rest @ ..]) => (2, rest, true),
        _ => (10, unsigned, false),
    };
    let digits = digit_values(body, radix, after_prefix).ok_or(IntError::Invalid)?;
    let zero_led = base == IntBase::Auto && radix == 10 && digits.first() == Some(&0);
    if zero_led && digits.iter().any(|&digit| digit != 0) {
        return Err(IntError::Invalid);
    }
    if radix == 10 && digits.len() > MAX_STR_DIGITS {
        return Err(IntError::TooManyDigits(TooManyDigits { digits: Some(digits.len()) }));
    }
    Ok(Integer::from_magnitude(negative, &magnitude(&digits, radix)))
}

/// The digit values of `body`, or None when it is not a run of digits in
/// `radix` with single underscores between them. A leading underscore is
/// allowed only right after a base prefix, as in `0x_ff`.
fn digit_values(body: &[u8], radix: u32, after_prefix: bool) -> Option<Vec<u32>> {
    let body = match body {
        [b'_', rest @ ..] if after_prefix => rest,
        _ => body,
    };
    let mut digits = Vec::with_capacity(body.len());
    let mut previous_was_digit = false;
    for &byte in body {
        if byte == b'_' && previous_was_digit {
            previous_was_digit = false;
            continue;
        }
        digits.push(char::from(byte).to_digit(radix)?);
        previous_was_digit = true;
    }
    // Empty, or ending in an underscore.
    previous_was_digit.then_some(digits)
}

/// The magnitude the digits spell, as little-endian 32-bit limbs. Power of
/// two radixes pack bits (linear, so long hex literals cost little);
/// decimal multiplies in, nine digits at a time.
fn magnitude(digits: &[u32], radix: u32) -> Vec<u32> {
    let mut limbs = Vec::new();
    if radix == 10 {
        for chunk in digits.chunks(9) {
            let value = chunk.iter().fold(0, |acc, &digit| acc * 10 + digit);
            multiply_add(&mut limbs, 10u32.pow(chunk.len() as u32), value);
        }
        return limbs;
    }
    let bits_per_digit = radix.trailing_zeros();
    let mut accumulator = 0u64;
    let mut bits = 0;
    for &digit in digits.iter().rev() {
        accumulator |= u64::from(digit) << bits;
        bits += bits_per_digit;
        if bits >= 32 {
            // The low 32 bits make a limb; the rest carry over.
            limbs.push(accumulator as u32);
            accumulator >>= 32;
            bits -= 32;
        }
    }
    limbs.push(accumulator as u32);
    limbs
}

/// Why CPython's supported versions read the text of an INT (or, with
/// `long`, a LONG without its `L`) differently; None when they all read it
/// alike. The base of both changed from 0 to 10 in 3.14 (`010` was eight,
/// `0x10` sixteen), and C read any two characters spelling 0 or 1 (`+0`,
/// ` 1`) as a bool until 3.15. CPython's picklers write none of these, so
/// restricted loading refuses them and the scanner reports them.
pub fn version_dependent_int(text: &[u8], long: bool) -> Option<&'static str> {
    let text = super::until_nul(text);
    let reading = |base| match strtol(text, base).filter(|_| !long) {
        Some(value) => Some(Integer::from(value)),
        None => parse_int(text, base).ok(),
    };
    let short_bool = !long && text.len() == 2 && !matches!(text, b"00" | b"01");
    if short_bool && matches!(strtol(text, IntBase::Auto), Some(0 | 1)) {
        return Some("two characters spelling 0 or 1, a bool in C until 3.15 and an int elsewhere");
    }
    (reading(IntBase::Auto) != reading(IntBase::Ten))
        .then_some("a number read in base 0 before CPython 3.14 and in base 10 from 3.14")
}

/// C's `strtol(text, &end, 0)` for a 64-bit `long`, succeeding only when
/// `end` reaches the end of `text`: leading white space, a sign, then `0x`
/// hex, `0` octal, or decimal. None when not everything was read, or on
/// overflow. When no digits are read C leaves `end` at the start, so empty
/// text is a success (zero) and text of only a sign or spaces is not.
pub fn strtol_base0(text: &[u8]) -> Option<i64> {
    strtol(text, IntBase::Auto)
}

/// C's `strtol(text, &end, base)` with `base` 0 ([`IntBase::Auto`], as
/// [`strtol_base0`]) or 10 ([`IntBase::Ten`]: decimal digits only, leading
/// zeros included), under the same whole-text rule.
pub fn strtol(text: &[u8], base: IntBase) -> Option<i64> {
    if text.is_empty() {
        return Some(0);
    }
    let start = text.iter().position(|&b| !super::is_py_space(b)).unwrap_or(text.len());
    let (negative, unsigned) = match text.get(start..)? {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    let (radix, digits) = match (base, unsigned) {
        (IntBase::Auto, [b'0', b'x' | b'X', rest @ ..])
            if rest.first().is_some_and(u8::is_ascii_hexdigit) =>
        {
            (16, rest)
        }
        (IntBase::Auto, [b'0', rest @ ..]) if !rest.is_empty() => (8, rest),
        _ => (10, unsigned),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: i128 = 0;
    for &byte in digits {
        let digit = char::from(byte).to_digit(radix)?;
        magnitude = magnitude * i128::from(radix) + i128::from(digit);
        if magnitude > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_dependent_texts_are_the_ones_cpython_never_writes() {
        use super::version_dependent_int;
        for canonical in [&b"0"[..], b"1", b"-1", b"12345", b"-99999999999999999999"] {
            assert_eq!(version_dependent_int(canonical, false), None, "{canonical:?}");
            assert_eq!(version_dependent_int(canonical, true), None, "{canonical:?}");
        }
        // Protocol 0's booleans, as INT only.
        assert_eq!(version_dependent_int(b"00", false), None);
        assert_eq!(version_dependent_int(b"01", false), None);
        assert!(version_dependent_int(b"01", true).is_some());
        for base_dependent in [&b"010"[..], b"0x10", b"-010", b"0o7", b"0b1"] {
            assert!(version_dependent_int(base_dependent, false).unwrap().contains("base 0"));
            assert!(version_dependent_int(base_dependent, true).unwrap().contains("base 0"));
        }
        for short_bool in [&b"+0"[..], b" 1", b"-0"] {
            assert!(version_dependent_int(short_bool, false).unwrap().contains("bool"));
        }
        // Zeros alone read alike; so does a LONG of two characters.
        assert_eq!(version_dependent_int(b"000", false), None);
        assert_eq!(version_dependent_int(b"+1", true), None);
    }

    use super::*;

    fn int(text: &str, base: IntBase) -> Result<String, IntError> {
        parse_int(text.as_bytes(), base).map(|value| value.to_decimal().unwrap())
    }

    #[test]
    fn base_ten_reads_what_python_int_reads() {
        let ok = |text: &str| int(text, IntBase::Ten).unwrap();
        assert_eq!(ok("42"), "42");
        assert_eq!(ok(" -0012 \n"), "-12");
        assert_eq!(ok("+1_000"), "1000");
        assert_eq!(ok("-0"), "0");
        assert_eq!(ok("\x0b7\x0c"), "7");
        assert_eq!(ok("123456789012345678901234567890"), "123456789012345678901234567890");
        for bad in ["", "-", "1_", "_1", "1__0", "0x10", "1L", "1 2", "12\0", "١"] {
            assert_eq!(int(bad, IntBase::Ten), Err(IntError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn base_zero_takes_prefixes_and_refuses_leading_zeros() {
        let ok = |text: &str| int(text, IntBase::Auto).unwrap();
        assert_eq!(ok("0x10"), "16");
        assert_eq!(ok("-0o17"), "-15");
        assert_eq!(ok("0B101"), "5");
        assert_eq!(ok("0x_ff"), "255");
        assert_eq!(ok("0_0"), "0");
        assert_eq!(ok("00"), "0");
        assert_eq!(ok("0xffffffffffffffffffff"), "1208925819614629174706175");
        assert_eq!(ok("-0x8000000000000000"), "-9223372036854775808");
        for bad in ["010", "0x", "0b2", "0o8", "0x__1", "08"] {
            assert_eq!(int(bad, IntBase::Auto), Err(IntError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn decimal_digit_limit_counts_leading_zeros_not_underscores() {
        let limit = "1".repeat(4300);
        assert!(int(&limit, IntBase::Ten).is_ok());
        let over = "0".repeat(4301);
        let err = int(&over, IntBase::Ten).unwrap_err();
        assert_eq!(err, IntError::TooManyDigits(TooManyDigits { digits: Some(4301) }));
        assert!(err.to_string().contains("value has 4301 digits"));
        let underscored = "1_".repeat(4299) + "1";
        assert!(int(&underscored, IntBase::Ten).is_ok());
        // Hex has no limit and packs linearly.
        let hex = format!("0x{}", "f".repeat(100_000));
        assert!(parse_int(hex.as_bytes(), IntBase::Auto).is_ok());
    }

    #[test]
    fn messages_show_a_bounded_repr() {
        assert_eq!(
            IntError::Invalid.message(b"0x1", IntBase::Ten),
            "invalid literal for int() with base 10: b'0x1'"
        );
        let long = IntError::Invalid.message(&[b'x'; 300], IntBase::Auto);
        assert_eq!(long.len(), "invalid literal for int() with base 0: ".len() + 200);
    }

    #[test]
    fn strtol_reads_what_c_reads() {
        assert_eq!(strtol(b"010", IntBase::Ten), Some(10));
        assert_eq!(strtol(b" -007", IntBase::Ten), Some(-7));
        assert_eq!(strtol(b"0x10", IntBase::Ten), None);
        assert_eq!(strtol(b"0", IntBase::Ten), Some(0));
        assert_eq!(strtol_base0(b"42"), Some(42));
        assert_eq!(strtol_base0(b"-7"), Some(-7));
        assert_eq!(strtol_base0(b" +5"), Some(5));
        assert_eq!(strtol_base0(b"010"), Some(8));
        assert_eq!(strtol_base0(b"0x1f"), Some(31));
        assert_eq!(strtol_base0(b"0"), Some(0));
        assert_eq!(strtol_base0(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(strtol_base0(b""), Some(0));
        for bad in [&b"9223372036854775808"[..], b"12a", b" ", b"+", b"09", b"0x", b"1 "] {
            assert_eq!(strtol_base0(bad), None, "{bad:?}");
        }
    }
}
