//! The handlers of the ingest ops (docs/protocol.md, Ingest streams), as
//! their rows in the op table name them: each turns its op's fields into a
//! call on the streams of `ingest`, applied by `apply` (live, on replay and
//! on a slave), with the op's metrics.

use super::ingest::{ChunkDecision, IngestMode};
use super::state::Apply;
use crate::protocol::{write, CommandError};
use crate::util::time::unix_now;
use std::time::Instant;

/// `ingest.begin`: the stream keeps the request's fingerprint to recognise
/// a resent begin.
pub(super) fn begin(
    apply: &mut Apply<'_, '_>,
    args: &write::IngestBegin<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let mode = IngestMode::from_name(&args.mode)
        .ok_or_else(|| CommandError::validation(format!("Unsupported ingest mode {}", args.mode)))?;
    let reply =
        apply.state.ingest.begin(&args.stream_id, mode, args.granularity.as_deref(), &apply.fingerprint.hex())?;
    out.extend_from_slice(&reply);
    Ok(())
}

/// `ingest.chunk`, with its metrics.
pub(super) fn chunk(
    apply: &mut Apply<'_, '_>,
    args: &write::IngestChunk<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let (state, metrics) = (&mut *apply.state, apply.metrics);
    let started = Instant::now();
    let fingerprint = apply.fingerprint.hex();
    let result = state.ingest.run_chunk(
        &mut state.store,
        &args.stream_id,
        &args.series,
        args.chunk_seq,
        &args.items,
        &fingerprint,
        out,
    );
    match &result {
        Ok(ChunkDecision::Apply { .. }) => {
            metrics.ingest_chunks_applied.inc();
            metrics.ingest_items_applied.add(args.items.len() as u64);
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

/// `ingest.commit`, at the time the live path stamped into the command
/// (`logged`), so replay and slaves record the master's time.
pub(super) fn commit(
    apply: &mut Apply<'_, '_>,
    args: &write::IngestCommit<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let committed = args.committed_at_unix.map_or_else(unix_now, |t| i64::try_from(t).unwrap_or(i64::MAX));
    let state = &mut *apply.state;
    state.ingest.run_commit(&mut state.store, &args.stream_id, committed, out)
}

/// `ingest.abort`.
pub(super) fn abort(
    apply: &mut Apply<'_, '_>,
    args: &write::IngestAbort<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let reply = apply.state.ingest.abort(&args.stream_id)?;
    out.extend_from_slice(&reply);
    Ok(())
}
