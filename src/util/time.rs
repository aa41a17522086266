//! Wall-clock time and RFC 3339 timestamps.
//!
//! Everything here is UTC and whole Unix seconds unless a name says
//! otherwise. Dates convert through a day number (days since 1970-01-01,
//! negative before it) with `util::calendar`.

use std::time::{SystemTime, UNIX_EPOCH};

use super::calendar::{civil_from_days, days_from_civil, days_in_month};

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
mod tests;
