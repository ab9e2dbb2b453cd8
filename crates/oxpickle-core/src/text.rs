//! Text forms the pickle stream shares with Python: number literals, the
//! escapes of protocol-0 strings, the codecs that decode string payloads,
//! and Python's `repr` of floats, strings and bytes. Each submodule follows
//! the CPython function it is named after, so the value machine reads a
//! line the way `pickle.loads` does and the disassembler prints an argument
//! the way `pickletools.dis` does.

mod codec;
mod escape;
mod float;
mod int;
mod repr;

pub use codec::{decode_ascii, decode_latin1, decode_utf8, CodecError};
pub use escape::{escape_decode, raw_unicode_escape_decode, EscapeError};
pub use float::{parse_float, FloatError, FloatSyntax};
pub use int::{parse_int, strtol, strtol_base0, version_dependent_int, IntBase, IntError};
pub use repr::{is_printable, repr_bytearray, repr_bytes, repr_str};

/// The part of a line a C string function sees: everything before the
/// first NUL byte.
pub fn until_nul(line: &[u8]) -> &[u8] {
    match line.iter().position(|&byte| byte == 0) {
        Some(end) => &line[..end],
        None => line,
    }
}

/// CPython's `Py_ISSPACE`: ASCII white space, vertical tab included.
pub fn is_py_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// A slice without the `Py_ISSPACE` bytes at either end.
pub fn trim_py_space(text: &[u8]) -> &[u8] {
    let start = text.iter().position(|&b| !is_py_space(b)).unwrap_or(text.len());
    let end = text.iter().rposition(|&b| !is_py_space(b)).map_or(start, |last| last + 1);
    &text[start..end]
}

/// Formats a float exactly as Python's `repr` does: shortest round-trip
/// digits, fixed notation for decimal exponents from -4 to 16, otherwise
/// scientific with a signed two-digit-minimum exponent.
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let (digits, exponent) = shortest_digits(value.abs());
    // Python's decpt: the value is 0.DIGITS × 10**decpt.
    let decpt = exponent + 1;
    let mut out = String::with_capacity(digits.len() + 8);
    if value.is_sign_negative() {
        out.push('-');
    }
    if (-4 < decpt) && (decpt <= 16) {
        push_fixed(&mut out, &digits, decpt);
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let shown = decpt - 1;
        out.push('e');
        out.push(if shown < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", shown.unsigned_abs()));
    }
    out
}

/// The shortest digits that read back as `value` (finite, not negative)
/// and the decimal exponent of the first digit, as Python's `repr` picks
/// them. Rust's `{:e}` gives the same digits except when two candidates
/// are equally near the value; Python then takes the one ending in an even
/// digit, Rust the one above.
fn shortest_digits(value: f64) -> (String, i32) {
    let (digits, exponent) = split_scientific(&format!("{value:e}"));
    // A tie needs the exact value to have one digit more than the shortest
    // form, the last a 5; a double has that few only with 17 or 18.
    if digits.len() < 16 {
        return (digits, exponent);
    }
    // Rust prints as many exact digits as asked; 1100 covers any double.
    let (exact, exact_exponent) = split_scientific(&format!("{value:.1100e}"));
    let exact = exact.trim_end_matches('0');
    let below = match exact.strip_suffix('5') {
        Some(below) if below.len() == digits.len() => below,
        _ => return (digits, exponent),
    };
    // ASCII digits have the parity of their values.
    let below_is_even = below.bytes().last().is_some_and(|digit| digit % 2 == 0);
    let (even, even_exponent) = if below_is_even {
        (below.to_owned(), exact_exponent)
    } else {
        round_up(below, exact_exponent)
    };
    let reads_back = format!("0.{even}e{}", even_exponent + 1).parse::<f64>() == Ok(value);
    if reads_back {
        (even.trim_end_matches('0').to_owned(), even_exponent)
    } else {
        (digits, exponent)
    }
}

/// Splits Rust's `{:e}` form ("1.25e-7") into its digits and exponent.
fn split_scientific(scientific: &str) -> (String, i32) {
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

/// Adds one unit in the last place to a digit string, carrying into a new
/// leading digit (and a higher exponent) when every digit is 9.
fn round_up(digits: &str, exponent: i32) -> (String, i32) {
    let mut bytes = digits.as_bytes().to_vec();
    for digit in bytes.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return (String::from_utf8_lossy(&bytes).into_owned(), exponent);
        }
    }
    bytes.insert(0, b'1');
    (String::from_utf8_lossy(&bytes).into_owned(), exponent + 1)
}

fn push_fixed(out: &mut String, digits: &str, decpt: i32) {
    if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', decpt.unsigned_abs() as usize));
        out.push_str(digits);
        return;
    }
    let point = decpt as usize;
    if digits.len() <= point {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', point - digits.len()));
        out.push_str(".0");
    } else {
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    }
}

/// The shortest little-endian two's-complement bytes that hold `value`,
/// as LONG1 carries it (zero is the empty string): the first `len` bytes
/// of the array. On the stack, as the pickler writes one per large int.
#[inline]
pub fn minimal_le_twos_complement(value: i128) -> ([u8; 16], usize) {
    // Magnitude bits (those of `!value` for a negative one) plus a sign bit.
    let magnitude = if value < 0 { !value } else { value };
    let bits = 128 - magnitude.leading_zeros() as usize + 1;
    let len = if value == 0 { 0 } else { bits.div_ceil(8) };
    (value.to_le_bytes(), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e300, "1e+300"),
            (-2.5e-300, "-2.5e-300"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            // 196637 / 2**17 = 1.50022125244140625, exactly halfway between
            // two 17-digit forms: Python rounds to even.
            (196637.0 / 131072.0, "1.5002212524414062"),
            (-196637.0 / 131072.0, "-1.5002212524414062"),
            (9007199254740993.0, "9007199254740992.0"),
            (0.30000000000000004, "0.30000000000000004"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(*value), *expected, "repr of {value:e}");
        }
    }

    #[test]
    fn round_up_carries() {
        assert_eq!(round_up("129", 0), ("130".to_owned(), 0));
        assert_eq!(round_up("999", 4), ("1000".to_owned(), 5));
    }

    #[test]
    fn twos_complement_is_minimal() {
        let minimal_le_twos_complement = |value| {
            let (bytes, len) = minimal_le_twos_complement(value);
            bytes[..len].to_vec()
        };
        assert_eq!(minimal_le_twos_complement(0), b"");
        assert_eq!(minimal_le_twos_complement(127), b"\x7f");
        assert_eq!(minimal_le_twos_complement(128), b"\x80\x00");
        assert_eq!(minimal_le_twos_complement(255), b"\xff\x00");
        assert_eq!(minimal_le_twos_complement(-128), b"\x80");
        assert_eq!(minimal_le_twos_complement(-129), b"\x7f\xff");
        assert_eq!(minimal_le_twos_complement(-256), b"\x00\xff");
        assert_eq!(minimal_le_twos_complement(-1), b"\xff");
        assert_eq!(minimal_le_twos_complement(i64::MIN.into()), i64::MIN.to_le_bytes());
        let above_i64 = i128::from(u64::MAX);
        assert_eq!(minimal_le_twos_complement(above_i64), b"\xff\xff\xff\xff\xff\xff\xff\xff\x00");
        assert_eq!(minimal_le_twos_complement(-above_i64), b"\x01\0\0\0\0\0\0\0\xff");
        assert_eq!(minimal_le_twos_complement(i128::MIN), i128::MIN.to_le_bytes());
        assert_eq!(minimal_le_twos_complement(i128::MAX), i128::MAX.to_le_bytes());
    }

    #[test]
    fn c_strings_end_at_nul_and_python_space_includes_vertical_tab() {
        assert_eq!(until_nul(b"12\0ab"), b"12");
        assert_eq!(until_nul(b"12"), b"12");
        assert_eq!(trim_py_space(b" \x0b\t1 2\r\n"), b"1 2");
        assert_eq!(trim_py_space(b" \x0c "), b"");
    }
}
