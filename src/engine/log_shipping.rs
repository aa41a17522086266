//! Log shipping, the engine's side of replication: serving
//! `replication.entries` and `replication.status` (master and slave), and
//! on a slave applying pulled entries, checkpointing the position and
//! bootstrapping again after a gap. The slave's poller thread
//! (`replication::poller`) calls these through its [`Replica`] trait.

use super::restore::{apply_entry, load_snapshots, skipped, Applied};
use super::state::State;
use super::{Engine, ReplicaError};
use crate::protocol::{parse_request, read, CommandError, ErrorCode};
use crate::replication::bootstrap::{self, Source};
use crate::replication::poller::{Replica, ReplicaFailure};
use crate::replication::{write_replication_lsn, ReplicationStats};
use crate::snapshot;
use crate::util::json_writer::{write_bool, write_key, write_opt_str, write_str, write_u64};
use crate::wal::{PageError, PageRequest};

impl Engine {
    pub fn replication_stats(&self) -> &ReplicationStats {
        &self.replication
    }

    /// `replication.entries` (docs/protocol.md, replication.entries): never takes the state lock.
    pub(super) fn replication_entries(
        &self,
        args: &read::ReplicationEntries<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        let (after_lsn, limit) = (args.after_lsn, args.limit.get()?);
        let dir = &self.config.directory;
        let snapshot_lsn = snapshot::restore_lsn(dir).map_err(|e| CommandError::internal(e.to_string()))?;
        if snapshot_lsn > 0 && after_lsn < snapshot_lsn {
            return Err(CommandError::new(
                ErrorCode::ReplicationGap,
                format!("Requested WAL after_lsn {after_lsn} is older than snapshot LSN {snapshot_lsn}; bootstrap from snapshot"),
            ));
        }
        let max = self.config.max_response_bytes;
        let byte_limit = match max {
            0 => None,
            m if m > 2048 => Some(m - 2048),
            m => Some(m),
        };
        let (durable, source_lsn) = match &self.wal {
            Some(wal) => (wal.durable_lsn(), wal.last_appended_lsn()),
            None => (0, 0),
        };
        let page = match (&self.wal_reader, durable) {
            (Some(reader), 1..) => {
                let request = PageRequest { after_lsn, limit, byte_budget: byte_limit, durable_lsn: durable };
                Some(reader.read_page(&request).map_err(|error| match error {
                    PageError::SingleEntryTooLarge(lsn) => CommandError::new(
                        ErrorCode::ResponseTooLarge,
                        format!("Single WAL entry {lsn} exceeds replication response byte budget"),
                    ),
                    PageError::Io(e) => CommandError::internal(e.to_string()),
                    PageError::Corrupt(message) => CommandError::new(ErrorCode::InvalidJson, message),
                })?)
            }
            _ => None,
        };
        out.extend_from_slice(b"{\"after_lsn\":");
        write_u64(out, after_lsn);
        out.extend_from_slice(b",\"limit\":");
        write_u64(out, limit as u64);
        out.extend_from_slice(b",\"byte_limit\":");
        match byte_limit {
            Some(b) => write_u64(out, b as u64),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"entries_bytes\":");
        write_u64(out, page.as_ref().map_or(0, |p| p.entries_bytes as u64));
        out.extend_from_slice(b",\"truncated_by_bytes\":");
        write_bool(out, page.as_ref().is_some_and(|p| p.truncated_by_bytes));
        out.extend_from_slice(b",\"count\":");
        write_u64(out, page.as_ref().map_or(0, |p| p.count as u64));
        out.extend_from_slice(b",\"source_lsn\":");
        write_u64(out, source_lsn);
        out.extend_from_slice(b",\"entries\":[");
        if let Some(page) = &page {
            out.extend_from_slice(&page.entries);
        }
        out.extend_from_slice(b"],\"next_lsn\":");
        write_u64(out, page.as_ref().and_then(|p| p.last_lsn).unwrap_or(after_lsn));
        out.push(b'}');
        Ok(())
    }

    /// `replication.status` (docs/protocol.md, replication.status).
    pub(super) fn replication_status(
        &self,
        _: &read::ReplicationStatus<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        let r = &self.replication;
        let replayed = self.replayed_lsn();
        out.extend_from_slice(b"{\"role\":");
        write_str(out, self.config.role.as_str());
        out.extend_from_slice(b",\"wal_enabled\":");
        write_bool(out, self.config.wal);
        let ints: [(&str, u64); 4] = [
            ("wal_current_lsn", self.current_lsn()),
            ("wal_bytes", self.wal_bytes()),
            ("replayed_lsn", replayed),
            ("replication_lag_entries", self.replication_lag()),
        ];
        write_ints(out, &ints);
        write_ints(
            out,
            &[
                ("replication_entries_applied", r.entries_applied.get()),
                ("replication_last_received_unix", r.last_received_unix.get()),
                ("replication_poll_attempt_count", r.poll_attempts.get()),
                ("replication_poll_success_count", r.poll_successes.get()),
                ("replication_poll_error_count", r.poll_errors.get()),
                ("replication_last_poll_attempt_unix", r.last_poll_attempt_unix.get()),
                ("replication_last_poll_success_unix", r.last_poll_success_unix.get()),
                ("replication_last_poll_error_unix", r.last_poll_error_unix.get()),
            ],
        );
        out.extend_from_slice(b",\"replication_last_poll_error\":");
        write_opt_str(out, r.last_poll_error.lock().as_deref());
        write_ints(
            out,
            &[
                ("replication_bootstrap_attempt_count", r.bootstrap_attempts.get()),
                ("replication_bootstrap_success_count", r.bootstrap_successes.get()),
                ("replication_bootstrap_error_count", r.bootstrap_errors.get()),
                ("replication_last_bootstrap_attempt_unix", r.last_bootstrap_attempt_unix.get()),
                ("replication_last_bootstrap_success_unix", r.last_bootstrap_success_unix.get()),
                ("replication_last_bootstrap_error_unix", r.last_bootstrap_error_unix.get()),
            ],
        );
        out.extend_from_slice(b",\"replication_last_bootstrap_error\":");
        write_opt_str(out, r.last_bootstrap_error.lock().as_deref());
        let mut latest = Vec::new();
        let last_snapshot_lsn = self.write_latest_snapshots(&mut latest)?;
        out.extend_from_slice(b",\"last_snapshot_lsn\":");
        write_u64(out, last_snapshot_lsn);
        out.extend_from_slice(b",\"latest_snapshots\":");
        out.extend_from_slice(&latest);
        out.extend_from_slice(b",\"recovery\":");
        let count = self.write_recovery_status(None, out);
        out.extend_from_slice(b",\"recovery_checkpoint_count\":");
        write_u64(out, count);
        // Beyond Karma 1.0's fields, after them so its clients read on.
        let failed = &self.metrics.failed_entries;
        write_ints(
            out,
            &[("wal_failed_entries_skipped", failed.count.get()), ("wal_last_failed_entry_lsn", failed.last_lsn.get())],
        );
        out.extend_from_slice(b",\"wal_last_failed_entry_error\":");
        write_opt_str(out, failed.last_error.lock().as_deref());
        out.extend_from_slice(b",\"replication_in_sync\":");
        write_bool(out, self.in_sync());
        out.push(b'}');
        Ok(())
    }

    /// The last master LSN applied (slave); 0 on a master.
    pub fn replayed_lsn(&self) -> u64 {
        match self.config.role {
            crate::config::Role::Slave => self.current_lsn(),
            crate::config::Role::Master => 0,
        }
    }

    /// Whether this node holds everything its source does: no logged entry
    /// was skipped as failed, and on a slave, the last poll succeeded and
    /// left no lag. (Lag 0 alone is no proof: a slave that skipped an
    /// entry has still replayed its LSN.)
    pub fn in_sync(&self) -> bool {
        let r = &self.replication;
        let none_skipped = self.metrics.failed_entries.count.get() == 0;
        match self.config.role {
            crate::config::Role::Master => none_skipped,
            crate::config::Role::Slave => {
                none_skipped
                    && r.poll_successes.get() > 0
                    && r.last_poll_error.lock().is_none()
                    && self.replication_lag() == 0
            }
        }
    }

    /// `max(0, source LSN - replayed)` on a slave; 0 on a master.
    pub fn replication_lag(&self) -> u64 {
        match self.config.role {
            crate::config::Role::Slave => self.replication.source_lsn.get().saturating_sub(self.current_lsn()),
            crate::config::Role::Master => 0,
        }
    }

    /// Applies one pulled entry at the master's `lsn` and logs it locally
    /// under the same LSN. Entries already applied are ignored; a hole in
    /// the sequence is a `Replication gap` error.
    pub fn apply_replicated(&self, lsn: u64, entry: &str) -> Result<(), ReplicaError> {
        let request = parse_request(entry.as_bytes()).map_err(|r| ReplicaError::Unparsable { lsn, error: r.error })?;
        let mut state = self.state.lock();
        self.wal_writable(&mut state, false).map_err(ReplicaError::Refused)?;
        if lsn <= state.last_lsn {
            return Ok(());
        }
        if lsn != state.last_lsn + 1 {
            return Err(ReplicaError::Gap { expected: state.last_lsn + 1, got: lsn });
        }
        if let Applied::Failed(error) = apply_entry(&mut state, &self.metrics, lsn, entry, &request) {
            skipped(&self.metrics, &self.config.directory, "replication", lsn, entry, &error);
        }
        state.last_lsn = lsn;
        if let Some(wal) = &self.wal {
            if let Err(source) = wal.append(lsn, entry.as_bytes()) {
                // Applied in memory only: back to the durable state.
                let _ = self.wal_writable(&mut state, false);
                return Err(ReplicaError::Log { lsn, source });
            }
        }
        Ok(())
    }

    /// After a page: wait until it is durable, then record the position in
    /// `karma.replication.lsn`.
    pub fn replication_checkpoint(&self) -> Result<(), ReplicaError> {
        let lsn = self.current_lsn();
        if let Some(wal) = &self.wal {
            wal.wait_durable(lsn)?;
        }
        Ok(write_replication_lsn(&self.config.directory, lsn, self.config.wal_fsync)?)
    }

    /// Bootstraps again from the master's snapshots after a gap: fetch them
    /// into a staging directory, then under the lock replace the local
    /// snapshots, the in-memory state and the local WAL. Returns the LSN
    /// polling resumes after.
    pub fn rebootstrap(&self, source: &Source) -> Result<u64, ReplicaError> {
        let _no_snapshot_meanwhile = self.snapshot_lock.lock();
        let dir = &self.config.directory;
        let staging = dir.join(".bootstrap");
        let _ = std::fs::remove_dir_all(&staging);
        let lsn = bootstrap::bootstrap(source, &staging, true, &self.replication)?;
        let mut fresh = State::new(self.config.idempotency_max_records, self.config.idempotency_max_age_secs);
        load_snapshots(&staging, &mut fresh, &self.metrics)?;
        fresh.last_lsn = lsn;
        let mut state = self.state.lock();
        for old in snapshot::list_snapshots(dir)? {
            snapshot::remove_series_snapshots(dir, &old.series)?;
        }
        for entry in std::fs::read_dir(&staging)? {
            let entry = entry?;
            std::fs::rename(entry.path(), dir.join(entry.file_name()))?;
        }
        crate::util::fs::fsync_dir(dir)?;
        let _ = std::fs::remove_dir_all(&staging);
        if let Some(wal) = &self.wal {
            wal.reset(lsn)?;
        }
        write_replication_lsn(dir, lsn, self.config.wal_fsync)?;
        // Recovery checkpoints are this node's own, not replicated.
        fresh.recovery = std::mem::take(&mut state.recovery);
        *state = fresh;
        Ok(lsn)
    }
}

impl Replica for Engine {
    fn current_lsn(&self) -> u64 {
        Engine::current_lsn(self)
    }

    fn apply_replicated(&self, lsn: u64, entry: &str) -> Result<(), ReplicaFailure> {
        Ok(Engine::apply_replicated(self, lsn, entry)?)
    }

    fn replication_checkpoint(&self) -> Result<(), ReplicaFailure> {
        Ok(Engine::replication_checkpoint(self)?)
    }

    fn rebootstrap(&self, source: &Source) -> Result<u64, ReplicaFailure> {
        Ok(Engine::rebootstrap(self, source)?)
    }

    fn replication_stats(&self) -> &ReplicationStats {
        Engine::replication_stats(self)
    }
}

fn write_ints(out: &mut Vec<u8>, fields: &[(&str, u64)]) {
    for (name, value) in fields {
        out.push(b',');
        write_key(out, name);
        write_u64(out, *value);
    }
}
