use super::*;
use std::fs;
use tempfile::TempDir;

#[test]
fn renders_the_documented_example() {
    let text = render(324, &[(1, 0), (2, 108), (3, 216)]);
    assert_eq!(text, b"KARMA_WAL_INDEX_V1 size=324\n1 0\n2 108\n3 216\n");
}

#[test]
fn write_replaces_atomically_and_leaves_no_temp_file() {
    let tmp = TempDir::new().unwrap();
    let segment = tmp.path().join("karma.wal.00000000000000000001.segment");
    let path = write(&segment, 324, &[(1, 0), (2, 108), (3, 216)], true).expect("write");
    assert_eq!(fs::read(&path).unwrap(), b"KARMA_WAL_INDEX_V1 size=324\n1 0\n2 108\n3 216\n");
    let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("karma.wal.00000000000000000001.segment.idx")]);
}

#[test]
fn lookups_follow_the_reader_rules() {
    let text = b"KARMA_WAL_INDEX_V1 size=324\n1 0\n\n2   108\n3 216\n";
    let view = IndexView::new(text, 324).expect("valid");
    assert_eq!(view.lower_bound(0), Ok(Some((1, 0))));
    assert_eq!(view.lower_bound(2), Ok(Some((2, 108))));
    assert_eq!(view.lower_bound(3), Ok(Some((3, 216))));
    assert_eq!(view.lower_bound(4), Ok(None));
    assert!(IndexView::new(text, 325).is_none(), "stale size");
    assert!(IndexView::new(b"", 324).is_none(), "empty");
    assert!(IndexView::new(b"KARMA_WAL_INDEX_V1 size=324\n5 7\n", 324).is_none(), "first offset");
    let empty = IndexView::new(b"KARMA_WAL_INDEX_V1 size=324\n", 324).expect("no entries");
    assert_eq!(empty.lower_bound(1), Ok(None));
    let bad = IndexView::new(b"KARMA_WAL_INDEX_V1 size=324\n1 0\n2 999\n", 324).expect("header ok");
    assert_eq!(bad.lower_bound(2), Err(()), "offset past the end");
    let bad = IndexView::new(b"KARMA_WAL_INDEX_V1 size=324\n1 0\n2 1 3\n", 324).expect("header ok");
    assert_eq!(bad.lower_bound(2), Err(()), "three fields");
}

#[test]
fn scan_table_indexes_every_line_with_an_lsn() {
    let data = b"{\"v\":2,\"lsn\":4,\"entry\":{}}\n\n{\"v\":2,\"lsn\":5,\"entry\":{}}\n";
    assert_eq!(scan_table(data), vec![(4, 0), (5, 28)]);
}
