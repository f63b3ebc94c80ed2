//! Exact fixed-point numbers parsed from the decimal strings exchanges send.
//!
//! A price or size is stored as an integer count of the market's smallest unit (a *tick* for
//! prices, a *lot* for sizes) at a fixed number of decimal places. Parsing never goes through a
//! float, so `"65000.01"` at 2 decimals is exactly `6_500_001` and level keys never drift.

use thiserror::Error;

/// The most decimal places a price or size may carry (10^19 overflows `u64`).
pub const MAX_DECIMALS: u8 = 18;

/// Why a decimal string could not be turned into a fixed-point integer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecimalError {
    /// The text is empty.
    #[error("empty number")]
    Empty,
    /// The text is not a plain decimal number (digits, one point, an optional exponent).
    #[error("{0:?} is not a decimal number")]
    Malformed(String),
    /// The text names a non-finite value (NaN or infinity).
    #[error("{0:?} is not finite")]
    NotFinite(String),
    /// The value is below zero.
    #[error("{0:?} is negative")]
    Negative(String),
    /// The value has non-zero digits beyond the allowed precision.
    #[error("{text:?} has non-zero digits beyond {decimals} decimal places")]
    TooPrecise {
        /// The text as given.
        text: String,
        /// The precision it had to fit.
        decimals: u8,
    },
    /// The value does not fit in 64 bits at the requested precision.
    #[error("{text:?} is too large for {decimals} decimal places")]
    Overflow {
        /// The text as given.
        text: String,
        /// The precision it had to fit.
        decimals: u8,
    },
    /// The precision itself is out of range.
    #[error("precision of {0} decimal places is out of range (0..={MAX_DECIMALS})")]
    BadPrecision(u8),
    /// A float that is NaN, infinite or negative.
    #[error("{0} is not a finite non-negative number")]
    BadFloat(String),
}

/// 10^n for n in 0..=19.
pub const POW10: [u64; 20] = {
    let mut table = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// 10^n as u128 for n in 0..=38.
#[must_use]
pub fn pow10_u128(n: u32) -> u128 {
    10u128.pow(n)
}

/// Checks that a precision is usable.
pub fn check_decimals(decimals: u8) -> Result<(), DecimalError> {
    if decimals > MAX_DECIMALS {
        Err(DecimalError::BadPrecision(decimals))
    } else {
        Ok(())
    }
}

/// The most characters of an input that an error message quotes.
pub const EXCERPT_CHARS: usize = 40;

/// The part of an input an error message quotes: the text itself if it has at most
/// [`EXCERPT_CHARS`] characters, else its first [`EXCERPT_CHARS`] characters, `"..."` and its
/// length (`"1111...(1000000 chars)"`), so a huge input never makes a huge message.
#[must_use]
pub fn excerpt(text: &str) -> String {
    if text.len() <= EXCERPT_CHARS {
        return text.to_owned();
    }
    let chars = text.chars().count();
    if chars <= EXCERPT_CHARS {
        return text.to_owned();
    }
    let head: String = text.chars().take(EXCERPT_CHARS).collect();
    format!("{head}...({chars} chars)")
}

/// A message (such as a JSON parser's) with every double-quoted run longer than
/// [`EXCERPT_CHARS`] cut by [`excerpt`], so an error never repeats a huge input.
#[must_use]
pub fn cut_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(256));
    let mut rest = message;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        // The closing quote: the first one not escaped by a backslash.
        let mut close = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    close = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let end = close.unwrap_or(rest.len());
        out.push_str(&excerpt(&rest[..end]));
        rest = &rest[end..];
        if close.is_some() {
            out.push('"');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// A decimal string split into its significant digits and their power of ten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    /// The significant digits (no trailing zeros) when there are at most 38 of them, else 0.
    mantissa: u128,
    /// The power of ten of the last significant digit: value = `mantissa * 10^power`.
    power: i64,
    /// More than 38 significant digits: the value is exact only as an integer of at least 39
    /// digits at any scale, so it either overflows or is too precise, never representable.
    wide: bool,
}

/// Significant digits a [`Parts`] mantissa holds exactly (10^38 < 2^128).
const MAX_SIGNIFICANT: u32 = 38;

/// Splits a non-negative decimal string into its significant digits and their power of ten.
///
/// Accepts `"1"`, `"0.5"`, `".5"`, `"1."`, `"+2"` and exponents (`"1E-8"`, as Python's
/// `str(Decimal)` writes small values). Trailing zeros are stripped from the digits, so
/// `"0.01000000"` is `(1, -2)`. No digit is ever dropped: more than 38 significant digits are
/// reported as `wide`. Rejects NaN, infinities, negative values and malformed text.
fn parse_parts(text: &str) -> Result<Parts, DecimalError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(DecimalError::Empty);
    }
    let malformed = || DecimalError::Malformed(excerpt(text));
    let (negative, mut i) = match bytes[0] {
        b'+' => (false, 1),
        b'-' => (true, 1),
        _ => (false, 0),
    };
    if bytes
        .get(i)
        .is_some_and(|b| !b.is_ascii_digit() && *b != b'.')
    {
        let lower = text.to_ascii_lowercase();
        let word = lower.trim_start_matches(['+', '-']);
        if matches!(word, "nan" | "snan" | "inf" | "infinity") {
            return Err(DecimalError::NotFinite(excerpt(text)));
        }
        return Err(malformed());
    }
    let mut mantissa: u128 = 0;
    let mut digits = 0usize;
    // Significant digits so far, from the first non-zero digit to the last one.
    let mut significant: u32 = 0;
    // Zeros since the last non-zero digit (after the first one).
    let mut pending_zeros: u32 = 0;
    // Integer-part digits after the last non-zero digit, and the fractional position (1 = tenths)
    // of the last non-zero digit if it is in the fractional part.
    let mut int_zeros_after: i64 = 0;
    let mut last_fraction_position: i64 = 0;
    let mut fraction_position: i64 = 0;
    let mut seen_point = false;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_digit() {
            digits += 1;
            if seen_point {
                fraction_position += 1;
            }
            let d = b - b'0';
            if d == 0 {
                if significant > 0 {
                    pending_zeros = pending_zeros.saturating_add(1);
                }
                if !seen_point {
                    int_zeros_after += 1;
                }
            } else {
                significant = significant.saturating_add(pending_zeros).saturating_add(1);
                if significant <= MAX_SIGNIFICANT {
                    // At most 38 digits in all: the product and sum fit u128.
                    mantissa = mantissa * 10u128.pow(pending_zeros + 1) + u128::from(d);
                }
                pending_zeros = 0;
                if seen_point {
                    last_fraction_position = fraction_position;
                    int_zeros_after = 0;
                } else {
                    int_zeros_after = 0;
                    last_fraction_position = 0;
                }
            }
        } else if b == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return Err(malformed());
    }
    let mut power = if last_fraction_position > 0 {
        -last_fraction_position
    } else {
        int_zeros_after
    };
    if let Some(&marker) = bytes.get(i) {
        if marker != b'e' && marker != b'E' {
            return Err(malformed());
        }
        i += 1;
        let exp_negative = bytes.get(i) == Some(&b'-');
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if i == bytes.len() {
            return Err(malformed());
        }
        let mut exponent: i64 = 0;
        for &b in &bytes[i..] {
            if !b.is_ascii_digit() {
                return Err(malformed());
            }
            exponent = exponent
                .saturating_mul(10)
                .saturating_add(i64::from(b - b'0'));
        }
        power = power.saturating_add(if exp_negative { -exponent } else { exponent });
    }
    if significant == 0 {
        return Ok(Parts {
            mantissa: 0,
            power: 0,
            wide: false,
        });
    }
    if negative {
        return Err(DecimalError::Negative(excerpt(text)));
    }
    let wide = significant > MAX_SIGNIFICANT;
    Ok(Parts {
        mantissa: if wide { 0 } else { mantissa },
        power,
        wide,
    })
}

/// Scales parts to an integer count of `10^-decimals` units, exactly, or says why not.
fn scale_parts(text: &str, parts: Parts, decimals: u8) -> Result<u128, DecimalError> {
    let shift = parts.power.saturating_add(i64::from(decimals));
    if shift < 0 {
        // The last significant digit (non-zero) lies beyond the precision.
        return Err(DecimalError::TooPrecise {
            text: excerpt(text),
            decimals,
        });
    }
    let overflow = || DecimalError::Overflow {
        text: excerpt(text),
        decimals,
    };
    if parts.wide || shift > 38 {
        return Err(overflow());
    }
    parts
        .mantissa
        .checked_mul(pow10_u128(shift as u32))
        .ok_or_else(overflow)
}

/// The fast path of [`parse_fixed`] for the plain form exchanges send (`"65000.01000000"`):
/// digits with at most one point, no sign or exponent, fitting `u64` at the precision.
/// Returns `None` for anything else, including every error, so the general path decides.
#[inline]
fn parse_plain(bytes: &[u8], decimals: u8) -> Option<u64> {
    let mut value: u64 = 0;
    let mut i = 0;
    let mut digits = 0usize;
    while let Some(&b) = bytes.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d))?;
        digits += 1;
        i += 1;
    }
    let mut frac_used: u8 = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&b) = bytes.get(i) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            if frac_used < decimals {
                value = value.checked_mul(10)?.checked_add(u64::from(d))?;
                frac_used += 1;
            } else if d != 0 {
                return None;
            }
            digits += 1;
            i += 1;
        }
    }
    if i != bytes.len() || digits == 0 {
        return None;
    }
    value.checked_mul(POW10[usize::from(decimals - frac_used)])
}

/// Parses a non-negative decimal string into an integer count of `10^-decimals` units.
///
/// Accepts everything [`parse_parts`] does, including trailing zeros beyond the precision
/// (`"0.01000000"` at 2 decimals). Rejects non-zero digits beyond the precision and values that
/// overflow `u64`.
pub fn parse_fixed(text: &str, decimals: u8) -> Result<u64, DecimalError> {
    check_decimals(decimals)?;
    if let Some(value) = parse_plain(text.as_bytes(), decimals) {
        return Ok(value);
    }
    let scaled = scale_parts(text, parse_parts(text)?, decimals)?;
    u64::try_from(scaled).map_err(|_| DecimalError::Overflow {
        text: excerpt(text),
        decimals,
    })
}

/// The most decimal places a wide (128-bit) value may carry: a notional's scale is the sum of
/// a price's and a size's decimals.
pub const MAX_WIDE_DECIMALS: u8 = 2 * MAX_DECIMALS;

/// Parses a non-negative decimal string into an integer count of `10^-decimals` units, up to
/// `u128::MAX` (for notionals and quote balances, whose scale is price plus size decimals).
///
/// Accepts the same text as [`parse_fixed`] (any number of significant digits, exponents,
/// trailing zeros) and `decimals` up to [`MAX_WIDE_DECIMALS`]. Non-zero digits beyond the
/// precision are refused (`TooPrecise`); a value past `u128::MAX` is `Overflow`. Every value
/// [`format_fixed`] writes parses back to itself, all 39 digits of `u128::MAX` included.
pub fn parse_fixed_wide(text: &str, decimals: u8) -> Result<u128, DecimalError> {
    parse_wide(text, decimals, false)
}

/// [`parse_fixed_wide`], rounding digits beyond the precision down instead of refusing them
/// (what a balance allows is never more than it says).
pub fn parse_fixed_wide_floor(text: &str, decimals: u8) -> Result<u128, DecimalError> {
    parse_wide(text, decimals, true)
}

/// The wide parser: digits are kept as text until the scale is known, so no significant digit
/// is ever dropped (unlike [`parse_parts`], whose mantissa holds 38 digits).
fn parse_wide(text: &str, decimals: u8, floor: bool) -> Result<u128, DecimalError> {
    if decimals > MAX_WIDE_DECIMALS {
        return Err(DecimalError::BadPrecision(decimals));
    }
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(DecimalError::Empty);
    }
    let malformed = || DecimalError::Malformed(excerpt(text));
    let (negative, start) = match bytes[0] {
        b'+' => (false, 1),
        b'-' => (true, 1),
        _ => (false, 0),
    };
    let body = &bytes[start..];
    if body
        .first()
        .is_some_and(|b| !b.is_ascii_digit() && *b != b'.')
    {
        let lower = text.to_ascii_lowercase();
        let word = lower.trim_start_matches(['+', '-']);
        if matches!(word, "nan" | "snan" | "inf" | "infinity") {
            return Err(DecimalError::NotFinite(excerpt(text)));
        }
        return Err(malformed());
    }
    let (number, exponent_text) = match body.iter().position(|&b| b == b'e' || b == b'E') {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (int_digits, frac_digits) = match number.iter().position(|&b| b == b'.') {
        Some(at) => (&number[..at], &number[at + 1..]),
        None => (number, &number[number.len()..]),
    };
    let all_digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
    if int_digits.len() + frac_digits.len() == 0
        || !all_digits(int_digits)
        || !all_digits(frac_digits)
    {
        return Err(malformed());
    }
    let mut exponent: i64 = 0;
    if let Some(exp) = exponent_text {
        let (exp_negative, digits) = match exp.first() {
            Some(b'-') => (true, &exp[1..]),
            Some(b'+') => (false, &exp[1..]),
            _ => (false, exp),
        };
        if digits.is_empty() || !all_digits(digits) {
            return Err(malformed());
        }
        for &b in digits {
            exponent = exponent
                .saturating_mul(10)
                .saturating_add(i64::from(b - b'0'));
        }
        if exp_negative {
            exponent = -exponent;
        }
    }
    // value = digits * 10^(exponent - frac_len); in units: digits * 10^shift.
    let digits = int_digits.iter().chain(frac_digits);
    let significant: Vec<u8> = digits.copied().skip_while(|&b| b == b'0').collect();
    let trailing = significant.iter().rev().take_while(|&&b| b == b'0').count();
    let significant = &significant[..significant.len() - trailing];
    if significant.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err(DecimalError::Negative(excerpt(text)));
    }
    let frac_len = i64::try_from(frac_digits.len()).map_err(|_| malformed())?;
    let shift = exponent
        .saturating_sub(frac_len)
        .saturating_add(i64::from(decimals))
        .saturating_add(trailing as i64);
    let overflow = || DecimalError::Overflow {
        text: excerpt(text),
        decimals,
    };
    let kept = if shift >= 0 {
        significant
    } else {
        if !floor {
            return Err(DecimalError::TooPrecise {
                text: excerpt(text),
                decimals,
            });
        }
        let cut = usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX);
        &significant[..significant.len().saturating_sub(cut)]
    };
    let mut value: u128 = 0;
    for &b in kept {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
            .ok_or_else(overflow)?;
    }
    if shift > 0 {
        if value == 0 {
            return Ok(0);
        }
        let power = u32::try_from(shift)
            .ok()
            .filter(|p| *p <= 38)
            .ok_or_else(overflow)?;
        value = value.checked_mul(pow10_u128(power)).ok_or_else(overflow)?;
    }
    Ok(value)
}

/// Converts a float to the nearest `10^-decimals` unit (ties away from zero).
///
/// This is the one explicit door for floats: it goes through the float's shortest decimal
/// representation, so `0.1` becomes exactly one tenth, not the binary value nearest to it.
pub fn fixed_from_f64(value: f64, decimals: u8) -> Result<u64, DecimalError> {
    check_decimals(decimals)?;
    if !value.is_finite() || value < 0.0 {
        return Err(DecimalError::BadFloat(value.to_string()));
    }
    // The shortest round-trip representation, e.g. "65000.01" or "1e-8".
    let text = format!("{value:e}");
    let (mantissa_text, exp_text) = text.split_once('e').unwrap_or((text.as_str(), "0"));
    let exponent: i64 = exp_text
        .parse()
        .map_err(|_| DecimalError::BadFloat(value.to_string()))?;
    let (int_part, frac_part) = mantissa_text.split_once('.').unwrap_or((mantissa_text, ""));
    let digits: String = format!("{int_part}{frac_part}");
    let mantissa: u128 = digits
        .parse()
        .map_err(|_| DecimalError::BadFloat(value.to_string()))?;
    // value = mantissa * 10^(exponent - frac_len)
    let shift = exponent - frac_part.len() as i64 + i64::from(decimals);
    let overflow = || DecimalError::Overflow {
        text: value.to_string(),
        decimals,
    };
    let scaled: u128 = if shift >= 0 {
        if shift > 38 {
            return Err(overflow());
        }
        mantissa
            .checked_mul(pow10_u128(shift as u32))
            .ok_or_else(overflow)?
    } else {
        let down = (-shift) as u32;
        if down > 38 {
            0
        } else {
            let divisor = pow10_u128(down);
            let quotient = mantissa / divisor;
            let remainder = mantissa % divisor;
            if remainder * 2 >= divisor {
                quotient + 1
            } else {
                quotient
            }
        }
    };
    u64::try_from(scaled).map_err(|_| overflow())
}

/// Writes an integer count of `10^-decimals` units as a plain decimal string (`6500001`, 2 →
/// `"65000.01"`), without trailing zeros beyond the point.
#[must_use]
pub fn format_fixed(value: u128, decimals: u8) -> String {
    if decimals == 0 {
        return value.to_string();
    }
    let scale = pow10_u128(u32::from(decimals));
    let int_part = value / scale;
    let frac_part = value % scale;
    if frac_part == 0 {
        return int_part.to_string();
    }
    let frac = format!("{frac_part:0width$}", width = usize::from(decimals));
    format!("{int_part}.{}", frac.trim_end_matches('0'))
}

/// Converts a fixed-point integer to a float (for derived figures only).
#[must_use]
pub fn to_f64(value: u128, decimals: u8) -> f64 {
    u128_to_f64(value) / u128_to_f64(pow10_u128(u32::from(decimals)))
}

/// `value as f64`, the float nearest `value`: through the processor's conversion of a `u64`
/// when the value fits one (the same float, rounded once either way), else the software
/// conversion of a `u128`, which costs several times as much.
#[must_use]
#[inline]
pub fn u128_to_f64(value: u128) -> f64 {
    match u64::try_from(value) {
        Ok(small) => small as f64,
        Err(_) => value as f64,
    }
}

/// `value * 10^-scale` as the float nearest to it (correctly rounded, unlike
/// [`to_f64`], which rounds twice).
#[must_use]
pub fn to_f64_rounded(value: u128, scale: u32) -> f64 {
    // Both operands exact: IEEE division rounds the quotient once.
    if value < (1 << 53) && scale <= 22 {
        return u128_to_f64(value) / 10f64.powi(scale as i32);
    }
    // The standard library's parser rounds correctly.
    format!("{value}e-{scale}").parse().unwrap_or(f64::NAN)
}

/// Rescales a count of `10^-from` units to `10^-to` units, if it is exactly representable.
#[must_use]
pub fn rescale(value: u64, from: u8, to: u8) -> Option<u64> {
    if to >= from {
        value.checked_mul(*POW10.get(usize::from(to - from))?)
    } else {
        let divisor = *POW10.get(usize::from(from - to))?;
        (value % divisor == 0).then_some(value / divisor)
    }
}

/// A non-negative exact decimal number with its own scale: `mantissa * 10^-scale`.
///
/// Used for quantities that are given once and then applied to books of different precisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    /// The digits as an integer.
    pub mantissa: u64,
    /// The number of decimal places.
    pub scale: u8,
}

impl Quantity {
    /// Parses a decimal string, keeping the smallest scale that represents it exactly.
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let parts = parse_parts(text)?;
        let scale = u8::try_from(parts.power.min(0).unsigned_abs())
            .ok()
            .filter(|s| *s <= MAX_DECIMALS)
            .ok_or_else(|| DecimalError::TooPrecise {
                text: excerpt(text),
                decimals: MAX_DECIMALS,
            })?;
        let mantissa = u64::try_from(scale_parts(text, parts, scale)?).map_err(|_| {
            DecimalError::Overflow {
                text: excerpt(text),
                decimals: scale,
            }
        })?;
        Ok(Self { mantissa, scale })
    }

    /// This quantity as a count of `10^-decimals` units, if it is exactly representable.
    #[must_use]
    pub fn at_scale(self, decimals: u8) -> Option<u64> {
        rescale(self.mantissa, self.scale, decimals)
    }

    /// This quantity as a count of `10^-decimals` units (lots, ticks or notional units),
    /// digits beyond `decimals` rounded as `rounding` says; `None` past `u128::MAX`. The one
    /// rule that turns a market's decimal figure into a book's integer units.
    #[must_use]
    pub fn at_scale_rounded(self, decimals: u8, rounding: Rounding) -> Option<u128> {
        let m = u128::from(self.mantissa);
        if decimals >= self.scale {
            m.checked_mul(10u128.checked_pow(u32::from(decimals - self.scale))?)
        } else {
            let d = pow10_u128(u32::from(self.scale - decimals));
            Some(match rounding {
                Rounding::Down => m / d,
                Rounding::Up => m.div_ceil(d),
            })
        }
    }
}

/// Which way [`Quantity::at_scale_rounded`] rounds digits beyond the target precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Towards zero (a cap or a buy's limit: never more than it says).
    Down,
    /// Away from zero (a minimum or a sell's limit: never less than it says).
    Up,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("65000.01", 2, 6_500_001)]
    #[case("0.01000000", 2, 1)]
    #[case("1", 8, 100_000_000)]
    #[case(".5", 1, 5)]
    #[case("1.", 0, 1)]
    #[case("+2", 0, 2)]
    #[case("1E-8", 8, 1)]
    #[case("1.5e3", 0, 1500)]
    #[case("-0", 2, 0)]
    #[case("0.00", 0, 0)]
    #[case("18446744073709551615", 0, u64::MAX)]
    fn parses_exchange_style_decimals(#[case] text: &str, #[case] decimals: u8, #[case] want: u64) {
        assert_eq!(parse_fixed(text, decimals), Ok(want));
    }

    #[rstest]
    #[case("", 2)]
    #[case("abc", 2)]
    #[case("1.2.3", 2)]
    #[case("1e", 2)]
    #[case(".", 2)]
    #[case("1,5", 2)]
    #[case(" 1", 2)]
    fn rejects_malformed_text(#[case] text: &str, #[case] decimals: u8) {
        assert!(matches!(
            parse_fixed(text, decimals),
            Err(DecimalError::Malformed(_) | DecimalError::Empty)
        ));
    }

    #[test]
    fn rejects_negative_non_finite_too_precise_and_overflowing_values() {
        assert!(matches!(
            parse_fixed("-1", 2),
            Err(DecimalError::Negative(_))
        ));
        assert!(matches!(
            parse_fixed("NaN", 2),
            Err(DecimalError::NotFinite(_))
        ));
        assert!(matches!(
            parse_fixed("-Infinity", 2),
            Err(DecimalError::NotFinite(_))
        ));
        assert!(matches!(
            parse_fixed("0.001", 2),
            Err(DecimalError::TooPrecise { .. })
        ));
        assert!(matches!(
            parse_fixed("18446744073709551616", 0),
            Err(DecimalError::Overflow { .. })
        ));
        assert!(matches!(
            parse_fixed("1", 19),
            Err(DecimalError::BadPrecision(19))
        ));
    }

    #[test]
    fn floats_round_to_the_nearest_unit_through_their_shortest_text() {
        assert_eq!(fixed_from_f64(0.1, 1), Ok(1));
        assert_eq!(fixed_from_f64(65000.015, 2), Ok(6_500_002));
        assert_eq!(fixed_from_f64(1e-8, 8), Ok(1));
        assert_eq!(fixed_from_f64(1e-9, 8), Ok(0));
        assert!(fixed_from_f64(f64::NAN, 2).is_err());
        assert!(fixed_from_f64(-1.0, 2).is_err());
    }

    #[test]
    fn formats_without_trailing_zeros() {
        assert_eq!(format_fixed(6_500_001, 2), "65000.01");
        assert_eq!(format_fixed(6_500_000, 2), "65000");
        assert_eq!(format_fixed(1, 8), "0.00000001");
        assert_eq!(format_fixed(10, 8), "0.0000001");
    }

    #[test]
    fn quantity_keeps_the_smallest_exact_scale() {
        assert_eq!(
            Quantity::parse("1.2500"),
            Ok(Quantity {
                mantissa: 125,
                scale: 2
            })
        );
        assert_eq!(
            Quantity::parse("1.25").unwrap().at_scale(8),
            Some(125_000_000)
        );
        assert_eq!(Quantity::parse("1.25").unwrap().at_scale(1), None);
    }

    #[rstest]
    #[case("1.25", 1, Rounding::Down, Some(12))]
    #[case("1.25", 1, Rounding::Up, Some(13))]
    #[case("1.2", 1, Rounding::Up, Some(12))]
    #[case("1.25", 4, Rounding::Down, Some(12_500))]
    #[case("0.001", 0, Rounding::Up, Some(1))]
    #[case("0.001", 0, Rounding::Down, Some(0))]
    #[case("18446744073709551615", 19, Rounding::Down, Some(u128::from(u64::MAX) * 10u128.pow(19)))]
    #[case("18446744073709551615", 36, Rounding::Down, None)]
    fn quantity_rounds_to_a_scale(
        #[case] text: &str,
        #[case] decimals: u8,
        #[case] rounding: Rounding,
        #[case] want: Option<u128>,
    ) {
        let q = Quantity::parse(text).expect("quantity");
        assert_eq!(q.at_scale_rounded(decimals, rounding), want);
    }

    #[rstest]
    #[case("138024.953446637651425098", 18, 138_024_953_446_637_651_425_098)]
    #[case("99740.674246957909435", 15, 99_740_674_246_957_909_435)]
    #[case("340282366920938463463374607431768211455", 0, u128::MAX)]
    #[case("340.282366920938463463374607431768211455", 36, u128::MAX)]
    #[case("1E+20", 0, 100_000_000_000_000_000_000)]
    #[case("0.0100", 2, 1)]
    #[case("-0.0", 4, 0)]
    #[case("0E+99999999999", 3, 0)]
    fn wide_parse_keeps_every_digit(#[case] text: &str, #[case] decimals: u8, #[case] want: u128) {
        assert_eq!(parse_fixed_wide(text, decimals), Ok(want));
    }

    #[test]
    fn wide_parse_refuses_what_does_not_fit_and_floor_rounds_down() {
        assert!(matches!(
            parse_fixed_wide("340282366920938463463374607431768211456", 0),
            Err(DecimalError::Overflow { .. })
        ));
        assert!(matches!(
            parse_fixed_wide("1e39", 0),
            Err(DecimalError::Overflow { .. })
        ));
        assert!(matches!(
            parse_fixed_wide("0.005", 2),
            Err(DecimalError::TooPrecise { .. })
        ));
        assert!(matches!(
            parse_fixed_wide("-1", 2),
            Err(DecimalError::Negative(_))
        ));
        assert!(matches!(
            parse_fixed_wide("Infinity", 2),
            Err(DecimalError::NotFinite(_))
        ));
        for bad in ["", ".", "1e", "1.2.3", "1e+", "e5", "1 ", "0x10"] {
            assert!(parse_fixed_wide(bad, 2).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_fixed_wide("1", 37),
            Err(DecimalError::BadPrecision(37))
        );
        assert_eq!(
            parse_fixed_wide_floor("100000.123456789", 2),
            Ok(10_000_012)
        );
        assert_eq!(parse_fixed_wide_floor("0.009", 2), Ok(0));
        assert_eq!(parse_fixed_wide_floor("1.5E-99999", 2), Ok(0));
        assert_eq!(parse_fixed_wide_floor("12.5", 2), Ok(1_250));
    }

    /// The general path alone, for checking the fast path against it.
    fn parse_general(text: &str, decimals: u8) -> Result<u64, DecimalError> {
        let scaled = scale_parts(text, parse_parts(text)?, decimals)?;
        u64::try_from(scaled).map_err(|_| DecimalError::Overflow {
            text: text.to_owned(),
            decimals,
        })
    }

    #[test]
    fn never_drops_digits_of_a_long_mantissa_with_a_negative_exponent() {
        // 1 + 1.2e-38: its last digits are beyond any precision, so it is refused, not 1.
        let text = "1000000000000000000000000000000000000012e-39";
        assert!(matches!(
            parse_fixed(text, 2),
            Err(DecimalError::TooPrecise { .. })
        ));
        assert!(matches!(
            parse_fixed_wide(text, 36),
            Err(DecimalError::TooPrecise { .. })
        ));
        assert!(matches!(
            Quantity::parse(text),
            Err(DecimalError::TooPrecise { .. })
        ));
        // Integer digits beyond 38 are not dropped either: this is too large, not 10^39.
        assert!(matches!(
            parse_fixed("1000000000000000000000000000000000000012", 0),
            Err(DecimalError::Overflow { .. })
        ));
        // Many zeros around few significant digits stay exact.
        let zeros = format!("0.{}1{}", "0".repeat(10), "0".repeat(100));
        assert_eq!(parse_fixed(&zeros, 11), Ok(1));
        assert_eq!(
            parse_fixed(&format!("{}e-100", zeros), 18),
            Err(DecimalError::TooPrecise {
                text: excerpt(&format!("{zeros}e-100")),
                decimals: 18,
            })
        );
        assert_eq!(
            parse_fixed_wide("123456789012345678901234567890.5", 1),
            Ok(1_234_567_890_123_456_789_012_345_678_905)
        );
    }

    #[test]
    fn cut_quoted_cuts_only_long_quoted_runs() {
        assert_eq!(
            cut_quoted("expected u64, got \"abc\""),
            "expected u64, got \"abc\""
        );
        let long = "x".repeat(1000);
        assert_eq!(
            cut_quoted(&format!(
                "invalid type: string \"{long}\", expected u64 at line 1"
            )),
            format!(
                "invalid type: string \"{}...(1000 chars)\", expected u64 at line 1",
                "x".repeat(40)
            )
        );
        assert_eq!(cut_quoted("unterminated \"ab"), "unterminated \"ab");
        assert_eq!(cut_quoted("esc \"a\\\"b\" end"), "esc \"a\\\"b\" end");
    }

    #[test]
    fn errors_quote_at_most_forty_characters_of_the_input() {
        let huge = "1".repeat(1_000_000);
        let message = parse_fixed(&huge, 2).unwrap_err().to_string();
        assert!(message.len() < 100, "{message}");
        assert!(message.contains("...(1000000 chars)"), "{message}");
        assert_eq!(excerpt("short"), "short");
        let exact = "é".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
        assert_eq!(
            excerpt(&"é".repeat(EXCERPT_CHARS + 1)),
            format!("{}...(41 chars)", "é".repeat(EXCERPT_CHARS))
        );
    }

    /// What `digits * 10^power` is at `decimals` places, by string arithmetic alone: the exact
    /// integer as decimal text (no leading zeros), or `None` if a non-zero digit is cut off.
    fn reference_units(digits: &str, power: i64, decimals: u8) -> Option<String> {
        let shift = power + i64::from(decimals);
        let text = if shift >= 0 {
            format!("{digits}{}", "0".repeat(shift as usize))
        } else {
            let cut = (-shift) as usize;
            let keep = digits.len().saturating_sub(cut);
            if digits.bytes().skip(keep).any(|b| b != b'0') {
                return None;
            }
            digits[..keep].to_owned()
        };
        let trimmed = text.trim_start_matches('0');
        Some(if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        })
    }

    /// `a <= b` for decimal integer texts without leading zeros.
    fn at_most(a: &str, b: &str) -> bool {
        (a.len(), a) <= (b.len(), b)
    }

    proptest::proptest! {
        /// The fast conversion gives the float the plain `as` conversion gives, for values that
        /// fit a `u64` and for those that do not.
        #[test]
        fn u128_to_f64_is_the_nearest_float(
            low in proptest::num::u64::ANY,
            high in proptest::num::u64::ANY,
            wide in proptest::bool::ANY,
        ) {
            let value = if wide { (u128::from(high) << 64) | u128::from(low) } else { u128::from(low) };
            proptest::prop_assert_eq!(u128_to_f64(value).to_bits(), (value as f64).to_bits());
        }
    }

    proptest::proptest! {
        /// For any digits, point and exponent, the parser returns the exact value or refuses it
        /// (too precise exactly when a non-zero digit lies beyond the precision).
        #[test]
        fn parser_is_exact_or_refuses(
            int_part in "[0-9]{0,45}",
            frac_part in "[0-9]{0,45}",
            point in proptest::bool::ANY,
            exponent in -60i64..60,
            decimals in 0u8..=18,
            wide_decimals in 0u8..=36,
        ) {
            let frac_part = if point { frac_part } else { String::new() };
            let digits = format!("{int_part}{frac_part}");
            proptest::prop_assume!(!digits.is_empty());
            let text = if point {
                format!("{int_part}.{frac_part}e{exponent}")
            } else {
                format!("{int_part}e{exponent}")
            };
            let power = exponent - frac_part.len() as i64;
            match reference_units(&digits, power, decimals) {
                None => proptest::prop_assert!(
                    matches!(parse_fixed(&text, decimals), Err(DecimalError::TooPrecise { .. })),
                    "{} at {}: {:?}", text, decimals, parse_fixed(&text, decimals)
                ),
                Some(want) if at_most(&want, &u64::MAX.to_string()) => {
                    proptest::prop_assert_eq!(parse_fixed(&text, decimals).map(|v| v.to_string()), Ok(want));
                }
                Some(_) => proptest::prop_assert!(
                    matches!(parse_fixed(&text, decimals), Err(DecimalError::Overflow { .. })),
                    "{} at {}: {:?}", text, decimals, parse_fixed(&text, decimals)
                ),
            }
            match (reference_units(&digits, power, wide_decimals), parse_fixed_wide(&text, wide_decimals)) {
                (None, got) => proptest::prop_assert!(matches!(got, Err(DecimalError::TooPrecise { .. })), "{:?}", got),
                (Some(want), Ok(got)) => proptest::prop_assert_eq!(got.to_string(), want),
                // Refusing is allowed only beyond 38 significant digits.
                (Some(want), Err(err)) => proptest::prop_assert!(
                    matches!(err, DecimalError::Overflow { .. }) && want.len() >= 39,
                    "{} at {}: {:?}", text, wide_decimals, err
                ),
            }
        }

        #[test]
        fn plain_fast_path_agrees_with_the_general_parser(
            text in "[0-9]{0,14}(\\.[0-9]{0,14})?",
            decimals in 0u8..=18,
        ) {
            if let Some(value) = parse_plain(text.as_bytes(), decimals) {
                proptest::prop_assert_eq!(parse_general(&text, decimals), Ok(value));
            }
            let general = parse_general(&text, decimals).ok();
            proptest::prop_assert_eq!(parse_fixed(&text, decimals).ok(), general);
        }

        /// The wide parser agrees with the 64-bit one wherever that one succeeds, and every
        /// 128-bit value it is given as text comes back unchanged.
        #[test]
        fn wide_parse_agrees_and_round_trips(
            text in "[0-9]{0,20}(\\.[0-9]{0,20})?([eE][+-]?[0-9]{1,2})?",
            decimals in 0u8..=18,
            value: u128,
            wide_decimals in 0u8..=36,
        ) {
            if let Ok(narrow) = parse_fixed(&text, decimals) {
                proptest::prop_assert_eq!(parse_fixed_wide(&text, decimals), Ok(u128::from(narrow)));
            }
            let formatted = format_fixed(value, wide_decimals);
            proptest::prop_assert_eq!(parse_fixed_wide(&formatted, wide_decimals), Ok(value));
        }

        #[test]
        fn format_then_parse_round_trips(value in 0u64..u64::MAX, decimals in 0u8..=18) {
            let text = format_fixed(u128::from(value), decimals);
            proptest::prop_assert_eq!(parse_fixed(&text, decimals), Ok(value));
        }
    }
}
