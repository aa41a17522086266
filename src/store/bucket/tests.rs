use super::*;

fn bucket(value: u64) -> Bucket {
    Bucket::from_yyyymmdd(value).expect("valid test date")
}

#[test]
fn every_day_1970_to_2200_round_trips() {
    let last = days_from_civil(2200, 12, 31);
    assert_eq!(last, 84_370);
    // Walk the calendar independently and compare every day.
    let (mut year, mut month, mut day) = (1970i64, 1u32, 1u32);
    for number in 0..=last {
        let expected = year as u32 * 10_000 + month * 100 + day;
        let from_number = Bucket::from_day_number(number).expect("in range");
        assert_eq!(from_number.yyyymmdd(), expected, "day {number}");
        assert_eq!(from_number.day_number(), number);
        assert_eq!(Bucket::from_yyyymmdd(u64::from(expected)), Some(from_number));
        assert_eq!(civil_from_days(number), (year, month, day));
        assert_eq!(days_from_civil(year, month, day), number);
        day += 1;
        if day > days_in_month(year, month) {
            day = 1;
            month += 1;
            if month > 12 {
                month = 1;
                year += 1;
            }
        }
    }
    assert_eq!((year, month, day), (2201, 1, 1));
}

#[test]
fn known_day_numbers() {
    assert_eq!(bucket(19700101).day_number(), 0);
    assert_eq!(bucket(20000101).day_number(), 10_957);
    assert_eq!(bucket(20260505).day_number(), 20_578);
    assert_eq!(bucket(10000101).day_number(), MIN_DAY_NUMBER);
    assert_eq!(bucket(99991231).day_number(), MAX_DAY_NUMBER);
    assert_eq!(days_from_civil(1000, 1, 1), MIN_DAY_NUMBER);
    assert_eq!(days_from_civil(9999, 12, 31), MAX_DAY_NUMBER);
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
}

#[test]
fn invalid_dates_are_rejected() {
    for value in [
        20261332u64,
        20250229,
        20260230,
        0,
        99999999,
        9991231,
        20260001,
        20260100,
        20260431,
        21000229,
        100000101,
        u64::MAX,
    ] {
        assert_eq!(Bucket::from_yyyymmdd(value), None, "{value}");
    }
}

#[test]
fn valid_edge_dates_are_accepted() {
    for value in [20240229u64, 20000229, 10000101, 99991231, 20261231] {
        assert_eq!(Bucket::from_yyyymmdd(value).map(Bucket::yyyymmdd), Some(value as u32));
    }
}

#[test]
fn day_numbers_outside_the_years_are_rejected() {
    assert_eq!(Bucket::from_day_number(MIN_DAY_NUMBER - 1), None);
    assert_eq!(Bucket::from_day_number(MAX_DAY_NUMBER + 1), None);
    assert_eq!(Bucket::from_day_number(i64::MIN), None);
    assert_eq!(Bucket::from_day_number(i64::MAX), None);
    assert_eq!(Bucket::from_day_number(MIN_DAY_NUMBER), Some(Bucket::MIN));
    assert_eq!(Bucket::from_day_number(MAX_DAY_NUMBER), Some(Bucket::MAX));
}

#[test]
fn unix_seconds_map_to_utc_days() {
    assert_eq!(Bucket::from_unix_seconds(0), bucket(19700101));
    assert_eq!(Bucket::from_unix_seconds(86_399), bucket(19700101));
    assert_eq!(Bucket::from_unix_seconds(86_400), bucket(19700102));
    assert_eq!(Bucket::from_unix_seconds(-1), bucket(19691231));
    // 2026-05-05T23:59:59Z
    assert_eq!(Bucket::from_unix_seconds(1_778_025_599), bucket(20260505));
    assert_eq!(Bucket::from_unix_seconds(i64::MIN), Bucket::MIN);
    assert_eq!(Bucket::from_unix_seconds(i64::MAX), Bucket::MAX);
}

#[test]
fn today_is_after_2024() {
    assert!(Bucket::today() > bucket(20240101));
}

#[test]
fn days_between_and_display() {
    assert_eq!(Bucket::days_between(bucket(20250101), bucket(20260102)), 366);
    assert_eq!(Bucket::days_between(bucket(20260102), bucket(20250101)), -366);
    assert_eq!(Bucket::days_between(bucket(20240228), bucket(20240301)), 2);
    assert_eq!(bucket(20260505).to_string(), "20260505");
    assert_eq!(format!("{}", Bucket::MIN), "10000101");
}
