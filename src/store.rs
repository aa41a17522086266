//! The in-memory data: series (by name) -> key (`u64`) -> day bucket ->
//! value (`u64 > 0`), with a cached total per key.
//!
//! - [`Bucket`]: a validated UTC day, stored as `YYYYMMDD` in a `u32`.
//! - [`Counter`]: one key's buckets, sorted in one packed heap block (2 or
//!   4 bytes of day and 1 to 8 of value per point, usually 4 in all), plus
//!   the cached total; every change is overflow-checked.
//! - [`Series`]: the counters of one series in a hash map with a fast,
//!   seeded hasher; batch writes that check everything before changing
//!   anything.
//! - [`Store`]: the series by name, in creation order (`tree.list`).
//!
//! This module knows nothing about requests, JSON or disks: the engine
//! decides what a command means and calls these types, which keep the data
//! consistent (sorted buckets, no zero values, totals equal to their sums).

pub mod bucket;
pub mod counter;
mod hash;
pub mod series;

use indexmap::IndexMap;

pub use bucket::Bucket;
pub use counter::{Counter, Overflow};
pub use hash::FastKeyState;
pub use series::{BatchError, BatchOutcome, Series};

/// Every series, by name, remembering the order in which they were created.
///
/// Replacing a series keeps its position; removing one shifts the later
/// ones down (`tree.list` and snapshots list series in this order).
#[derive(Debug, Default)]
pub struct Store {
    series: IndexMap<String, Series>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// The series called `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<&Series> {
        self.series.get(name)
    }

    /// The series called `name` for changing, if it exists.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Series> {
        self.series.get_mut(name)
    }

    /// The series called `name`, created empty (and listed last) if missing.
    pub fn get_or_create(&mut self, name: &str) -> &mut Series {
        // Look up first: the common case (the series exists) then costs no
        // allocation of an owned name, which `entry` would need.
        match self.series.get_index_of(name) {
            Some(at) => &mut self.series[at],
            None => self.series.entry(name.to_owned()).or_default(),
        }
    }

    /// Whether a series called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.series.contains_key(name)
    }

    /// Stores `series` as `name`. A replaced series keeps its position in
    /// the creation order; a new one goes last.
    pub fn insert(&mut self, name: &str, series: Series) {
        match self.series.get_mut(name) {
            Some(existing) => *existing = series,
            None => {
                self.series.insert(name.to_owned(), series);
            }
        }
    }

    /// Removes the series called `name` and returns it; the later series
    /// move up one place, so the creation order of the rest is kept.
    pub fn remove(&mut self, name: &str) -> Option<Series> {
        self.series.shift_remove(name)
    }

    /// The series names in creation order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.series.keys().map(String::as_str)
    }

    /// Every series with its name, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Series)> {
        self.series.iter().map(|(name, series)| (name.as_str(), series))
    }

    /// Every series for changing, in creation order (`system.compact`).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Series)> {
        self.series.iter_mut().map(|(name, series)| (name.as_str(), series))
    }

    /// Number of series.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Number of keys over all series, empty counters included.
    pub fn key_count(&self) -> usize {
        self.series.values().map(Series::key_count).sum()
    }

    /// Number of buckets (data points) over all series.
    pub fn point_count(&self) -> usize {
        self.series.values().map(Series::bucket_count).sum()
    }

    /// An estimate of the heap memory of all series, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.series.iter().map(|(name, series)| name.capacity() + series.heap_bytes()).sum()
    }
}

#[cfg(test)]
mod tests;
