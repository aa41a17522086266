//! Replication page tests: WALs written by the real writer, read back under
//! every kind of sidecar damage.

use std::fs;
use std::sync::Arc;

use super::super::handle::tests::{append_each, entry, options};
use super::super::replay::for_each_record;
use super::super::{Wal, WalOptions};
use super::*;
use tempfile::TempDir;

/// Every entry of the WAL in `dir`, from replay.
fn all_entries(dir: &Path) -> Vec<(u64, String)> {
    let mut entries = Vec::new();
    for_each_record(dir, |record| {
        entries.push((record.lsn, record.entry.to_string()));
        Ok::<(), crate::wal::WalError>(())
    })
    .expect("replay");
    entries
}

/// The page docs/protocol.md, replication.entries asks for, computed from the full entry list.
fn expected(entries: &[(u64, String)], request: &PageRequest) -> Result<Page, PageError> {
    let mut page = Page::default();
    for (lsn, entry) in entries.iter().filter(|(lsn, _)| *lsn > request.after_lsn) {
        if *lsn > request.durable_lsn || page.count == request.limit {
            break;
        }
        let text = format!(r#"{{"lsn":{lsn},"entry":{entry}}}"#);
        if request.byte_budget.is_some_and(|budget| page.entries_bytes + text.len() > budget) {
            if page.count == 0 {
                return Err(PageError::SingleEntryTooLarge(*lsn));
            }
            page.truncated_by_bytes = true;
            break;
        }
        if page.count > 0 {
            page.entries.push(b',');
        }
        page.entries.extend_from_slice(text.as_bytes());
        page.entries_bytes += text.len();
        page.count += 1;
        page.last_lsn = Some(*lsn);
    }
    Ok(page)
}

fn request(after_lsn: u64, limit: usize, byte_budget: Option<usize>, durable_lsn: u64) -> PageRequest {
    PageRequest { after_lsn, limit, byte_budget, durable_lsn }
}

/// Segments 1-3, 4-6, 7-9 and the active file with 10.
fn ten_entries(tmp: &TempDir) -> Vec<(u64, String)> {
    let wal = Wal::open(WalOptions { segment_bytes: 250, ..options(tmp.path()) }, 0).expect("open");
    append_each(&wal, 1..=10);
    wal.shutdown();
    let entries = all_entries(tmp.path());
    assert_eq!(entries.len(), 10);
    entries
}

fn assert_all_pages(dir: &Path, entries: &[(u64, String)], what: &str) {
    let reader = WalReader::new(dir.to_path_buf());
    for durable in [7, 10] {
        for after in 0..=12 {
            for limit in [1, 2, 3, 4, 100] {
                for budget in [None, Some(250)] {
                    let request = request(after, limit, budget, durable);
                    assert_eq!(reader.read_page(&request), expected(entries, &request), "{what}: {request:?}");
                }
            }
        }
    }
}

#[test]
fn pages_across_segments_and_the_active_file() {
    let tmp = TempDir::new().unwrap();
    let entries = ten_entries(&tmp);
    assert_all_pages(tmp.path(), &entries, "intact");
    let reader = WalReader::new(tmp.path().to_path_buf());
    let page = reader.read_page(&request(4, 3, None, 10)).expect("page");
    assert_eq!((page.count, page.last_lsn, page.truncated_by_bytes), (3, Some(7), false));
    let text = String::from_utf8(page.entries).unwrap();
    assert!(text.starts_with(r#"{"lsn":5,"entry":{"v":2,"op":"counter.increment","series":"api","key":5,"#), "{text}");
    assert_eq!(reader.read_page(&request(10, 5, None, 10)), Ok(Page::default()));
    assert_eq!(reader.read_page(&request(u64::MAX, 5, None, 10)), Ok(Page::default()));
    assert_eq!(reader.read_page(&request(0, 0, None, 10)), Ok(Page::default()));
}

#[test]
fn the_documented_byte_budget_example() {
    let tmp = TempDir::new().unwrap();
    let wal = Wal::open(options(tmp.path()), 0).expect("open");
    for lsn in 1..=4 {
        wal.append(lsn, &entry(lsn)).expect("append");
    }
    wal.wait_durable(4).expect("durable");
    let reader = WalReader::new(tmp.path().to_path_buf());
    let page = reader.read_page(&request(0, 1000, Some(2300 - 2048), 4)).expect("page");
    let e = |key: u64| String::from_utf8(entry(key)).unwrap();
    assert_eq!(
        String::from_utf8(page.entries.clone()).unwrap(),
        format!(r#"{{"lsn":1,"entry":{}}},{{"lsn":2,"entry":{}}}"#, e(1), e(2))
    );
    assert_eq!((page.count, page.entries_bytes, page.truncated_by_bytes, page.last_lsn), (2, 202, true, Some(2)));
    let page = reader.read_page(&request(0, 2, Some(1000), 4)).expect("page");
    assert_eq!((page.count, page.truncated_by_bytes), (2, false), "the limit is not the budget");
    let page = reader.read_page(&request(0, 1000, Some(101), 4)).expect("page");
    assert_eq!((page.count, page.entries_bytes, page.truncated_by_bytes), (1, 101, true));
    let page = reader.read_page(&request(0, 1000, Some(404), 4)).expect("page");
    assert_eq!((page.count, page.entries_bytes, page.truncated_by_bytes), (4, 404, false));
    assert_eq!(reader.read_page(&request(1, 1000, Some(100), 4)), Err(PageError::SingleEntryTooLarge(2)));
    assert_eq!(
        PageError::SingleEntryTooLarge(2).to_string(),
        "Single WAL entry 2 exceeds replication response byte budget"
    );
}

#[test]
fn damaged_or_lying_indexes_still_give_correct_pages() {
    let tmp = TempDir::new().unwrap();
    let entries = ten_entries(&tmp);
    let idx = |first: u64| tmp.path().join(format!("karma.wal.{first:020}.segment.idx"));
    let good = fs::read_to_string(idx(4)).unwrap();
    assert_eq!(good, "KARMA_WAL_INDEX_V1 size=324\n4 0\n5 108\n6 216\n");
    let variants: [(&str, Option<&str>); 9] = [
        ("deleted", None),
        ("truncated", Some("KARMA_WAL_INDEX_V1 size=324\n4 0\n5 1")),
        ("corrupted", Some("\u{0}\u{1}garbage\n")),
        ("stale size", Some("KARMA_WAL_INDEX_V1 size=216\n4 0\n5 108\n")),
        ("wrong offsets", Some("KARMA_WAL_INDEX_V1 size=324\n4 0\n5 216\n6 108\n")),
        ("offsets inside lines", Some("KARMA_WAL_INDEX_V1 size=324\n4 0\n5 100\n6 200\n")),
        ("shifted lsns", Some("KARMA_WAL_INDEX_V1 size=324\n5 0\n6 108\n7 216\n")),
        ("hiding entries", Some("KARMA_WAL_INDEX_V1 size=324\n")),
        ("empty", Some("")),
    ];
    for (what, content) in variants {
        for first in [1, 4, 7] {
            match content {
                None => {
                    let _ = fs::remove_file(idx(first));
                }
                Some(text) => fs::write(idx(first), text).unwrap(),
            }
        }
        assert_all_pages(tmp.path(), &entries, what);
    }
}

#[test]
fn the_active_file_is_read_only_up_to_the_durable_lsn_and_whole_lines() {
    let tmp = TempDir::new().unwrap();
    let entries = ten_entries(&tmp);
    let reader = WalReader::new(tmp.path().to_path_buf());
    let page = reader.read_page(&request(6, 100, None, 8)).expect("page");
    assert_eq!((page.count, page.last_lsn), (2, Some(8)));
    assert_eq!(reader.read_page(&request(8, 100, None, 8)), Ok(Page::default()));
    // A line being written (no `\n` yet) is never returned, even if durable
    // were already ahead of it.
    let mut file = fs::OpenOptions::new().append(true).open(tmp.path().join("karma.wal")).unwrap();
    std::io::Write::write_all(&mut file, br#"{"v":2,"lsn":11,"entry":{"v":2,"op":"sys"#).unwrap();
    let page = reader.read_page(&request(9, 100, None, 11)).expect("page");
    assert_eq!(page, expected(&entries, &request(9, 100, None, 11)).unwrap());
    assert_eq!(page.last_lsn, Some(10));
}

#[test]
fn a_corrupt_line_in_range_is_reported() {
    let tmp = TempDir::new().unwrap();
    fs::write(tmp.path().join("karma.wal"), "{\"v\":2,\"lsn\":1,\"entry\":{}}\nnot json\n").unwrap();
    let reader = WalReader::new(tmp.path().to_path_buf());
    let error = reader.read_page(&request(0, 10, None, 2)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "Corrupt WAL line at {} byte 27: expected ident at line 1 column 2",
            tmp.path().join("karma.wal").display()
        )
    );
}

#[test]
fn pages_stay_contiguous_while_the_writer_rotates_and_truncates() {
    let tmp = TempDir::new().unwrap();
    let options = WalOptions { segment_bytes: 2000, batch_size: 7, ..options(tmp.path()) };
    let wal = Arc::new(Wal::open(options, 0).expect("open"));
    let progress = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writer = {
        let wal = Arc::clone(&wal);
        let progress = Arc::clone(&progress);
        std::thread::spawn(move || {
            for lsn in 1..=3000u64 {
                wal.append(lsn, &entry(lsn % 10)).expect("append");
                if lsn % 500 == 0 {
                    wal.wait_durable(lsn).expect("durable");
                    wal.seal().expect("seal");
                    // Never drop what the reader still needs.
                    let read = progress.load(std::sync::atomic::Ordering::Acquire);
                    wal.drop_through(read.min(lsn - 200)).expect("drop");
                }
            }
            wal.wait_durable(3000).expect("durable");
        })
    };
    let reader = WalReader::new(tmp.path().to_path_buf());
    let mut last = 0;
    while last < 3000 {
        let durable = wal.durable_lsn();
        let page = reader.read_page(&request(last, 37, None, durable)).expect("page");
        let text = String::from_utf8(page.entries).unwrap();
        for (n, lsn) in (last + 1..=last + page.count as u64).enumerate() {
            let needle = format!(r#"{{"lsn":{lsn},"entry":"#);
            assert!(text.contains(&needle), "entry {n} of the page after {last} is not {lsn}: {text}");
        }
        last = page.last_lsn.unwrap_or(last);
        assert!(last <= durable);
        progress.store(last, std::sync::atomic::Ordering::Release);
    }
    writer.join().expect("writer");
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<WalReader>();
    check::<Wal>();
}
