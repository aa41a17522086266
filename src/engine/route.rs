//! Routing: from a request's command to its handler, so an op without a
//! handler does not compile.
//!
//! A read op's handler is named by its row in the op table
//! (`protocol/op.rs`); [`for_each_op!`] expands here into the one `match`
//! from each [`ReadCommand`] to it, and the handler paths of the rows
//! resolve in this file. Every handler has the same shape,
//! `fn(&Engine, &read::Op<'_>, &mut Vec<u8>) -> Result<(), CommandError>`:
//! a read of the series state takes the state lock through
//! [`Engine::read`] (once the WAL is known to be sound, see `degraded`);
//! reads of files and system figures take what they need. The admin ops
//! run here without the WAL; logged writes go to `logged`, which applies,
//! logs and answers once durable.

use super::inspect;
use super::state::State;
use super::{counters, Engine, Executed};
use crate::protocol::op::for_each_op;
use crate::protocol::{Command, CommandError, ReadCommand, Request};

/// The `match` from each read command to the handler its row names.
macro_rules! read_routes {
    (
        all [$($all:tt)*]
        reads [$( $op:ident $fields:tt => $handler:path; )*]
        writes [$($write:ident)*]
    ) => {
        impl Engine {
            /// Runs a read command's handler.
            fn execute_read(&self, command: &ReadCommand<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
                match command {
                    $(ReadCommand::$op(args) => $handler(self, args, out),)*
                }
            }
        }
    };
}

for_each_op!(read_routes);

impl Engine {
    /// Runs a request that passed authentication, validation and the role
    /// check. `out` receives the `response` JSON.
    pub(super) fn execute(&self, request: &Request<'_>, out: &mut Vec<u8>) -> Result<Executed, CommandError> {
        match &request.command {
            Command::Read(read) => self.execute_read(read, out),
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

    /// Runs `read` on the series state under the lock, once reads are safe:
    /// the shape of every handler that reads the series state.
    pub(super) fn read(
        &self,
        out: &mut Vec<u8>,
        read: impl FnOnce(&State, &mut Vec<u8>) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let mut state = self.state.lock();
        self.durable_reads(&mut state)?;
        read(&state, out)
    }
}
