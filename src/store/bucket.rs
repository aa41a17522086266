//! Day buckets: a real UTC calendar day, stored as the number `YYYYMMDD`.
//!
//! The wire protocol names buckets by their `YYYYMMDD` decimal value, so we
//! keep exactly that number in a `u32`: numeric order is chronological
//! order, rendering is a plain integer, and no conversion is needed on the
//! hot path. Day arithmetic (range widths, "today", retention) goes through
//! day numbers (days since 1970-01-01, proleptic Gregorian calendar), with
//! `util::calendar`.
//!
//! Karma 1.0 stores any `u64` as a write bucket; we deliberately accept only
//! real dates (docs/protocol.md, Differences from Karma 1.0), so a [`Bucket`] can only be built
//! through the validating constructors below.

use crate::util::calendar::{civil_from_days, days_from_civil, days_in_month};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A real UTC calendar day between 1000-01-01 and 9999-12-31, as `YYYYMMDD`.
///
/// Invariant: the inner value is a valid Gregorian date `YYYYMMDD` with the
/// year in `1000..=9999`; every constructor checks it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Bucket(u32);

/// The first representable day, 1000-01-01.
const MIN_YYYYMMDD: u32 = 10000101;
/// The last representable day, 9999-12-31.
const MAX_YYYYMMDD: u32 = 99991231;
/// `days_from_civil(1000, 1, 1)`.
const MIN_DAY_NUMBER: i64 = -354_285;
/// `days_from_civil(9999, 12, 31)`.
const MAX_DAY_NUMBER: i64 = 2_932_896;
const SECONDS_PER_DAY: i64 = 86_400;

impl Bucket {
    /// The earliest bucket, 1000-01-01.
    pub const MIN: Bucket = Bucket(MIN_YYYYMMDD);
    /// The latest bucket, 9999-12-31.
    pub const MAX: Bucket = Bucket(MAX_YYYYMMDD);

    /// The bucket for a `YYYYMMDD` number, or `None` unless it names a real
    /// calendar day with the year in `1000..=9999`.
    pub fn from_yyyymmdd(value: u64) -> Option<Bucket> {
        if value < u64::from(MIN_YYYYMMDD) || value > u64::from(MAX_YYYYMMDD) {
            return None;
        }
        let year = value / 10_000;
        let month = ((value / 100) % 100) as u32;
        let day = (value % 100) as u32;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year as i64, month) {
            return None;
        }
        // The range check above makes the value fit a u32.
        Some(Bucket(value as u32))
    }

    /// Rebuilds a bucket from a `yyyymmdd()` value that this module
    /// validated earlier (the compact storage in `Counter`), skipping the
    /// date check on the read path.
    pub(super) fn from_stored(value: u32) -> Bucket {
        debug_assert!(Bucket::from_yyyymmdd(u64::from(value)).is_some());
        Bucket(value)
    }

    /// The `YYYYMMDD` number of this day.
    pub fn yyyymmdd(self) -> u32 {
        self.0
    }

    /// The bucket `days_since_epoch` days after 1970-01-01, or `None` when
    /// that day falls outside the years 1000..=9999.
    pub fn from_day_number(days_since_epoch: i64) -> Option<Bucket> {
        if !(MIN_DAY_NUMBER..=MAX_DAY_NUMBER).contains(&days_since_epoch) {
            return None;
        }
        let (year, month, day) = civil_from_days(days_since_epoch);
        // Within the day range the year is 1000..=9999, so this fits a u32.
        Some(Bucket(year as u32 * 10_000 + month * 100 + day))
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn day_number(self) -> i64 {
        let year = i64::from(self.0 / 10_000);
        let month = (self.0 / 100) % 100;
        let day = self.0 % 100;
        days_from_civil(year, month, day)
    }

    /// The UTC day containing the Unix time `secs`, clamped to
    /// [`Bucket::MIN`]..=[`Bucket::MAX`].
    pub fn from_unix_seconds(secs: i64) -> Bucket {
        let days = secs.div_euclid(SECONDS_PER_DAY).clamp(MIN_DAY_NUMBER, MAX_DAY_NUMBER);
        Bucket::from_day_number(days).unwrap_or(Bucket::MIN)
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Bucket {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970 still names a day; round towards the past.
            Err(before) => {
                let behind = before.duration();
                let whole = i64::try_from(behind.as_secs()).unwrap_or(i64::MAX);
                let partial = i64::from(behind.subsec_nanos() > 0);
                whole.saturating_add(partial).saturating_neg()
            }
        };
        Bucket::from_unix_seconds(secs)
    }

    /// `to - from` in days (negative when `to` is earlier).
    pub fn days_between(from: Bucket, to: Bucket) -> i64 {
        to.day_number() - from.day_number()
    }
}

impl fmt::Display for Bucket {
    /// Renders the bucket as on the wire: `20260505`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests;
