//! Startup restore (docs/storage.md, Startup, with the defects
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
//! An entry that fails to apply is skipped. That is right for a command
//! that failed when Karma 1.0 ran it (it logged before executing, defect
//! D2). But it can also be one Karma 1.0 applied and acknowledged: a
//! Karma 1.0 `snapshot.create_all` drops open ingest streams with the WAL
//! that began them (their mode, and a `replace_series` stream's staged
//! chunks, were only in its memory), so a later `ingest.chunk` or
//! `ingest.commit` of such a stream names a stream nothing on disk
//! describes, and cannot be applied correctly. So every skip is an
//! error-level `wal.entry_failed` log line and is counted, with its LSN
//! and reason, in `system.stats`, `system.metrics` and
//! `replication.status` (see [`crate::metrics::FailedEntries`]).

use super::apply::apply_command;
use super::keyed_write;
use super::state::{Covered, State};
use super::RestoreError;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::protocol::fingerprint::Fingerprint;
use crate::protocol::{parse_request, write, Command, CommandError, Rejected, Request};
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
pub(super) fn load_snapshots(
    dir: &std::path::Path,
    state: &mut State,
    metrics: &Metrics,
) -> Result<usize, RestoreError> {
    let files = snapshot::list_snapshots(dir)
        .map_err(|source| RestoreError::ListSnapshots { dir: dir.to_path_buf(), source })?;
    let mut covered = Covered { per_series: HashMap::new(), global: 0 };
    let latest = snapshot::latest_per_series(&files);
    for file in latest.iter().rev() {
        let meta = snapshot::load_meta(file)?;
        let series = snapshot::read_snapshot(&file.path)?;
        state.store.insert(&meta.series, series);
        covered.per_series.insert(meta.series.clone(), meta.last_lsn);
    }
    if let Some(meta) = snapshot::read_idempotency_meta(dir, (0, 0))? {
        covered.global = meta.last_lsn;
    }
    load_idempotency(dir, state, metrics)?;
    state.covered = covered;
    Ok(latest.len())
}

/// Restores `state` from the data directory. `repair` allows cutting a torn
/// WAL tail (startup); `snapshot.verify` passes false and never writes.
pub fn restore(
    config: &Config,
    metrics: &Metrics,
    state: &mut State,
    repair: bool,
) -> Result<RestoreReport, RestoreError> {
    let snapshots_loaded = load_snapshots(&config.directory, state, metrics)?;
    let mut report = RestoreReport { snapshots_loaded, ..RestoreReport::default() };
    let highest_snapshot = state.covered.highest();
    if config.wal {
        let visit = |record: crate::wal::WalRecord<'_>| {
            let request = parse_request(record.entry.as_bytes()).map_err(|r| invalid_entry(&record, r))?;
            match apply_entry(state, metrics, record.lsn, record.entry, &request) {
                Applied::Yes => report.wal_entries_applied += 1,
                Applied::Covered => report.wal_entries_skipped += 1,
                Applied::Failed(error) => {
                    report.wal_entries_failed += 1;
                    // A scratch restore (verify) reports nothing live.
                    if repair {
                        skipped(metrics, &config.directory, "replay", record.lsn, record.entry, &error);
                    }
                }
            }
            Ok::<(), RestoreError>(())
        };
        let summary = if repair {
            crate::wal::for_each_record(&config.directory, visit)
        } else {
            crate::wal::scan_records(&config.directory, visit)
        }?;
        report.wal_first_lsn = summary.first_lsn;
        report.wal_last_lsn = summary.last_lsn;
    }
    let wal_lsn = if repair { crate::wal::recover_lsn(&config.directory)? } else { 0 };
    // A master never hands out an LSN twice, so it continues after the
    // highest LSN it has seen anywhere. A slave continues after what it
    // holds everywhere: entries between its snapshots' LSNs are fetched
    // again and skipped per series where a snapshot already has them.
    let snapshots = match config.role {
        crate::config::Role::Master => highest_snapshot,
        crate::config::Role::Slave => state.covered.lowest(),
    };
    report.last_lsn = wal_lsn.max(snapshots).max(report.wal_last_lsn);
    Ok(report)
}

/// Loads `karma.idempotency.json` (records and ingest streams) if present.
fn load_idempotency(dir: &std::path::Path, state: &mut State, metrics: &Metrics) -> Result<(), RestoreError> {
    let path = dir.join(snapshot::IDEMPOTENCY_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(RestoreError::Read { path, source }),
    };
    let (max_records, max_age) = state.idempotency.limits();
    let decode = |bytes: &[u8]| snapshot::decode_series(bytes).map_err(Into::into);
    let (records, ingest, pruned) =
        super::ingest::read_idempotency_json(&bytes, max_records, max_age, crate::util::time::unix_now(), &decode)
            .map_err(|source| RestoreError::IdempotencyFile { path, source })?;
    metrics.idempotency_pruned.add(pruned);
    state.idempotency = records;
    state.ingest = ingest;
    Ok(())
}

/// A WAL line whose entry does not parse as a request.
pub(super) fn invalid_entry(record: &crate::wal::WalRecord<'_>, rejected: Rejected) -> RestoreError {
    RestoreError::InvalidWalEntry { file: record.file.to_path_buf(), line: record.line, error: rejected.error }
}

/// What became of one logged entry applied by replay or replication.
pub(super) enum Applied {
    Yes,
    /// A snapshot already holds it.
    Covered,
    /// It failed and changed nothing; the caller skips it and reports it
    /// with [`skipped`].
    Failed(CommandError),
}

/// Reports a logged entry that failed and is skipped (`during` is `replay`
/// or `replication`): an error-level log line, and the failed-entry figures,
/// also saved in `dir` (see `failed_entries`).
pub(super) fn skipped(
    metrics: &Metrics,
    dir: &std::path::Path,
    during: &str,
    lsn: u64,
    entry: &str,
    error: &CommandError,
) {
    let new = super::failed_entries::record(dir, metrics, lsn, &error.message);
    let counted = if new { "" } else { " (counted before)" };
    // Enough of the entry to recognise it; a batch can be 10,000 items.
    const SHOWN: usize = 512;
    let end = (0..=SHOWN.min(entry.len())).rev().find(|&i| entry.is_char_boundary(i)).unwrap_or(0);
    let more = if end < entry.len() { "..." } else { "" };
    log::error!(
        target: "wal.entry_failed",
        "during={during} lsn={lsn} error_code={} error={} entry={}{more}{counted}",
        error.code.as_str(),
        error.message,
        &entry[..end]
    );
}

/// Applies one logged entry unless a snapshot already holds it; the
/// caller has checked its LSN's place in the sequence.
///
/// Ingest entries carry two kinds of state: the stream's (covered by the
/// idempotency snapshot) and, for `add`/`set` chunks and `replace_series`
/// commits, the live series' (covered by that series' snapshot). When only
/// the series data is already held, the entry runs against a scratch store
/// so the stream advances and the data is not applied twice.
pub(super) fn apply_entry(
    state: &mut State,
    metrics: &Metrics,
    lsn: u64,
    entry: &str,
    request: &Request<'_>,
) -> Applied {
    let command = &request.command;
    let (stream_threshold, data_threshold) = match command {
        Command::IngestChunk(write::IngestChunk { series, .. }) => {
            (state.covered.global, state.covered.series_lsn(series))
        }
        Command::IngestCommit(write::IngestCommit { stream_id, .. }) => {
            let bound = state.ingest.active_stream(stream_id).and_then(|s| s.series.clone());
            (state.covered.global, bound.map_or(0, |series| state.covered.series_lsn(&series)))
        }
        _ => match command.series_name() {
            Some(name) => (state.covered.series_lsn(name), 0),
            None => (state.covered.global, 0),
        },
    };
    let fingerprint = Fingerprint::new(request.op, command);
    let keyed = match keyed_write::keyed(request, &fingerprint) {
        Ok(keyed) => keyed,
        Err(error) => return Applied::Failed(error),
    };
    if lsn <= stream_threshold {
        // The series snapshot holds the effect; the record is restored
        // unless the idempotency snapshot already holds it too.
        if let (Some(keyed), true) = (&keyed, lsn > state.covered.global) {
            if state.idempotency.get_hashed(keyed.key_hash, &keyed.fields.key).is_none() {
                if let Some(reply) = keyed_write::saved_reply(entry, command) {
                    let now = crate::util::time::unix_now();
                    let created = keyed.fields.created_at_unix.map_or(now, |t| i64::try_from(t).unwrap_or(i64::MAX));
                    keyed_write::remember(state, metrics, keyed, request.op, created, now, &reply);
                }
            }
        }
        return Applied::Covered;
    }
    let mut scratch = Vec::new();
    if let Some(keyed) = &keyed {
        // Not a client's retry: no hit or conflict is counted here.
        match state.idempotency.lookup_hashed(keyed.key_hash, &keyed.fields.key, &keyed.digest) {
            Ok(Some(_)) => return Applied::Covered,
            Ok(None) => {}
            Err(error) => return Applied::Failed(error),
        }
    }
    metrics.command_count.inc();
    // Taken out for the call (and put back) so `system.compact` can consult
    // it per series while the state is borrowed mutably.
    let covered = std::mem::take(&mut state.covered);
    let live = (lsn <= data_threshold).then(|| std::mem::take(&mut state.store));
    let applies_to = |name: &str| lsn > covered.series_lsn(name);
    let result = apply_command(state, metrics, command, &fingerprint, &applies_to, &mut scratch);
    if let Some(live) = live {
        state.store = live;
    }
    state.covered = covered;
    match result {
        Ok(()) => {
            if let Some(keyed) = &keyed {
                let now = crate::util::time::unix_now();
                let created = keyed.fields.created_at_unix.map_or(now, |t| i64::try_from(t).unwrap_or(i64::MAX));
                keyed_write::remember(state, metrics, keyed, request.op, created, now, &scratch);
            }
            Applied::Yes
        }
        Err(error) => {
            metrics.error_count.inc();
            Applied::Failed(error)
        }
    }
}
