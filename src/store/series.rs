//! A series: every key's [`Counter`], in one hash map.
//!
//! Keys are arbitrary client-chosen `u64`s, so they live in a `HashMap`
//! with [`FastKeyState`] (seeded, a few cycles per key) rather than a
//! sorted structure: point reads and writes, by far the most common ops,
//! are one hash lookup. The few ops that need key order (`tree.keys`,
//! `tree.top`) select what they return in O(n) and sort only that page.
//!
//! A key can exist with no buckets (an "empty counter", docs/protocol.md, Counter ops);
//! it still counts as a key until [`Series::compact`] removes it. Whole-batch
//! writes live in the `batch` submodule, which checks a batch completely
//! before changing anything.

mod batch;

use std::collections::HashMap;
use std::mem::size_of;
use std::ops::{Deref, DerefMut};

use super::bucket::Bucket;
use super::counter::{Counter, Overflow};
use super::hash::FastKeyState;

pub use batch::{BatchError, BatchOutcome};

/// The counters of one series, by key.
///
/// Invariants: every counter upholds its own invariant (keys may be empty
/// counters until compaction); `points` is the sum of the counters' bucket
/// counts, kept as they change so that `system.stats` need not walk every
/// key under the state lock.
#[derive(Clone, Debug, Default)]
pub struct Series {
    counters: HashMap<u64, Counter, FastKeyState>,
    points: usize,
}

/// A counter of a series, borrowed for changing. When it is dropped, the
/// series' point count follows whatever the change did to its buckets.
pub struct CounterMut<'a> {
    counter: &'a mut Counter,
    points: &'a mut usize,
    buckets_before: usize,
}

impl<'a> CounterMut<'a> {
    fn new(counter: &'a mut Counter, points: &'a mut usize) -> CounterMut<'a> {
        let buckets_before = counter.bucket_count();
        CounterMut { counter, points, buckets_before }
    }
}

impl Deref for CounterMut<'_> {
    type Target = Counter;

    fn deref(&self) -> &Counter {
        self.counter
    }
}

impl DerefMut for CounterMut<'_> {
    fn deref_mut(&mut self) -> &mut Counter {
        self.counter
    }
}

impl Drop for CounterMut<'_> {
    fn drop(&mut self) {
        *self.points = *self.points - self.buckets_before + self.counter.bucket_count();
    }
}

impl Series {
    /// An empty series.
    pub fn new() -> Series {
        Series::default()
    }

    /// Number of keys, empty counters included (`tree.info.key_count`).
    pub fn key_count(&self) -> usize {
        self.counters.len()
    }

    /// Number of buckets over all keys.
    pub fn bucket_count(&self) -> usize {
        self.points
    }

    /// The sum of all key totals. A `u128`, since many keys near
    /// `u64::MAX` can exceed a `u64` (docs/protocol.md, Differences from Karma 1.0, D14).
    pub fn grand_total(&self) -> u128 {
        self.counters.values().map(|counter| u128::from(counter.total())).sum()
    }

    /// The counter of `key`, if the key exists.
    pub fn get(&self, key: u64) -> Option<&Counter> {
        self.counters.get(&key)
    }

    /// The counter of `key` for changing, if the key exists.
    pub fn get_mut(&mut self, key: u64) -> Option<CounterMut<'_>> {
        let counter = self.counters.get_mut(&key)?;
        Some(CounterMut::new(counter, &mut self.points))
    }

    /// The counter of `key`, created empty if missing (writes create keys).
    pub fn counter_mut(&mut self, key: u64) -> CounterMut<'_> {
        CounterMut::new(self.counters.entry(key).or_default(), &mut self.points)
    }

    /// Stores `counter` as `key`, replacing any existing one.
    pub fn insert(&mut self, key: u64, counter: Counter) {
        self.points += counter.bucket_count();
        if let Some(replaced) = self.counters.insert(key, counter) {
            self.points -= replaced.bucket_count();
        }
    }

    /// Removes `key` and returns its counter.
    pub fn remove(&mut self, key: u64) -> Option<Counter> {
        let removed = self.counters.remove(&key)?;
        self.points -= removed.bucket_count();
        Some(removed)
    }

    /// Every key and its counter, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Counter)> + '_ {
        self.counters.iter().map(|(&key, counter)| (key, counter))
    }

    /// All keys, ascending.
    pub fn sorted_keys(&self) -> Vec<u64> {
        let mut keys: Vec<u64> = self.counters.keys().copied().collect();
        keys.sort_unstable();
        keys
    }

    /// One `tree.keys` page: the first `limit` keys strictly greater than
    /// `cursor` (all keys when `None`), ascending, and whether more keys
    /// follow that page. Selects the page in O(n), then sorts only it.
    pub fn keys_after(&self, cursor: Option<u64>, limit: usize) -> (Vec<u64>, bool) {
        let mut keys: Vec<u64> = match cursor {
            Some(cursor) => self.counters.keys().copied().filter(|&key| key > cursor).collect(),
            None => self.counters.keys().copied().collect(),
        };
        let more = keys.len() > limit;
        if more {
            keys.select_nth_unstable(limit);
            keys.truncate(limit);
        }
        keys.sort_unstable();
        (keys, more)
    }

    /// The `tree.top` selection: `(key, value)` for the `limit` keys with
    /// the largest `value_of(counter)`, ordered by value descending, then
    /// key ascending. Keys whose value is 0 are left out. `value_of` also
    /// gets how many keys were visited before, so a caller can stop a long
    /// walk (the query deadline) by returning an error.
    pub fn top_by<E>(
        &self,
        limit: usize,
        mut value_of: impl FnMut(usize, &Counter) -> Result<u64, E>,
    ) -> Result<Vec<(u64, u64)>, E> {
        let mut ranked: Vec<(u64, u64)> = Vec::new();
        for (visited, (&key, counter)) in self.counters.iter().enumerate() {
            let value = value_of(visited, counter)?;
            if value > 0 {
                ranked.push((key, value));
            }
        }
        let order = |a: &(u64, u64), b: &(u64, u64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if ranked.len() > limit {
            ranked.select_nth_unstable_by(limit, order);
            ranked.truncate(limit);
        }
        ranked.sort_unstable_by(order);
        Ok(ranked)
    }

    /// Whether `counter.increment` of `value` on `key`/`bucket` fits: both
    /// the bucket and the key total must stay within `u64`.
    pub fn check_increment(&self, key: u64, bucket: Bucket, value: u64) -> Result<(), Overflow> {
        match self.counters.get(&key) {
            Some(counter) => counter.check_add(bucket, value),
            None => Ok(()),
        }
    }

    /// `tree.reset`: removes every bucket; every key stays, empty.
    pub fn reset_all(&mut self) {
        self.counters.values_mut().for_each(Counter::clear);
        self.points = 0;
    }

    /// `tree.delete_range`: removes every key's buckets in `from..=to`.
    pub fn delete_range_all(&mut self, from: Bucket, to: Bucket) {
        for counter in self.counters.values_mut() {
            self.points -= counter.delete_range(from, to);
        }
    }

    /// `series.delete_before`: removes every bucket whose `YYYYMMDD` is
    /// below the raw boundary `before`, then compacts (docs/protocol.md, series.delete_before).
    pub fn delete_before(&mut self, before: u64) {
        for counter in self.counters.values_mut() {
            self.points -= counter.delete_before(before);
        }
        self.compact();
    }

    /// `series.compact`: removes every key whose total is 0, empty counters
    /// included. (Counters never hold zero buckets, so there are none to
    /// remove.) Gives memory back when most of the table became free.
    pub fn compact(&mut self) {
        self.counters.retain(|_, counter| counter.total() > 0);
        if self.counters.capacity() > 4 * self.counters.len().max(16) {
            self.counters.shrink_to_fit();
        }
    }

    /// An estimate of the heap memory of this series in bytes: the hash
    /// table (entries plus one control byte each, at the table's 7/8 load
    /// limit) and every counter's points.
    pub fn heap_bytes(&self) -> usize {
        let slots = self.counters.capacity() / 7 * 8;
        let table = slots * (size_of::<(u64, Counter)>() + 1);
        let points: usize = self.counters.values().map(Counter::heap_bytes).sum();
        table + points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(value: u64) -> Bucket {
        Bucket::from_yyyymmdd(value).expect("valid test date")
    }

    fn series_with_keys(keys: &[u64]) -> Series {
        let mut series = Series::new();
        for &key in keys {
            series.counter_mut(key).add(b(20260501), 1).unwrap();
        }
        series
    }

    #[test]
    fn counts_and_totals() {
        let mut series = Series::new();
        series.counter_mut(1).add(b(20260501), 5).unwrap();
        series.counter_mut(1).add(b(20260502), 2).unwrap();
        series.counter_mut(2).add(b(20260501), u64::MAX).unwrap();
        series.counter_mut(3);
        assert_eq!(series.key_count(), 3);
        assert_eq!(series.bucket_count(), 3);
        assert_eq!(series.grand_total(), u128::from(u64::MAX) + 7);
        assert_eq!(series.get(3), Some(&Counter::new()));
        assert_eq!(series.get(4), None);
        assert_eq!(series.remove(3), Some(Counter::new()));
        assert_eq!(series.key_count(), 2);
        series.insert(1, Counter::new());
        assert_eq!(series.get(1).map(Counter::total), Some(0));
        assert_eq!(series.sorted_keys(), vec![1, 2]);
        let mut seen: Vec<(u64, u64)> = series.iter().map(|(k, c)| (k, c.total())).collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![(1, 0), (2, u64::MAX)]);
    }

    #[test]
    fn the_point_count_follows_every_kind_of_change() {
        let mut series = Series::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |below: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % below
        };
        for step in 0..20_000 {
            let key = next(64);
            let day = b(20260501 + next(28));
            match next(100) {
                0..=39 => series.counter_mut(key).add(day, 1 + next(5)).unwrap(),
                40..=54 => {
                    series.counter_mut(key).sub_floor(day, next(4));
                }
                55..=64 => series.counter_mut(key).set(day, next(3)).unwrap(),
                65..=69 => {
                    if let Some(mut counter) = series.get_mut(key) {
                        counter.delete_range(day, b(20260528));
                    }
                }
                70..=73 => {
                    if let Some(mut counter) = series.get_mut(key) {
                        counter.clear();
                    }
                }
                74..=77 => {
                    let mut replacement = Counter::new();
                    replacement.add(day, 7).unwrap();
                    series.insert(key, replacement);
                }
                78..=81 => {
                    series.remove(key);
                }
                82..=87 => {
                    series.batch_add(&[(key, day, 2), (next(64), day, 3)]).unwrap();
                }
                88..=92 => {
                    series.batch_set(&[(key, day, next(2)), (next(64), b(20260510), 4)]).unwrap();
                }
                93 => series.reset_all(),
                94..=95 => series.delete_range_all(b(20260510), b(20260515)),
                96..=97 => series.delete_before(20260503),
                _ => series.compact(),
            }
            let counted: usize = series.iter().map(|(_, counter)| counter.bucket_count()).sum();
            assert_eq!(series.bucket_count(), counted, "after step {step}");
        }
        assert!(series.bucket_count() > 0);
    }

    #[test]
    fn check_increment_covers_bucket_and_key_total() {
        let mut series = Series::new();
        assert_eq!(series.check_increment(9, b(20260501), u64::MAX), Ok(()));
        series.counter_mut(9).add(b(20260501), u64::MAX - 1).unwrap();
        assert_eq!(series.check_increment(9, b(20260501), 1), Ok(()));
        assert_eq!(series.check_increment(9, b(20260501), 2), Err(Overflow));
        assert_eq!(series.check_increment(9, b(20260502), 2), Err(Overflow));
        assert_eq!(series.check_increment(8, b(20260502), u64::MAX), Ok(()));
    }

    #[test]
    fn keys_after_pages_in_order() {
        let series = series_with_keys(&[19, 0, 2, 10, 1, u64::MAX]);
        assert_eq!(series.keys_after(None, 2), (vec![0, 1], true));
        assert_eq!(series.keys_after(Some(0), 2), (vec![1, 2], true));
        assert_eq!(series.keys_after(Some(2), 2), (vec![10, 19], true));
        assert_eq!(series.keys_after(Some(10), 2), (vec![19, u64::MAX], false));
        assert_eq!(series.keys_after(Some(19), 100), (vec![u64::MAX], false));
        assert_eq!(series.keys_after(Some(u64::MAX), 2), (vec![], false));
        assert_eq!(series.keys_after(Some(1000), 2), (vec![u64::MAX], false));
        assert_eq!(series.keys_after(None, 6), (vec![0, 1, 2, 10, 19, u64::MAX], false));
        assert_eq!(series.keys_after(None, 0), (vec![], true));
        assert_eq!(Series::new().keys_after(None, 5), (vec![], false));
    }

    #[test]
    fn keys_after_large_page_matches_a_full_sort() {
        let keys: Vec<u64> = (0..5000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        let series = series_with_keys(&keys);
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(series.sorted_keys(), sorted);
        let (page, more) = series.keys_after(Some(sorted[99]), 1000);
        assert_eq!(page, sorted[100..1100].to_vec());
        assert!(more);
    }

    #[test]
    fn top_by_value_then_key() {
        let mut series = Series::new();
        for (key, value) in [(1u64, 7u64), (2, 2), (10, 5), (19, 5), (4, 0)] {
            series.counter_mut(key).add(b(20260501), value).unwrap();
        }
        let total = |_: usize, counter: &Counter| Ok::<u64, ()>(counter.total());
        assert_eq!(series.top_by(2, total), Ok(vec![(1, 7), (10, 5)]));
        assert_eq!(series.top_by(10, total), Ok(vec![(1, 7), (10, 5), (19, 5), (2, 2)]));
        let in_may_2 = |_: usize, counter: &Counter| Ok::<u64, ()>(counter.range_sum(b(20260502), b(20260502)));
        assert_eq!(series.top_by(10, in_may_2), Ok(vec![]));
        assert_eq!(series.top_by(10, |visited, _| if visited == 2 { Err("stop") } else { Ok(1) }), Err("stop"));
    }

    #[test]
    fn reset_delete_range_delete_before_and_compact() {
        let mut series = Series::new();
        series.counter_mut(1).add(b(20260430), 1).unwrap();
        series.counter_mut(1).add(b(20260501), 2).unwrap();
        series.counter_mut(2).add(b(20260502), 3).unwrap();
        series.counter_mut(3);

        let mut ranged = series.clone();
        ranged.delete_range_all(b(20260501), b(20260502));
        assert_eq!(ranged.key_count(), 3);
        assert_eq!(ranged.bucket_count(), 1);
        assert_eq!(ranged.grand_total(), 1);

        let mut reset = series.clone();
        reset.reset_all();
        assert_eq!(reset.key_count(), 3);
        assert_eq!(reset.bucket_count(), 0);
        reset.compact();
        assert_eq!(reset.key_count(), 0);

        let mut retained = series.clone();
        retained.delete_before(0);
        assert_eq!(retained.sorted_keys(), vec![1, 2]);
        assert_eq!(retained.bucket_count(), 3);
        retained.delete_before(20260502);
        assert_eq!(retained.sorted_keys(), vec![2]);
        assert_eq!(retained.grand_total(), 3);

        series.compact();
        assert_eq!(series.sorted_keys(), vec![1, 2]);
        assert_eq!(series.bucket_count(), 3);
    }

    #[test]
    fn compact_gives_memory_back() {
        let mut series = series_with_keys(&(0..10_000).collect::<Vec<u64>>());
        let full = series.heap_bytes();
        for key in 0..10_000 {
            series.get_mut(key).unwrap().clear();
        }
        series.counter_mut(5).add(b(20260501), 1).unwrap();
        series.compact();
        assert_eq!(series.key_count(), 1);
        assert!(series.heap_bytes() < full / 100, "{} of {full}", series.heap_bytes());
    }
}
