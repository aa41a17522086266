//! `karma.failed_entries.json`: the figures of logged WAL entries skipped
//! because they failed to apply (see `restore`), kept across restarts.
//!
//! A skipped entry can leave this node without a write its source applied.
//! Once a snapshot covers the entry's LSN, replay no longer meets it, so
//! without a record a restarted node (a slave after its shutdown snapshot)
//! would report itself in sync again. The file holds the count, the last
//! LSN and its reason, `{"count":2,"last_lsn":4,"last_error":"…"}` plus
//! `\n`; it is rewritten atomically at every newly skipped entry and read at
//! startup. An entry counts only when its LSN is above the last one
//! recorded, so a restart that replays the same WAL again does not count it
//! twice (it is still logged). Karma 1.0 ignores the file. An operator who
//! has dealt with the skipped writes deletes it, with the node stopped, to
//! clear the figures.

use super::RestoreError;
use crate::metrics::Metrics;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file name in the data directory.
pub const FAILED_ENTRIES_FILE: &str = "karma.failed_entries.json";

#[derive(Serialize, Deserialize)]
struct Record {
    count: u64,
    last_lsn: u64,
    last_error: Option<String>,
}

/// Loads the recorded figures into `metrics`; a missing file means none.
pub(super) fn load(dir: &Path, metrics: &Metrics) -> Result<(), RestoreError> {
    let path = dir.join(FAILED_ENTRIES_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(RestoreError::Read { path, source }),
    };
    let record: Record =
        serde_json::from_slice(&bytes).map_err(|source| RestoreError::FailedEntriesFile { path, source })?;
    let failed = &metrics.failed_entries;
    failed.count.add(record.count);
    failed.last_lsn.set(record.last_lsn);
    *failed.last_error.lock() = record.last_error;
    Ok(())
}

/// Records one skipped entry at `lsn` unless an earlier run already did,
/// and saves the figures. Returns false when it was already recorded.
pub(super) fn record(dir: &Path, metrics: &Metrics, lsn: u64, reason: &str) -> bool {
    let failed = &metrics.failed_entries;
    if failed.count.get() > 0 && lsn <= failed.last_lsn.get() {
        return false;
    }
    failed.record(lsn, reason);
    let record = Record { count: failed.count.get(), last_lsn: lsn, last_error: Some(reason.to_string()) };
    let mut json = serde_json::to_vec(&record).unwrap_or_default();
    json.push(b'\n');
    if let Err(e) = crate::util::fs::write_atomic(dir, FAILED_ENTRIES_FILE, &json, true) {
        // The figures stay right in memory; only a restart would lose them.
        log::error!(target: "wal.entry_failed", "cannot save {}: {e}", dir.join(FAILED_ENTRIES_FILE).display());
    }
    true
}
