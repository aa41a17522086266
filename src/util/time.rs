//! Wall-clock time, RFC 3339 timestamps and proleptic Gregorian date math.
//!
//! Everything here is UTC and whole Unix seconds unless a name says
//! otherwise. Dates convert through a day number (days since 1970-01-01,
//! negative before it) with Howard Hinnant's `days_from_civil` /
//! `civil_from_days` from `store::bucket`, which are exact for every year an
//! `i64` day count can reach and need no tables or time-zone database.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::store::bucket::{civil_from_days, days_from_civil, days_in_month};

const SECONDS_PER_DAY: i64 = 86_400;

/// Seconds since the Unix epoch, rounded down (negative if the clock is
/// set before 1970).
pub fn unix_now() -> i64 {
    let now = unix_now_f64();
    // For the non-negative times of any real clock, truncation is `floor`
    // without the libm call (keyed writes read this clock every time).
    if now >= 0.0 {
        now as i64
    } else {
        now.floor() as i64
    }
}

/// Seconds since the Unix epoch with sub-second precision.
pub fn unix_now_f64() -> f64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (the log timestamp form,
/// e.g. `2026-11-21T07:11:02Z`). Years outside 0..=9999 are written with
/// more digits or a sign and are not valid RFC 3339.
pub fn rfc3339_utc(secs: i64) -> String {
    let days = secs.div_euclid(SECONDS_PER_DAY);
    let of_day = secs.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", of_day / 3600, of_day / 60 % 60, of_day % 60)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` into Unix seconds
/// (`idempotency.prune` `before`, docs/protocol.md, idempotency.prune). `T` may also be `t`
/// or a space, `Z` may be `z`, the offset needs its colon, and a fraction
/// (one or more digits) is dropped, which floors the instant to whole
/// seconds. Returns `None` for anything else, including impossible dates
/// and times such as February 30 or second 60.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = number(&b[0..4])?;
    let month = number(&b[5..7])?;
    let day = number(&b[8..10])?;
    let hour = number(&b[11..13])?;
    let minute = number(&b[14..16])?;
    let second = number(&b[17..19])?;
    let separators_ok =
        b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b't' | b' ') && b[13] == b':' && b[16] == b':';
    if !separators_ok {
        return None;
    }

    let mut rest = &b[19..];
    if let [b'.', fraction @ ..] = rest {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = number(&[*h1, *h2])?;
            let minutes = number(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return None,
    };

    let month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
    let day = u32::try_from(day).ok().filter(|d| (1..=days_in_month(year, month)).contains(d))?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let local = days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    Some(local - offset)
}

/// A run of ASCII digits as a number; `None` if any byte is not a digit.
fn number(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_plausible() {
        // 2024-01-01 .. 2200-01-01
        let now = unix_now();
        assert!((1_704_067_200..7_258_118_400).contains(&now), "{now}");
        let precise = unix_now_f64();
        assert!((precise - now as f64).abs() < 2.0);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_245_397), "2026-11-21T07:16:37Z");
        assert_eq!(rfc3339_utc(1_795_245_062), "2026-11-21T07:11:02Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339_utc(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn parses_the_spec_forms() {
        assert_eq!(parse_rfc3339("2099-01-01T00:00:00Z"), Some(4_070_908_800));
        assert_eq!(parse_rfc3339("2026-11-21T07:11:02Z"), Some(1_795_245_062));
        assert_eq!(parse_rfc3339("2026-11-21t07:11:02z"), Some(1_795_245_062));
        assert_eq!(parse_rfc3339("2026-11-21 07:11:02Z"), Some(1_795_245_062));
        assert_eq!(parse_rfc3339("2026-11-21T08:11:02+01:00"), Some(1_795_245_062));
        assert_eq!(parse_rfc3339("2026-11-21T01:41:02-05:30"), Some(1_795_245_062));
        assert_eq!(parse_rfc3339("2026-11-21T07:11:02-00:00"), Some(1_795_245_062));
        assert_eq!(parse_rfc3339("2026-11-21T07:11:02.999999999999Z"), Some(1_795_245_062));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.5Z"), Some(-1));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00+23:59"), Some(-86_340));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "2026-05-29",
            "2026-05-29T00:00:00",
            "2026-05-29T00:00:00+0100",
            "2026-05-29T00:00:00+01",
            "2026-05-29T00:00:00+01:00:00",
            "2026-05-29T00:00:00.Z",
            "2026-05-29T00:00Z",
            "2026-05-29X00:00:00Z",
            "2026/05/29T00:00:00Z",
            "26-05-29T00:00:00Z",
            "+2026-05-29T00:00:00Z",
            "2026-5-29T00:00:00Z",
            "2026-05-29T00:00:00Z ",
            " 2026-05-29T00:00:00Z",
            "2026-05-29T00:00:00UTC",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-05-00T00:00:00Z",
            "2026-05-29T24:00:00Z",
            "2026-05-29T23:60:00Z",
            "2026-05-29T23:59:60Z",
            "2026-05-29T00:00:00+24:00",
            "2026-05-29T00:00:00+01:60",
            "2026-05-29T0a:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 5, 5), 20_578);
        assert_eq!(civil_from_days(20_578), (2026, 5, 5));
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2);
        assert_eq!(days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28), 1);
        assert_eq!(civil_from_days(days_from_civil(0, 1, 1)), (0, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(-400, 2, 29)), (-400, 2, 29));
        // Every day from 1600 to 2400 round-trips and follows the day before.
        let mut expected = days_from_civil(1600, 1, 1);
        for year in 1600..2400 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), expected);
                    assert_eq!(civil_from_days(expected), (year, month, day));
                    expected += 1;
                }
            }
        }
    }

    #[test]
    fn format_and_parse_agree() {
        for secs in [0, 1, 59, 86_399, 86_400, 951_868_799, 1_795_245_397, -86_401, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339_utc(secs)), Some(secs), "{secs}");
        }
    }
}
