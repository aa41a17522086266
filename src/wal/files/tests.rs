use super::*;
use tempfile::TempDir;

#[test]
fn segment_names_round_trip_and_reject_non_u64_middles() {
    let dir = Path::new("/data");
    assert_eq!(segment_path(dir, 1), PathBuf::from("/data/karma.wal.00000000000000000001.segment"));
    assert_eq!(index_path(&segment_path(dir, 7)), PathBuf::from("/data/karma.wal.00000000000000000007.segment.idx"));
    assert_eq!(parse_segment_name("karma.wal.00000000000000000001.segment"), Some(1));
    assert_eq!(parse_segment_name("karma.wal.42.segment"), Some(42));
    assert_eq!(parse_segment_name("karma.wal.42.segment.idx"), None);
    assert_eq!(parse_segment_name("karma.wal.lsn"), None);
    assert_eq!(parse_segment_name("karma.wal.+4.segment"), None);
    assert_eq!(parse_segment_name("karma.wal..segment"), None);
    assert_eq!(parse_segment_name("karma.wal.99999999999999999999.segment"), None);
}

#[test]
fn wal_files_orders_segments_numerically_then_the_active_file() {
    let tmp = TempDir::new().unwrap();
    for name in [
        "karma.wal",
        "karma.wal.10.segment",
        "karma.wal.00000000000000000002.segment",
        "karma.wal.00000000000000000002.segment.idx",
        "karma.wal.lsn",
        "karma.wal.abc.segment",
        "1777925811_api.tree",
    ] {
        fs::write(tmp.path().join(name), b"").expect("write");
    }
    let names: Vec<String> = wal_files(tmp.path())
        .expect("list")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["karma.wal.00000000000000000002.segment", "karma.wal.10.segment", "karma.wal"]);
    assert_eq!(wal_files(&tmp.path().join("missing")).expect("list"), Vec::<PathBuf>::new());
}

#[test]
fn decimal_helpers() {
    for value in [0u64, 7, 10, 99, 12345, u64::MAX] {
        let mut buf = Vec::new();
        push_u64(&mut buf, value);
        assert_eq!(buf, value.to_string().into_bytes());
        assert_eq!(decimal_len(value), value.to_string().len());
    }
}
