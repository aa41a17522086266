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
use super::state::State;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::protocol::{parse_request, Command};
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

/// LSN thresholds: an entry at or below its series' value is already held.
pub(super) struct Covered {
    per_series: HashMap<String, u64>,
    global: u64,
}

impl Covered {
    pub(super) fn series(&self, name: &str) -> u64 {
        self.per_series.get(name).copied().unwrap_or(0)
    }

    fn entry(&self, command: &Command<'_>) -> u64 {
        match command.series_name() {
            Some(name) => self.series(name),
            None => self.global,
        }
    }
}

/// Loads the newest snapshot of every series into `state`.
pub(super) fn load_snapshots(config: &Config, state: &mut State) -> Result<(Covered, usize), String> {
    let dir = &config.directory;
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
    Ok((covered, latest.len()))
}

/// Restores `state` from the data directory. `repair` allows cutting a torn
/// WAL tail (startup); `snapshot.verify` passes false and never writes.
pub fn restore(config: &Config, metrics: &Metrics, state: &mut State, repair: bool) -> Result<RestoreReport, String> {
    let (covered, snapshots_loaded) = load_snapshots(config, state)?;
    let mut report = RestoreReport { snapshots_loaded, ..RestoreReport::default() };
    let mut highest_snapshot = covered.global;
    for lsn in covered.per_series.values() {
        highest_snapshot = highest_snapshot.max(*lsn);
    }
    if config.wal {
        let visit = |record: crate::wal::WalRecord<'_>| {
            replay_entry(state, metrics, &covered, record.lsn, record.entry, &mut report)
                .map_err(|message| format!("{message} at {}:{}", record.file.display(), record.line))
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

/// Applies one WAL entry unless a snapshot already holds it.
fn replay_entry(
    state: &mut State,
    metrics: &Metrics,
    covered: &Covered,
    lsn: u64,
    entry: &str,
    report: &mut RestoreReport,
) -> Result<(), String> {
    let request = parse_request(entry.as_bytes()).map_err(|r| format!("Invalid WAL entry: {}", r.error.message))?;
    if lsn <= covered.entry(&request.command) {
        report.wal_entries_skipped += 1;
        return Ok(());
    }
    metrics.command_count.inc();
    let mut scratch = Vec::new();
    let applies_to = |name: &str| lsn > covered.series(name);
    match dispatch::apply_command(state, metrics, &request.command, &applies_to, &mut scratch) {
        Ok(()) => report.wal_entries_applied += 1,
        Err(error) => {
            metrics.error_count.inc();
            report.wal_entries_failed += 1;
            log::warn!(target: "wal.replay_skipped", "lsn={lsn} error={}", error.message);
        }
    }
    Ok(())
}
