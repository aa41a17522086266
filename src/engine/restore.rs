//! Startup restore (PERSISTENCE.md 4.1-4.2, 3.12-3.13, with the defects
//! fixed): the newest snapshot of each series, then the WAL replayed
//! through the normal command path, skipping what each snapshot already
//! holds.
//!
//! Which entries are skipped: an entry for series S is applied only when
//! its LSN is above S's newest snapshot `last_lsn` (0 when S has none);
//! `system.compact` applies per series by the same rule; ingest and
//! idempotency entries compare with the idempotency snapshot's LSN. So a
//! plain `snapshot.create`, or a crash between the snapshot renames and the
//! WAL truncation of `snapshot.create_all`, never applies a write twice
//! (Karma 1.0 did).
//!
//! An entry that fails to apply was a command that failed when Karma 1.0
//! ran it (it logged before executing, defect D2); its failure is
//! reproduced by skipping it, with a `wal.replay_skipped` warning.

use super::dispatch;
use super::state::{Covered, State};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::protocol::{parse_request, CommandError, Request};
use crate::snapshot;
use std::collections::HashMap;

/// What restore found, for logs and `snapshot.verify`.
#[derive(Debug, Default, Clone)]
pub struct RestoreReport {
    pub snapshots_loaded: usize,
    pub wal_entries_applied: u64,
    pub wal_entries_skipped: u64,
    pub wal_entries_failed: u64,
    pub wal_first_lsn: u64,
    pub wal_last_lsn: u64,
    /// The largest LSN the directory knows of (snapshots, WAL, LSN file).
    pub last_lsn: u64,
}

/// Loads the newest snapshot of every series in `dir` into `state` and
/// records what they cover; returns how many were loaded.
pub(super) fn load_snapshots(dir: &std::path::Path, state: &mut State) -> Result<usize, String> {
    let files =
        snapshot::list_snapshots(dir).map_err(|e| format!("Cannot list snapshots in {}: {e}", dir.display()))?;
    let mut covered = Covered { per_series: HashMap::new(), global: 0 };
    let latest = snapshot::latest_per_series(&files);
    for file in latest.iter().rev() {
        let meta = snapshot::load_meta(file).map_err(|e| e.to_string())?;
        let series = snapshot::read_snapshot(&file.path).map_err(|e| e.to_string())?;
        state.store.insert(&meta.tree, series);
        covered.per_series.insert(meta.tree.clone(), meta.last_lsn);
    }
    if let Some(meta) = snapshot::read_idempotency_meta(dir, (0, 0)).map_err(|e| e.to_string())? {
        covered.global = meta.last_lsn;
    }
    state.covered = covered;
    Ok(latest.len())
}

/// Restores `state` from the data directory. `repair` allows cutting a torn
/// WAL tail (startup); `snapshot.verify` passes false and never writes.
pub fn restore(config: &Config, metrics: &Metrics, state: &mut State, repair: bool) -> Result<RestoreReport, String> {
    let snapshots_loaded = load_snapshots(&config.directory, state)?;
    let mut report = RestoreReport { snapshots_loaded, ..RestoreReport::default() };
    let highest_snapshot = state.covered.highest();
    if config.wal {
        let visit = |record: crate::wal::WalRecord<'_>| {
            let request = parse_request(record.entry.as_bytes()).map_err(|r| {
                format!("Invalid WAL entry at {}:{}: {}", record.file.display(), record.line, r.error.message)
            })?;
            match apply_entry(state, metrics, record.lsn, &request) {
                Applied::Yes => report.wal_entries_applied += 1,
                Applied::Covered => report.wal_entries_skipped += 1,
                Applied::Failed(_) => report.wal_entries_failed += 1,
            }
            Ok(())
        };
        let summary = if repair {
            crate::wal::for_each_record(&config.directory, visit)
        } else {
            crate::wal::scan_records(&config.directory, visit)
        }
        .map_err(|e| e.to_string())?;
        report.wal_first_lsn = summary.first_lsn;
        report.wal_last_lsn = summary.last_lsn;
    }
    let wal_lsn = if repair { crate::wal::recover_lsn(&config.directory).map_err(|e| e.to_string())? } else { 0 };
    report.last_lsn = wal_lsn.max(highest_snapshot).max(report.wal_last_lsn);
    Ok(report)
}

/// What became of one logged entry applied by replay or replication.
pub(super) enum Applied {
    Yes,
    /// A snapshot already holds it.
    Covered,
    /// It failed: it was a command that failed when Karma 1.0 ran it
    /// (logged before executing), so skipping it reproduces that.
    Failed(CommandError),
}

/// Applies one logged entry unless a snapshot already holds it; the
/// caller has checked its LSN's place in the sequence.
pub(super) fn apply_entry(state: &mut State, metrics: &Metrics, lsn: u64, request: &Request<'_>) -> Applied {
    let threshold = match request.command.series_name() {
        Some(name) => state.covered.series(name),
        None => state.covered.global,
    };
    if lsn <= threshold {
        return Applied::Covered;
    }
    metrics.command_count.inc();
    let mut scratch = Vec::new();
    // Taken out for the call (and put back) so `system.compact` can consult
    // it per series while the state is borrowed mutably.
    let covered = std::mem::take(&mut state.covered);
    let applies_to = |name: &str| lsn > covered.series(name);
    let result = dispatch::apply_command(state, metrics, &request.command, &applies_to, &mut scratch);
    state.covered = covered;
    match result {
        Ok(()) => Applied::Yes,
        Err(error) => {
            metrics.error_count.inc();
            log::warn!(target: "wal.replay_skipped", "lsn={lsn} error={}", error.message);
            Applied::Failed(error)
        }
    }
}
