//! One key's counter: its day buckets, sorted, plus a cached total.
//!
//! A counter is the unit of memory in Karma, so it is laid out by hand: 32
//! bytes inline (the cached total, the point count, how the points are
//! encoded and a pointer to one heap block) and the block, holding the
//! points in the narrowest of a few fixed-width encodings, usually 4 bytes
//! per point (see `packed` for the format and its capacity policy). The
//! common write, adding to today's bucket, is a search from the newest
//! point and an in-place update; a new bucket is appended in place most
//! days. `counter.sum` reads the cached total; range
//! sums are a search plus a scan of at most 367 points. Searches gallop
//! backwards from the newest point before bisecting, because writes and
//! queries nearly always concern recent days.
//!
//! All arithmetic is checked: a change that would wrap a `u64` (a bucket or
//! the total) is refused with [`Overflow`] before anything changes.

mod packed;
#[cfg(test)]
mod tests;

use std::fmt;

use super::bucket::Bucket;
use packed::{pack, unpack, Packed};

/// A change would make a bucket or a key total exceed `u64::MAX`.
#[derive(Debug, PartialEq, Eq, Clone, Copy, thiserror::Error)]
#[error("counter overflow")]
pub struct Overflow;

/// The day buckets of one key and their cached total.
///
/// Invariant: `points` holds strictly ascending buckets and no zero value
/// (and upholds its own encoding invariant), and `total` equals the sum of
/// all values (which therefore fits a `u64`). Checked with `debug_assert!`
/// after every change.
#[derive(Clone, Default)]
// The total first: in a series' hash table it then sits next to the key,
// in the cache line a `counter.sum` or `batch_sum` lookup reads anyway.
#[repr(C)]
pub struct Counter {
    total: u64,
    points: Packed,
}

impl Counter {
    /// An empty counter: no buckets, total 0.
    pub fn new() -> Counter {
        Counter::default()
    }

    /// A counter holding `points`, given in any order. Zero values are
    /// dropped and duplicate buckets summed; fails if a bucket or the total
    /// would exceed `u64::MAX`.
    pub fn from_points(mut points: Vec<(Bucket, u64)>) -> Result<Counter, Overflow> {
        points.retain(|&(_, value)| value > 0);
        points.sort_unstable_by_key(|&(bucket, _)| bucket);
        let mut merged: Vec<(u32, u64)> = Vec::with_capacity(points.len());
        let mut total: u64 = 0;
        for (bucket, value) in points {
            total = total.checked_add(value).ok_or(Overflow)?;
            let day = pack(bucket);
            match merged.last_mut() {
                Some(last) if last.0 == day => last.1 = last.1.checked_add(value).ok_or(Overflow)?,
                _ => merged.push((day, value)),
            }
        }
        let counter = Counter { points: Packed::from_sorted(&merged), total };
        debug_assert!(counter.invariant_holds());
        Ok(counter)
    }

    /// The sum of all buckets (`counter.sum` without a range).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many buckets hold a value.
    pub fn bucket_count(&self) -> usize {
        self.points.len()
    }

    /// True when the counter has no buckets (an "empty counter").
    pub fn is_empty(&self) -> bool {
        self.points.len() == 0
    }

    /// The value of `bucket`, 0 when absent.
    pub fn get(&self, bucket: Bucket) -> u64 {
        self.points.find(pack(bucket)).map_or(0, |(_, value)| value)
    }

    /// Every bucket and its value, ascending by bucket.
    pub fn points(&self) -> impl ExactSizeIterator<Item = (Bucket, u64)> + '_ {
        self.points.iter(0, self.points.len()).map(|(day, value)| (unpack(day), value))
    }

    /// The buckets with `from <= bucket <= to`, ascending.
    pub fn range_points(&self, from: Bucket, to: Bucket) -> impl Iterator<Item = (Bucket, u64)> + '_ {
        let (start, end) = self.range_indices(from, to);
        self.points.iter(start, end).map(|(day, value)| (unpack(day), value))
    }

    /// The sum of the buckets with `from <= bucket <= to`. Never overflows:
    /// it is at most the total.
    pub fn range_sum(&self, from: Bucket, to: Bucket) -> u64 {
        let (start, end) = self.range_indices(from, to);
        self.points.sum(start, end)
    }

    /// How many buckets lie in `from..=to`.
    pub fn range_bucket_count(&self, from: Bucket, to: Bucket) -> usize {
        let (start, end) = self.range_indices(from, to);
        end - start
    }

    /// Whether adding `delta` to `bucket` keeps both the bucket and the
    /// total within `u64`.
    pub fn check_add(&self, bucket: Bucket, delta: u64) -> Result<(), Overflow> {
        self.get(bucket).checked_add(delta).ok_or(Overflow)?;
        self.total.checked_add(delta).ok_or(Overflow)?;
        Ok(())
    }

    /// Adds `delta` to `bucket` (creating it) and to the total. Checked
    /// first: on `Overflow` nothing changes. A zero delta changes nothing.
    pub fn add(&mut self, bucket: Bucket, delta: u64) -> Result<(), Overflow> {
        let day = pack(bucket);
        let found = self.points.find(day);
        let current = found.map_or(0, |(_, value)| value);
        let value = current.checked_add(delta).ok_or(Overflow)?;
        let total = self.total.checked_add(delta).ok_or(Overflow)?;
        if delta == 0 {
            return Ok(());
        }
        match found {
            Ok((index, _)) => self.points.set_value(index, value),
            Err(index) => self.points.insert(index, day, value),
        }
        self.total = total;
        debug_assert!(self.invariant_holds());
        Ok(())
    }

    /// Removes `min(current, delta)` from `bucket` (`counter.decrement`):
    /// values floor at zero and a bucket reaching 0 is deleted. A missing
    /// bucket is left alone. Returns the amount actually removed.
    pub fn sub_floor(&mut self, bucket: Bucket, delta: u64) -> u64 {
        let Ok((index, current)) = self.points.find(pack(bucket)) else {
            return 0;
        };
        let removed = current.min(delta);
        if removed == current {
            // Also takes the value off the total.
            self.remove_range(index, index + 1);
        } else if removed > 0 {
            self.points.set_value(index, current - removed);
            self.total -= removed;
        }
        debug_assert!(self.invariant_holds());
        removed
    }

    /// Sets `bucket` to exactly `value` (`series.batch_set`); 0 deletes it.
    /// Fails, changing nothing, if the new total would exceed `u64::MAX`.
    pub fn set(&mut self, bucket: Bucket, value: u64) -> Result<(), Overflow> {
        let day = pack(bucket);
        let found = self.points.find(day);
        let current = found.map_or(0, |(_, value)| value);
        let total = (self.total - current).checked_add(value).ok_or(Overflow)?;
        match (found, value) {
            (Ok((index, _)), 0) => {
                self.remove_range(index, index + 1);
            }
            (Ok((index, _)), _) => self.points.set_value(index, value),
            (Err(_), 0) => {}
            (Err(index), _) => self.points.insert(index, day, value),
        }
        self.total = total;
        debug_assert!(self.invariant_holds());
        Ok(())
    }

    /// Deletes the buckets in `from..=to`. Returns how many were removed.
    pub fn delete_range(&mut self, from: Bucket, to: Bucket) -> usize {
        let (start, end) = self.range_indices(from, to);
        self.remove_range(start, end)
    }

    /// Deletes the buckets whose `YYYYMMDD` is below `before`, a raw
    /// retention boundary that need not be a valid date (0 deletes
    /// nothing). Returns how many were removed.
    pub fn delete_before(&mut self, before: u64) -> usize {
        let end = self.points.count_before(before);
        self.remove_range(0, end)
    }

    /// Deletes every bucket; the counter stays, empty.
    pub fn clear(&mut self) {
        self.points = Packed::default();
        self.total = 0;
    }

    /// Heap memory owned by this counter, in bytes: its whole block, spare
    /// room included.
    pub fn heap_bytes(&self) -> usize {
        self.points.capacity_bytes()
    }

    /// The index range of the points in `from..=to` (empty if `from > to`).
    fn range_indices(&self, from: Bucket, to: Bucket) -> (usize, usize) {
        let start = self.points.lower_bound(pack(from));
        // Packed dates stay below 2^23, so `+ 1` cannot wrap.
        let end = self.points.lower_bound(pack(to) + 1);
        (start, end.max(start))
    }

    /// Removes the points at `start..end` and their values from the total.
    /// Returns how many were removed.
    fn remove_range(&mut self, start: usize, end: usize) -> usize {
        if start >= end {
            return 0;
        }
        // At most the total, so the sum did not wrap.
        self.total -= self.points.remove(start, end);
        debug_assert!(self.invariant_holds());
        end - start
    }

    /// The type invariant (see [`Counter`]).
    fn invariant_holds(&self) -> bool {
        let sum: u128 = self.points().map(|(_, value)| u128::from(value)).sum();
        self.points.invariant_holds() && sum == u128::from(self.total)
    }
}

/// Equal when the buckets, values and totals are; the encoding and spare
/// room do not matter.
impl PartialEq for Counter {
    fn eq(&self, other: &Counter) -> bool {
        self.total == other.total && self.points().eq(other.points())
    }
}

impl Eq for Counter {}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let points: Vec<(u32, u64)> = self.points().map(|(bucket, value)| (bucket.yyyymmdd(), value)).collect();
        f.debug_struct("Counter").field("points", &points).field("total", &self.total).finish()
    }
}
