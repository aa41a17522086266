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
use std::fmt;

use super::Series;
use crate::store::bucket::Bucket;
use crate::store::counter::{Counter, Overflow};
use crate::store::hash::FastKeyState;

/// Why a batch was refused. Nothing was changed.
#[derive(Debug, PartialEq, Eq)]
pub enum BatchError {
    /// A `(key, bucket)`'s summed deltas, or the sum of all item values,
    /// exceeds `u64` (a `validation_error`).
    BatchTotalOverflow,
    /// Adding to, or setting, this item would take its bucket or the series'
    /// grand total past `u64` (a `validation_error`).
    CounterOverflow { key: u64, bucket: Bucket },
    /// This item would take its key's total past `u64` (the reference
    /// reports it as `internal_error` `counter overflow`; we keep the
    /// message, as a `validation_error`).
    KeyTotalOverflow { key: u64, bucket: Bucket },
}

impl fmt::Display for BatchError {
    /// The reference's exact messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::BatchTotalOverflow => f.write_str("Batch total overflow"),
            BatchError::CounterOverflow { key, bucket } => {
                write!(f, "Counter overflow in batch item key={key} bucket={bucket}")
            }
            BatchError::KeyTotalOverflow { .. } => f.write_str("counter overflow"),
        }
    }
}

impl std::error::Error for BatchError {}

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
mod tests {
    use super::*;

    const MAX: u64 = u64::MAX;

    fn b(value: u64) -> Bucket {
        Bucket::from_yyyymmdd(value).expect("valid test date")
    }

    fn items(raw: &[(u64, u64, u64)]) -> Vec<(u64, Bucket, u64)> {
        raw.iter().map(|&(key, day, value)| (key, b(day), value)).collect()
    }

    /// Every key's points, sorted, for exact comparisons.
    fn dump(series: &Series) -> Vec<(u64, Vec<(u32, u64)>)> {
        let mut out: Vec<(u64, Vec<(u32, u64)>)> = series
            .iter()
            .map(|(key, counter)| {
                let points = counter.points().map(|(bucket, v)| (bucket.yyyymmdd(), v));
                (key, points.collect())
            })
            .collect();
        out.sort_unstable();
        out
    }

    fn series_from(raw: &[(u64, u64, u64)]) -> Series {
        let mut series = Series::new();
        for &(key, day, value) in raw {
            series.counter_mut(key).add(b(day), value).unwrap();
        }
        series
    }

    #[test]
    fn batch_add_example_from_the_spec() {
        let mut series = Series::new();
        let outcome = series.batch_add(&items(&[(1, 20260501, 5), (2, 20260501, 3), (1, 20260501, 2)])).unwrap();
        assert_eq!(outcome, BatchOutcome { applied: 3, total: 10 });
        assert_eq!(dump(&series), vec![(1, vec![(20260501, 7)]), (2, vec![(20260501, 3)])]);
        let empty = series.batch_add(&[]).unwrap();
        assert_eq!(empty, BatchOutcome { applied: 0, total: 0 });
    }

    #[test]
    fn batch_add_check_1_pair_sum_overflow() {
        let mut series = series_from(&[(7, 20260501, 1)]);
        let before = dump(&series);
        let batch = items(&[(1, 20260501, MAX), (2, 20260501, 1), (1, 20260501, 1)]);
        assert_eq!(series.batch_add(&batch), Err(BatchError::BatchTotalOverflow));
        assert_eq!(dump(&series), before);
    }

    #[test]
    fn batch_add_check_2_bucket_overflow_in_first_appearance_order() {
        let mut series = series_from(&[(1, 20260501, MAX - 1), (2, 20260502, MAX)]);
        let before = dump(&series);
        // Pair (1, 20260501) appears first; its summed delta is 2.
        let batch = items(&[(1, 20260501, 1), (2, 20260502, 1), (1, 20260501, 1)]);
        let err = series.batch_add(&batch).unwrap_err();
        assert_eq!(err, BatchError::CounterOverflow { key: 1, bucket: b(20260501) });
        assert_eq!(err.to_string(), "Counter overflow in batch item key=1 bucket=20260501");
        assert_eq!(dump(&series), before);
    }

    #[test]
    fn batch_add_check_3_running_sum_overflow() {
        let mut series = Series::new();
        let batch = items(&[(1, 20260501, MAX), (2, 20260501, 1)]);
        let err = series.batch_add(&batch).unwrap_err();
        assert_eq!(err, BatchError::BatchTotalOverflow);
        assert_eq!(err.to_string(), "Batch total overflow");
        assert_eq!(series.key_count(), 0);
    }

    #[test]
    fn batch_add_check_4_key_total_overflow() {
        let mut series = series_from(&[(1, 20260501, MAX - 1)]);
        let before = dump(&series);
        let batch = items(&[(2, 20260501, 5), (1, 20260502, 1), (1, 20260503, 1)]);
        let err = series.batch_add(&batch).unwrap_err();
        assert_eq!(err, BatchError::KeyTotalOverflow { key: 1, bucket: b(20260503) });
        assert_eq!(err.to_string(), "counter overflow");
        assert_eq!(dump(&series), before);
        assert_eq!(series.key_count(), 1);
    }

    #[test]
    fn batch_add_checks_3_and_4_in_item_order() {
        // Key 1's total overflows at the first item, before the running sum.
        let mut series = series_from(&[(1, 20260501, MAX)]);
        let batch = items(&[(1, 20260502, 1), (2, 20260501, MAX)]);
        assert_eq!(series.batch_add(&batch), Err(BatchError::KeyTotalOverflow { key: 1, bucket: b(20260502) }));
        // The running sum overflows first when it comes earlier.
        let batch = items(&[(2, 20260501, MAX), (3, 20260501, 1), (1, 20260502, 1)]);
        assert_eq!(series.batch_add(&batch), Err(BatchError::BatchTotalOverflow));
        assert_eq!(dump(&series), vec![(1, vec![(20260501, MAX)])]);
    }

    #[test]
    fn batch_add_up_to_the_limits_succeeds() {
        let mut series = series_from(&[(1, 20260501, MAX - 3)]);
        let batch = items(&[(1, 20260501, 1), (1, 20260502, 1), (1, 20260501, 1)]);
        let outcome = series.batch_add(&batch).unwrap();
        assert_eq!(outcome, BatchOutcome { applied: 3, total: 3 });
        assert_eq!(series.get(1).map(Counter::total), Some(MAX));
        assert_eq!(dump(&series), vec![(1, vec![(20260501, MAX - 1), (20260502, 1)])]);
    }

    #[test]
    fn batch_add_without_headroom_still_applies_what_fits() {
        // Key 1's total plus the batch sum exceeds u64, so the batch takes
        // the folded, fully checked path; nothing overflows, so it applies.
        let mut series = series_from(&[(1, 20260501, MAX - 3)]);
        let batch = items(&[(2, 20260501, 5), (1, 20260502, 0), (2, 20260501, 5), (3, 20260501, 0)]);
        assert_eq!(series.add_headroom(&batch), None);
        assert_eq!(series.batch_add(&batch).unwrap(), BatchOutcome { applied: 4, total: 10 });
        let expected = vec![(1, vec![(20260501, MAX - 3)]), (2, vec![(20260501, 10)]), (3, vec![])];
        assert_eq!(dump(&series), expected);
    }

    #[test]
    fn batch_add_with_headroom_matches_the_folded_path() {
        let raw: Vec<(u64, u64, u64)> =
            (0..3000u64).map(|i| (i * 7 % 401, 20260501 + i % 5, if i % 11 == 0 { 0 } else { i * 13 })).collect();
        let batch = items(&raw);
        let mut series = series_from(&[(3, 20260501, MAX / 2), (5, 20260430, 1)]);
        let mut folded = series.clone();
        let total: u64 = raw.iter().map(|&(_, _, value)| value).sum();
        assert_eq!(series.add_headroom(&batch), Some(total));
        assert_eq!(series.batch_add(&batch).unwrap(), BatchOutcome { applied: 3000, total });
        assert_eq!(folded.batch_add_folded(&batch).unwrap(), BatchOutcome { applied: 3000, total });
        assert_eq!(dump(&series), dump(&folded));
        assert_eq!(series.key_count(), 401);
        assert_eq!(series.grand_total(), u128::from(MAX / 2 + 1 + total));
    }

    #[test]
    fn headroom_needs_the_largest_touched_total_plus_the_sum_to_fit() {
        let series = series_from(&[(1, 20260501, MAX - 10), (2, 20260501, 5)]);
        assert_eq!(series.add_headroom(&items(&[(1, 20260502, 4), (2, 20260501, 6)])), Some(10));
        assert_eq!(series.add_headroom(&items(&[(1, 20260502, 4), (2, 20260501, 7)])), None);
        // Key 1 is not touched: only key 2's total counts.
        assert_eq!(series.add_headroom(&items(&[(2, 20260501, MAX - 5)])), Some(MAX - 5));
        assert_eq!(series.add_headroom(&items(&[(2, 20260501, MAX - 4)])), None);
        assert_eq!(series.add_headroom(&items(&[(3, 20260501, MAX), (4, 20260501, 1)])), None);
        assert_eq!(series.add_headroom(&[]), Some(0));
    }

    #[test]
    fn batch_set_example_from_the_spec() {
        let mut series = Series::new();
        let batch = items(&[(101, 20260527, 42), (102, 20260527, 5), (101, 20260527, 7), (103, 20260527, 0)]);
        let outcome = series.batch_set(&batch).unwrap();
        assert_eq!(outcome, BatchOutcome { applied: 4, total: 54 });
        assert_eq!(dump(&series), vec![(101, vec![(20260527, 7)]), (102, vec![(20260527, 5)]), (103, vec![]),]);
    }

    #[test]
    fn batch_set_replaces_and_deletes() {
        let mut series = series_from(&[(1, 20260501, 10), (1, 20260502, 4), (2, 20260501, 3)]);
        let batch = items(&[(1, 20260501, 1), (2, 20260501, 0), (1, 20260502, 0), (1, 20260501, 2)]);
        assert_eq!(series.batch_set(&batch).unwrap().applied, 4);
        assert_eq!(dump(&series), vec![(1, vec![(20260501, 2)]), (2, vec![])]);
        assert_eq!(series.grand_total(), 2);
        assert_eq!(series.batch_set(&[]).unwrap(), BatchOutcome { applied: 0, total: 0 });
    }

    #[test]
    fn batch_set_grand_total_overflow_names_the_first_pair_past_the_limit() {
        let mut series = series_from(&[(1, 20260501, MAX - 10)]);
        let before = dump(&series);
        // +5 fits, +6 more does not; the later lowering comes too late.
        let batch = items(&[(2, 20260501, 5), (3, 20260501, 6), (1, 20260501, 0)]);
        let err = series.batch_set(&batch).unwrap_err();
        assert_eq!(err, BatchError::CounterOverflow { key: 3, bucket: b(20260501) });
        assert_eq!(dump(&series), before);
        // Lowering first makes room.
        let batch = items(&[(1, 20260501, 0), (2, 20260501, 5), (3, 20260501, 6)]);
        assert_eq!(series.batch_set(&batch).unwrap().total, 11);
        assert_eq!(series.grand_total(), 11);
    }

    #[test]
    fn batch_set_uses_the_last_value_in_first_appearance_order() {
        let mut series = series_from(&[(1, 20260501, MAX - 1)]);
        // (2, ..) appears before (1, ..), so its last value (2) is counted
        // before key 1 is lowered, and the running grand total overflows.
        let batch = items(&[(2, 20260501, 9), (1, 20260501, 0), (2, 20260501, 2)]);
        assert_eq!(series.batch_set(&batch), Err(BatchError::CounterOverflow { key: 2, bucket: b(20260501) }));
        let batch = items(&[(2, 20260501, 9), (1, 20260501, 0), (2, 20260501, 1)]);
        assert_eq!(series.batch_set(&batch).unwrap().total, 10);
        assert_eq!(dump(&series), vec![(1, vec![]), (2, vec![(20260501, 1)])]);
    }

    #[test]
    fn batch_set_grand_total_already_past_u64() {
        let mut series = series_from(&[(1, 20260501, MAX), (2, 20260501, 1)]);
        let before = dump(&series);
        let batch = items(&[(3, 20260501, 0)]);
        assert_eq!(series.batch_set(&batch), Err(BatchError::CounterOverflow { key: 3, bucket: b(20260501) }));
        assert_eq!(dump(&series), before);
        // Lowering enough in the first pair passes.
        let batch = items(&[(2, 20260501, 0)]);
        assert_eq!(series.batch_set(&batch).unwrap().applied, 1);
    }

    #[test]
    fn batch_set_running_sum_overflow() {
        let mut series = Series::new();
        // Last value wins, so the grand total fits, but the sum does not.
        let batch = items(&[(1, 20260501, MAX), (1, 20260501, 1)]);
        assert_eq!(series.batch_set(&batch), Err(BatchError::BatchTotalOverflow));
        assert_eq!(series.key_count(), 0);
    }
}
