//! Float literals as CPython reads them: `float()` (which `pickletools`
//! uses) and `PyOS_string_to_double` (which the C unpickler uses).

use std::fmt;

use super::trim_py_space;

/// Which reader's rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatSyntax {
    /// Python's `float(text)`: surrounding white space and underscores
    /// between digits are fine; too large a value is infinity.
    Python,
    /// `PyOS_string_to_double` with an overflow error: the bare literal,
    /// and too large a value is an error.
    C,
}

/// Why a float literal was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatError {
    /// Not a float literal.
    Invalid,
    /// Finite text whose value is too large for a double ([`FloatSyntax::C`]).
    Overflow,
}

impl fmt::Display for FloatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FloatError::Invalid => "could not convert string to float",
            FloatError::Overflow => "value too large to convert to float",
        })
    }
}

impl std::error::Error for FloatError {}

/// Reads a decimal float literal, `inf`, `infinity` or `nan` (any case,
/// optionally signed).
pub fn parse_float(text: &[u8], syntax: FloatSyntax) -> Result<f64, FloatError> {
    let text = match syntax {
        FloatSyntax::Python => trim_py_space(text),
        FloatSyntax::C => text,
    };
    let (negative, unsigned) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let sign = if negative { -1.0 } else { 1.0 };
    if let Some(special) = special_value(unsigned) {
        return Ok(sign * special);
    }
    let cleaned = decimal_literal(unsigned, syntax == FloatSyntax::Python)?;
    let magnitude: f64 = cleaned.parse().map_err(|_| FloatError::Invalid)?;
    if magnitude.is_infinite() && syntax == FloatSyntax::C {
        return Err(FloatError::Overflow);
    }
    Ok(sign * magnitude)
}

fn special_value(word: &[u8]) -> Option<f64> {
    if word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"infinity") {
        Some(f64::INFINITY)
    } else if word.eq_ignore_ascii_case(b"nan") {
        Some(f64::NAN)
    } else {
        None
    }
}

/// Checks `digits [. digits] [e [sign] digits]` (with at least one digit
/// before or after the point) and returns it without underscores, which
/// are allowed singly between digits when `underscores` is set.
fn decimal_literal(text: &[u8], underscores: bool) -> Result<String, FloatError> {
    let mut rest = text;
    let mut cleaned = String::with_capacity(text.len());
    let whole = take_digits(&mut rest, &mut cleaned, underscores)?;
    let mut fraction = 0;
    if let [b'.', after @ ..] = rest {
        rest = after;
        cleaned.push('.');
        fraction = take_digits(&mut rest, &mut cleaned, underscores)?;
    }
    if whole + fraction == 0 {
        return Err(FloatError::Invalid);
    }
    if let [b'e' | b'E', after @ ..] = rest {
        rest = after;
        cleaned.push('e');
        if let [sign @ (b'+' | b'-'), after @ ..] = rest {
            rest = after;
            cleaned.push(char::from(*sign));
        }
        if take_digits(&mut rest, &mut cleaned, underscores)? == 0 {
            return Err(FloatError::Invalid);
        }
    }
    if rest.is_empty() {
        Ok(cleaned)
    } else {
        Err(FloatError::Invalid)
    }
}

/// Moves a run of digits from `rest` to `out` and counts them.
fn take_digits(rest: &mut &[u8], out: &mut String, underscores: bool) -> Result<usize, FloatError> {
    let mut count = 0;
    while let Some((&byte, after)) = rest.split_first() {
        match byte {
            b'0'..=b'9' => {
                out.push(char::from(byte));
                count += 1;
            }
            // An underscore must sit between two digits.
            b'_' if underscores && count > 0 && after.first().is_some_and(u8::is_ascii_digit) => {}
            b'_' => return Err(FloatError::Invalid),
            _ => break,
        }
        *rest = after;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(text: &str) -> Result<f64, FloatError> {
        parse_float(text.as_bytes(), FloatSyntax::Python)
    }

    fn c(text: &str) -> Result<f64, FloatError> {
        parse_float(text.as_bytes(), FloatSyntax::C)
    }

    #[test]
    fn python_float_syntax() {
        assert_eq!(python("1.5"), Ok(1.5));
        assert_eq!(python(" -1_0.2_5e1_0 \n"), Ok(-10.25e10));
        assert_eq!(python(".5"), Ok(0.5));
        assert_eq!(python("5."), Ok(5.0));
        assert_eq!(python("1E+2"), Ok(100.0));
        assert_eq!(python("1e400"), Ok(f64::INFINITY));
        assert_eq!(python("-inFINITY"), Ok(f64::NEG_INFINITY));
        assert!(python("nan").unwrap().is_nan());
        assert_eq!(python("0.1"), Ok(0.1));
        for bad in ["", ".", "e5", "1e", "1_", "_1", "1__0", "1._5", "0x10", "1.5f", "in f", "1,5"]
        {
            assert_eq!(python(bad), Err(FloatError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn c_float_syntax_is_strict() {
        assert_eq!(c("1.5"), Ok(1.5));
        assert_eq!(c("-Infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(c("1e-400"), Ok(0.0));
        assert_eq!(c("1e400"), Err(FloatError::Overflow));
        for bad in [" 1.5", "1.5 ", "1_0.5"] {
            assert_eq!(c(bad), Err(FloatError::Invalid), "{bad:?}");
        }
    }
}
