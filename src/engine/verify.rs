//! `snapshot.verify` (docs/protocol.md, Snapshot ops), side-effect free (defect D12
//! fixed): it checks the directory's snapshots, sidecars, WAL continuity and
//! `karma.wal.lsn`, then restores everything into a scratch copy and checks
//! its invariants. Nothing live is touched and no file is written.
//!
//! The WAL checks run with writes paused (the state lock held, everything
//! assigned so far durable) so the WAL and `karma.wal.lsn` are seen at one
//! LSN; the scratch restore runs without the lock.

use super::restore::restore;
use super::state::State;
use super::Engine;
use crate::metrics::Metrics;
use crate::protocol::{read, CommandError};
use crate::snapshot;
use crate::util::json_writer::{write_key, write_u64};

fn invalid(message: impl Into<String>) -> CommandError {
    CommandError::validation(message)
}

#[derive(Default)]
struct Findings {
    snapshot_files: u64,
    metadata_checked: u64,
    missing_metadata: u64,
    restore_snapshot_lsn: u64,
    highest_snapshot_lsn: u64,
    wal_entries: u64,
    wal_first: u64,
    wal_last: u64,
    lsn_file: u64,
}

impl Engine {
    pub(super) fn verify(&self, _: &read::SnapshotVerify<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let _no_snapshot_meanwhile = self.snapshot_lock.lock();
        let mut findings = Findings::default();
        {
            let state = self.state.lock();
            if let (Some(wal), lsn @ 1..) = (&self.wal, state.last_lsn) {
                wal.wait_durable(lsn).map_err(|e| CommandError::internal(e.to_string()))?;
            }
            self.check_snapshots(&mut findings)?;
            self.check_wal(&mut findings)?;
        }
        let mut scratch = State::default();
        let scratch_metrics = Metrics::default();
        restore(&self.config, &scratch_metrics, &mut scratch, false)
            .map_err(|message| CommandError::internal(format!("Cannot replay WAL entry: {message}")))?;
        for (name, series) in scratch.store.iter() {
            for (_, counter) in series.iter() {
                let mut sum = 0u128;
                for (_, value) in counter.points() {
                    if value == 0 {
                        return Err(invalid(format!(
                            "Tree \"{name}\" failed validation: counter contains zero bucket"
                        )));
                    }
                    sum += u128::from(value);
                }
                if sum != u128::from(counter.total()) {
                    return Err(invalid(format!("Tree \"{name}\" failed validation: counter total mismatch")));
                }
            }
        }
        let figures: [(&str, u64); 10] = [
            ("dump_count", findings.snapshot_files),
            ("trees", scratch.store.series_count() as u64),
            ("keys", scratch.store.key_count() as u64),
            ("snapshot_metadata_checked", findings.metadata_checked),
            ("snapshot_missing_metadata", findings.missing_metadata),
            ("restore_snapshot_lsn", findings.restore_snapshot_lsn),
            ("wal_entries_checked", findings.wal_entries),
            ("wal_first_lsn", findings.wal_first),
            ("wal_last_lsn", findings.wal_last),
            ("wal_lsn_file", findings.lsn_file),
        ];
        out.extend_from_slice(b"{\"status\":\"ok\"");
        for (name, value) in figures {
            out.push(b',');
            write_key(out, name);
            write_u64(out, value);
        }
        out.push(b'}');
        Ok(())
    }

    /// Steps 1-2: every sidecar matches its file; the newest snapshots agree.
    fn check_snapshots(&self, findings: &mut Findings) -> Result<(), CommandError> {
        let files =
            snapshot::list_snapshots(&self.config.directory).map_err(|e| CommandError::internal(e.to_string()))?;
        findings.snapshot_files = files.len() as u64;
        for file in &files {
            if !file.sidecar_path().exists() {
                findings.missing_metadata += 1;
                continue;
            }
            let meta = snapshot::load_meta(file).map_err(|e| invalid(format!("Invalid snapshot metadata {e}")))?;
            let mismatch = |what: &str| invalid(format!("Snapshot metadata {what} mismatch for {}", file.file));
            if meta.file != file.file {
                return Err(mismatch("file"));
            }
            if meta.series != file.series {
                return Err(mismatch("tree"));
            }
            if meta.timestamp != file.timestamp {
                return Err(mismatch("timestamp"));
            }
            if meta.bytes != file.bytes {
                return Err(mismatch("bytes"));
            }
            findings.metadata_checked += 1;
        }
        // Replay applies each entry above its own series' snapshot, so
        // newest snapshots taken at different LSNs (a single-series
        // `snapshot.create`) are consistent; the WAL must be complete from
        // the lowest of them, the directory's restore LSN (docs/storage.md, Snapshots). Karma 1.0
        // demanded one common LSN.
        let mut lowest: Option<u64> = None;
        let mut highest = 0;
        for file in snapshot::latest_per_series(&files) {
            let lsn = snapshot::load_meta(file).map_err(|e| CommandError::internal(e.to_string()))?.last_lsn;
            lowest = Some(lowest.map_or(lsn, |low| low.min(lsn)));
            highest = highest.max(lsn);
        }
        findings.restore_snapshot_lsn = lowest.unwrap_or(0);
        findings.highest_snapshot_lsn = highest;
        Ok(())
    }

    /// Steps 3-4: the WAL holds every LSN above the restore LSN, in one
    /// contiguous run; the LSN file agrees. Entries at or below a snapshot's
    /// LSN are what replay skips (a single-series `snapshot.create` does not
    /// truncate, nor does a crash before `snapshot.create_all` truncates),
    /// so they are no error here either.
    fn check_wal(&self, findings: &mut Findings) -> Result<(), CommandError> {
        let dir = &self.config.directory;
        let snapshot_lsn = findings.restore_snapshot_lsn;
        let mut expected: Option<u64> = None;
        let scan = crate::wal::scan_records(dir, |record| {
            let at = format!("{}:{}", record.file.display(), record.line);
            let in_sequence = match expected {
                Some(next) => record.lsn == next,
                // The first entry may repeat covered LSNs, but must not leave
                // a hole after the snapshots.
                None => record.lsn <= snapshot_lsn + 1,
            };
            if !in_sequence {
                let wanted = expected.unwrap_or(snapshot_lsn + 1);
                let message = format!("WAL LSN gap at {at}: expected {wanted}, got {}", record.lsn);
                return Err(ScanStop::Gap(invalid(message)));
            }
            expected = Some(record.lsn + 1);
            findings.wal_entries += 1;
            if findings.wal_first == 0 {
                findings.wal_first = record.lsn;
            }
            findings.wal_last = record.lsn;
            Ok(())
        });
        match scan {
            Ok(_) => {}
            Err(ScanStop::Gap(gap)) => return Err(gap),
            Err(ScanStop::Wal(error)) => return Err(invalid(format!("Invalid WAL JSON at {error}"))),
        }
        let Some(file_lsn) = crate::wal::read_lsn_file(dir).map_err(|e| invalid(e.to_string()))? else {
            return Ok(());
        };
        findings.lsn_file = file_lsn;
        let snapshot_lsn = findings.highest_snapshot_lsn;
        let consistent = file_lsn == findings.wal_last || (findings.wal_entries == 0 && file_lsn <= snapshot_lsn);
        if consistent {
            Ok(())
        } else if file_lsn < findings.wal_last {
            Err(invalid(format!("WAL LSN file {file_lsn} is behind WAL last LSN {}", findings.wal_last)))
        } else {
            let highest = snapshot_lsn.max(findings.wal_last);
            Err(invalid(format!("WAL LSN file {file_lsn} is ahead of snapshot/WAL LSN {highest}")))
        }
    }
}

/// Why the WAL scan of `check_wal` stopped early.
enum ScanStop {
    /// A hole in the LSN sequence: the finding itself.
    Gap(CommandError),
    /// The WAL could not be read.
    Wal(crate::wal::WalError),
}

impl From<crate::wal::WalError> for ScanStop {
    fn from(error: crate::wal::WalError) -> ScanStop {
        ScanStop::Wal(error)
    }
}
