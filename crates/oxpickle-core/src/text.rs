//! Number formats the pickle stream shares with Python's own text forms.

/// Formats a float exactly as Python's `repr` does: shortest round-trip
/// digits, fixed notation for decimal exponents from -4 to 16, otherwise
/// scientific with a signed two-digit-minimum exponent.
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "-1.25e-7".
    let scientific = format!("{value:e}");
    let (negative, unsigned) = match scientific.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, scientific.as_str()),
    };
    let (mantissa, exponent) = unsigned.split_once('e').unwrap_or((unsigned, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    // Python's decpt: the value is 0.DIGITS × 10**decpt.
    let decpt = exponent + 1;
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
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
/// as LONG1 carries it (zero is the empty string).
pub fn minimal_le_twos_complement(value: i64) -> Vec<u8> {
    if value == 0 {
        return Vec::new();
    }
    let mut bytes = value.to_le_bytes().to_vec();
    while bytes.len() > 1 {
        let top = bytes[bytes.len() - 1];
        let next_sign = bytes[bytes.len() - 2] & 0x80;
        let redundant = (top == 0x00 && next_sign == 0) || (top == 0xff && next_sign != 0);
        if !redundant {
            break;
        }
        bytes.pop();
    }
    bytes
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
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(*value), *expected, "repr of {value:e}");
        }
    }

    #[test]
    fn twos_complement_is_minimal() {
        assert_eq!(minimal_le_twos_complement(0), b"");
        assert_eq!(minimal_le_twos_complement(127), b"\x7f");
        assert_eq!(minimal_le_twos_complement(128), b"\x80\x00");
        assert_eq!(minimal_le_twos_complement(255), b"\xff\x00");
        assert_eq!(minimal_le_twos_complement(-128), b"\x80");
        assert_eq!(minimal_le_twos_complement(-129), b"\x7f\xff");
        assert_eq!(minimal_le_twos_complement(-256), b"\x00\xff");
        assert_eq!(minimal_le_twos_complement(i64::MIN), i64::MIN.to_le_bytes());
    }
}
