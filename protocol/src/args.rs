//! Argument parsing helpers with Redis's exact acceptance rules.
//!
//! Redis is strict about numbers (`string2ll`: no `+`, no leading zeros, no spaces) and that
//! strictness is visible to clients through errors, so the rules are reproduced here.

/// Parses a signed 64-bit integer exactly as Redis's `string2ll` does.
pub fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        if value > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// Parses a double like Redis's `string2d`/`strtod` checks: no leading space, no trailing
/// garbage, no NaN, and no overflow to infinity unless infinity was written out.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let value: f64 = text.parse().ok()?;
    if value.is_nan() {
        return None;
    }
    if value.is_infinite() && !text.to_ascii_lowercase().contains("inf") {
        return None;
    }
    Some(value)
}

/// Formats a double as C's `printf("%.17g")`, which is how Redis 7.0 replies with one
/// (`addReplyDouble`: ZSCORE, ZRANGE WITHSCORES, ZINCRBY…): 17 significant digits, trailing
/// zeros dropped, `1e+30` style below 1e-4 and from 1e17, `inf`/`-inf`/`nan`.
pub fn format_double_g17(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d < 0.0 { "-inf".into() } else { "inf".into() };
    }
    // `{:.16e}` rounds correctly to 17 significant digits, like glibc's printf.
    let sci = format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp10: i32 = exp.parse().expect("valid exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if !(-4..17).contains(&exp10) {
        let mantissa = trim(format!("{}.{}", &digits[..1], &digits[1..]));
        let exp_sign = if exp10 < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{exp_sign}{:02}", exp10.abs());
    }
    let fixed = if exp10 >= 0 {
        let int_len = exp10 as usize + 1;
        format!("{}.{}", &digits[..int_len], &digits[int_len..])
    } else {
        format!("0.{}{}", "0".repeat((-exp10 - 1) as usize), digits)
    };
    format!("{sign}{}", trim(fixed))
}

/// Formats a double the way Redis 7.2 replies with it (`fpconv_dtoa`): shortest round-trip
/// digits, plain notation for moderate exponents, `1e+20` style otherwise, `inf`/`-inf`.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // `{:e}` yields the shortest round-trip digits, e.g. "-1.2345e-7".
    let sci = format!("{:e}", d.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp10: i32 = exp.parse().expect("valid exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let ndigits = digits.len() as i32;
    // value = digits * 10^k
    let k = exp10 - (ndigits - 1);
    let mut out = String::with_capacity(24);
    if d < 0.0 {
        out.push('-');
    }
    let abs_exp = (k + ndigits - 1).abs();
    if k >= 0 && abs_exp < ndigits + 7 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', k as usize));
    } else if k < 0 && (k > -7 || abs_exp < 4) {
        let offset = ndigits + k;
        if offset <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-offset) as usize));
            out.push_str(&digits);
        } else {
            out.push_str(&digits[..offset as usize]);
            out.push('.');
            out.push_str(&digits[offset as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if ndigits > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp10 < 0 { '-' } else { '+' });
        out.push_str(&exp10.abs().to_string());
    }
    out
}

/// Formats the result of INCRBYFLOAT/HINCRBYFLOAT: plain decimal notation, never an
/// exponent (Redis prints these with `%.17Lf` and trims trailing zeros).
pub fn format_incr_float(d: f64) -> String {
    format!("{d}")
}

/// Case-insensitive ASCII comparison of an argument with an option keyword.
pub fn eq_ignore_case(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"-12"), Some(-12));
        assert_eq!(parse_i64_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"1.0",
            b"9223372036854775808",
            b"abc",
        ] {
            assert_eq!(parse_i64_strict(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn doubles_parse_like_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1e400"), None);
        assert_eq!(parse_f64(b"abc"), None);
    }

    #[test]
    fn doubles_format_like_printf_17g() {
        for (v, s) in [
            (0.1, "0.10000000000000001"),
            (0.4289898231760551, "0.42898982317605511"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (3.0, "3"),
            (1e30, "1e+30"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (123456.0, "123456"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-0.0, "-0"),
            (0.0, "0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(format_double_g17(v), s, "{v}");
        }
    }

    #[test]
    fn doubles_format_like_redis_7_2() {
        for (v, s) in [
            (0.1, "0.1"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (1e20, "1e+20"),
            (123456.0, "123456"),
            (1e15, "1e+15"),
            (1234567e7, "12345670000000"),
            (123e13, "1.23e+15"),
            (1e-7, "1e-7"),
            (0.000123, "0.000123"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (3.0e-5, "0.00003"),
        ] {
            assert_eq!(format_double(v), s, "{v}");
        }
    }

    proptest! {
        #[test]
        fn formatted_doubles_round_trip(v in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL) {
            let text = format_double(v);
            prop_assert_eq!(parse_f64(text.as_bytes()), Some(v));
        }

        #[test]
        fn integers_round_trip(v in any::<i64>()) {
            prop_assert_eq!(parse_i64_strict(v.to_string().as_bytes()), Some(v));
        }
    }
}
