//! Tests of `Counter` through its public API.

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
    assert_eq!(std::mem::size_of::<Counter>(), 32);
}

#[test]
fn seven_buckets_heap_bytes_by_value_size() {
    // 2 bytes of day and 1, 2, 4 or 8 of value per point, in a block of
    // the next 16 k + 8 bytes.
    for (value, bytes) in [(7, 24), (1000, 40), (70_000, 56), (1 << 40, 72)] {
        let days: Vec<(u64, u64)> = (1..=7).map(|day| (20260500 + day, value)).collect();
        assert_eq!(counter(&days).heap_bytes(), bytes, "value {value}");
    }
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

#[test]
fn values_grow_to_u64_max_through_every_width() {
    let mut c = counter(&[(20260501, 1), (20260502, 2)]);
    let heap = c.heap_bytes();
    for delta in [254, 65_280, u64::from(u32::MAX) - 65_535, u64::MAX - u64::from(u32::MAX) - 2] {
        c.add(b(20260501), delta).unwrap();
    }
    assert_eq!(pairs(&c), vec![(20260501, u64::MAX - 2), (20260502, 2)]);
    assert_eq!(c.total(), u64::MAX);
    assert!(c.heap_bytes() >= heap);
    let before = c.clone();
    assert_eq!(c.add(b(20260503), 1), Err(Overflow));
    assert_eq!(c, before);
    // Taking the big value away narrows the block again.
    assert_eq!(c.sub_floor(b(20260501), u64::MAX), u64::MAX - 2);
    assert_eq!(pairs(&c), vec![(20260502, 2)]);
    assert_eq!(c.heap_bytes(), 24);
}

#[test]
fn equality_ignores_the_encoding() {
    // Built in different orders, with different spare room and formats on
    // the way; the same buckets and values.
    let mut grown = Counter::new();
    for day in 1..=20 {
        grown.add(b(20260500 + day), 1 << 40).unwrap();
    }
    for day in 1..=20 {
        grown.sub_floor(b(20260500 + day), (1 << 40) - day);
    }
    let built = counter(&(1..=20).map(|day| (20260500 + day, day)).collect::<Vec<_>>());
    assert_eq!(grown, built);
    assert_ne!(grown.heap_bytes(), built.heap_bytes());
    assert_eq!(format!("{built:?}").len(), format!("{grown:?}").len());
    assert_ne!(built, counter(&[(20260501, 1)]));
}

#[test]
fn points_from_1000_to_9999() {
    let mut c = Counter::new();
    c.add(Bucket::MAX, 9).unwrap();
    c.add(Bucket::MIN, 1).unwrap();
    c.add(b(20260505), 5).unwrap();
    assert_eq!(pairs(&c), vec![(10000101, 1), (20260505, 5), (99991231, 9)]);
    assert_eq!(c.range_sum(Bucket::MIN, Bucket::MAX), 15);
    assert_eq!(c.range_sum(b(20260505), Bucket::MAX), 14);
    assert_eq!(c.get(Bucket::MAX), 9);
    assert_eq!(c.delete_before(99991231), 2);
    assert_eq!(pairs(&c), vec![(99991231, 9)]);
    assert_eq!(c.heap_bytes(), 24);
}

/// A deterministic xorshift generator for the model test.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn random_changes_match_a_sorted_map() {
    use std::collections::BTreeMap;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..40 {
        // Some rounds stay within months, some span centuries (wide days).
        let span = [60, 3000, 80_000, 3_000_000][round % 4];
        let first = if round % 8 < 3 { 20240101 } else { 10000101 };
        let start = Bucket::from_yyyymmdd(first).expect("valid").day_number();
        let day = |rng: &mut Rng| Bucket::from_day_number(start + rng.below(span) as i64).expect("in range");
        let magnitudes = [10, 300, 70_000, 1 << 33, u64::MAX / 64];
        let mut model: BTreeMap<Bucket, u64> = BTreeMap::new();
        let mut c = Counter::new();
        for _ in 0..300 {
            let bucket = day(&mut rng);
            let magnitude = magnitudes[rng.below(5) as usize];
            let value = rng.below(magnitude);
            match rng.below(10) {
                0..=4 => {
                    let fits = c.total().checked_add(value).is_some();
                    assert_eq!(c.add(bucket, value).is_ok(), fits);
                    if fits && value > 0 {
                        *model.entry(bucket).or_default() += value;
                    }
                }
                5 => {
                    let current = model.get(&bucket).copied().unwrap_or(0);
                    assert_eq!(c.sub_floor(bucket, value), current.min(value));
                    if current <= value {
                        model.remove(&bucket);
                    } else {
                        model.insert(bucket, current - value);
                    }
                }
                6 | 7 => {
                    let value = if rng.below(3) == 0 { 0 } else { value };
                    let rest: u64 = model.iter().filter(|(&k, _)| k != bucket).map(|(_, &v)| v).sum();
                    let fits = rest.checked_add(value).is_some();
                    assert_eq!(c.set(bucket, value).is_ok(), fits);
                    match (fits, value) {
                        (true, 0) => drop(model.remove(&bucket)),
                        (true, _) => drop(model.insert(bucket, value)),
                        _ => {}
                    }
                }
                8 => {
                    let (from, to) = (day(&mut rng), day(&mut rng));
                    let inside = model.keys().filter(|k| (from..=to).contains(*k)).count();
                    assert_eq!(c.delete_range(from, to), inside);
                    model.retain(|k, _| !(from..=to).contains(k));
                }
                _ => {
                    let before = u64::from(day(&mut rng).yyyymmdd()) + rng.below(2) * 50;
                    let old = model.keys().filter(|k| u64::from(k.yyyymmdd()) < before).count();
                    assert_eq!(c.delete_before(before), old);
                    model.retain(|k, _| u64::from(k.yyyymmdd()) >= before);
                }
            }
            let expected: Vec<(u32, u64)> = model.iter().map(|(k, &v)| (k.yyyymmdd(), v)).collect();
            assert_eq!(pairs(&c), expected, "round {round}");
            assert_eq!(c.total(), model.values().sum::<u64>());
            assert!(c.invariant_holds());
            let (from, to) = (day(&mut rng), day(&mut rng));
            let inside = model.iter().filter(|(k, _)| (from..=to).contains(*k));
            assert_eq!(c.range_sum(from, to), inside.map(|(_, &v)| v).sum::<u64>());
            assert_eq!(c.get(from), model.get(&from).copied().unwrap_or(0));
        }
    }
}
