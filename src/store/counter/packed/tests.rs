//! Tests of the packed point buffer: the date packing, the formats, the
//! capacity policy and the in-place recoding.

use super::*;

fn day(yyyymmdd: u64) -> u32 {
    pack(Bucket::from_yyyymmdd(yyyymmdd).expect("valid test date"))
}

/// A buffer built by inserting `points` one by one, oldest first.
fn appended(points: &[(u64, u64)]) -> Packed {
    let mut packed = Packed::default();
    for &(yyyymmdd, value) in points {
        let at = packed.len();
        packed.insert(at, day(yyyymmdd), value);
        assert!(packed.invariant_holds());
    }
    packed
}

fn contents(packed: &Packed) -> Vec<(u32, u64)> {
    packed.iter(0, packed.len()).map(|(packed_day, value)| (unpack(packed_day).yyyymmdd(), value)).collect()
}

/// `(days wide, value bytes, base year, block bytes)`.
fn shape(packed: &Packed) -> (bool, usize, u16, usize) {
    let format = packed.format();
    (format.wide_days(), format.value_width(), packed.base_year(), packed.capacity_bytes())
}

#[test]
fn packed_dates_keep_order_and_round_trip() {
    let mut previous = 0;
    let start = Bucket::from_yyyymmdd(19691225).expect("valid").day_number();
    for number in start..start + 200 * 366 {
        let bucket = Bucket::from_day_number(number).expect("in range");
        let packed = pack(bucket);
        assert!(packed > previous, "{bucket}");
        assert_eq!(unpack(packed), bucket);
        previous = packed;
    }
    assert_eq!(pack(Bucket::MIN), (1000 << 9) | (1 << 5) | 1);
    assert_eq!(pack(Bucket::MAX), (9999 << 9) | (12 << 5) | 31);
    assert_eq!(unpack(pack(Bucket::MAX)), Bucket::MAX);
    assert!(pack(Bucket::MAX) < 1 << 23);
}

#[test]
fn block_sizes_fill_whole_malloc_chunks() {
    let sizes: Vec<usize> = [0, 1, 10, 24, 25, 40, 41, 56, 57, 1000, 1001].into_iter().map(block_size).collect();
    assert_eq!(sizes, vec![24, 24, 24, 24, 40, 40, 56, 56, 72, 1000, 1016]);
}

#[test]
fn value_widths() {
    let cases = [(1, 0), (255, 0), (256, 1), (65_535, 1), (65_536, 2), (u64::from(u32::MAX), 2), (1 << 32, 3)];
    for (value, log2) in cases {
        assert_eq!(value_log2_for(value), log2, "{value}");
    }
    assert_eq!(value_log2_for(u64::MAX), 3);
}

#[test]
fn empty_buffer_owns_nothing() {
    let packed = Packed::default();
    assert_eq!((packed.len(), packed.capacity_bytes()), (0, 0));
    assert_eq!(packed.find(day(20260501)), Err(0));
    assert_eq!(packed.lower_bound(day(20260501)), 0);
    assert_eq!(packed.count_before(u64::MAX), 0);
    assert_eq!(packed.sum(0, 0), 0);
    assert_eq!(packed.iter(0, 0).len(), 0);
    assert!(packed.invariant_holds());
    assert_eq!(Packed::from_sorted(&[]).capacity_bytes(), 0);
}

#[test]
fn one_point_a_day_reallocates_every_few_days() {
    // 3 bytes a point: 2 of day, 1 of value.
    let mut packed = Packed::default();
    let start = Bucket::from_yyyymmdd(20260101).expect("valid").day_number();
    let mut blocks = Vec::new();
    for offset in 0..40 {
        let bucket = Bucket::from_day_number(start + offset).expect("in range");
        packed.insert(packed.len(), pack(bucket), 9);
        if blocks.last() != Some(&packed.capacity_bytes()) {
            blocks.push(packed.capacity_bytes());
        }
    }
    // Grown when full, by at least a quarter: 24, 40, 56, 72, 104, 136.
    assert_eq!(blocks, vec![24, 40, 56, 72, 104, 136]);
    assert_eq!(packed.len(), 40);
    assert_eq!(packed.sum(0, 40), 360);
    assert!(packed.invariant_holds());
}

#[test]
fn values_widen_in_place_and_keep_every_point() {
    let mut packed = appended(&[(20260501, 1), (20260502, 2), (20260503, 3)]);
    assert_eq!(shape(&packed), (false, 1, 2026, 24));
    packed.set_value(1, 300);
    assert_eq!(shape(&packed), (false, 2, 2026, 24));
    packed.set_value(2, 70_000);
    assert_eq!(shape(&packed), (false, 4, 2026, 24));
    packed.insert(3, day(20260504), u64::MAX);
    assert_eq!(shape(&packed), (false, 8, 2026, 40));
    assert_eq!(contents(&packed), vec![(20260501, 1), (20260502, 300), (20260503, 70_000), (20260504, u64::MAX)]);
    assert_eq!(packed.sum(0, 4), 70_301u64.wrapping_add(u64::MAX));
    assert!(packed.invariant_holds());
}

#[test]
fn the_narrow_window_spans_128_years_then_days_go_wide() {
    let mut packed = appended(&[(20000101, 5), (21271231, 6)]);
    assert_eq!(shape(&packed), (false, 1, 2000, 24));
    packed.insert(2, day(21280101), 7);
    assert_eq!(shape(&packed), (true, 1, 0, 24));
    assert_eq!(contents(&packed), vec![(20000101, 5), (21271231, 6), (21280101, 7)]);
    assert!(packed.invariant_holds());
    // Removing the far point narrows the days again.
    assert_eq!(packed.remove(2, 3), 7);
    assert_eq!(shape(&packed), (false, 1, 2000, 24));
    assert_eq!(contents(&packed), vec![(20000101, 5), (21271231, 6)]);
}

#[test]
fn an_older_day_moves_the_base_or_goes_wide() {
    let mut packed = appended(&[(20200101, 1), (20260505, 2)]);
    packed.insert(0, day(19900615), 3);
    assert_eq!(shape(&packed), (false, 1, 1990, 24));
    assert_eq!(contents(&packed), vec![(19900615, 3), (20200101, 1), (20260505, 2)]);
    packed.insert(0, day(18000101), 4);
    assert_eq!(shape(&packed), (true, 1, 0, 24));
    assert_eq!(packed.find(day(20200101)), Ok((2, 1)));
    assert_eq!(packed.find(day(18000102)), Err(1));
    assert!(packed.invariant_holds());
    // A later removal of the old days moves the base up to the first one.
    assert_eq!(packed.remove(0, 2), 7);
    assert_eq!(shape(&packed), (false, 1, 2020, 24));
    assert_eq!(contents(&packed), vec![(20200101, 1), (20260505, 2)]);
}

#[test]
fn searches_outside_the_narrow_window() {
    let packed = appended(&[(20260501, 1), (20260503, 3)]);
    assert_eq!(packed.lower_bound(day(10000101)), 0);
    assert_eq!(packed.lower_bound(day(20260502)), 1);
    assert_eq!(packed.lower_bound(day(99991231)), 2);
    assert_eq!(packed.lower_bound(pack(Bucket::MAX) + 1), 2);
    assert_eq!(packed.find(day(20251231)), Err(0));
    assert_eq!(packed.find(day(20260503)), Ok((1, 3)));
    assert_eq!(packed.find(day(99991231)), Err(2));
}

#[test]
fn count_before_takes_raw_boundaries() {
    let packed = appended(&[(20260131, 1), (20260201, 2), (20261231, 3)]);
    let cases = [(0, 0), (20260131, 0), (20260132, 1), (20260199, 1), (20260201, 1), (20261300, 3), (u64::MAX, 3)];
    for (before, count) in cases {
        assert_eq!(packed.count_before(before), count, "{before}");
    }
}

#[test]
fn removal_shrinks_a_mostly_spare_block() {
    let points: Vec<(u32, u64)> = (1..=28).map(|d| (day(20260200 + d), 1 << 40)).collect();
    let mut packed = Packed::from_sorted(&points);
    // 28 * 10 = 280 bytes, a 16 k + 8 size.
    assert_eq!(packed.capacity_bytes(), 280);
    assert_eq!(packed.remove(0, 8), 8 << 40);
    // 200 bytes used: less than a third spare, kept.
    assert_eq!(packed.capacity_bytes(), 280);
    assert_eq!(packed.remove(0, 10), 10 << 40);
    // 100 bytes used of 280: shrunk to fit.
    assert_eq!(packed.capacity_bytes(), 104);
    assert_eq!(packed.len(), 10);
    assert_eq!(packed.sum(0, 10), 10 << 40);
    assert_eq!(contents(&packed)[0], (20260219, 1 << 40));
    // Removing the last point frees the block.
    assert_eq!(packed.remove(0, 10), 10 << 40);
    assert_eq!((packed.len(), packed.capacity_bytes()), (0, 0));
    assert!(packed.invariant_holds());
}

#[test]
fn removal_narrows_values_and_moves_points_down() {
    let mut packed = appended(&[(20260501, 1), (20260502, u64::MAX), (20260503, 3), (20260504, 4)]);
    assert_eq!(shape(&packed), (false, 8, 2026, 40));
    assert_eq!(packed.remove(1, 2), u64::MAX);
    // 9 bytes used of 40: shrunk as well.
    assert_eq!(shape(&packed), (false, 1, 2026, 24));
    assert_eq!(contents(&packed), vec![(20260501, 1), (20260503, 3), (20260504, 4)]);
    assert!(packed.invariant_holds());
}

#[test]
fn from_sorted_picks_the_narrowest_format() {
    let narrow = Packed::from_sorted(&[(day(20260501), 1), (day(20260502), 65_535)]);
    assert_eq!(shape(&narrow), (false, 2, 2026, 24));
    let wide = Packed::from_sorted(&[(day(10000101), 1), (day(99991231), u64::MAX)]);
    assert_eq!(shape(&wide), (true, 8, 0, 24));
    assert_eq!(contents(&wide), vec![(10000101, 1), (99991231, u64::MAX)]);
    assert!(narrow.invariant_holds() && wide.invariant_holds());
}
