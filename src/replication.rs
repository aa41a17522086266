//! Replication, master -> slave (docs/operations.md, Replication and failover), pull-based and
//! asynchronous, over the ordinary client protocol.
//!
//! Master side: `replication.entries` pages through the WAL by LSN with the
//! memory-mapped reader (`wal::reader`, `.idx` sidecars), up to the durable
//! LSN, without the state lock; `snapshot.fetch_chunk` and
//! `idempotency.snapshot_fetch_chunk` serve bootstrap.
//!
//! Slave side (`bootstrap`, `poller`): an empty slave copies the master's
//! newest snapshots, then a poller thread applies pages of entries in LSN
//! order. Unlike Karma 1.0, a slave logs what it applies to its own WAL
//! under the master's LSNs, so after `kill -9` or a clean stop it restarts
//! where it stopped (local snapshots + local WAL) instead of refusing to
//! start; `karma.replication.lsn` records the last LSN applied and durable.
//! A `replication_gap` (the master dropped WAL the slave still needed)
//! makes the slave bootstrap again by itself.

pub mod bootstrap;
mod error;
pub mod poller;

pub use error::ReplicationError;

use crate::metrics::{Counter, Gauge};
use parking_lot::Mutex;

/// The slave's replication figures (all zero on a master).
#[derive(Default)]
pub struct ReplicationStats {
    /// Largest `source_lsn` any poll reply carried (never decreases).
    pub source_lsn: Gauge,
    pub entries_applied: Counter,
    pub last_received_unix: Gauge,
    pub poll_attempts: Counter,
    pub poll_successes: Counter,
    pub poll_errors: Counter,
    pub last_poll_attempt_unix: Gauge,
    pub last_poll_success_unix: Gauge,
    pub last_poll_error_unix: Gauge,
    pub last_poll_error: Mutex<Option<String>>,
    pub bootstrap_attempts: Counter,
    pub bootstrap_successes: Counter,
    pub bootstrap_errors: Counter,
    pub last_bootstrap_attempt_unix: Gauge,
    pub last_bootstrap_success_unix: Gauge,
    pub last_bootstrap_error_unix: Gauge,
    pub last_bootstrap_error: Mutex<Option<String>>,
}

/// `karma.replication.lsn` (docs/storage.md, Other files).
pub const REPLICATION_LSN_FILE: &str = "karma.replication.lsn";

/// Reads `karma.replication.lsn`: missing or empty = 0.
pub fn read_replication_lsn(dir: &std::path::Path) -> Result<u64, ReplicationError> {
    let path = dir.join(REPLICATION_LSN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().is_empty() => Ok(0),
        Ok(text) => text.trim().parse().map_err(|_| ReplicationError::InvalidLsnFile { path }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(source) => Err(ReplicationError::ReadLsnFile { path, source }),
    }
}

/// Writes `karma.replication.lsn` atomically (fsynced when `fsync`).
pub fn write_replication_lsn(dir: &std::path::Path, lsn: u64, fsync: bool) -> Result<(), ReplicationError> {
    crate::util::fs::write_atomic(dir, REPLICATION_LSN_FILE, format!("{lsn}\n").as_bytes(), fsync)
        .map_err(|source| ReplicationError::WriteLsnFile { path: dir.join(REPLICATION_LSN_FILE), source })
}

/// Unix time now, as stored in the `_unix` gauges.
pub(crate) fn now_unix() -> u64 {
    crate::util::time::unix_now().max(0) as u64
}
