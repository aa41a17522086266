use super::*;

const MAX: u64 = u64::MAX;

fn b(value: u64) -> Bucket {
    Bucket::from_yyyymmdd(value).expect("valid test date")
}

fn items(raw: &[(u64, u64, u64)]) -> Vec<(u64, Bucket, u64)> {
    raw.iter().map(|&(key, day, value)| (key, b(day), value)).collect()
}

/// Every key's points, sorted, for exact comparisons.
fn contents(series: &Series) -> Vec<(u64, Vec<(u32, u64)>)> {
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
    assert_eq!(contents(&series), vec![(1, vec![(20260501, 7)]), (2, vec![(20260501, 3)])]);
    let empty = series.batch_add(&[]).unwrap();
    assert_eq!(empty, BatchOutcome { applied: 0, total: 0 });
}

#[test]
fn batch_add_check_1_pair_sum_overflow() {
    let mut series = series_from(&[(7, 20260501, 1)]);
    let before = contents(&series);
    let batch = items(&[(1, 20260501, MAX), (2, 20260501, 1), (1, 20260501, 1)]);
    assert_eq!(series.batch_add(&batch), Err(BatchError::BatchTotalOverflow));
    assert_eq!(contents(&series), before);
}

#[test]
fn batch_add_check_2_bucket_overflow_in_first_appearance_order() {
    let mut series = series_from(&[(1, 20260501, MAX - 1), (2, 20260502, MAX)]);
    let before = contents(&series);
    // Pair (1, 20260501) appears first; its summed delta is 2.
    let batch = items(&[(1, 20260501, 1), (2, 20260502, 1), (1, 20260501, 1)]);
    let err = series.batch_add(&batch).unwrap_err();
    assert_eq!(err, BatchError::CounterOverflow { key: 1, bucket: b(20260501) });
    assert_eq!(err.to_string(), "Counter overflow in batch item key=1 bucket=20260501");
    assert_eq!(contents(&series), before);
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
    let before = contents(&series);
    let batch = items(&[(2, 20260501, 5), (1, 20260502, 1), (1, 20260503, 1)]);
    let err = series.batch_add(&batch).unwrap_err();
    assert_eq!(err, BatchError::KeyTotalOverflow { key: 1, bucket: b(20260503) });
    assert_eq!(err.to_string(), "counter overflow");
    assert_eq!(contents(&series), before);
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
    assert_eq!(contents(&series), vec![(1, vec![(20260501, MAX)])]);
}

#[test]
fn batch_add_up_to_the_limits_succeeds() {
    let mut series = series_from(&[(1, 20260501, MAX - 3)]);
    let batch = items(&[(1, 20260501, 1), (1, 20260502, 1), (1, 20260501, 1)]);
    let outcome = series.batch_add(&batch).unwrap();
    assert_eq!(outcome, BatchOutcome { applied: 3, total: 3 });
    assert_eq!(series.get(1).map(Counter::total), Some(MAX));
    assert_eq!(contents(&series), vec![(1, vec![(20260501, MAX - 1), (20260502, 1)])]);
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
    assert_eq!(contents(&series), expected);
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
    assert_eq!(contents(&series), contents(&folded));
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
    assert_eq!(contents(&series), vec![(101, vec![(20260527, 7)]), (102, vec![(20260527, 5)]), (103, vec![]),]);
}

#[test]
fn batch_set_replaces_and_deletes() {
    let mut series = series_from(&[(1, 20260501, 10), (1, 20260502, 4), (2, 20260501, 3)]);
    let batch = items(&[(1, 20260501, 1), (2, 20260501, 0), (1, 20260502, 0), (1, 20260501, 2)]);
    assert_eq!(series.batch_set(&batch).unwrap().applied, 4);
    assert_eq!(contents(&series), vec![(1, vec![(20260501, 2)]), (2, vec![])]);
    assert_eq!(series.grand_total(), 2);
    assert_eq!(series.batch_set(&[]).unwrap(), BatchOutcome { applied: 0, total: 0 });
}

#[test]
fn batch_set_grand_total_overflow_names_the_first_pair_past_the_limit() {
    let mut series = series_from(&[(1, 20260501, MAX - 10)]);
    let before = contents(&series);
    // +5 fits, +6 more does not; the later lowering comes too late.
    let batch = items(&[(2, 20260501, 5), (3, 20260501, 6), (1, 20260501, 0)]);
    let err = series.batch_set(&batch).unwrap_err();
    assert_eq!(err, BatchError::CounterOverflow { key: 3, bucket: b(20260501) });
    assert_eq!(contents(&series), before);
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
    assert_eq!(contents(&series), vec![(1, vec![]), (2, vec![(20260501, 1)])]);
}

#[test]
fn batch_set_grand_total_already_past_u64() {
    let mut series = series_from(&[(1, 20260501, MAX), (2, 20260501, 1)]);
    let before = contents(&series);
    let batch = items(&[(3, 20260501, 0)]);
    assert_eq!(series.batch_set(&batch), Err(BatchError::CounterOverflow { key: 3, bucket: b(20260501) }));
    assert_eq!(contents(&series), before);
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
