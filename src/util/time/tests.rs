use super::*;

#[test]
fn now_is_plausible() {
    // 2024-01-01 .. 2200-01-01
    let now = unix_now();
    assert!((1_704_067_200..7_258_118_400).contains(&now), "{now}");
    let precise = unix_now_f64();
    assert!((precise - now as f64).abs() < 2.0);
}

#[test]
fn formats_utc() {
    assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339_utc(1_795_245_397), "2026-11-21T07:16:37Z");
    assert_eq!(rfc3339_utc(1_795_245_062), "2026-11-21T07:11:02Z");
    assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
    assert_eq!(rfc3339_utc(253_402_300_799), "9999-12-31T23:59:59Z");
}

#[test]
fn parses_the_spec_forms() {
    assert_eq!(parse_rfc3339("2099-01-01T00:00:00Z"), Some(4_070_908_800));
    assert_eq!(parse_rfc3339("2026-11-21T07:11:02Z"), Some(1_795_245_062));
    assert_eq!(parse_rfc3339("2026-11-21t07:11:02z"), Some(1_795_245_062));
    assert_eq!(parse_rfc3339("2026-11-21 07:11:02Z"), Some(1_795_245_062));
    assert_eq!(parse_rfc3339("2026-11-21T08:11:02+01:00"), Some(1_795_245_062));
    assert_eq!(parse_rfc3339("2026-11-21T01:41:02-05:30"), Some(1_795_245_062));
    assert_eq!(parse_rfc3339("2026-11-21T07:11:02-00:00"), Some(1_795_245_062));
    assert_eq!(parse_rfc3339("2026-11-21T07:11:02.999999999999Z"), Some(1_795_245_062));
    assert_eq!(parse_rfc3339("1969-12-31T23:59:59.5Z"), Some(-1));
    assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00+23:59"), Some(-86_340));
}

#[test]
fn rejects_everything_else() {
    for bad in [
        "",
        "2026-05-29",
        "2026-05-29T00:00:00",
        "2026-05-29T00:00:00+0100",
        "2026-05-29T00:00:00+01",
        "2026-05-29T00:00:00+01:00:00",
        "2026-05-29T00:00:00.Z",
        "2026-05-29T00:00Z",
        "2026-05-29X00:00:00Z",
        "2026/05/29T00:00:00Z",
        "26-05-29T00:00:00Z",
        "+2026-05-29T00:00:00Z",
        "2026-5-29T00:00:00Z",
        "2026-05-29T00:00:00Z ",
        " 2026-05-29T00:00:00Z",
        "2026-05-29T00:00:00UTC",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-05-00T00:00:00Z",
        "2026-05-29T24:00:00Z",
        "2026-05-29T23:60:00Z",
        "2026-05-29T23:59:60Z",
        "2026-05-29T00:00:00+24:00",
        "2026-05-29T00:00:00+01:60",
        "2026-05-29T0a:00:00Z",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
    }
}

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
fn format_and_parse_agree() {
    for secs in [0, 1, 59, 86_399, 86_400, 951_868_799, 1_795_245_397, -86_401, 4_102_444_800] {
        assert_eq!(parse_rfc3339(&rfc3339_utc(secs)), Some(secs), "{secs}");
    }
}
