//! WAL handle tests: real files in a temporary directory.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::replay::for_each_record;
use super::*;
use tempfile::TempDir;

/// The example entry of docs/storage.md, The write-ahead log, with a
/// one-digit key: 83 bytes, so lines with a one-digit LSN are 108 bytes.
pub(crate) fn entry(key: u64) -> Vec<u8> {
    format!(r#"{{"v":2,"op":"counter.increment","series":"api","key":{key},"bucket":20260505,"value":7}}"#).into_bytes()
}

pub(crate) fn line(lsn: u64, key: u64) -> String {
    format!("{{\"v\":2,\"lsn\":{lsn},\"entry\":{}}}\n", String::from_utf8(entry(key)).unwrap())
}

pub(crate) fn options(dir: &Path) -> WalOptions {
    WalOptions { dir: dir.to_path_buf(), fsync: false, segment_bytes: 0, batch_size: 1024, batch_wait: Duration::ZERO }
}

/// Appends `lsns` one batch each (waiting for every one), so rotation is
/// checked before every entry (docs/storage.md, The write-ahead log:
/// segments).
pub(crate) fn append_each(wal: &Wal, lsns: std::ops::RangeInclusive<u64>) {
    for lsn in lsns {
        wal.append(lsn, &entry(lsn % 10)).expect("append");
        wal.wait_durable(lsn).expect("durable");
    }
}

fn read(path: impl AsRef<Path>) -> String {
    String::from_utf8(fs::read(path).expect("read")).expect("utf-8")
}

/// The lines of a live active file: with fsync on, a blank fill follows
/// them (see `file_writer`); it must be spaces only, without a `\n`.
fn without_fill(live: &str) -> &str {
    let (lines, fill) = live.split_at(live.rfind('\n').map_or(0, |p| p + 1));
    assert!(fill.bytes().all(|b| b == b' '), "the fill is blank: {fill:?}");
    lines
}

fn replayed_lsns(dir: &Path) -> Vec<u64> {
    let mut lsns = Vec::new();
    for_each_record(dir, |record| {
        lsns.push(record.lsn);
        Ok::<(), crate::wal::WalError>(())
    })
    .expect("replay");
    lsns
}

fn wait_for_lsn_file(dir: &Path, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while read(dir.join("karma.wal.lsn")) != expected {
        assert!(Instant::now() < deadline, "karma.wal.lsn never became {expected:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn lines_are_byte_exact_and_the_lsn_file_follows() {
    let tmp = TempDir::new().unwrap();
    let wal = Wal::open(options(tmp.path()), 0).expect("open");
    append_each(&wal, 1..=3);
    assert_eq!(read(tmp.path().join("karma.wal")), format!("{}{}{}", line(1, 1), line(2, 2), line(3, 3)));
    wait_for_lsn_file(tmp.path(), "3\n");
    assert_eq!(wal.durable_lsn(), 3);
    assert_eq!(wal.last_appended_lsn(), 3);
    let stats = wal.stats();
    assert_eq!((stats.bytes, stats.batches, stats.records, stats.fsyncs), (324, 3, 3, 0));
    assert_eq!(stats.batch_sizes.count, 3);
    assert_eq!(stats.failure, None);
}

fn group_commit(fsync: bool) {
    let tmp = TempDir::new().unwrap();
    let wal = Arc::new(Wal::open(WalOptions { fsync, ..options(tmp.path()) }, 0).expect("open"));
    let state = Arc::new(parking_lot::Mutex::new(0u64));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (wal, state) = (Arc::clone(&wal), Arc::clone(&state));
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let lsn = {
                        let mut last = state.lock();
                        *last += 1;
                        wal.append(*last, &entry(*last % 10)).expect("append");
                        *last
                    };
                    wal.wait_durable(lsn).expect("durable");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    let expected: String = (1..=800).map(|lsn| line(lsn, lsn % 10)).collect();
    assert_eq!(without_fill(&read(tmp.path().join("karma.wal"))), expected);
    let stats = wal.stats();
    assert_eq!(stats.records, 800);
    assert_eq!(stats.batch_sizes.count, stats.batches);
    assert!(stats.batches <= 800);
    assert_eq!(stats.fsyncs, if fsync { stats.batches } else { 0 });
    assert_eq!(stats.fsync_ms.count, stats.fsyncs);
    assert_eq!(stats.durable_lsn, 800);
}

#[test]
fn group_commit_with_fsync() {
    group_commit(true);
}

#[test]
fn group_commit_without_fsync() {
    group_commit(false);
}

#[test]
fn batch_wait_collects_records_queued_within_the_wait() {
    let tmp = TempDir::new().unwrap();
    let options = WalOptions { batch_wait: Duration::from_millis(200), ..options(tmp.path()) };
    let wal = Wal::open(options, 0).expect("open");
    let started = Instant::now();
    for lsn in 1..=10 {
        wal.append(lsn, &entry(lsn % 10)).expect("append");
    }
    wal.wait_durable(10).expect("durable");
    assert!(started.elapsed() >= Duration::from_millis(200), "a batch that is not full waits");
    assert_eq!((wal.stats().batches, wal.stats().records), (1, 10));
}

#[test]
fn batch_size_bounds_a_batch() {
    let tmp = TempDir::new().unwrap();
    let options = WalOptions { batch_size: 1, ..options(tmp.path()) };
    let wal = Wal::open(options, 0).expect("open");
    for lsn in 1..=5 {
        wal.append(lsn, &entry(lsn)).expect("append");
    }
    wal.wait_durable(5).expect("durable");
    assert_eq!((wal.stats().batches, wal.stats().records), (5, 5));
}

#[test]
fn rotation_reproduces_the_documented_example() {
    let tmp = TempDir::new().unwrap();
    let wal = Wal::open(WalOptions { segment_bytes: 250, ..options(tmp.path()) }, 0).expect("open");
    append_each(&wal, 1..=4);
    let segment = tmp.path().join("karma.wal.00000000000000000001.segment");
    assert_eq!(read(&segment), format!("{}{}{}", line(1, 1), line(2, 2), line(3, 3)));
    assert_eq!(
        read(tmp.path().join("karma.wal.00000000000000000001.segment.idx")),
        "KARMA_WAL_INDEX_V1 size=324\n1 0\n2 108\n3 216\n"
    );
    assert_eq!(read(tmp.path().join("karma.wal")), line(4, 4));
    let stats = wal.stats();
    assert_eq!((stats.segments, stats.bytes), (1, 432));
    append_each(&wal, 5..=7);
    assert!(tmp.path().join("karma.wal.00000000000000000004.segment").exists());
    assert_eq!(read(tmp.path().join("karma.wal")), line(7, 7));
    assert_eq!(replayed_lsns(tmp.path()), (1..=7).collect::<Vec<_>>());
}

#[test]
fn rotation_of_a_file_that_existed_at_open_scans_it_for_the_index() {
    let tmp = TempDir::new().unwrap();
    fs::write(tmp.path().join("karma.wal"), format!("{}\n{}", line(5, 5), line(6, 6))).expect("seed");
    let wal = Wal::open(WalOptions { segment_bytes: 200, ..options(tmp.path()) }, 6).expect("open");
    append_each(&wal, 7..=7);
    assert_eq!(
        read(tmp.path().join("karma.wal.00000000000000000005.segment.idx")),
        "KARMA_WAL_INDEX_V1 size=217\n5 0\n6 109\n"
    );
    assert_eq!(read(tmp.path().join("karma.wal")), line(7, 7));
}

#[test]
fn an_existing_segment_name_fails_the_wal_instead_of_overwriting() {
    let tmp = TempDir::new().unwrap();
    let taken = tmp.path().join("karma.wal.00000000000000000001.segment");
    fs::write(&taken, b"").expect("seed");
    let wal = Wal::open(WalOptions { segment_bytes: 100, ..options(tmp.path()) }, 0).expect("open");
    append_each(&wal, 1..=1);
    wal.append(2, &entry(2)).expect("append");
    let error = wal.wait_durable(2).unwrap_err();
    assert_eq!(error.to_string(), format!("WAL segment already exists: {}", taken.display()));
    assert_eq!(read(tmp.path().join("karma.wal")), line(1, 1));
}

#[test]
fn seal_and_drop_through_keep_every_entry_above_the_lsn() {
    let tmp = TempDir::new().unwrap();
    let wal = Wal::open(WalOptions { segment_bytes: 250, ..options(tmp.path()) }, 0).expect("open");
    append_each(&wal, 1..=5); // segment 1-3, active 4-5
    wal.seal().expect("seal"); // segment 4-5
    append_each(&wal, 6..=7); // active 6-7
    wal.drop_through(4).expect("drop");
    // 1-3 are gone; 4-5 stay because 5 > 4.
    assert!(!tmp.path().join("karma.wal.00000000000000000001.segment").exists());
    assert!(!tmp.path().join("karma.wal.00000000000000000001.segment.idx").exists());
    assert_eq!(replayed_lsns(tmp.path()), vec![4, 5, 6, 7]);
    wal.drop_through(5).expect("drop");
    assert_eq!(replayed_lsns(tmp.path()), vec![6, 7]);
    assert_eq!(read(tmp.path().join("karma.wal.lsn")), "7\n");
    let stats = wal.stats();
    assert_eq!((stats.segments, stats.bytes), (0, 216));
    // Sealing an empty active file is a no-op.
    wal.seal().expect("seal");
    wal.seal().expect("seal");
    wal.drop_through(7).expect("drop");
    assert_eq!(replayed_lsns(tmp.path()), Vec::<u64>::new());
    assert_eq!(read(tmp.path().join("karma.wal.lsn")), "7\n");
    append_each(&wal, 8..=8);
    assert_eq!(read(tmp.path().join("karma.wal")), line(8, 8));
}

#[test]
fn a_failed_write_is_sticky_and_nothing_unwritten_is_acknowledged() {
    let tmp = TempDir::new().unwrap();
    let wal = Wal::open(options(tmp.path()), 0).expect("open");
    append_each(&wal, 1..=1);
    wal.inject_failure("No space left on device (os error 28)");
    wal.append(2, &entry(2)).expect("queued before the failure");
    let path = tmp.path().join("karma.wal");
    let expected = format!("Cannot write WAL file {}: No space left on device (os error 28)", path.display());
    assert_eq!(wal.wait_durable(2).unwrap_err().to_string(), expected);
    assert_eq!(wal.append(3, &entry(3)).unwrap_err().to_string(), expected);
    assert_eq!(wal.seal().unwrap_err().to_string(), expected);
    assert_eq!(wal.drop_through(1).unwrap_err().to_string(), expected);
    assert_eq!(wal.failure().map(|f| f.to_string()), Some(expected.clone()));
    assert_eq!(wal.stats().failure, Some(expected));
    assert_eq!(wal.durable_lsn(), 1);
    wal.wait_durable(1).expect("what was durable stays durable");
    assert_eq!(read(&path), line(1, 1));
}

#[test]
fn concurrent_writers_never_get_an_ack_for_a_line_not_in_the_file() {
    let tmp = TempDir::new().unwrap();
    let wal = Arc::new(Wal::open(options(tmp.path()), 0).expect("open"));
    let state = Arc::new(parking_lot::Mutex::new(0u64));
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let (wal, state) = (Arc::clone(&wal), Arc::clone(&state));
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for n in 0..200 {
                    if thread == 0 && n == 50 {
                        wal.inject_failure("Input/output error (os error 5)");
                    }
                    let lsn = {
                        let mut last = state.lock();
                        if wal.append(*last + 1, &entry(1)).is_err() {
                            break;
                        }
                        *last += 1;
                        *last
                    };
                    if wal.wait_durable(lsn).is_ok() {
                        acked.push(lsn);
                    }
                }
                acked
            })
        })
        .collect();
    let acked: Vec<u64> = threads.into_iter().flat_map(|t| t.join().expect("thread")).collect();
    assert!(wal.failure().is_some());
    let on_disk = replayed_lsns(tmp.path());
    for lsn in &acked {
        assert!(on_disk.contains(lsn), "LSN {lsn} was acknowledged but is not in the file");
    }
    assert_eq!(acked.iter().max().copied().unwrap_or(0), wal.durable_lsn());
}

#[test]
fn reopen_terminates_a_complete_last_line_and_cuts_a_torn_one() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("karma.wal");
    let unterminated = line(2, 2).trim_end().to_string();
    fs::write(&path, format!("{}{unterminated}", line(1, 1))).expect("seed");
    let wal = Wal::open(options(tmp.path()), 2).expect("open");
    append_each(&wal, 3..=3);
    wal.shutdown();
    assert_eq!(read(&path), format!("{}{}{}", line(1, 1), line(2, 2), line(3, 3)));

    fs::write(&path, format!("{}{{\"v\":2,\"lsn\":2,\"entry\":{{\"v\":2,\"op", line(1, 1))).expect("seed");
    let wal = Wal::open(options(tmp.path()), 1).expect("open");
    append_each(&wal, 2..=2);
    wal.shutdown();
    assert_eq!(read(&path), format!("{}{}", line(1, 1), line(2, 2)));
    assert_eq!(read(tmp.path().join("karma.wal.lsn")), "2\n");
}

#[test]
fn shutdown_writes_what_is_queued_and_is_idempotent() {
    let tmp = TempDir::new().unwrap();
    let wal = Wal::open(WalOptions { fsync: true, ..options(tmp.path()) }, 10).expect("open");
    for lsn in 11..=60 {
        wal.append(lsn, &entry(1)).expect("append");
    }
    wal.shutdown();
    wal.shutdown();
    assert_eq!(wal.durable_lsn(), 60);
    assert_eq!(replayed_lsns(tmp.path()), (11..=60).collect::<Vec<_>>());
    assert_eq!(read(tmp.path().join("karma.wal.lsn")), "60\n");
    assert_eq!(wal.append(61, &entry(1)).unwrap_err().to_string(), "WAL is shut down");
    assert_eq!(wal.wait_durable(60), Ok(()));
    assert!(wal.wait_durable(61).is_err());
}

#[test]
fn open_creates_the_directory_and_reports_io_errors_with_the_path() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("a/b");
    let wal = Wal::open(options(&dir), 0).expect("open");
    assert!(dir.join("karma.wal").exists());
    assert_eq!(read(dir.join("karma.wal.lsn")), "0\n");
    drop(wal);
    let blocker = tmp.path().join("file");
    fs::write(&blocker, b"").expect("seed");
    let error = Wal::open(options(&blocker.join("sub")), 0).err().expect("a file is in the way");
    assert!(
        error.to_string().starts_with(&format!("Cannot create WAL directory {}", blocker.join("sub").display())),
        "{error}"
    );
}

/// Records each completion's outcome.
#[derive(Default)]
struct Outcomes(parking_lot::Mutex<Vec<(u64, bool)>>);

impl Completion for Outcomes {
    fn complete(&self, lsn: u64, outcome: Result<(), &WalError>) {
        self.0.lock().push((lsn, outcome.is_ok()));
    }
}

#[test]
fn completions_are_told_once_each_and_never_ok_for_a_line_not_in_the_file() {
    let tmp = TempDir::new().unwrap();
    let wal = Arc::new(Wal::open(WalOptions { fsync: true, ..options(tmp.path()) }, 0).expect("open"));
    let state = Arc::new(parking_lot::Mutex::new(0u64));
    let outcomes = Arc::new(Outcomes::default());
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let (wal, state, outcomes) = (Arc::clone(&wal), Arc::clone(&state), Arc::clone(&outcomes));
            std::thread::spawn(move || {
                let mut registered = 0;
                for n in 0..300 {
                    if thread == 0 && n == 100 {
                        // Fails whichever batch comes next, with the
                        // completions of every thread in it.
                        wal.inject_failure("Input/output error (os error 5)");
                    }
                    let lsn = {
                        let mut last = state.lock();
                        if wal.append(*last + 1, &entry(1)).is_err() {
                            break;
                        }
                        *last += 1;
                        *last
                    };
                    wal.when_durable(lsn, Arc::clone(&outcomes) as Arc<dyn Completion>);
                    registered += 1;
                }
                registered
            })
        })
        .collect();
    let registered: usize = threads.into_iter().map(|t| t.join().expect("thread")).sum();
    // Completions may still be on their way from the WAL thread.
    let deadline = Instant::now() + Duration::from_secs(30);
    while outcomes.0.lock().len() < registered {
        assert!(Instant::now() < deadline, "{} of {registered} completions called", outcomes.0.lock().len());
        std::thread::sleep(Duration::from_millis(1));
    }
    let failure_at = wal.durable_lsn();
    assert!(wal.failure().is_some());
    let on_disk = replayed_lsns(tmp.path());
    let mut told: Vec<(u64, bool)> = outcomes.0.lock().clone();
    told.sort_unstable();
    assert_eq!(told.len(), registered);
    assert!(told.windows(2).all(|w| w[0].0 < w[1].0), "an LSN was told twice");
    for (lsn, durable) in told {
        assert_eq!(durable, lsn <= failure_at, "LSN {lsn} (durable up to {failure_at})");
        if durable {
            assert!(on_disk.contains(&lsn), "LSN {lsn} was reported durable but is not in the file");
        }
    }
}

#[test]
fn with_fsync_the_file_is_filled_ahead_with_blanks_and_cut_at_shutdown() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("karma.wal");
    let wal = Wal::open(WalOptions { fsync: true, ..options(tmp.path()) }, 0).expect("open");
    append_each(&wal, 1..=3);
    let written: String = (1..=3).map(|lsn| line(lsn, lsn)).collect();
    let live = read(&path);
    assert_eq!(without_fill(&live), written);
    // The first batch filled FILL_BYTES past its end; the next two went into the fill.
    assert_eq!(live.len() as u64, line(1, 1).len() as u64 + super::super::file_writer::FILL_BYTES);
    assert_eq!(wal.stats().bytes, written.len() as u64);
    assert_eq!(replayed_lsns(tmp.path()), [1, 2, 3]);
    wal.shutdown();
    assert_eq!(read(&path), written, "a clean stop leaves the file at its real length");
}

#[test]
fn with_fsync_a_sealed_segment_keeps_its_fill_and_its_index_matches_it() {
    let tmp = TempDir::new().unwrap();
    let wal = Wal::open(WalOptions { fsync: true, ..options(tmp.path()) }, 0).expect("open");
    append_each(&wal, 1..=2);
    wal.seal().expect("seal");
    append_each(&wal, 3..=3);
    let segment = tmp.path().join("karma.wal.00000000000000000001.segment");
    let sealed = read(&segment);
    assert_eq!(without_fill(&sealed), format!("{}{}", line(1, 1), line(2, 2)));
    let index = read(files::index_path(&segment));
    assert!(index.starts_with(&format!("KARMA_WAL_INDEX_V1 size={}\n", sealed.len())), "{index}");
    assert_eq!(replayed_lsns(tmp.path()), [1, 2, 3]);
    wal.shutdown();
    assert_eq!(read(tmp.path().join("karma.wal")), line(3, 3));
}

#[test]
fn reopening_after_a_crash_cuts_the_blank_fill_and_a_write_torn_inside_it() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("karma.wal");
    let fill = " ".repeat(4096);
    fs::write(&path, format!("{}{fill}", line(1, 1))).expect("seed");
    assert_eq!(replayed_lsns(tmp.path()), [1]);
    let wal = Wal::open(WalOptions { fsync: true, ..options(tmp.path()) }, 1).expect("open");
    assert_eq!(wal.stats().bytes, line(1, 1).len() as u64);
    append_each(&wal, 2..=2);
    wal.shutdown();
    assert_eq!(read(&path), format!("{}{}", line(1, 1), line(2, 2)));

    // A write the crash tore inside the fill: an unterminated line that is
    // not valid JSON, cut off as any torn tail.
    let torn = &line(3, 3)[..40];
    fs::write(&path, format!("{}{}{torn}{fill}", line(1, 1), line(2, 2))).expect("seed");
    assert_eq!(replayed_lsns(tmp.path()), [1, 2]);
    assert_eq!(read(&path), format!("{}{}", line(1, 1), line(2, 2)));
    let wal = Wal::open(WalOptions { fsync: true, ..options(tmp.path()) }, 2).expect("open");
    append_each(&wal, 3..=3);
    wal.shutdown();
    assert_eq!(read(&path), format!("{}{}{}", line(1, 1), line(2, 2), line(3, 3)));
}

/// A WAL with fsync on whose next take gathers `expected` records, waiting
/// at most `wait` (half the average commit it is told about).
fn gathering_wal(dir: &Path, expected: usize, wait: Duration) -> Wal {
    let mut wal = Wal::open(WalOptions { fsync: true, ..options(dir) }, 0).expect("open");
    // Lifted for the test's leader (a session's commit), so the timing
    // cannot decide the outcome.
    wal.batching.gather_cap = wait;
    wal.state.expected_records.store(expected, Ordering::Relaxed);
    wal.state.commit_ns.store(wait.as_nanos() as u64 * 2, Ordering::Relaxed);
    wal
}

#[test]
fn with_fsync_a_take_gathers_the_writers_expected_and_the_last_one_wakes_it() {
    let tmp = TempDir::new().unwrap();
    // A wait far longer than the test: only the third append ends it.
    let wal = Arc::new(gathering_wal(tmp.path(), 3, Duration::from_secs(30)));
    wal.append(1, &entry(1)).expect("append");
    let leader = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || wal.wait_durable(1))
    };
    std::thread::sleep(Duration::from_millis(50));
    wal.append(2, &entry(2)).expect("append");
    wal.append(3, &entry(3)).expect("append");
    let started = Instant::now();
    wal.wait_durable(3).expect("durable");
    leader.join().expect("no panic").expect("durable");
    assert!(started.elapsed() < Duration::from_secs(10), "the third record ended the wait");
    assert_eq!((wal.stats().batches, wal.stats().records), (1, 3));
    assert_eq!(replayed_lsns(tmp.path()), vec![1, 2, 3]);
}

#[test]
fn with_fsync_a_gather_that_times_out_commits_what_came_and_stops_gathering_for_a_while() {
    let tmp = TempDir::new().unwrap();
    let wal = gathering_wal(tmp.path(), 4, Duration::from_millis(20));
    wal.append(1, &entry(1)).expect("append");
    wal.wait_durable(1).expect("durable");
    assert_eq!((wal.stats().batches, wal.stats().records), (1, 1));
    assert_eq!(wal.state.gather_skips.load(Ordering::Relaxed), super::super::committer::SKIPS_AFTER_MISS);
    // The next takes do not wait.
    wal.state.commit_ns.store(Duration::from_secs(60).as_nanos() as u64, Ordering::Relaxed);
    wal.state.expected_records.store(4, Ordering::Relaxed);
    let started = Instant::now();
    wal.append(2, &entry(2)).expect("append");
    wal.wait_durable(2).expect("durable");
    assert!(started.elapsed() < Duration::from_secs(10), "no gather while skipping");
    assert_eq!(wal.state.gather_skips.load(Ordering::Relaxed), super::super::committer::SKIPS_AFTER_MISS - 1);
}

#[test]
fn without_fsync_nothing_gathers() {
    let tmp = TempDir::new().unwrap();
    let wal = Wal::open(options(tmp.path()), 0).expect("open");
    wal.state.expected_records.store(100, Ordering::Relaxed);
    wal.state.commit_ns.store(Duration::from_secs(60).as_nanos() as u64, Ordering::Relaxed);
    let started = Instant::now();
    wal.append(1, &entry(1)).expect("append");
    wal.wait_durable(1).expect("durable");
    assert!(started.elapsed() < Duration::from_secs(10), "a write without fsync never waits for others");
}
