use super::*;

fn parse_csv(text: &str) -> Expected {
    read_expected(text.as_bytes()).expect("reading from memory cannot fail")
}

/// The skipped lines with their reasons as printed.
fn bad_lines(expected: &Expected) -> Vec<(usize, String)> {
    expected.bad.iter().map(|(line, reason)| (*line, reason.to_string())).collect()
}

fn b(day: u64) -> Bucket {
    Bucket::from_yyyymmdd(day).expect("valid test date")
}

#[test]
fn csv_sums_rows_and_reports_bad_lines() {
    let text =
        "key,bucket,value\r\n101,20260505,5\r\n\n102, 2026-05-05 ,1\n101,20260505,2\n\"103\",\"20260506\",\"0\"\n\
                x,20260505,1\n101,20260230,1\n101,20260505\n101,-20260505,1\n101,20260505,-1\nkey,bucket,value\n";
    let expected = parse_csv(text);
    assert_eq!(expected.rows, 4);
    assert_eq!(
        expected.points.iter().map(|(&(bucket, key), &v)| (bucket.yyyymmdd(), key, v)).collect::<Vec<_>>(),
        [(20260505, 101, 7), (20260505, 102, 1), (20260506, 103, 0)]
    );
    assert_eq!(
        bad_lines(&expected),
        [
            (7, "key \"x\" is not an unsigned integer".to_string()),
            (8, "bucket \"20260230\" is not a date YYYYMMDD".to_string()),
            (9, "expected 3 fields key,bucket,value, found 2".to_string()),
            (10, "bucket \"-20260505\" is not a date YYYYMMDD".to_string()),
            (11, "value \"-1\" is not an unsigned integer".to_string()),
            (12, "key \"key\" is not an unsigned integer".to_string()),
        ]
    );
    // Sums beyond u64 are kept exactly.
    let big = parse_csv("1,20260501,18446744073709551615\n1,20260501,18446744073709551615\n");
    assert_eq!(big.points.get(&(b(20260501), 1)), Some(&(2 * u128::from(u64::MAX))));
    assert_eq!(parse_csv(""), Expected::default());
}

#[test]
fn drift_arithmetic() {
    let expected = parse_csv("1,20260501,5\n1,20260502,3\n2,20260501,4\n3,20260501,0\n4,20260501,2\n4,20260502,2\n");
    let actual: HashMap<(Bucket, u64), u64> = [
        ((b(20260501), 1), 5),
        ((b(20260502), 1), 1),
        ((b(20260501), 2), 10),
        ((b(20260501), 4), 3),
        ((b(20260502), 4), 1),
    ]
    .into_iter()
    .collect();
    let drift = compare(&expected.points, &actual);
    assert_eq!(
        drift,
        Drift {
            checked_points: 6,
            mismatch_count: 4,
            absolute_drift: 2 + 6 + 1 + 1,
            max_abs_delta: 6,
            drifting_keys: 2,
            first: vec![
                Mismatch { key: 1, bucket: b(20260502), expected: 3, actual: 1 },
                Mismatch { key: 2, bucket: b(20260501), expected: 4, actual: 10 },
                Mismatch { key: 4, bucket: b(20260501), expected: 2, actual: 3 },
                Mismatch { key: 4, bucket: b(20260502), expected: 2, actual: 1 },
            ],
        }
    );
    assert_eq!(drift.first.iter().map(Mismatch::delta).collect::<Vec<_>>(), [-2, 6, 1, -1]);
    let none = compare(&expected.points, &HashMap::new());
    assert_eq!((none.mismatch_count, none.absolute_drift, none.max_abs_delta), (5, 16, 5));
    let many = parse_csv(&(0..30).map(|k| format!("{k},20260501,1\n")).collect::<String>());
    let drift = compare(&many.points, &HashMap::new());
    assert_eq!((drift.mismatch_count, drift.first.len(), drift.first[19].key), (30, 20, 19));
}

#[test]
fn report_figures_and_text() {
    let drift = Drift {
        checked_points: 3,
        mismatch_count: 1,
        absolute_drift: u128::MAX,
        max_abs_delta: 2,
        drifting_keys: 1,
        first: vec![Mismatch { key: 7, bucket: b(20260501), expected: 1, actual: 3 }],
    };
    assert_eq!(report_figures(&drift), [3, 1, i64::MAX as u64, 2]);
    let options = parse_args(["--series", "s", "--csv", "x.csv"].map(Into::into)).unwrap().unwrap();
    let expected = parse_csv("7,20260501,1\n8,20260501,1\n");
    assert_eq!(
        render_report(&options, &expected, &drift),
        "series: s\nrows: 2 (bad lines skipped: 0)\nkeys: 2\nchecked points: 3\nmismatches: 1\n\
         absolute drift: 340282366920938463463374607431768211455\nmax abs delta: 2\nkeys with drift: 1\n\
         first mismatches (key bucket expected actual delta):\n7 20260501 1 3 2\n"
    );
}

#[test]
fn arguments() {
    let parse = |args: &[&str]| parse_args(args.iter().map(Into::into));
    let options = parse(&[
        "--host", "h", "--port", "9", "--token", "t", "--series", "s", "--csv", "f", "--report", "--batch", "5",
    ])
    .unwrap()
    .unwrap();
    assert_eq!(
        (
            options.host.as_str(),
            options.port,
            options.token.as_deref(),
            options.series.as_str(),
            options.report,
            options.batch
        ),
        ("h", 9, Some("t"), "s", true, 5)
    );
    assert_eq!(options.csv, PathBuf::from("f"));
    let defaults = parse(&["--series=s", "--csv=f"]).unwrap().unwrap();
    assert_eq!(
        (defaults.host.as_str(), defaults.port, defaults.batch, defaults.report),
        ("127.0.0.1", 8080, 1000, false)
    );
    assert!(parse(&["--help"]).unwrap().is_none());
    assert_eq!(parse(&["--csv", "f"]).unwrap_err().to_string(), "--series is required");
    assert_eq!(parse(&["--series", "s"]).unwrap_err().to_string(), "--csv is required");
    assert_eq!(
        parse(&["--series", "s", "--csv", "f", "--batch", "0"]).unwrap_err().to_string(),
        "--batch \"0\" must be 1..=10000"
    );
    assert_eq!(parse(&["--port", "x"]).unwrap_err().to_string(), "--port \"x\" is not a port number");
    assert!(parse(&["--nope"]).is_err());
}

#[test]
fn csv_quoting_bom_and_line_numbers() {
    // A BOM before the header; quoted fields with doubled quotes, commas
    // and a line break inside; CRLF and LF line ends; bad rows after empty
    // and blank lines keep the number of the line they start on.
    let text = "\u{feff}key,bucket,value\r\n\"1\",\"2026-05-01\",\"5\"\r\n\r\n\n  \n\"2,0\",20260501,1\r\n\
                1,\"2026\r\n0501\",2\n\n\n\"x\"\"y\",20260501,1\n1,20260501,\"3\"\r\n\r\nz";
    let expected = parse_csv(text);
    assert_eq!(
        expected.points.iter().map(|(&(bucket, key), &v)| (bucket.yyyymmdd(), key, v)).collect::<Vec<_>>(),
        [(20260501, 1, 8)]
    );
    assert_eq!(expected.rows, 2);
    assert_eq!(
        bad_lines(&expected),
        [
            (6, "key \"2,0\" is not an unsigned integer".to_string()),
            (7, "bucket \"2026\\r\\n0501\" is not a date YYYYMMDD".to_string()),
            (11, "key \"x\\\"y\" is not an unsigned integer".to_string()),
            (14, "expected 3 fields key,bucket,value, found 1".to_string()),
        ]
    );
    // Without a BOM or header; bytes that are not UTF-8; a quote left open
    // at the end of the file.
    let expected = read_expected(&b"1,20260501,1\n\xff,20260501,1\n2,20260501,4\n3,\"20260501,1\n"[..]).unwrap();
    assert_eq!(expected.rows, 2);
    assert_eq!(
        bad_lines(&expected),
        [(2, "not valid UTF-8".to_string()), (4, "expected 3 fields key,bucket,value, found 2".to_string())]
    );
}
