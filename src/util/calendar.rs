//! Proleptic Gregorian civil dates and day numbers (days since 1970-01-01,
//! negative before it), with Howard Hinnant's `days_from_civil` /
//! `civil_from_days` algorithms: exact for every year an `i64` day count can
//! reach, no tables, no time-zone database. Day buckets (`store::bucket`)
//! and RFC 3339 timestamps (`util::time`) both count days through here.

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days in `month` (1..=12) of the proleptic Gregorian
/// `year`; 0 for any other month.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day`
/// (1970-01-01 = 0). `month` should be 1..=12 and `day` 1..=31; other values
/// give an unspecified (but non-panicking) result. Results beyond the `i64`
/// range saturate.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // i128 keeps every intermediate exact for any input.
    let (month, day) = (i128::from(month), i128::from(day));
    // Count years from March, so the leap day ends the year.
    let year = i128::from(year) - i128::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    days.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The proleptic Gregorian date `(year, month, day)` that is `days` days
/// after 1970-01-01. The inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = i128::from(days) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    // |year| <= |days| / 365 + 1, so it fits an i64.
    (year as i64, month, day)
}

#[cfg(test)]
mod tests;
