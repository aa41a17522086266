//! One key's counter: its day buckets, sorted, plus a cached total.
//!
//! A counter is the unit of memory in Karma, so it is laid out by hand:
//! the points live in a `Box<[Point]>` (pointer + length, no spare
//! capacity) of 12-byte packed `(bucket, value)` pairs, next to the cached
//! total, for 24 bytes inline and exactly `12 * buckets` on the heap. A new
//! bucket reallocates the slice; that happens about once per key per day,
//! while the common write (adding to today's bucket) is a search and an
//! in-place update. `counter.sum` reads the cached total; range sums are a
//! search plus a scan of at most 367 points. Searches gallop backwards from
//! the newest point before bisecting, because writes and queries nearly
//! always concern recent days.
//!
//! All arithmetic is checked: a change that would wrap a `u64` (a bucket or
//! the total) is refused with [`Overflow`] before anything changes.

use std::fmt;
use std::mem::size_of;

use super::bucket::Bucket;

/// One stored bucket and its value. Packed so a point costs exactly 12
/// bytes; fields are only ever copied out, never borrowed.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Point {
    /// `Bucket::yyyymmdd()` of a valid bucket.
    bucket: u32,
    value: u64,
}

impl Point {
    fn new(bucket: Bucket, value: u64) -> Point {
        Point { bucket: bucket.yyyymmdd(), value }
    }

    fn pair(self) -> (Bucket, u64) {
        (self.bucket(), self.value)
    }

    fn bucket(self) -> Bucket {
        // Points are only built from valid buckets (Point::new).
        Bucket::from_stored(self.bucket)
    }
}

/// A change would make a bucket or a key total exceed `u64::MAX`.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Overflow;

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("counter overflow")
    }
}

impl std::error::Error for Overflow {}

/// The day buckets of one key and their cached total.
///
/// Invariant: `points` is sorted by strictly ascending bucket, holds no zero
/// value, and `total` equals the sum of all values (which therefore fits a
/// `u64`). Checked with `debug_assert!` after every change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    points: Box<[Point]>,
    total: u64,
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
        let mut merged: Vec<Point> = Vec::with_capacity(points.len());
        let mut total: u64 = 0;
        for (bucket, value) in points {
            total = total.checked_add(value).ok_or(Overflow)?;
            match merged.last_mut() {
                Some(last) if last.bucket == bucket.yyyymmdd() => {
                    last.value = { last.value }.checked_add(value).ok_or(Overflow)?;
                }
                _ => merged.push(Point::new(bucket, value)),
            }
        }
        let counter = Counter { points: merged.into_boxed_slice(), total };
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
        self.points.is_empty()
    }

    /// The value of `bucket`, 0 when absent.
    pub fn get(&self, bucket: Bucket) -> u64 {
        match self.search(bucket) {
            Ok(index) => self.points[index].value,
            Err(_) => 0,
        }
    }

    /// Every bucket and its value, ascending by bucket.
    pub fn points(&self) -> impl ExactSizeIterator<Item = (Bucket, u64)> + '_ {
        self.points.iter().map(|&point| point.pair())
    }

    /// The buckets with `from <= bucket <= to`, ascending.
    pub fn range_points(&self, from: Bucket, to: Bucket) -> impl Iterator<Item = (Bucket, u64)> + '_ {
        let (start, end) = self.range_indices(from, to);
        self.points[start..end].iter().map(|&point| point.pair())
    }

    /// The sum of the buckets with `from <= bucket <= to`. Never overflows:
    /// it is at most the total.
    pub fn range_sum(&self, from: Bucket, to: Bucket) -> u64 {
        let (start, end) = self.range_indices(from, to);
        self.points[start..end].iter().fold(0u64, |sum, point| sum.wrapping_add(point.value))
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
        self.check_add(bucket, delta)?;
        if delta == 0 {
            return Ok(());
        }
        match self.search(bucket) {
            Ok(index) => self.points[index].value = { self.points[index].value } + delta,
            Err(index) => self.insert_at(index, Point::new(bucket, delta)),
        }
        self.total += delta;
        debug_assert!(self.invariant_holds());
        Ok(())
    }

    /// Removes `min(current, delta)` from `bucket` (`counter.decrement`):
    /// values floor at zero and a bucket reaching 0 is deleted. A missing
    /// bucket is left alone. Returns the amount actually removed.
    pub fn sub_floor(&mut self, bucket: Bucket, delta: u64) -> u64 {
        let Ok(index) = self.search(bucket) else {
            return 0;
        };
        let current = self.points[index].value;
        let removed = current.min(delta);
        if removed == current {
            // Also takes the value off the total.
            self.remove_range(index, index + 1);
        } else {
            self.points[index].value = current - removed;
            self.total -= removed;
        }
        debug_assert!(self.invariant_holds());
        removed
    }

    /// Sets `bucket` to exactly `value` (`series.batch_set`); 0 deletes it.
    /// Fails, changing nothing, if the new total would exceed `u64::MAX`.
    pub fn set(&mut self, bucket: Bucket, value: u64) -> Result<(), Overflow> {
        let search = self.search(bucket);
        let current = match search {
            Ok(index) => self.points[index].value,
            Err(_) => 0,
        };
        let total = (self.total - current).checked_add(value).ok_or(Overflow)?;
        match (search, value) {
            (Ok(index), 0) => {
                self.remove_range(index, index + 1);
            }
            (Ok(index), _) => self.points[index].value = value,
            (Err(_), 0) => {}
            (Err(index), _) => self.insert_at(index, Point::new(bucket, value)),
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
        let end = self.points.partition_point(|point| u64::from(point.bucket) < before);
        self.remove_range(0, end)
    }

    /// Deletes every bucket; the counter stays, empty.
    pub fn clear(&mut self) {
        self.points = Box::default();
        self.total = 0;
    }

    /// Heap memory owned by this counter, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.points.len() * size_of::<Point>()
    }

    fn search(&self, bucket: Bucket) -> Result<usize, usize> {
        let wanted = bucket.yyyymmdd();
        let index = self.first_at_or_after(wanted);
        match self.points.get(index) {
            Some(point) if point.bucket == wanted => Ok(index),
            _ => Err(index),
        }
    }

    /// The index range of the points in `from..=to` (empty if `from > to`).
    fn range_indices(&self, from: Bucket, to: Bucket) -> (usize, usize) {
        let start = self.first_at_or_after(from.yyyymmdd());
        // Bucket::MAX (99991231) + 1 still fits a u32.
        let end = self.first_at_or_after(to.yyyymmdd() + 1);
        (start, end.max(start))
    }

    /// The index of the first point whose bucket is `>= wanted` (the length
    /// if none). Gallops backwards from the newest point before a binary
    /// search: writes and range queries nearly always concern recent days,
    /// so a large counter costs a few adjacent cache lines instead of a
    /// binary search's scattered probes.
    fn first_at_or_after(&self, wanted: u32) -> usize {
        let points = &self.points;
        // Invariant: points[hi..] are >= wanted, points[..lo] are < wanted.
        let (mut lo, mut hi) = (0, points.len());
        let mut step = 1;
        while hi > 0 {
            let probe = hi.saturating_sub(step);
            if points[probe].bucket < wanted {
                lo = probe + 1;
                break;
            }
            hi = probe;
            step *= 2;
        }
        lo + points[lo..hi].partition_point(|point| point.bucket < wanted)
    }

    /// Inserts `point` at `index`, reallocating to the exact new length.
    fn insert_at(&mut self, index: usize, point: Point) {
        let mut points = Vec::with_capacity(self.points.len() + 1);
        points.extend_from_slice(&self.points[..index]);
        points.push(point);
        points.extend_from_slice(&self.points[index..]);
        self.points = points.into_boxed_slice();
    }

    /// Removes the points at `start..end` and their values from the total,
    /// reallocating to the exact new length. Returns how many were removed.
    fn remove_range(&mut self, start: usize, end: usize) -> usize {
        if start >= end {
            return 0;
        }
        let removed: u64 = self.points[start..end].iter().fold(0u64, |sum, point| sum.wrapping_add(point.value));
        let mut points = std::mem::take(&mut self.points).into_vec();
        points.drain(start..end);
        // Shrinks the block to the exact new length (usually in place).
        self.points = points.into_boxed_slice();
        self.total -= removed;
        debug_assert!(self.invariant_holds());
        end - start
    }

    /// The type invariant (see [`Counter`]).
    fn invariant_holds(&self) -> bool {
        let sorted = self.points.windows(2).all(|pair| pair[0].bucket < pair[1].bucket);
        let valid =
            self.points.iter().all(|point| point.value > 0 && Bucket::from_yyyymmdd(u64::from(point.bucket)).is_some());
        let sum: u128 = self.points.iter().map(|point| u128::from(point.value)).sum();
        sorted && valid && sum == u128::from(self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(value: u64) -> Bucket {
        Bucket::from_yyyymmdd(value).expect("valid test date")
    }

    fn counter(points: &[(u64, u64)]) -> Counter {
        Counter::from_points(points.iter().map(|&(day, value)| (b(day), value)).collect()).expect("no overflow")
    }

    fn pairs(counter: &Counter) -> Vec<(u32, u64)> {
        counter.points().map(|(bucket, value)| (bucket.yyyymmdd(), value)).collect()
    }

    #[test]
    fn sizes() {
        assert_eq!(size_of::<Point>(), 12);
        assert_eq!(size_of::<Counter>(), 24);
    }

    #[test]
    fn seven_buckets_use_84_heap_bytes() {
        let days: Vec<(u64, u64)> = (1..=7).map(|day| (20260500 + day, day)).collect();
        let counter = counter(&days);
        assert_eq!(counter.heap_bytes(), 84);
        assert_eq!(Counter::new().heap_bytes(), 0);
    }

    #[test]
    fn from_points_sorts_merges_and_drops_zeros() {
        let c = counter(&[(20260503, 3), (20260501, 1), (20260502, 0), (20260501, 4)]);
        assert_eq!(pairs(&c), vec![(20260501, 5), (20260503, 3)]);
        assert_eq!(c.total(), 8);
        assert_eq!(c.bucket_count(), 2);
        assert!(!c.is_empty());
        assert!(counter(&[(20260501, 0)]).is_empty());
        let same_bucket = vec![(b(20260501), u64::MAX), (b(20260501), 1)];
        assert_eq!(Counter::from_points(same_bucket), Err(Overflow));
        let two_buckets = vec![(b(20260501), u64::MAX), (b(20260502), 1)];
        assert_eq!(Counter::from_points(two_buckets), Err(Overflow));
    }

    #[test]
    fn add_creates_and_updates_in_order() {
        let mut c = Counter::new();
        c.add(b(20260505), 5).unwrap();
        c.add(b(20260501), 1).unwrap();
        c.add(b(20260503), 3).unwrap();
        c.add(b(20260505), 2).unwrap();
        c.add(b(20260504), 0).unwrap();
        assert_eq!(pairs(&c), vec![(20260501, 1), (20260503, 3), (20260505, 7)]);
        assert_eq!(c.total(), 11);
        assert_eq!(c.get(b(20260505)), 7);
        assert_eq!(c.get(b(20260504)), 0);
    }

    #[test]
    fn add_up_to_u64_max_then_overflow_changes_nothing() {
        let mut c = Counter::new();
        c.add(b(20260501), u64::MAX - 1).unwrap();
        c.add(b(20260501), 1).unwrap();
        assert_eq!(c.get(b(20260501)), u64::MAX);
        assert_eq!(c.total(), u64::MAX);
        let before = c.clone();
        assert_eq!(c.check_add(b(20260501), 1), Err(Overflow));
        assert_eq!(c.add(b(20260501), 1), Err(Overflow));
        assert_eq!(c, before);
        // The total overflows even though the new bucket would fit.
        assert_eq!(c.add(b(20260502), 1), Err(Overflow));
        assert_eq!(c, before);
        assert_eq!(c.add(b(20260502), 0), Ok(()));
        assert_eq!(c, before);
    }

    #[test]
    fn total_overflow_across_two_buckets() {
        let mut c = counter(&[(20260501, u64::MAX / 2 + 1)]);
        assert_eq!(c.check_add(b(20260502), u64::MAX / 2), Ok(()));
        c.add(b(20260502), u64::MAX / 2).unwrap();
        assert_eq!(c.total(), u64::MAX);
        let before = c.clone();
        assert_eq!(c.add(b(20260502), 1), Err(Overflow));
        assert_eq!(c.add(b(20260503), 1), Err(Overflow));
        assert_eq!(c, before);
    }

    #[test]
    fn sub_floor_floors_at_zero_and_deletes() {
        let mut c = counter(&[(20260501, 5), (20260502, 3)]);
        assert_eq!(c.sub_floor(b(20260501), 2), 2);
        assert_eq!(pairs(&c), vec![(20260501, 3), (20260502, 3)]);
        assert_eq!(c.sub_floor(b(20260501), 100), 3);
        assert_eq!(pairs(&c), vec![(20260502, 3)]);
        assert_eq!(c.total(), 3);
        assert_eq!(c.sub_floor(b(20260501), 1), 0);
        assert_eq!(c.sub_floor(b(20260502), 3), 3);
        assert!(c.is_empty());
        assert_eq!(c.total(), 0);
        assert_eq!(c.heap_bytes(), 0);
    }

    #[test]
    fn set_replaces_deletes_and_checks_total() {
        let mut c = counter(&[(20260501, 5), (20260502, 3)]);
        c.set(b(20260501), 7).unwrap();
        c.set(b(20260503), 1).unwrap();
        c.set(b(20260502), 0).unwrap();
        c.set(b(20260504), 0).unwrap();
        assert_eq!(pairs(&c), vec![(20260501, 7), (20260503, 1)]);
        assert_eq!(c.total(), 8);
        // Replacing a bucket's value counts only the difference.
        c.set(b(20260501), u64::MAX - 1).unwrap();
        assert_eq!(c.total(), u64::MAX);
        let before = c.clone();
        assert_eq!(c.set(b(20260503), 2), Err(Overflow));
        assert_eq!(c, before);
        c.set(b(20260503), 0).unwrap();
        c.set(b(20260501), u64::MAX).unwrap();
        assert_eq!(c.total(), u64::MAX);
    }

    #[test]
    fn ranges_at_the_edges() {
        let c = counter(&[(20260101, 1), (20260102, 2), (20260105, 5), (20261231, 9)]);
        assert_eq!(c.range_sum(b(20260101), b(20260101)), 1);
        assert_eq!(c.range_sum(b(20260101), b(20260105)), 8);
        assert_eq!(c.range_sum(b(20260102), b(20260104)), 2);
        assert_eq!(c.range_sum(b(20260103), b(20260104)), 0);
        assert_eq!(c.range_sum(b(20251231), b(20270101)), 17);
        assert_eq!(c.range_sum(b(20261231), b(20261231)), 9);
        assert_eq!(c.range_sum(b(20270101), b(20271231)), 0);
        assert_eq!(c.range_sum(b(20250101), b(20251231)), 0);
        assert_eq!(c.range_sum(b(20260105), b(20260101)), 0);
        assert_eq!(c.range_bucket_count(b(20260101), b(20260105)), 3);
        assert_eq!(c.range_bucket_count(b(20260106), b(20261230)), 0);
        assert_eq!(c.range_bucket_count(b(20260105), b(20260101)), 0);
        let inside: Vec<(u32, u64)> =
            c.range_points(b(20260102), b(20261231)).map(|(bucket, value)| (bucket.yyyymmdd(), value)).collect();
        assert_eq!(inside, vec![(20260102, 2), (20260105, 5), (20261231, 9)]);
        assert_eq!(c.points().len(), 4);
    }

    #[test]
    fn searches_match_a_linear_scan() {
        let start = b(20250101).day_number();
        let day = |offset: i64| Bucket::from_day_number(start + offset).expect("in range");
        for len in [0i64, 1, 2, 3, 7, 64, 200] {
            // Every third day holds a point, valued by its offset.
            let points = (0..len).map(|i| (day(3 * i), 3 * i as u64 + 1)).collect();
            let c = Counter::from_points(points).expect("no overflow");
            let naive = |from: i64, to: i64| -> (u64, usize) {
                let inside = (0..len).filter(|i| (from..=to).contains(&(3 * i)));
                inside.fold((0, 0), |(sum, n), i| (sum + 3 * i as u64 + 1, n + 1))
            };
            for from in -2..3 * len + 2 {
                let expected = if from >= 0 && from % 3 == 0 && from < 3 * len { from as u64 + 1 } else { 0 };
                assert_eq!(c.get(day(from)), expected, "len {len} get {from}");
                for width in [0, 1, 2, 30, 366] {
                    let (sum, count) = naive(from, from + width);
                    let (lo, hi) = (day(from), day(from + width));
                    assert_eq!(c.range_sum(lo, hi), sum, "len {len} {from}+{width}");
                    assert_eq!(c.range_bucket_count(lo, hi), count);
                }
            }
        }
    }

    #[test]
    fn range_sum_at_u64_max() {
        let c = counter(&[(20260101, u64::MAX - 1), (20260102, 1)]);
        assert_eq!(c.range_sum(b(20260101), b(20260102)), u64::MAX);
        assert_eq!(c.range_sum(b(20260102), b(20260102)), 1);
    }

    #[test]
    fn delete_range_and_before() {
        let mut c = counter(&[(20260101, 1), (20260102, 2), (20260105, 5), (20261231, 9)]);
        assert_eq!(c.delete_range(b(20260102), b(20260105)), 2);
        assert_eq!(pairs(&c), vec![(20260101, 1), (20261231, 9)]);
        assert_eq!(c.total(), 10);
        assert_eq!(c.delete_range(b(20260102), b(20260105)), 0);
        assert_eq!(c.delete_before(0), 0);
        assert_eq!(c.delete_before(20260101), 0);
        assert_eq!(c.delete_before(20260102), 1);
        assert_eq!(pairs(&c), vec![(20261231, 9)]);
        // A raw, non-date boundary still compares numerically.
        assert_eq!(c.delete_before(u64::MAX), 1);
        assert!(c.is_empty());
        assert_eq!(c.total(), 0);
    }

    #[test]
    fn clear_empties() {
        let mut c = counter(&[(20260101, 1), (20260102, 2)]);
        c.clear();
        assert_eq!(c, Counter::new());
        assert_eq!(c.total(), 0);
        assert_eq!(c.bucket_count(), 0);
    }
}
