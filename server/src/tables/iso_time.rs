//! Calendar time in the two text forms DynamoDB uses: ISO-8601 with milliseconds for
//! stream labels (`2026-11-29T15:00:00.000`) and SigV4's basic form for `X-Amz-Date`
//! (`20261129T150000Z`). UTC only, proleptic Gregorian calendar (Howard Hinnant's
//! days-from-civil algorithms), so no date crate is needed for two formats.

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// (year, month, day, hour, minute, second) of Unix seconds.
fn split(secs: i64) -> (i64, u32, u32, i64, i64, i64) {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `YYYY-MM-DDTHH:MM:SS.mmm` of Unix milliseconds (DynamoDB's stream labels).
pub fn iso_millis(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = split(ms.div_euclid(1000));
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}",
        ms.rem_euclid(1000)
    )
}

/// `YYYYMMDDTHHMMSSZ` of Unix seconds (SigV4's `X-Amz-Date`).
pub fn amz_date(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = split(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Unix seconds of a `YYYYMMDDTHHMMSSZ` date; `None` if it is not one.
pub fn parse_amz_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    valid.then(|| {
        days_from_civil(year, month as u32, day as u32) * 86_400
            + hour * 3600
            + minute * 60
            + second
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_and_parse() {
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000");
        // 2026-11-29T15:00:00Z, checked with `date -u -d @1795964400`.
        assert_eq!(iso_millis(1_795_964_400_123), "2026-11-29T15:00:00.123");
        assert_eq!(amz_date(1_795_964_400), "20261129T150000Z");
        assert_eq!(parse_amz_date("20261129T150000Z"), Some(1_795_964_400));
        // A leap day, and the day after it.
        assert_eq!(amz_date(1_709_164_800), "20240229T000000Z");
        assert_eq!(iso_millis(1_709_251_200_000), "2024-03-01T00:00:00.000");
        for bad in [
            "",
            "20261129 150000Z",
            "20261329T150000Z",
            "2026112T9150000Z",
            "20261129T150000",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn parsing_inverts_formatting() {
        for secs in [0, 951_782_400, 1_795_964_400, 4_102_444_799] {
            assert_eq!(parse_amz_date(&amz_date(secs)), Some(secs));
        }
    }
}
