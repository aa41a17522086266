use super::*;

fn parsed(timestamp: i64, series: Option<&str>, sidecar_decides: bool) -> Result<ParsedName, NameError> {
    Ok(ParsedName { timestamp, series: series.map(str::to_string), sidecar_decides })
}

#[test]
fn names_karma_can_store_are_verbatim() {
    assert_eq!(snapshot_file_name(1795245397, "api"), "1795245397_api.tree");
    assert_eq!(snapshot_file_name(1777925811, "api_requests"), "1777925811_api_requests.tree");
    assert_eq!(snapshot_file_name(5, "é ü\\x"), "5_é ü\\x.tree");
    assert_eq!(snapshot_file_name(-3, "a"), "-3_a.tree");
    assert_eq!(snapshot_file_name(7, "50%"), "7_50%.tree");
    assert_eq!(snapshot_file_name(7, "utm%20source"), "7_utm%20source.tree");
    assert_eq!(snapshot_file_name(7, "cpu%2Fload"), "7_cpu%2Fload.tree");
    assert_eq!(snapshot_file_name(7, ".."), "7_...tree");
    assert_eq!(snapshot_file_name(7, "%H"), "7_%H.tree");
}

#[test]
fn slash_and_nul_names_are_escaped_behind_a_marked_prefix() {
    assert_eq!(snapshot_file_name(7, "a/b"), "07_a%2Fb.tree");
    assert_eq!(snapshot_file_name(7, "../../etc/passwd"), "07_..%2F..%2Fetc%2Fpasswd.tree");
    assert_eq!(snapshot_file_name(7, "n\0l"), "07_n%00l.tree");
    assert_eq!(snapshot_file_name(7, "5/50%"), "07_5%2F50%25.tree");
    assert_eq!(snapshot_file_name(0, "a/b"), "00_a%2Fb.tree");
    assert_eq!(snapshot_file_name(-3, "a/b"), "-03_a%2Fb.tree");
}

#[test]
fn every_name_parses_back() {
    for series in
        ["a/b", "../../etc/passwd", "50%", "utm%20source", "cpu%2Fload", "n\0l", "..", "%H", "%2F", "x_y_z", "é/%/\0"]
    {
        for unix in [1795245397, 0, -3] {
            let file = snapshot_file_name(unix, series);
            let back = parse_snapshot_file_name(&file).unwrap();
            assert_eq!((back.timestamp, back.series.as_deref()), (unix, Some(series)), "{file}");
            assert!(names_series(&file, unix, series), "{file}");
        }
    }
}

#[test]
fn distinct_series_get_distinct_names() {
    let series = ["a/b", "a%2Fb", "07_a%2Fb", "%", "%25", "n\0", "n%00", "%H", &"y".repeat(300)];
    let files: std::collections::HashSet<String> = series.iter().map(|s| snapshot_file_name(7, s)).collect();
    assert_eq!(files.len(), series.len());
}

#[test]
fn long_names_are_hashed() {
    let series = "x".repeat(300);
    let file = snapshot_file_name(1795245397, &series);
    assert_eq!(file, format!("01795245397_%H{}.tree", hex::encode(Sha256::digest(&series))));
    assert_eq!(file.len(), 11 + 1 + 2 + 64 + 5);
    assert_eq!(parse_snapshot_file_name(&file), parsed(1795245397, None, true));
    assert!(names_series(&file, 1795245397, &series));
    assert!(!names_series(&file, 1795245397, "x"));
}

#[test]
fn the_verbatim_limit_leaves_room_for_the_sidecar_temp_file() {
    assert_eq!(MAX_VERBATIM_FILE_NAME, 212);
    // "1795245397_" is 11 bytes and ".tree" 5: 196 name bytes fit.
    let fits = "y".repeat(196);
    assert_eq!(snapshot_file_name(1795245397, &fits).len(), 212);
    let too_long = "y".repeat(197);
    assert!(snapshot_file_name(1795245397, &too_long).contains("%H"));
    // Escapes count in their encoded length.
    let slashes = "/".repeat(66);
    assert!(snapshot_file_name(1795245397, &slashes).contains("%H"));
    let longest_temp = format!(".{}.meta.json.4294967295.0123456789abcdef.tmp", "z".repeat(212));
    assert_eq!(longest_temp.len(), 255);
}

#[test]
fn names_written_by_older_versions_are_settled_by_the_sidecar() {
    // `%` was escaped in every name, long names hashed without a mark.
    for (file, series) in [
        ("7_50%25.tree", "50%"),
        ("7_a%2Fb%25c.tree", "a/b%c"),
        ("7_n%00l.tree", "n\0l"),
        ("7_cpu%252Fload.tree", "cpu%2Fload"),
    ] {
        let name = parse_snapshot_file_name(file).unwrap();
        assert!(name.sidecar_decides, "{file}");
        assert!(names_series(file, 7, series), "{file}");
    }
    let long = "é".repeat(150);
    let file = format!("9_%H{}.tree", hex::encode(Sha256::digest(&long)));
    assert_eq!(parse_snapshot_file_name(&file), parsed(9, None, true));
    assert!(names_series(&file, 9, &long));
    // A sidecar naming a series the file could not hold does not count.
    assert!(!names_series("7_50%25.tree", 7, "50"));
    assert!(!names_series("7_50%25.tree", 8, "50%"));
    assert!(!names_series("7_x.tree", 7, ""));
}

#[test]
fn parse_follows_karma_rules() {
    let plain = |timestamp, series| parsed(timestamp, Some(series), false);
    assert_eq!(parse_snapshot_file_name("1777925811_api_requests.tree"), plain(1777925811, "api_requests"));
    assert_eq!(parse_snapshot_file_name(" +12_a_b.tree"), plain(12, "a_b"));
    assert_eq!(parse_snapshot_file_name("\t-12 _x.tree"), plain(-12, "x"));
    assert_eq!(parse_snapshot_file_name("0012_x.tree"), plain(12, "x"));
    assert_eq!(parse_snapshot_file_name("\x0b7\r\n_x.tree"), plain(7, "x"));
    // Karma 1.0 reads a `%` verbatim, and so do we without a sidecar.
    assert_eq!(parse_snapshot_file_name("1_50%off.tree"), parsed(1, Some("50%off"), true));
    assert_eq!(parse_snapshot_file_name("1_a%2fb.tree"), parsed(1, Some("a%2fb"), true));
    assert_eq!(parse_snapshot_file_name("1_%FF.tree"), parsed(1, Some("%FF"), true));
}

#[test]
fn parse_rejections() {
    assert_eq!(parse_snapshot_file_name("abc_x.tree"), Err(NameError::BadTimestamp("abc".to_string())));
    assert_eq!(parse_snapshot_file_name("_x.tree"), Err(NameError::BadTimestamp(String::new())));
    assert_eq!(parse_snapshot_file_name("12_.tree"), Err(NameError::EmptySeries));
    assert_eq!(parse_snapshot_file_name("foo.tree"), Err(NameError::NoSeparator));
    assert_eq!(parse_snapshot_file_name("12_x.TREE"), Err(NameError::MissingSuffix));
    assert_eq!(parse_snapshot_file_name("12_x.tree.meta.json"), Err(NameError::MissingSuffix));
    assert_eq!(parse_snapshot_file_name("+-1_x.tree"), Err(NameError::BadTimestamp("+-1".to_string())));
    assert_eq!(parse_snapshot_file_name("1 2_x.tree"), Err(NameError::BadTimestamp("1 2".to_string())));
    assert_eq!(
        parse_snapshot_file_name("9223372036854775808_x.tree"),
        Err(NameError::BadTimestamp("9223372036854775808".to_string()))
    );
    assert_eq!(parse_snapshot_file_name("01_%Habc.tree"), Err(NameError::BadEncoding));
    assert_eq!(parse_snapshot_file_name(&format!("01_%H{}.tree", "A".repeat(64))), Err(NameError::BadEncoding));
    assert_eq!(parse_snapshot_file_name("01_%FF.tree"), Err(NameError::BadEncoding));
    assert_eq!(NameError::BadTimestamp("abc".to_string()).to_string(), "Invalid Int64: \"abc\"");
}

#[test]
fn marked_names_with_stray_percent_stay_literal() {
    assert_eq!(parse_snapshot_file_name("01_50%off.tree"), parsed(1, Some("50%off"), false));
    assert_eq!(parse_snapshot_file_name("01_100%.tree"), parsed(1, Some("100%"), false));
    assert_eq!(parse_snapshot_file_name("01_a%2fb.tree"), parsed(1, Some("a/b"), false));
    assert_eq!(parse_snapshot_file_name("01_%C3%A9.tree"), parsed(1, Some("é"), false));
}

#[test]
fn requested_file_checks_in_order() {
    assert_eq!(check_requested_file(""), Err(RequestedFileError::Empty));
    assert_eq!(check_requested_file("../1_a.tree"), Err(RequestedFileError::NotABasename));
    assert_eq!(check_requested_file("1_a.tree/"), Err(RequestedFileError::NotABasename));
    assert_eq!(check_requested_file("/"), Err(RequestedFileError::NotABasename));
    assert_eq!(check_requested_file("1_a.json"), Err(RequestedFileError::NotATreeFile));
    assert_eq!(check_requested_file(".."), Err(RequestedFileError::NotATreeFile));
    assert_eq!(check_requested_file("1_a.tree"), Ok(()));
    assert_eq!(check_requested_file("abc_x.tree"), Ok(()));
}

#[test]
fn sidecar_names_append_the_suffix() {
    assert_eq!(sidecar_file_name("1_a.tree"), "1_a.tree.meta.json");
}
