//! Whole-batch writes: `series.batch_add` and `series.batch_set`.
//!
//! Karma 1.0 meets some overflow checks only halfway through a batch and
//! leaves the items before them applied (docs/protocol.md, series.batch_add / series.batch_set;
//! Differences from Karma 1.0, D3). Here every check runs first, in the order the reference would
//! meet it, so a batch either applies completely or changes nothing, and a failing
//! batch gets the same error code and message as in the reference.
//!
//! Both writes first fold the items into the distinct `(key, bucket)`
//! pairs, in order of first appearance: `batch_add` sums their values,
//! `batch_set` keeps the last one. Applying the folded pairs leaves the same
//! state as applying the items one by one. Nearly every `batch_add` skips
//! that work: when the sum of its values plus the largest total among the
//! keys it touches fits a `u64`, no check can fail, and the items are
//! applied one by one without building tables the size of the batch.

use std::collections::HashMap;

use super::Series;
use crate::store::bucket::Bucket;
use crate::store::counter::{Counter, Overflow};
use crate::store::hash::FastKeyState;

/// Why a batch was refused. Nothing was changed.
///
/// The messages are the reference's exact ones.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// A `(key, bucket)`'s summed deltas, or the sum of all item values,
    /// exceeds `u64` (a `validation_error`).
    #[error("Batch total overflow")]
    BatchTotalOverflow,
    /// Adding to, or setting, this item would take its bucket or the series'
    /// grand total past `u64` (a `validation_error`).
    #[error("Counter overflow in batch item key={key} bucket={bucket}")]
    CounterOverflow { key: u64, bucket: Bucket },
    /// This item would take its key's total past `u64` (the reference
    /// reports it as `internal_error` `counter overflow`; we keep the
    /// message, as a `validation_error`).
    #[error("counter overflow")]
    KeyTotalOverflow { key: u64, bucket: Bucket },
}

/// What an applied batch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchOutcome {
    /// The number of items, duplicates counted separately.
    pub applied: usize,
    /// The sum of all item values.
    pub total: u64,
}

/// One distinct `(key, bucket)` of a batch and its folded value.
struct Pair {
    key: u64,
    bucket: Bucket,
    value: u64,
}

/// Folds `items` into distinct pairs in order of first appearance, merging
/// a repeated pair's value into the earlier one with `merge`.
fn fold_pairs<E>(items: &[(u64, Bucket, u64)], merge: impl Fn(u64, u64) -> Result<u64, E>) -> Result<Vec<Pair>, E> {
    let mut index: HashMap<(u64, Bucket), usize, FastKeyState> =
        HashMap::with_capacity_and_hasher(items.len(), FastKeyState::default());
    let mut pairs: Vec<Pair> = Vec::with_capacity(items.len());
    for &(key, bucket, value) in items {
        match index.get(&(key, bucket)) {
            Some(&at) => pairs[at].value = merge(pairs[at].value, value)?,
            None => {
                index.insert((key, bucket), pairs.len());
                pairs.push(Pair { key, bucket, value });
            }
        }
    }
    Ok(pairs)
}

/// The sum of all item values, or `BatchTotalOverflow`.
fn items_total(items: &[(u64, Bucket, u64)]) -> Result<u64, BatchError> {
    items.iter().try_fold(0u64, |sum, &(_, _, value)| sum.checked_add(value).ok_or(BatchError::BatchTotalOverflow))
}

impl Series {
    /// `series.batch_add`: adds each item's value to its key's bucket,
    /// creating keys. Runs all four checks of docs/protocol.md, series.batch_add first, in
    /// the reference's order, and changes nothing when one fails:
    /// 1. a `(key, bucket)`'s summed values overflow: `BatchTotalOverflow`;
    /// 2. in order of first appearance, a bucket would overflow:
    ///    `CounterOverflow` for that pair;
    /// 3. and 4. walking the items in order, the running sum of all values
    ///    overflows (`BatchTotalOverflow`), or the item's key total would
    ///    (`KeyTotalOverflow` for that item), whichever comes first.
    pub fn batch_add(&mut self, items: &[(u64, Bucket, u64)]) -> Result<BatchOutcome, BatchError> {
        if let Some(total) = self.add_headroom(items) {
            // No check can fail, so the items go in one by one, without the
            // folding tables (which would cost time, and memory of the size
            // of the batch).
            for &(key, bucket, value) in items {
                self.counter_mut(key)
                    .add(bucket, value)
                    .map_err(|Overflow| BatchError::KeyTotalOverflow { key, bucket })?;
            }
            return Ok(BatchOutcome { applied: items.len(), total });
        }
        self.batch_add_folded(items)
    }

    /// `batch_add` through the four checks on the folded pairs, for a
    /// batch that might overflow somewhere.
    fn batch_add_folded(&mut self, items: &[(u64, Bucket, u64)]) -> Result<BatchOutcome, BatchError> {
        // Check 1.
        let pairs = fold_pairs(items, |sum, value| sum.checked_add(value).ok_or(BatchError::BatchTotalOverflow))?;
        // Check 2.
        for pair in &pairs {
            let current = self.get(pair.key).map_or(0, |counter| counter.get(pair.bucket));
            if current.checked_add(pair.value).is_none() {
                return Err(BatchError::CounterOverflow { key: pair.key, bucket: pair.bucket });
            }
        }
        // Checks 3 and 4, met item by item as the reference applies them.
        let mut total: u64 = 0;
        let mut key_totals: HashMap<u64, u64, FastKeyState> =
            HashMap::with_capacity_and_hasher(pairs.len(), FastKeyState::default());
        for &(key, bucket, value) in items {
            total = total.checked_add(value).ok_or(BatchError::BatchTotalOverflow)?;
            let key_total = key_totals.entry(key).or_insert_with(|| self.get(key).map_or(0, |counter| counter.total()));
            *key_total = key_total.checked_add(value).ok_or(BatchError::KeyTotalOverflow { key, bucket })?;
        }
        // Every bucket and key total now fits, so no add below can fail.
        for pair in pairs {
            self.counter_mut(pair.key)
                .add(pair.bucket, pair.value)
                .map_err(|Overflow| BatchError::KeyTotalOverflow { key: pair.key, bucket: pair.bucket })?;
        }
        Ok(BatchOutcome { applied: items.len(), total })
    }

    /// The sum of the values of `items` if it proves that no check of
    /// `batch_add` can fail: the sum fits a `u64`, and so does the largest
    /// total among the keys it touches plus that sum. Every bucket and key
    /// total after any part of the batch is at most that bound.
    fn add_headroom(&self, items: &[(u64, Bucket, u64)]) -> Option<u64> {
        let total = items.iter().try_fold(0u64, |sum, &(_, _, value)| sum.checked_add(value))?;
        let largest = items.iter().filter_map(|&(key, _, _)| self.get(key)).map(Counter::total).max().unwrap_or(0);
        largest.checked_add(total)?;
        Some(total)
    }

    /// `series.batch_set`: sets each item's bucket to exactly its value,
    /// the last value winning for a repeated `(key, bucket)`; 0 deletes the
    /// bucket and leaves the key (created empty if missing). Checks first
    /// (docs/protocol.md, series.batch_set) and changes nothing when one fails:
    /// 1. starting from the series' grand total, for each distinct pair in
    ///    order of first appearance, add `new - current`; the first pair
    ///    taking it past `u64::MAX` gives `CounterOverflow` (computed
    ///    wide, so the reference's `Arithmetic overflow` cannot happen);
    /// 2. the sum of all item values overflows: `BatchTotalOverflow`.
    ///
    /// An empty batch changes nothing. `outcome.total` is the sum of all
    /// item values.
    pub fn batch_set(&mut self, items: &[(u64, Bucket, u64)]) -> Result<BatchOutcome, BatchError> {
        if items.is_empty() {
            return Ok(BatchOutcome { applied: 0, total: 0 });
        }
        let pairs = fold_pairs(items, |_, last| Ok::<u64, BatchError>(last))?;
        // Check 1. Every key total is at most the grand total, and the
        // pairs are applied in this same order below, so no intermediate
        // key total can overflow either.
        let mut grand = i128::try_from(self.grand_total()).unwrap_or(i128::MAX);
        for pair in &pairs {
            let current = self.get(pair.key).map_or(0, |counter| counter.get(pair.bucket));
            grand += i128::from(pair.value) - i128::from(current);
            if grand > i128::from(u64::MAX) {
                return Err(BatchError::CounterOverflow { key: pair.key, bucket: pair.bucket });
            }
        }
        // Check 2.
        let total = items_total(items)?;
        for pair in pairs {
            self.counter_mut(pair.key)
                .set(pair.bucket, pair.value)
                .map_err(|Overflow| BatchError::CounterOverflow { key: pair.key, bucket: pair.bucket })?;
        }
        Ok(BatchOutcome { applied: items.len(), total })
    }
}

#[cfg(test)]
mod tests;
