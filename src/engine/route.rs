//! Routing: the one `match` from a request's command to its handler, one
//! arm per command, so an op without a handler does not compile.
//!
//! Reads of the series state run under the state lock (once the WAL is
//! known to be sound, see `degraded`); reads of files and system figures
//! and the admin ops run without it and take what they need; logged
//! writes go to `logged`, which applies, logs and answers once durable.

use super::inspect::{self, Deadline};
use super::state::State;
use super::{counters, Engine, Executed};
use crate::protocol::validate::{limit_or_default, CHUNK_LIMIT};
use crate::protocol::{Command, CommandError, Request};

impl Engine {
    /// Runs a request that passed authentication, validation and the role
    /// check. `out` receives the `response` JSON.
    pub(super) fn execute(&self, request: &Request<'_>, out: &mut Vec<u8>) -> Result<Executed, CommandError> {
        let timeout = self.config.query_timeout_ms;
        let metrics = &self.metrics;
        match &request.command {
            // Reads of the series state.
            Command::Sum { series, key, range } => {
                self.read(out, |state, out| counters::sum(state, series, *key, range, out))
            }
            Command::BatchSum { series, keys, range } => {
                self.read(out, |state, out| counters::batch_sum(state, metrics, series, keys, range, out))
            }
            Command::MultiSum { items, range } => {
                self.read(out, |state, out| counters::multi_sum(state, items, range, out))
            }
            Command::CounterSeries { series, key, range } => {
                self.read(out, |state, out| counters::counter_series(state, series, *key, range, out))
            }
            Command::TreeList => self.read(out, |state, out| {
                inspect::list(state, out);
                Ok(())
            }),
            Command::TreeInfo { series } => {
                self.read(out, |state, out| inspect::info(state, metrics, &Deadline::start(timeout), series, out))
            }
            Command::TreeKeys { series, limit, cursor } => self.read(out, |state, out| {
                inspect::keys(state, metrics, &Deadline::start(timeout), series, *limit, *cursor, out)
            }),
            Command::TreeSummary { series, range } => self.read(out, |state, out| {
                inspect::summary(state, metrics, &Deadline::start(timeout), series, range, out)
            }),
            Command::TreeTop { series, limit, range } => self.read(out, |state, out| {
                inspect::top(state, metrics, &Deadline::start(timeout), series, *limit, range, out)
            }),
            Command::TreeSeries { series, range } => self.read(out, |state, out| {
                inspect::series_points(state, metrics, &Deadline::start(timeout), series, range, out)
            }),
            Command::RecoveryStatus { source } => self.read(out, |state, out| {
                state.recovery.status_json(source.as_deref(), out);
                Ok(())
            }),
            // Reads of files and figures.
            Command::SnapshotList => self.snapshot_list(out),
            Command::SnapshotInfo => self.snapshot_info(out),
            Command::SnapshotFetch { file } => self.snapshot_fetch(file, out),
            Command::SnapshotFetchChunk { file, offset, limit } => limit_or_default(*limit, CHUNK_LIMIT)
                .and_then(|limit| self.snapshot_fetch_chunk(file, *offset, limit, out)),
            Command::SnapshotVerify => self.verify(out),
            Command::IdempotencySnapshotFetchChunk { offset, limit } => limit_or_default(*limit, CHUNK_LIMIT)
                .and_then(|limit| self.idempotency_fetch_chunk(*offset, limit, out)),
            Command::ReplicationEntries { after_lsn, limit } => self.replication_entries(*after_lsn, *limit, out),
            Command::ReplicationStatus => self.replication_status(out),
            Command::Ping => {
                out.extend_from_slice(b"\"pong\"");
                Ok(())
            }
            Command::Health => {
                self.health(out);
                Ok(())
            }
            Command::Stats => {
                self.stats(out);
                Ok(())
            }
            Command::Metrics => {
                self.prometheus(out);
                Ok(())
            }
            // Admin: changes made without the WAL.
            Command::SnapshotCreate { series } => self.snapshot_series(series, out),
            Command::SnapshotCreateAll => self.snapshot_all().map(|_| out.extend_from_slice(b"\"OK\"")),
            Command::SnapshotLoad { file } => self.snapshot_load(file, out),
            Command::RecoveryCheckpoint { source, offset, event_id } => {
                self.recovery_checkpoint(source, offset, event_id, out)
            }
            Command::ReconciliationReport { checked_points, mismatch_count, absolute_drift, max_abs_delta } => {
                self.reconciliation_report(*checked_points, *mismatch_count, *absolute_drift, *max_abs_delta, out);
                Ok(())
            }
            // Logged writes (see `apply` for each one's handler).
            Command::Increment { .. }
            | Command::Decrement { .. }
            | Command::CounterDeleteRange { .. }
            | Command::BatchDeleteRange { .. }
            | Command::CounterReset { .. }
            | Command::BatchReset { .. }
            | Command::BatchAdd { .. }
            | Command::BatchSet { .. }
            | Command::DeleteBefore { .. }
            | Command::SeriesCompact { .. }
            | Command::SystemCompact
            | Command::TreeCreate { .. }
            | Command::TreeDrop { .. }
            | Command::TreeReset { .. }
            | Command::TreeDeleteRange { .. }
            | Command::IngestBegin { .. }
            | Command::IngestChunk { .. }
            | Command::IngestCommit { .. }
            | Command::IngestAbort { .. }
            | Command::IdempotencyPrune { .. } => return self.execute_logged(request, out),
        }
        .map(|()| Executed::default())
    }

    /// Runs `read` on the series state under the lock, once reads are safe.
    fn read(
        &self,
        out: &mut Vec<u8>,
        read: impl FnOnce(&State, &mut Vec<u8>) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let mut state = self.state.lock();
        self.durable_reads(&mut state)?;
        read(&state, out)
    }
}
