//! DynamoDB numbers: arbitrary-precision decimals (up to 38 significant digits, exponent
//! -130..=125), compared numerically, printed in canonical form, and encoded into bytes whose
//! order is the numeric order (for sort keys and comparisons).

use std::cmp::Ordering;

/// A parsed, normalised decimal: `sign × 0.d1d2d3… × 10^exponent` with no leading or trailing
/// zero digits (zero has no digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    negative: bool,
    digits: Vec<u8>,
    exponent: i32,
}

impl Number {
    /// Parses a DynamoDB number string (`-12.50`, `1e3`, `.5`), with DynamoDB's limits.
    pub fn parse(text: &str) -> Result<Number, String> {
        let invalid = || format!("The parameter cannot be converted to a numeric value: {text}");
        let s = text.trim();
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (
                &rest[..i],
                rest[i + 1..].parse::<i32>().map_err(|_| invalid())?,
            ),
            None => (rest, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part
                .bytes()
                .chain(frac_part.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let all: Vec<u8> = int_part
            .bytes()
            .chain(frac_part.bytes())
            .map(|b| b - b'0')
            .collect();
        let leading = all.iter().take_while(|d| **d == 0).count();
        let digits: Vec<u8> = all[leading..].to_vec();
        let trailing = digits.iter().rev().take_while(|d| **d == 0).count();
        let digits = digits[..digits.len() - trailing].to_vec();
        if digits.is_empty() {
            return Ok(Number {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        let exponent = int_part.len() as i32 - leading as i32 + exp;
        if digits.len() > 38 {
            return Err("Attempting to store more than 38 significant digits in a Number".into());
        }
        if exponent > 126 {
            return Err("Number overflow. Attempting to store a number with magnitude larger than supported range".into());
        }
        if exponent < -129 {
            return Err("Number underflow. Attempting to store a number with magnitude smaller than supported range".into());
        }
        Ok(Number {
            negative,
            digits,
            exponent,
        })
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Canonical text: plain decimal notation, no superfluous zeros.
    pub fn to_canonical(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let digits: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        let n = digits.len() as i32;
        if self.exponent <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-self.exponent) as usize));
            out.push_str(&digits);
        } else if self.exponent >= n {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (self.exponent - n) as usize));
        } else {
            out.push_str(&digits[..self.exponent as usize]);
            out.push('.');
            out.push_str(&digits[self.exponent as usize..]);
        }
        out
    }

    /// Order-preserving bytes: `0x80` for zero; positives `0x81 ‖ exponent ‖ digits ‖ 0x00`;
    /// negatives `0x7F ‖ inverted exponent ‖ inverted digits ‖ 0xFF`.
    pub fn encode(&self) -> Vec<u8> {
        if self.is_zero() {
            return vec![0x80];
        }
        let biased = (self.exponent + 1000) as u16;
        let mut out = Vec::with_capacity(self.digits.len() + 4);
        if self.negative {
            out.push(0x7f);
            out.extend_from_slice(&(!biased).to_be_bytes());
            out.extend(self.digits.iter().map(|d| b'9' - d));
            out.push(0xff);
        } else {
            out.push(0x81);
            out.extend_from_slice(&biased.to_be_bytes());
            out.extend(self.digits.iter().map(|d| b'0' + d));
            out.push(0x00);
        }
        out
    }

    /// f64 approximation (for arithmetic in update expressions).
    pub fn to_f64(&self) -> f64 {
        self.to_canonical().parse().unwrap_or(0.0)
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.encode().cmp(&other.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_forms() {
        for (input, canonical) in [
            ("1.50", "1.5"),
            ("0010", "10"),
            ("-0.0", "0"),
            ("1e3", "1000"),
            (".5", "0.5"),
            ("-12.345e-2", "-0.12345"),
            ("100", "100"),
        ] {
            assert_eq!(
                Number::parse(input).unwrap().to_canonical(),
                canonical,
                "{input}"
            );
        }
        assert!(Number::parse("abc").is_err());
        assert!(Number::parse("1e200").is_err());
        assert!(Number::parse(&"1".repeat(39)).is_err());
    }

    proptest! {
        #[test]
        fn encoding_order_is_numeric_order(a in -1.0e12f64..1.0e12, b in -1.0e12f64..1.0e12) {
            let (na, nb) = (Number::parse(&format!("{a}")).unwrap(), Number::parse(&format!("{b}")).unwrap());
            prop_assert_eq!(a.partial_cmp(&b).unwrap(), na.encode().cmp(&nb.encode()));
            prop_assert_eq!(Number::parse(&na.to_canonical()).unwrap(), na);
        }
    }
}
