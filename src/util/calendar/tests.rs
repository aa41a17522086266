use super::*;

#[test]
fn civil_round_trip() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2026, 5, 5), 20_578);
    assert_eq!(civil_from_days(20_578), (2026, 5, 5));
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
    assert_eq!(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2);
    assert_eq!(days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28), 1);
    assert_eq!(civil_from_days(days_from_civil(0, 1, 1)), (0, 1, 1));
    assert_eq!(civil_from_days(days_from_civil(-400, 2, 29)), (-400, 2, 29));
    // Every day from 1600 to 2400 round-trips and follows the day before.
    let mut expected = days_from_civil(1600, 1, 1);
    for year in 1600..2400 {
        for month in 1..=12 {
            for day in 1..=days_in_month(year, month) {
                assert_eq!(days_from_civil(year, month, day), expected);
                assert_eq!(civil_from_days(expected), (year, month, day));
                expected += 1;
            }
        }
    }
}

#[test]
fn civil_conversions_do_not_panic_at_the_extremes() {
    let _ = civil_from_days(i64::MIN);
    let _ = civil_from_days(i64::MAX);
    assert_eq!(days_from_civil(i64::MAX, 12, 31), i64::MAX);
    assert_eq!(days_from_civil(i64::MIN, 1, 1), i64::MIN);
    let _ = days_from_civil(2026, u32::MAX, u32::MAX);
}
