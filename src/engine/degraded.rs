//! Degraded mode after a WAL failure, and the way back without a restart.
//!
//! When a WAL write or fsync fails, the writes waiting for it are refused
//! (`internal_error`), yet memory already holds what they applied. So
//! whoever meets the failure first (the refused session before it answers,
//! a reader, the next writer) rebuilds the state under the state lock from
//! what is durable: the newest snapshots and the WAL records up to the
//! durable LSN, which is what a restart would load. From then on reads
//! serve only acknowledged writes, and refused idempotent writes have no
//! record, so their retries run. Snapshots never hold a write that is not
//! durable (they wait for their LSN before writing files), so they agree.
//!
//! Writes stay refused (`internal_error`, health `degraded`) while the WAL
//! cannot be written. Each write, replicated entry and health check
//! tries to resume it at most once a second, `snapshot.create_all` every
//! time: the WAL blanks what the failed batch left after the durable
//! records, proves the disk takes a page, and continues after the durable
//! LSN (`wal::Wal::resume`). Logged as `wal.degraded` (reload) and
//! `wal.recovered` (writes accepted again); health shows `durable_lsn`
//! while degraded and `wal_recoveries` once a recovery happened.

use std::time::{Duration, Instant};

use super::state::State;
use super::{restore, wal_refuses, Engine, RestoreError};
use crate::metrics::Metrics;
use crate::protocol::{parse_request, CommandError};
use crate::util::json_writer::{write_i64, write_u64};
use crate::util::time::unix_now;

/// The least time between two attempts to resume the WAL (a failed attempt
/// costs a write and an fsync).
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Bookkeeping of WAL failures (locked after the state lock, never before).
#[derive(Default)]
pub(super) struct Degraded {
    /// Memory was rebuilt from the durable state since the current failure.
    reloaded: bool,
    /// No resume attempt before this.
    next_attempt: Option<Instant>,
    /// The last failed attempt's error (logged when it changes).
    last_attempt_error: Option<crate::wal::WalError>,
    /// The last durable LSN of each WAL epoch that ended in a failure, by
    /// epoch (a resume starts the next one).
    epoch_ends: Vec<u64>,
    /// Times the WAL resumed after a failure, and when last (Unix seconds).
    recoveries: u64,
    last_recovery_unix: i64,
}

impl Engine {
    /// A cheap check for the request path: has the WAL failed?
    fn wal_failed(&self) -> bool {
        self.wal.as_ref().is_some_and(|wal| wal.has_failed())
    }

    /// Before a read: once the WAL has failed, memory must first hold only
    /// durable writes.
    pub(super) fn durable_reads(&self, state: &mut State) -> Result<(), CommandError> {
        if !self.wal_failed() {
            return Ok(());
        }
        self.reload_durable(state)
    }

    /// Before a logged write: `Ok` when the WAL takes writes, resuming it
    /// first if it failed and an attempt is due (`now`: do not wait for
    /// the retry interval).
    pub(super) fn wal_writable(&self, state: &mut State, now: bool) -> Result<(), CommandError> {
        let Some(wal) = &self.wal else {
            return Ok(());
        };
        let Some(failure) = wal.failure() else {
            return Ok(());
        };
        self.reload_durable(state)?;
        let mut degraded = self.degraded.lock();
        let started = Instant::now();
        if !now && degraded.next_attempt.is_some_and(|at| started < at) {
            return Err(wal_refuses(&failure.to_string()));
        }
        degraded.next_attempt = Some(started + RETRY_INTERVAL);
        match wal.resume() {
            Ok(()) => {
                // Memory holds the durable state, so its LSN is where the
                // epoch that failed ended.
                degraded.epoch_ends.push(state.last_lsn);
                degraded.reloaded = false;
                degraded.next_attempt = None;
                degraded.last_attempt_error = None;
                degraded.recoveries += 1;
                degraded.last_recovery_unix = unix_now();
                log::warn!(target: "wal.recovered", "lsn={} writes are accepted again", state.last_lsn);
                Ok(())
            }
            Err(error) => {
                if degraded.last_attempt_error.as_ref() != Some(&error) {
                    log::error!(target: "wal.resume_failed", "{error}; retrying");
                    degraded.last_attempt_error = Some(error);
                }
                Err(wal_refuses(&failure.to_string()))
            }
        }
    }

    /// The last durable LSN of a WAL epoch that has ended (`None` for the
    /// current one).
    pub(super) fn epoch_end(&self, epoch: u64) -> Option<u64> {
        self.degraded.lock().epoch_ends.get(epoch as usize).copied()
    }

    /// After writes were refused because the WAL failed: take their effects
    /// out of memory before anyone is answered.
    pub(super) fn after_wal_failure(&self) {
        let mut state = self.state.lock();
        if !self.wal_failed() {
            return; // already reloaded, and resumed since
        }
        // A failed reload is logged; reads are refused until one succeeds.
        let _ = self.reload_durable(&mut state);
    }

    /// `system.health` and HTTP `/health` while the WAL has failed: try to
    /// resume it (at most once a second).
    pub(super) fn retry_wal_for_health(&self) {
        if self.wal_failed() {
            let mut state = self.state.lock();
            let _ = self.wal_writable(&mut state, false);
        }
    }

    /// The health members of this module: `durable_lsn` while degraded,
    /// the recoveries once there was one.
    pub(super) fn write_wal_recovery_health(&self, out: &mut Vec<u8>) {
        if let Some(wal) = self.wal.as_ref().filter(|wal| wal.has_failed()) {
            out.extend_from_slice(b",\"durable_lsn\":");
            write_u64(out, wal.durable_lsn());
        }
        let degraded = self.degraded.lock();
        if degraded.recoveries > 0 {
            out.extend_from_slice(b",\"wal_recoveries\":");
            write_u64(out, degraded.recoveries);
            out.extend_from_slice(b",\"wal_last_recovery_unix\":");
            write_i64(out, degraded.last_recovery_unix);
        }
    }

    /// Replaces `state` with the durable state, once per failure.
    fn reload_durable(&self, state: &mut State) -> Result<(), CommandError> {
        let mut degraded = self.degraded.lock();
        if degraded.reloaded {
            return Ok(());
        }
        let Some(wal) = &self.wal else {
            return Ok(());
        };
        let durable = wal.durable_lsn();
        match self.durable_state(durable) {
            Ok(mut fresh) => {
                // Recovery checkpoints are kept in their own file, not logged.
                fresh.recovery = std::mem::take(&mut state.recovery);
                let refused = state.last_lsn.saturating_sub(durable);
                *state = fresh;
                degraded.reloaded = true;
                log::error!(
                    target: "wal.degraded",
                    "memory reloaded from the snapshots and the WAL through lsn={durable}, dropping {refused} \
                     refused records; writes are refused until the WAL can be written again"
                );
                Ok(())
            }
            Err(error) => {
                log::error!(target: "wal.reload_failed", "{error}");
                Err(CommandError::internal(format!("Cannot reload the durable state after a WAL failure: {error}")))
            }
        }
    }

    /// The newest snapshots plus the WAL records up to `durable`, as a
    /// restart would load them (without repairing any file).
    fn durable_state(&self, durable: u64) -> Result<State, RestoreError> {
        let config = &self.config;
        // Replaying acknowledged writes again is not new traffic.
        let metrics = Metrics::default();
        let mut state = State::new(config.idempotency_max_records, config.idempotency_max_age_secs);
        restore::load_snapshots(&config.directory, &mut state, &metrics)?;
        crate::wal::scan_records(&config.directory, |record| {
            if record.lsn > durable {
                return Ok(());
            }
            let request = parse_request(record.entry.as_bytes()).map_err(|r| restore::invalid_entry(&record, r))?;
            restore::apply_entry(&mut state, &metrics, record.lsn, record.entry, &request);
            Ok::<(), RestoreError>(())
        })?;
        state.last_lsn = durable;
        Ok(state)
    }
}
