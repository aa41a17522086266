//! `replication.entries` over real processes (docs/protocol.md,
//! replication.entries): exact pages by `limit` and by byte budget, field errors, the gap check,
//! and pages that stay exactly right whatever happened to the sealed segments' `.idx` sidecars.
mod common;
mod replication_common;

use common::{err, ok, temp_dir, Server};
use replication_common::{assert_converged, start_slave, write};
use std::path::{Path, PathBuf};

/// The entry logged for the `k`-th write of these tests (sent verbatim, so
/// the WAL holds exactly this text).
fn entry(k: u64) -> String {
    format!(r#"{{"v":2,"op":"counter.increment","series":"pages","key":{k},"bucket":20260505,"value":{}}}"#, k % 9 + 1)
}

/// The exact `replication.entries` reply for entries `after+1..` of a WAL
/// holding `entry(1..=last)`, with the default byte budget.
fn expected_page(after: u64, limit: u64, last: u64) -> String {
    let lsns: Vec<u64> = match after.checked_add(1) {
        Some(first) => (first..=last).take(limit as usize).collect(),
        None => Vec::new(),
    };
    let entries: Vec<String> = lsns.iter().map(|&k| format!(r#"{{"lsn":{k},"entry":{}}}"#, entry(k))).collect();
    let bytes: usize = entries.iter().map(String::len).sum();
    ok(&format!(
        r#"{{"after_lsn":{after},"limit":{limit},"byte_limit":1046528,"entries_bytes":{bytes},"truncated_by_bytes":false,"count":{},"source_lsn":{last},"entries":[{}],"next_lsn":{}}}"#,
        lsns.len(),
        entries.join(","),
        lsns.last().copied().unwrap_or(after)
    ))
}

fn page(server: &Server, after: u64, limit: u64) -> String {
    server.request(&format!(r#"{{"v":2,"op":"replication.entries","after_lsn":{after},"limit":{limit}}}"#))
}

fn write_entries(server: &Server, range: std::ops::RangeInclusive<u64>) {
    let mut c = server.client();
    for k in range {
        assert_eq!(c.request(&entry(k)).expect("reply"), ok(&(k % 9 + 1).to_string()));
    }
}

#[test]
fn pages_by_limit_are_exact() {
    let master = Server::start(&[]);
    write_entries(&master, 1..=25);
    for limit in [1, 2, 7, 25, 1000, 10000] {
        // Walk the whole WAL page by page.
        let mut after = 0;
        loop {
            let reply = page(&master, after, limit);
            assert_eq!(reply, expected_page(after, limit, 25), "after {after} limit {limit}");
            let next = (after + limit).min(25);
            if next == after {
                break;
            }
            after = next;
        }
    }
    // The default limit is 1000; past the end: nothing, next_lsn = after_lsn.
    assert_eq!(master.request(r#"{"v":2,"op":"replication.entries","after_lsn":3}"#), expected_page(3, 1000, 25));
    assert_eq!(page(&master, 25, 5), expected_page(25, 5, 25));
    assert_eq!(page(&master, 1000, 5), expected_page(1000, 5, 25));
    assert_eq!(page(&master, i64::MAX as u64, 5), expected_page(i64::MAX as u64, 5, 25));
}

#[test]
fn field_errors() {
    let master = Server::start(&[]);
    write_entries(&master, 1..=2);
    let cases = [
        (r#"{"v":2,"op":"replication.entries"}"#, "Field after_lsn is required"),
        (r#"{"v":2,"op":"replication.entries","limit":5}"#, "Field after_lsn is required"),
        (r#"{"v":2,"op":"replication.entries","after_lsn":-1}"#, "Field after_lsn must be greater than or equal to 0"),
        (r#"{"v":2,"op":"replication.entries","after_lsn":0,"limit":0}"#, "Field limit must be greater than 0"),
        (r#"{"v":2,"op":"replication.entries","after_lsn":0,"limit":-3}"#, "Field limit must be greater than 0"),
        (r#"{"v":2,"op":"replication.entries","after_lsn":0,"limit":10001}"#, "Field limit exceeds max size"),
    ];
    for (line, message) in cases {
        assert_eq!(master.request(line), err("validation_error", message), "{line}");
    }
    // Integers above u64::MAX fail the whole line (Karma 1.0 stops at i64::MAX).
    assert_eq!(
        master.request(r#"{"v":2,"op":"replication.entries","after_lsn":18446744073709551616}"#),
        err("invalid_json", r#"Invalid UInt64: "18446744073709551616" at line 1, column 47"#)
    );
    let reply = master.request(r#"{"v":2,"op":"replication.entries","after_lsn":"x"}"#);
    assert!(reply.contains(r#""error_code":"validation_error""#), "{reply}");
    assert_eq!(page(&master, 0, 10000), expected_page(0, 10000, 2));
}

#[test]
fn byte_budget_reproduces_the_documented_example() {
    let master = Server::start(&["--max-response-bytes=2300"]);
    let mut c = master.client();
    for key in 1..=4 {
        let line =
            format!(r#"{{"v":2,"op":"counter.increment","series":"api","key":{key},"bucket":20260505,"value":7}}"#);
        assert_eq!(c.request(&line).expect("reply"), ok("7"));
    }
    let e = |k: u64| {
        format!(
            r#"{{"lsn":{k},"entry":{{"v":2,"op":"counter.increment","series":"api","key":{k},"bucket":20260505,"value":7}}}}"#
        )
    };
    assert_eq!(e(1).len(), 101);
    // docs/protocol.md, replication.entries, byte for byte.
    assert_eq!(
        master.request(r#"{"v":2,"op":"replication.entries","after_lsn":0,"limit":1000}"#),
        ok(
            r#"{"after_lsn":0,"limit":1000,"byte_limit":252,"entries_bytes":202,"truncated_by_bytes":true,"count":2,"source_lsn":4,"entries":[{"lsn":1,"entry":{"v":2,"op":"counter.increment","series":"api","key":1,"bucket":20260505,"value":7}},{"lsn":2,"entry":{"v":2,"op":"counter.increment","series":"api","key":2,"bucket":20260505,"value":7}}],"next_lsn":2}"#
        )
    );
    // The last two fit exactly up to the WAL end: not truncated by bytes.
    assert_eq!(
        page(&master, 2, 1000),
        ok(&format!(
            r#"{{"after_lsn":2,"limit":1000,"byte_limit":252,"entries_bytes":202,"truncated_by_bytes":false,"count":2,"source_lsn":4,"entries":[{},{}],"next_lsn":4}}"#,
            e(3),
            e(4)
        ))
    );
    // The limit ends the page before the budget does: not truncated by bytes.
    assert_eq!(
        page(&master, 0, 1),
        ok(&format!(
            r#"{{"after_lsn":0,"limit":1,"byte_limit":252,"entries_bytes":101,"truncated_by_bytes":false,"count":1,"source_lsn":4,"entries":[{}],"next_lsn":1}}"#,
            e(1)
        ))
    );
    // Entry 5 alone is bigger than the budget.
    let items: Vec<String> = (0..20).map(|k| format!("[{k},20260505,1]")).collect();
    let big = format!(r#"{{"v":2,"op":"series.batch_add","series":"api","items":[{}]}}"#, items.join(","));
    assert_eq!(c.request(&big).expect("reply"), ok(r#"{"applied":20,"total":20}"#));
    assert_eq!(
        page(&master, 4, 1000),
        err("response_too_large", "Single WAL entry 5 exceeds replication response byte budget")
    );
    assert_eq!(
        page(&master, 3, 1000),
        ok(&format!(
            r#"{{"after_lsn":3,"limit":1000,"byte_limit":252,"entries_bytes":101,"truncated_by_bytes":true,"count":1,"source_lsn":5,"entries":[{}],"next_lsn":4}}"#,
            e(4)
        ))
    );
    assert_eq!(
        page(&master, 5, 1000),
        ok(
            r#"{"after_lsn":5,"limit":1000,"byte_limit":252,"entries_bytes":0,"truncated_by_bytes":false,"count":0,"source_lsn":5,"entries":[],"next_lsn":5}"#
        )
    );
    // A slave of this master stops at the entry it can never receive, and
    // says why.
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert!(common::eventually(std::time::Duration::from_secs(20), || {
        let status = replication_common::status(&slave);
        status["replayed_lsn"] == 4
            && status["replication_last_poll_error"]
                .as_str()
                .is_some_and(|e| e.contains("Single WAL entry 5 exceeds replication response byte budget"))
    }));
}

#[test]
fn budget_bounds_and_no_budget() {
    for (max, budget) in [("0", "null"), ("2048", "2048"), ("1000", "1000"), ("2049", "1")] {
        let master = Server::start(&[&format!("--max-response-bytes={max}")]);
        let reply = page(&master, 0, 10);
        assert_eq!(
            reply,
            ok(&format!(
                r#"{{"after_lsn":0,"limit":10,"byte_limit":{budget},"entries_bytes":0,"truncated_by_bytes":false,"count":0,"source_lsn":0,"entries":[],"next_lsn":0}}"#
            )),
            "--max-response-bytes={max}"
        );
    }
}

#[test]
fn gap_check_against_the_snapshot_lsn() {
    let master = Server::start(&[]);
    write_entries(&master, 1..=5);
    let mut c = master.client();
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"other","key":1,"bucket":20260505,"value":1}"#);
    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    write_entries(&master, 7..=8);
    let gap = |after: u64| {
        err(
            "replication_gap",
            &format!("Requested WAL after_lsn {after} is older than snapshot LSN 6; bootstrap from snapshot"),
        )
    };
    for after in [0, 1, 5] {
        assert_eq!(page(&master, after, 10), gap(after));
    }
    // after_lsn = snapshot LSN is accepted.
    let reply = page(&master, 6, 10);
    assert!(reply.contains(r#""count":2,"source_lsn":8,"entries":[{"lsn":7,"#), "{reply}");
    // A newer single-series snapshot does not move the restore LSN (the
    // minimum over series), nor does a series without any snapshot.
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"fresh","key":1,"bucket":20260505,"value":1}"#);
    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create","series":"pages"}"#), ok(r#""Tree \"pages\" saved""#));
    assert_eq!(page(&master, 5, 10), gap(5));
    assert!(page(&master, 6, 10).contains(r#""count":3,"source_lsn":9"#));
}

/// Sealed segments of `dir`, oldest first.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".segment"))
        .collect();
    found.sort();
    found
}

fn idx(segment: &Path) -> PathBuf {
    PathBuf::from(format!("{}.idx", segment.display()))
}

/// `(lsn, offset)` of every line of a segment.
fn lines(segment: &Path) -> Vec<(u64, usize)> {
    let data = std::fs::read(segment).expect("segment");
    let mut table = Vec::new();
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            let line = std::str::from_utf8(&data[start..i]).expect("utf-8");
            let lsn = line["{\"v\":2,\"lsn\":".len()..].split(',').next().expect("lsn").parse().expect("number");
            table.push((lsn, start));
            start = i + 1;
        }
    }
    table
}

fn index_text(size: u64, table: &[(u64, usize)]) -> String {
    let mut text = format!("KARMA_WAL_INDEX_V1 size={size}\n");
    for (lsn, offset) in table {
        text.push_str(&format!("{lsn} {offset}\n"));
    }
    text
}

/// Damages segment `i`'s index in one of 11 ways (i mod 11); returns a
/// description for failure messages.
fn damage(segment: &Path, i: usize, other: &Path) -> &'static str {
    let path = idx(segment);
    let size = std::fs::metadata(segment).expect("segment").len();
    let table = lines(segment);
    let original = std::fs::read(&path).expect("every sealed segment has an .idx");
    let shifted_offsets: Vec<(u64, usize)> = table
        .iter()
        .enumerate()
        .map(|(j, &(lsn, offset))| (lsn, if j == 0 { 0 } else { table.get(j + 1).map_or(offset, |n| n.1) }))
        .collect();
    let (what, text): (&str, Option<Vec<u8>>) = match i % 11 {
        0 => ("deleted", None),
        1 => ("empty", Some(Vec::new())),
        2 => ("truncated mid-line", Some(original[..original.len() / 2 + 3].to_vec())),
        3 => ("garbage", Some((0..200u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8).collect())),
        4 => ("stale size", Some(index_text(size + 1, &table).into_bytes())),
        5 => ("offsets pointing one line later", Some(index_text(size, &shifted_offsets).into_bytes())),
        6 => ("header only", Some(index_text(size, &[]).into_bytes())),
        7 => (
            "offsets inside lines",
            Some(
                index_text(size, &table.iter().map(|&(l, o)| (l, if o == 0 { 0 } else { o + 5 })).collect::<Vec<_>>())
                    .into_bytes(),
            ),
        ),
        8 => (
            "LSNs off by one",
            Some(index_text(size, &table.iter().map(|&(l, o)| (l + 1, o)).collect::<Vec<_>>()).into_bytes()),
        ),
        9 => ("another segment's index with this size", {
            let theirs = lines(other);
            Some(index_text(size, &theirs).into_bytes())
        }),
        _ => ("intact", Some(original)),
    };
    match text {
        None => std::fs::remove_file(&path).expect("remove idx"),
        Some(text) => std::fs::write(&path, text).expect("write idx"),
    }
    what
}

/// Every page of every start and several limits, compared with the exact
/// expected reply.
fn assert_all_pages(master: &Server, last: u64, context: &str) {
    for limit in [1, 2, 3, 4, 10, 1000] {
        for after in 0..=last {
            assert_eq!(
                page(master, after, limit),
                expected_page(after, limit, last),
                "{context}: after {after} limit {limit}"
            );
        }
    }
}

#[test]
fn damaged_indexes_never_change_a_page() {
    let temp = temp_dir();
    let mut master = Server::start_in(temp.path(), &["--wal-segment-bytes=300"]);
    write_entries(&master, 1..=70);
    let sealed = segments(temp.path());
    assert!(sealed.len() >= 22, "{} segments", sealed.len());
    // Before any page was read, so nothing is cached.
    let mut what = Vec::new();
    for (i, segment) in sealed.iter().enumerate() {
        what.push(damage(segment, i, &sealed[(i + 5) % sealed.len()]));
    }
    assert_all_pages(&master, 70, "live master, damaged before first read");
    // A fresh process over the damaged files.
    master.kill9();
    let master = Server::start_in(temp.path(), &["--wal-segment-bytes=300"]);
    assert_all_pages(&master, 70, "restarted master");
    // A slave pulls everything through the damaged indexes.
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &["--replication-batch-size=3"]);
    assert_converged(&master, &slave, true);
    // Nothing rewrote the damaged sidecars.
    let deleted = sealed.iter().enumerate().filter(|(i, _)| i % 11 == 0).count();
    assert_eq!(sealed.iter().filter(|s| !idx(s).exists()).count(), deleted, "{what:?}");
}

/// The sidecars change under a running master after it read (and cached)
/// them: overwritten in place with garbage of the same length, or
/// replaced by rename with a lying index.
#[test]
fn indexes_overwritten_under_a_running_master_never_change_a_page() {
    let temp = temp_dir();
    let master = Server::start_in(temp.path(), &["--wal-segment-bytes=300"]);
    // Six sealed segments: all of them stay mapped (the reader keeps 8).
    write_entries(&master, 1..=20);
    assert_all_pages(&master, 20, "intact");
    let sealed = segments(temp.path());
    assert_eq!(sealed.len(), 6);
    for (round, segment) in sealed.iter().enumerate() {
        let path = idx(segment);
        if round % 2 == 0 {
            let len = std::fs::metadata(&path).expect("idx").len() as usize;
            std::fs::write(&path, vec![b'#'; len]).expect("overwrite");
        } else {
            let size = std::fs::metadata(segment).expect("segment").len();
            let tmp = temp.path().join("tmp.idx");
            std::fs::write(&tmp, index_text(size, &[])).expect("write");
            std::fs::rename(&tmp, &path).expect("rename");
        }
    }
    write_entries(&master, 21..=25);
    assert_all_pages(&master, 25, "damaged while mapped");
}

/// An `.idx` truncated in place while the master has it mapped: the next
/// page that looks at it must not touch the vanished bytes.
#[test]
fn an_index_truncated_under_a_running_master_never_changes_a_page() {
    let temp = temp_dir();
    let master = Server::start_in(temp.path(), &["--wal-segment-bytes=300"]);
    write_entries(&master, 1..=12);
    // Maps segment 1 and its index.
    assert_eq!(page(&master, 1, 1), expected_page(1, 1, 12));
    let path = idx(&segments(temp.path())[0]);
    drop(std::fs::OpenOptions::new().write(true).truncate(true).open(&path).expect("truncate"));
    assert_eq!(page(&master, 1, 1), expected_page(1, 1, 12));
    assert_all_pages(&master, 12, "index truncated while mapped");
}
