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
mod tests;
