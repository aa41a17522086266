//! Applies a logged write to the [`State`], the same way for a live write,
//! WAL replay and replication: one arm per command, so a logged op without
//! a handler here does not compile. On error nothing has changed.

use super::ingest::{ChunkDecision, IngestMode};
use super::state::State;
use super::{counters, maintenance};
use crate::metrics::Metrics;
use crate::protocol::fields::Item;
use crate::protocol::fingerprint::Fingerprint;
use crate::protocol::{Command, CommandError};
use crate::util::json_writer::write_u64;
use crate::util::time::unix_now;
use std::time::Instant;

/// Applies a write command; `applies_to` filters which series a
/// `system.compact` touches (all, outside WAL replay). `fingerprint` is the
/// command's (ingest streams keep it to recognise a resent request).
pub(super) fn apply_command(
    state: &mut State,
    metrics: &Metrics,
    command: &Command<'_>,
    fingerprint: &Fingerprint<'_, '_>,
    applies_to: &dyn Fn(&str) -> bool,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    match command {
        Command::Increment { series, key, bucket, value } => {
            counters::increment(state, series, *key, *bucket, value.unwrap_or(1), out)
        }
        Command::Decrement { series, key, bucket, value } => {
            counters::decrement(state, series, *key, *bucket, value.unwrap_or(1), out);
            Ok(())
        }
        Command::CounterDeleteRange { series, key, range } => counters::delete_range(state, series, *key, range, out),
        Command::BatchDeleteRange { series, keys, range } => {
            counters::batch_delete_range(state, metrics, series, keys, range, out)
        }
        Command::CounterReset { series, key } => {
            counters::reset(state, series, *key, out);
            Ok(())
        }
        Command::BatchReset { series, keys } => counters::batch_reset(state, metrics, series, keys, out),
        Command::BatchAdd { series, items } => counters::batch_add(state, metrics, series, items, out),
        Command::BatchSet { series, items } => counters::batch_set(state, metrics, series, items, out),
        Command::DeleteBefore { series, before } => maintenance::delete_before(state, metrics, series, *before, out),
        Command::SeriesCompact { series } => maintenance::compact_series(state, metrics, series, out),
        Command::SystemCompact => {
            maintenance::compact_all(state, metrics, applies_to, out);
            Ok(())
        }
        Command::TreeCreate { series } => {
            maintenance::create(state, series, out);
            Ok(())
        }
        Command::TreeDrop { series } => maintenance::drop(state, series, out),
        Command::TreeReset { series } => {
            maintenance::reset(state, series, out);
            Ok(())
        }
        Command::TreeDeleteRange { series, range } => maintenance::delete_range(state, series, range, out),
        Command::IngestBegin { stream_id, mode, granularity } => match IngestMode::from_name(mode) {
            Some(mode) => state
                .ingest
                .begin(stream_id, mode, granularity.as_deref(), &fingerprint.hex())
                .map(|reply| out.extend_from_slice(&reply)),
            None => Err(CommandError::validation(format!("Unsupported ingest mode {mode}"))),
        },
        Command::IngestChunk { series, stream_id, chunk_seq, items } => {
            ingest_chunk(state, metrics, fingerprint, series, stream_id, *chunk_seq, items, out)
        }
        Command::IngestCommit { stream_id, committed_at_unix } => {
            let committed = committed_at_unix.map_or_else(unix_now, |t| i64::try_from(t).unwrap_or(i64::MAX));
            state.ingest.run_commit(&mut state.store, stream_id, committed, out)
        }
        Command::IngestAbort { stream_id } => state.ingest.abort(stream_id).map(|reply| out.extend_from_slice(&reply)),
        Command::IdempotencyPrune { before, limit } => {
            let before = i64::try_from(*before).unwrap_or(i64::MAX);
            let deleted = state.idempotency.prune_before(before, limit.map(|n| n as usize));
            metrics.idempotency_pruned.add(deleted as u64);
            out.extend_from_slice(b"{\"deleted\":");
            write_u64(out, deleted as u64);
            out.push(b'}');
            Ok(())
        }
        // The live path routes only logged ops here, but a WAL entry (read
        // from disk, or pulled from a master) can name any op: one that
        // logs nothing has no effect to apply, and the entry is refused.
        Command::Read(_)
        | Command::SnapshotCreate { .. }
        | Command::SnapshotCreateAll
        | Command::SnapshotLoad { .. }
        | Command::ReconciliationReport { .. }
        | Command::RecoveryCheckpoint { .. } => Err(CommandError::internal("Command is not a write")),
    }
}

/// `ingest.chunk`, with its metrics.
#[allow(clippy::too_many_arguments)]
fn ingest_chunk(
    state: &mut State,
    metrics: &Metrics,
    fingerprint: &Fingerprint<'_, '_>,
    series: &str,
    stream_id: &str,
    chunk_seq: u64,
    items: &[Item],
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let started = Instant::now();
    let result = state.ingest.run_chunk(&mut state.store, stream_id, series, chunk_seq, items, &fingerprint.hex(), out);
    match &result {
        Ok(ChunkDecision::Apply { .. }) => {
            metrics.ingest_chunks_applied.inc();
            metrics.ingest_items_applied.add(items.len() as u64);
        }
        Ok(_) => metrics.ingest_chunks_skipped.inc(),
        Err(error) if error.rejected => metrics.ingest_chunks_rejected.inc(),
        Err(_) => {}
    }
    if result.is_ok() {
        metrics.ingest_latency.record(started.elapsed().as_micros() as u64);
    }
    result.map(|_| ()).map_err(CommandError::from)
}
