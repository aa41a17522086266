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
