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

use std::collections::HashMap;

pub use bucket::Bucket;
pub use counter::{Counter, Overflow};
pub use hash::FastKeyState;
pub use series::{BatchError, BatchOutcome, Series};

/// Every series, by name, remembering the order in which they were created.
///
/// Invariant: `index` maps each name in `series` to its position there,
/// and nothing else. Replacing a series keeps its position; removing one
/// shifts the later ones down.
#[derive(Debug, Default)]
pub struct Store {
    series: Vec<(String, Series)>,
    index: HashMap<String, usize>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// The series called `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<&Series> {
        let &at = self.index.get(name)?;
        Some(&self.series[at].1)
    }

    /// The series called `name` for changing, if it exists.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Series> {
        let &at = self.index.get(name)?;
        Some(&mut self.series[at].1)
    }

    /// The series called `name`, created empty (and listed last) if missing.
    pub fn get_or_create(&mut self, name: &str) -> &mut Series {
        let at = match self.index.get(name) {
            Some(&at) => at,
            None => self.push(name, Series::new()),
        };
        &mut self.series[at].1
    }

    /// Whether a series called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Stores `series` as `name`. A replaced series keeps its position in
    /// the creation order; a new one goes last.
    pub fn insert(&mut self, name: &str, series: Series) {
        match self.index.get(name) {
            Some(&at) => self.series[at].1 = series,
            None => {
                self.push(name, series);
            }
        }
    }

    /// Removes the series called `name` and returns it.
    pub fn remove(&mut self, name: &str) -> Option<Series> {
        let at = self.index.remove(name)?;
        let (_, series) = self.series.remove(at);
        for (name, _) in &self.series[at..] {
            if let Some(position) = self.index.get_mut(name.as_str()) {
                *position -= 1;
            }
        }
        debug_assert!(self.invariant_holds());
        Some(series)
    }

    /// The series names in creation order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.series.iter().map(|(name, _)| name.as_str())
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
        self.series.iter().map(|(_, series)| series.key_count()).sum()
    }

    /// Number of buckets (data points) over all series.
    pub fn point_count(&self) -> usize {
        self.series.iter().map(|(_, series)| series.bucket_count()).sum()
    }

    /// An estimate of the heap memory of all series, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.series.iter().map(|(name, series)| name.capacity() + series.heap_bytes()).sum()
    }

    /// Appends a new series and returns its position.
    fn push(&mut self, name: &str, series: Series) -> usize {
        let at = self.series.len();
        self.series.push((name.to_owned(), series));
        self.index.insert(name.to_owned(), at);
        debug_assert!(self.invariant_holds());
        at
    }

    /// The type invariant (see [`Store`]).
    fn invariant_holds(&self) -> bool {
        self.index.len() == self.series.len()
            && self.series.iter().enumerate().all(|(at, (name, _))| self.index.get(name.as_str()) == Some(&at))
    }
}

#[cfg(test)]
mod tests;
