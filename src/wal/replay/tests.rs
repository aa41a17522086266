//! Replay and LSN recovery tests: real files in a temporary directory.

use std::fs;

use proptest::prelude::*;
use tempfile::TempDir;

use super::super::handle::tests::{line, options};
use super::super::line::tests::entry_object;
use super::*;
use crate::wal::{Wal, WalOptions};

/// (lsn, entry, file name, line) of every visited record.
type Seen = Vec<(u64, String, String, usize)>;

fn replay(dir: &Path) -> Result<(ReplaySummary, Seen), WalError> {
    let mut seen = Vec::new();
    let summary = for_each_record(dir, |record| {
        let name = record.file.file_name().unwrap().to_string_lossy().into_owned();
        seen.push((record.lsn, record.entry.to_string(), name, record.line));
        Ok(())
    })?;
    Ok((summary, seen))
}

const E1: &str = r#"{"v":2,"op":"counter.increment","series":"api","key":1,"bucket":20260505,"value":7}"#;

#[test]
fn visits_every_entry_in_file_order_with_lines() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("karma.wal.00000000000000000001.segment"), format!("{}\n{}", line(1, 1), line(2, 2))).unwrap();
    fs::write(dir.join("karma.wal.00000000000000000001.segment.idx"), "garbage").unwrap();
    fs::write(
        dir.join("karma.wal"),
        format!("{}{}", line(3, 3), r#" {"entry": {"v":2, "op":"tree.create","series":"x"}, "lsn": 4, "v":2}"#),
    )
    .unwrap();
    let (summary, seen) = replay(dir).expect("replay");
    assert_eq!(seen[0], (1, E1.to_string(), "karma.wal.00000000000000000001.segment".to_string(), 1));
    assert_eq!(seen[1].0, 2);
    assert_eq!(seen[1].3, 3, "the blank line counts");
    assert_eq!(seen[2].2, "karma.wal");
    assert_eq!(seen[3], (4, r#"{"v":2,"op":"tree.create","series":"x"}"#.to_string(), "karma.wal".to_string(), 2));
    assert_eq!(
        summary,
        ReplaySummary {
            records: 4,
            first_lsn: 1,
            last_lsn: 4,
            files: vec![dir.join("karma.wal.00000000000000000001.segment"), dir.join("karma.wal")],
            torn_tail_cut: false,
        }
    );
    assert_eq!(replay(&dir.join("missing")).expect("empty").0, ReplaySummary::default());
}

#[test]
fn a_torn_tail_is_cut_and_the_file_truncated() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("karma.wal");
    let good = format!("{}{}", line(1, 1), line(2, 2));
    fs::write(&path, format!("{good}{{\"v\":2,\"lsn\":3,\"entry\":{{\"v\":2,\"op\":\"tree.create\"}}")).unwrap();
    let (summary, seen) = replay(tmp.path()).expect("replay");
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 2]);
    assert!(summary.torn_tail_cut);
    assert_eq!(fs::read_to_string(&path).unwrap(), good);
    // A complete last line without `\n` is an entry, not a torn tail.
    fs::write(&path, format!("{good}{}", line(3, 3).trim_end())).unwrap();
    let (summary, seen) = replay(tmp.path()).expect("replay");
    assert_eq!((seen.len(), summary.torn_tail_cut), (3, false));
}

#[test]
fn corruption_anywhere_else_names_file_and_line() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("karma.wal");
    fs::write(&path, format!("{}garbage\n{}", line(1, 1), line(3, 3))).unwrap();
    assert_eq!(
        replay(tmp.path()).unwrap_err().to_string(),
        format!("Corrupt WAL line at {}:2: expected value at line 1 column 1", path.display())
    );
    fs::write(&path, format!("{}{E1}\n", line(1, 1))).unwrap();
    assert_eq!(
        replay(tmp.path()).unwrap_err().to_string(),
        format!("Corrupt WAL line at {}:2: WAL entry without v2 LSN envelope is not supported", path.display())
    );
    // A torn line at the end of a segment is not the tail of the WAL.
    let segment = tmp.path().join("karma.wal.1.segment");
    fs::write(&segment, format!("{}{{\"v\":2,\"lsn\":2", line(1, 1))).unwrap();
    fs::write(&path, line(3, 3)).unwrap();
    assert_eq!(
        replay(tmp.path()).unwrap_err().to_string(),
        format!("Corrupt WAL line at {}:2: EOF while parsing an object at line 1 column 14", segment.display())
    );
    assert_eq!(fs::read_to_string(&segment).unwrap().len(), 108 + 14, "nothing was cut");
}

#[test]
fn a_visitor_error_stops_the_replay() {
    let tmp = TempDir::new().unwrap();
    fs::write(tmp.path().join("karma.wal"), format!("{}{}", line(1, 1), line(2, 2))).unwrap();
    let mut calls = 0;
    let error = for_each_record(tmp.path(), |record| {
        calls += 1;
        Err(Stop::Visitor(record.lsn))
    })
    .unwrap_err();
    assert!(matches!(error, Stop::Visitor(1)), "{error:?}");
    assert_eq!(calls, 1);
}

/// The visitor's own error, and the WAL's.
#[derive(Debug)]
enum Stop {
    Visitor(u64),
    #[allow(dead_code)] // Only read by Debug.
    Wal(WalError),
}

impl From<WalError> for Stop {
    fn from(error: WalError) -> Stop {
        Stop::Wal(error)
    }
}

#[test]
fn recover_lsn_takes_the_larger_of_the_lsn_file_and_the_last_entry() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    assert_eq!(recover_lsn(dir), Ok(0));
    fs::write(dir.join("karma.wal.lsn"), "23\n").unwrap();
    assert_eq!(recover_lsn(dir), Ok(23));
    fs::write(dir.join("karma.wal.00000000000000000030.segment"), format!("{}{}\n\n", line(30, 1), line(31, 1)))
        .unwrap();
    fs::write(dir.join("karma.wal"), "").unwrap();
    assert_eq!(recover_lsn(dir), Ok(31), "an empty active file falls back to the last segment");
    fs::write(dir.join("karma.wal"), format!("{}{{\"v\":2,\"lsn\":99,\"en", line(32, 1))).unwrap();
    assert_eq!(recover_lsn(dir), Ok(32), "a torn tail is ignored");
    fs::write(dir.join("karma.wal.lsn"), "40").unwrap();
    assert_eq!(recover_lsn(dir), Ok(40));
    fs::write(dir.join("karma.wal"), format!("{}{E1}\n", line(45, 1))).unwrap();
    assert_eq!(recover_lsn(dir), Ok(45), "a line without lsn counts as 0; the scan finds 45");
    fs::write(dir.join("karma.wal"), format!("{}garbage\n", line(50, 1))).unwrap();
    assert_eq!(
        recover_lsn(dir).unwrap_err().to_string(),
        format!("Corrupt WAL line at {}:2: expected value at line 1 column 1", dir.join("karma.wal").display())
    );
}

#[test]
fn lsn_file_parsing() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    assert_eq!(read_lsn_file(dir), Ok(None));
    for (text, value) in [("", 0), ("23\n", 23), (" \t7 \r\n", 7), ("18446744073709551615", u64::MAX)] {
        fs::write(dir.join("karma.wal.lsn"), text).unwrap();
        assert_eq!(read_lsn_file(dir), Ok(Some(value)), "{text:?}");
    }
    for text in ["abc", "-1", "+5", "1 2", "18446744073709551616"] {
        fs::write(dir.join("karma.wal.lsn"), text).unwrap();
        assert_eq!(
            read_lsn_file(dir).unwrap_err().to_string(),
            format!("Invalid WAL LSN file {}", dir.join("karma.wal.lsn").display()),
            "{text:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Entries appended to a WAL, one batch each and rotating into segments
    /// on the way, are what replay reads back, in order and unchanged.
    #[test]
    fn appended_entries_replay_unchanged(
        entries in prop::collection::vec(entry_object(), 1..16),
        segment_bytes in 0u64..1024,
    ) {
        let tmp = TempDir::new().unwrap();
        let entries: Vec<Vec<u8>> = entries.iter().map(|e| serde_json::to_vec(e).expect("serialise")).collect();
        let expected: Vec<(u64, Vec<u8>)> = (1..).zip(entries).collect();
        {
            let wal = Wal::open(WalOptions { segment_bytes, ..options(tmp.path()) }, 0).expect("open");
            for (lsn, entry) in &expected {
                wal.append(*lsn, entry).expect("append");
                wal.wait_durable(*lsn).expect("durable");
            }
        }
        let mut seen = Vec::new();
        for_each_record(tmp.path(), |record| {
            seen.push((record.lsn, record.entry.as_bytes().to_vec()));
            Ok::<(), WalError>(())
        })
        .expect("replay");
        prop_assert_eq!(seen, expected);
    }
}
