use std::error::Error;
use std::path::Path;

use super::*;

#[test]
fn every_error_says_what_the_wal_always_said() {
    let path = Path::new("/data/karma.wal");
    let disk_full = || io::Error::from_raw_os_error(28);
    let cases = [
        (
            WalError::io("write WAL file", path, disk_full()),
            "Cannot write WAL file /data/karma.wal: No space left on device (os error 28)",
        ),
        (WalError::SegmentExists(path.into()), "WAL segment already exists: /data/karma.wal"),
        (
            WalError::CorruptLine { path: path.into(), line: 3, reason: "EOF".into() },
            "Corrupt WAL line at /data/karma.wal:3: EOF",
        ),
        (WalError::InvalidLsnFile("/data/karma.wal.lsn".into()), "Invalid WAL LSN file /data/karma.wal.lsn"),
        (WalError::NeverAppended { lsn: 5, last_appended: Some(4) }, "WAL LSN 5 was never appended (last appended: 4)"),
        (WalError::NeverAppended { lsn: 5, last_appended: None }, "WAL LSN 5 was never appended"),
        (
            WalError::ThreadStart(Arc::new(io::Error::from_raw_os_error(11))),
            "Cannot start the WAL thread: Resource temporarily unavailable (os error 11)",
        ),
        (WalError::WriterPanicked, "the WAL writer panicked"),
        (WalError::Reset, "the WAL was reset"),
        (WalError::ShutDown, "WAL is shut down"),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
}

#[test]
fn an_io_failure_keeps_its_os_error() {
    let error = WalError::io("fsync WAL file", "/data/karma.wal", io::Error::from_raw_os_error(28));
    assert_eq!(error.io_kind(), Some(io::ErrorKind::StorageFull));
    let source = error.source().expect("the io::Error");
    let source = source.downcast_ref::<Arc<io::Error>>().expect("shared io::Error");
    assert_eq!(source.raw_os_error(), Some(28));
    assert_eq!(error.clone(), error, "a clone is the same failure");
    assert_eq!(WalError::ShutDown.io_kind(), None);
    assert!(WalError::ShutDown.source().is_none());
}
