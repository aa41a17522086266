use super::{end_of_durable, PROBE_BYTES};
use crate::wal::handle::tests::{append_each, entry, line, options};
use crate::wal::replay::for_each_record;
use crate::wal::Wal;
use std::io::Write;
use tempfile::TempDir;

#[test]
fn a_resumed_wal_blanks_the_refused_tail_and_continues_after_the_durable_lsn() {
    let tmp = TempDir::new().unwrap();
    let wal = Wal::open(options(tmp.path()), 0).expect("open");
    append_each(&wal, 1..=2);
    // A batch that ran out of space half way through its line.
    let active = tmp.path().join("karma.wal");
    let torn = b"{\"v\":2,\"lsn\":3,\"ent";
    std::fs::OpenOptions::new().append(true).open(&active).unwrap().write_all(torn).unwrap();
    wal.inject_failure("No space left on device (os error 28)");
    wal.append(3, &entry(3)).expect("append");
    assert!(wal.wait_durable(3).is_err());
    assert!(wal.append(4, &entry(4)).is_err());
    let epoch = wal.epoch();

    wal.resume().expect("resume");
    assert_eq!((wal.failure(), wal.last_appended_lsn(), wal.durable_lsn(), wal.epoch()), (None, 2, 2, epoch + 1));
    append_each(&wal, 3..=3);
    let expected = format!(
        "{}{}{}\n{}\n{}",
        line(1, 1),
        line(2, 2),
        " ".repeat(torn.len() - 1),
        " ".repeat(PROBE_BYTES - 1),
        line(3, 3)
    );
    assert_eq!(std::fs::read_to_string(&active).unwrap(), expected);
    let mut lsns = Vec::new();
    for_each_record(tmp.path(), |record| {
        lsns.push(record.lsn);
        Ok::<(), crate::wal::WalError>(())
    })
    .expect("replay");
    assert_eq!(lsns, vec![1, 2, 3]);
    assert_eq!(std::fs::read_to_string(tmp.path().join("karma.wal.lsn")).unwrap(), "3\n");
}

#[test]
fn the_durable_part_ends_before_the_first_refused_record_or_partial_line() {
    let line = |lsn: u64| format!("{{\"v\":2,\"lsn\":{lsn},\"entry\":{{\"op\":\"system_ping\"}}}}\n");
    let two = format!("{}{}", line(1), line(2));
    let with_third = format!("{two}{}", line(3));
    assert_eq!(end_of_durable(with_third.as_bytes(), 2), two.len() as u64);
    assert_eq!(end_of_durable(with_third.as_bytes(), 3), with_third.len() as u64);
    let torn = format!("{two}{{\"v\":2,\"ls");
    assert_eq!(end_of_durable(torn.as_bytes(), 9), two.len() as u64);
    let blanked = format!("{}     \n{}", line(1), line(2));
    assert_eq!(end_of_durable(blanked.as_bytes(), 2), blanked.len() as u64);
    assert_eq!(end_of_durable(b"", 0), 0);
}
