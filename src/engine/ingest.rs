//! Streaming ingest (docs/protocol.md, Streaming ingest): the registry of streams and
//! the decisions of `ingest.begin`, `ingest.chunk`, `ingest.commit` and
//! `ingest.abort`.
//!
//! A stream is a numbered sequence of chunks (`chunk_seq` 1, 2, ...) that a
//! client can resend safely: a chunk at or below `last_chunk_seq` is a
//! retry and is skipped when its fingerprint (stream, series, seq, items)
//! equals the one recorded for that seq, and is a conflict otherwise; the
//! next chunk is applied; anything further ahead is a gap. The first applied
//! chunk binds the stream to its series, and the binding happens during the
//! checks, so it stays even when a later check or the apply fails.
//!
//! Modes: `add` and `set` apply each chunk to the live series at once (like
//! `series.batch_add` / `series.batch_set`); `replace_series` applies chunks
//! (with `batch_set` semantics) to a private staged series that `commit`
//! swaps in whole. Committed streams are kept forever, in commit order, so
//! a late retry of any chunk or of the commit is still recognised.
//!
//! Split of work: [`IngestRegistry::check_chunk`] decides,
//! [`IngestRegistry::record_applied_chunk`] records an applied chunk, and
//! [`IngestRegistry::run_chunk`] / [`IngestRegistry::run_commit`] do the
//! whole op against a [`Store`]. Persistence (`karma.idempotency.json`) is
//! in the `idempotency_file` submodule.

mod idempotency_file;
#[cfg(test)]
mod tests;

pub use idempotency_file::{read_idempotency_json, write_idempotency_json, DecodeError, IdempotencyFileError};

use crate::protocol::field_kind::MAX_BATCH;
use crate::protocol::fields::Item;
use crate::protocol::{CommandError, ErrorCode};
use crate::store::{BatchOutcome, Series, Store};
use crate::util::json_writer::{write_bool, write_opt_str, write_str, write_u64};
use std::collections::{BTreeMap, HashMap};

pub use crate::protocol::IngestMode;

/// An open stream.
#[derive(Clone, Debug)]
pub struct ActiveStream {
    pub mode: IngestMode,
    pub granularity: Option<String>,
    /// The series bound by the first chunk that passed the stream checks.
    pub series: Option<String>,
    pub last_chunk_seq: u64,
    pub begin_fingerprint: String,
    /// The fingerprint of each applied chunk, by `chunk_seq`.
    pub chunk_fingerprints: BTreeMap<u64, String>,
    /// The staged series; `Some` exactly for `replace_series` streams.
    pub staged: Option<Series>,
}

/// A committed stream, as kept forever and persisted (docs/storage.md, Idempotency and ingest
/// snapshot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedStream {
    pub stream_id: String,
    pub mode: IngestMode,
    pub granularity: Option<String>,
    pub series_name: Option<String>,
    pub last_chunk_seq: u64,
    pub begin_fingerprint: String,
    pub chunk_fingerprints: BTreeMap<u64, String>,
    pub committed_at_unix: i64,
}

/// What to do with a chunk that passed [`IngestRegistry::check_chunk`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkDecision {
    /// The next chunk: apply it to the live series, or to the staged one
    /// when `staged`, then call [`IngestRegistry::record_applied_chunk`].
    Apply { mode: IngestMode, staged: bool },
    /// A retry of a chunk of an active stream: reply skipped, committed false.
    SkipActive,
    /// A retry of a chunk of a committed stream: reply skipped, committed true.
    SkipCommitted,
}

/// A refused chunk. `rejected` is true for the stream checks (steps 2 and
/// 3 of docs/protocol.md, ingest.chunk), which count in `ingest_chunks_rejected`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkError {
    pub error: CommandError,
    pub rejected: bool,
}

impl From<ChunkError> for CommandError {
    fn from(chunk: ChunkError) -> CommandError {
        chunk.error
    }
}

/// The result of `ingest.commit`.
#[derive(Debug)]
pub enum CommitOutcome {
    /// The stream was committed before: its status, nothing changed.
    AlreadyCommitted { reply: Vec<u8> },
    /// Committed now. For `replace_series`, `replacement` holds the series
    /// name and the staged series that must replace it whole in the store.
    Committed { reply: Vec<u8>, replacement: Option<(String, Series)> },
}

impl CommitOutcome {
    /// The `response` JSON.
    pub fn reply(&self) -> &[u8] {
        match self {
            CommitOutcome::AlreadyCommitted { reply } | CommitOutcome::Committed { reply, .. } => reply,
        }
    }
}

/// Every stream: active ones by id, committed ones in commit order.
///
/// Invariant: no id is both active and committed; `committed_index` maps
/// each committed id to its position in `committed`.
#[derive(Debug, Default)]
pub struct IngestRegistry {
    active: BTreeMap<String, ActiveStream>,
    committed: Vec<CommittedStream>,
    committed_index: HashMap<String, usize>,
}

fn not_found(stream_id: &str) -> CommandError {
    CommandError::not_found(format!("Ingest stream \"{stream_id}\" not found"))
}

fn conflict(message: &str) -> CommandError {
    CommandError::new(ErrorCode::IdempotencyConflict, message)
}

impl IngestRegistry {
    pub fn new() -> IngestRegistry {
        IngestRegistry::default()
    }

    /// `ingest.begin` (docs/protocol.md, ingest.begin), after validation: opens the
    /// stream or returns the status of the existing one with the same
    /// parameters. `fingerprint` is the request's (kept for persistence).
    pub fn begin(
        &mut self,
        stream_id: &str,
        mode: IngestMode,
        granularity: Option<&str>,
        fingerprint: &str,
    ) -> Result<Vec<u8>, CommandError> {
        if let Some(stream) = self.committed_stream(stream_id) {
            if stream.mode != mode || stream.granularity.as_deref() != granularity {
                return Err(conflict("Ingest stream was already committed with different parameters"));
            }
            return Ok(committed_status(stream));
        }
        if let Some(stream) = self.active.get(stream_id) {
            if stream.mode != mode || stream.granularity.as_deref() != granularity {
                return Err(conflict("Ingest stream already exists with different parameters"));
            }
            return Ok(active_status(stream_id, stream));
        }
        let stream = ActiveStream {
            mode,
            granularity: granularity.map(str::to_string),
            series: None,
            last_chunk_seq: 0,
            begin_fingerprint: fingerprint.to_string(),
            chunk_fingerprints: BTreeMap::new(),
            staged: (mode == IngestMode::ReplaceSeries).then(Series::new),
        };
        let reply = active_status(stream_id, &stream);
        self.active.insert(stream_id.to_string(), stream);
        Ok(reply)
    }

    /// The checks and decision of `ingest.chunk` (docs/protocol.md,
    /// ingest.chunk), in Karma 1.0's order. The next chunk binds the stream
    /// to `series` here, even when the item checks then refuse it.
    pub fn check_chunk(
        &mut self,
        stream_id: &str,
        series: &str,
        chunk_seq: u64,
        items: &[Item],
        fingerprint: &str,
    ) -> Result<ChunkDecision, ChunkError> {
        let stream_error = |error| ChunkError { error, rejected: true };
        // Step 1 (also `Command::validate`; repeated so replay is safe).
        if stream_id.is_empty() {
            return Err(ChunkError { error: CommandError::validation("Field stream_id is required"), rejected: false });
        }
        if series.is_empty() {
            return Err(ChunkError { error: CommandError::validation("Field tree_name is required"), rejected: false });
        }
        let first_chunk = || stream_error(CommandError::validation("Field chunk_seq must be greater than 0"));
        let (decision, positive_values) = if let Some(stream) = self.committed_stream(stream_id) {
            // Step 2.
            if chunk_seq == 0 {
                return Err(first_chunk());
            }
            let same_series = stream.series_name.as_deref().is_none_or(|bound| bound == series);
            let same_chunk = stream.chunk_fingerprints.get(&chunk_seq).is_some_and(|known| known == fingerprint);
            if chunk_seq > stream.last_chunk_seq || !same_series || !same_chunk {
                return Err(stream_error(conflict("Ingest stream was already committed with different chunks")));
            }
            (ChunkDecision::SkipCommitted, false)
        } else {
            // Step 3.
            let stream = self.active.get_mut(stream_id).ok_or_else(|| stream_error(not_found(stream_id)))?;
            if chunk_seq == 0 {
                return Err(first_chunk());
            }
            let positive_values = stream.mode == IngestMode::Add;
            if chunk_seq <= stream.last_chunk_seq {
                if stream.chunk_fingerprints.get(&chunk_seq).is_none_or(|known| known != fingerprint) {
                    return Err(stream_error(conflict("Ingest chunk was already used with different payload")));
                }
                (ChunkDecision::SkipActive, positive_values)
            } else if chunk_seq == stream.last_chunk_seq + 1 {
                match &stream.series {
                    Some(bound) if bound != series => {
                        let message = format!("Ingest stream is already bound to series {bound}");
                        return Err(stream_error(CommandError::validation(message)));
                    }
                    Some(_) => {}
                    None => stream.series = Some(series.to_string()),
                }
                let staged = stream.mode == IngestMode::ReplaceSeries;
                (ChunkDecision::Apply { mode: stream.mode, staged }, positive_values)
            } else {
                return Err(stream_error(CommandError::validation("Field chunk_seq must be the next chunk")));
            }
        };
        // Step 4.
        if items.len() > MAX_BATCH {
            return Err(ChunkError {
                error: CommandError::validation("Field items exceeds max size"),
                rejected: false,
            });
        }
        if positive_values && items.iter().any(|&(_, _, value)| value == 0) {
            let error = CommandError::validation("Batch item value must be greater than 0");
            return Err(ChunkError { error, rejected: false });
        }
        Ok(decision)
    }

    /// Records an applied chunk: `last_chunk_seq = chunk_seq` and its
    /// fingerprint. Does nothing for an unknown or committed stream.
    pub fn record_applied_chunk(&mut self, stream_id: &str, chunk_seq: u64, fingerprint: &str) {
        if let Some(stream) = self.active.get_mut(stream_id) {
            stream.last_chunk_seq = chunk_seq;
            stream.chunk_fingerprints.insert(chunk_seq, fingerprint.to_string());
        }
    }

    /// The staged series of an active `replace_series` stream.
    pub fn staged_mut(&mut self, stream_id: &str) -> Option<&mut Series> {
        self.active.get_mut(stream_id)?.staged.as_mut()
    }

    /// The whole `ingest.chunk` after validation: checks, applies to
    /// `store` (or to the staged series), records the chunk and writes the
    /// reply into `out`. Returns the decision taken (for the metrics). On
    /// error nothing changed except a new series binding (docs/protocol.md, ingest.chunk).
    #[allow(clippy::too_many_arguments)]
    pub fn run_chunk(
        &mut self,
        store: &mut Store,
        stream_id: &str,
        series: &str,
        chunk_seq: u64,
        items: &[Item],
        fingerprint: &str,
        out: &mut Vec<u8>,
    ) -> Result<ChunkDecision, ChunkError> {
        let decision = self.check_chunk(stream_id, series, chunk_seq, items, fingerprint)?;
        let apply_error = |error| ChunkError { error: CommandError::from(error), rejected: false };
        let outcome = match decision {
            ChunkDecision::SkipActive | ChunkDecision::SkipCommitted => {
                write_chunk_skipped(out, stream_id, chunk_seq, decision == ChunkDecision::SkipCommitted);
                return Ok(decision);
            }
            ChunkDecision::Apply { staged: true, .. } => {
                let staged = self.staged_mut(stream_id).ok_or_else(|| ChunkError {
                    error: CommandError::internal(format!("Ingest stream \"{stream_id}\" has no staged series")),
                    rejected: false,
                })?;
                staged.batch_set(items).map_err(apply_error)?
            }
            ChunkDecision::Apply { mode, .. } => apply_live(store, series, mode, items).map_err(apply_error)?,
        };
        self.record_applied_chunk(stream_id, chunk_seq, fingerprint);
        write_chunk_applied(out, stream_id, chunk_seq, outcome.applied, outcome.total);
        Ok(decision)
    }

    /// `ingest.commit` (docs/protocol.md, ingest.commit and ingest.abort). On success the stream
    /// moves to the committed list with `committed_at_unix = now_unix`.
    pub fn commit(&mut self, stream_id: &str, now_unix: i64) -> Result<CommitOutcome, CommandError> {
        if let Some(stream) = self.committed_stream(stream_id) {
            return Ok(CommitOutcome::AlreadyCommitted { reply: committed_status(stream) });
        }
        let stream = self.active.get(stream_id).ok_or_else(|| not_found(stream_id))?;
        if stream.mode == IngestMode::ReplaceSeries && stream.series.is_none() {
            return Err(CommandError::validation("Cannot commit empty replace_series stream"));
        }
        let Some(stream) = self.active.remove(stream_id) else {
            return Err(not_found(stream_id));
        };
        let mut reply = Vec::with_capacity(64);
        reply.extend_from_slice(b"{\"stream_id\":");
        write_str(&mut reply, stream_id);
        reply.extend_from_slice(b",\"status\":\"committed\",\"last_chunk_seq\":");
        write_u64(&mut reply, stream.last_chunk_seq);
        reply.push(b'}');
        let replacement = match (stream.staged, &stream.series) {
            (Some(staged), Some(series)) => Some((series.clone(), staged)),
            _ => None,
        };
        self.push_committed(CommittedStream {
            stream_id: stream_id.to_string(),
            mode: stream.mode,
            granularity: stream.granularity,
            series_name: stream.series,
            last_chunk_seq: stream.last_chunk_seq,
            begin_fingerprint: stream.begin_fingerprint,
            chunk_fingerprints: stream.chunk_fingerprints,
            committed_at_unix: now_unix,
        });
        Ok(CommitOutcome::Committed { reply, replacement })
    }

    /// The whole `ingest.commit`: [`commit`](Self::commit), then for
    /// `replace_series` the staged series replaces the live one in `store`
    /// (created if missing). Writes the reply into `out`.
    pub fn run_commit(
        &mut self,
        store: &mut Store,
        stream_id: &str,
        now_unix: i64,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        match self.commit(stream_id, now_unix)? {
            CommitOutcome::AlreadyCommitted { reply } => out.extend_from_slice(&reply),
            CommitOutcome::Committed { reply, replacement } => {
                if let Some((series, staged)) = replacement {
                    store.insert(&series, staged);
                }
                out.extend_from_slice(&reply);
            }
        }
        Ok(())
    }

    /// `ingest.abort` (docs/protocol.md, ingest.commit and ingest.abort): drops an active stream
    /// and its staged data; chunks already applied to live series stay.
    pub fn abort(&mut self, stream_id: &str) -> Result<Vec<u8>, CommandError> {
        let stream = self.active.remove(stream_id).ok_or_else(|| not_found(stream_id))?;
        let mut reply = Vec::with_capacity(64);
        reply.extend_from_slice(b"{\"stream_id\":");
        write_str(&mut reply, stream_id);
        reply.extend_from_slice(b",\"status\":\"aborted\",\"last_chunk_seq\":");
        write_u64(&mut reply, stream.last_chunk_seq);
        reply.push(b'}');
        Ok(reply)
    }

    /// The active stream `stream_id`.
    pub fn active_stream(&self, stream_id: &str) -> Option<&ActiveStream> {
        self.active.get(stream_id)
    }

    /// The committed stream `stream_id`.
    pub fn committed_stream(&self, stream_id: &str) -> Option<&CommittedStream> {
        self.committed_index.get(stream_id).map(|&at| &self.committed[at])
    }

    /// Active streams by id (byte order).
    pub fn active_streams(&self) -> impl Iterator<Item = (&str, &ActiveStream)> + '_ {
        self.active.iter().map(|(id, stream)| (id.as_str(), stream))
    }

    /// Committed streams in commit order.
    pub fn committed_streams(&self) -> &[CommittedStream] {
        &self.committed
    }

    /// `ingest_active_streams`.
    pub fn active_count(&self) -> usize {
        self.active.len()
    }

    /// `idempotency_committed_stream_count`.
    pub fn committed_count(&self) -> usize {
        self.committed.len()
    }

    /// Estimated heap bytes of every staged series.
    pub fn staged_bytes(&self) -> usize {
        self.active.values().filter_map(|stream| stream.staged.as_ref()).map(Series::heap_bytes).sum()
    }

    /// Forgets every stream.
    pub fn clear(&mut self) {
        *self = IngestRegistry::default();
    }

    fn push_committed(&mut self, stream: CommittedStream) {
        self.committed_index.insert(stream.stream_id.clone(), self.committed.len());
        self.committed.push(stream);
    }
}

/// Applies an `add` / `set` chunk to the live series, creating it (even
/// for an empty chunk) only when the batch succeeds.
fn apply_live(
    store: &mut Store,
    series: &str,
    mode: IngestMode,
    items: &[Item],
) -> Result<BatchOutcome, crate::store::BatchError> {
    let apply = |target: &mut Series| match mode {
        IngestMode::Add => target.batch_add(items),
        IngestMode::Set | IngestMode::ReplaceSeries => target.batch_set(items),
    };
    match store.get_mut(series) {
        Some(existing) => apply(existing),
        None => {
            let mut fresh = Series::new();
            let outcome = apply(&mut fresh)?;
            store.insert(series, fresh);
            Ok(outcome)
        }
    }
}

/// The status object of docs/protocol.md, ingest.begin.
fn write_status(
    out: &mut Vec<u8>,
    stream_id: &str,
    mode: IngestMode,
    series: Option<&str>,
    granularity: Option<&str>,
    status: &str,
    last_chunk_seq: u64,
) {
    out.extend_from_slice(b"{\"stream_id\":");
    write_str(out, stream_id);
    out.extend_from_slice(b",\"mode\":");
    write_str(out, mode.as_str());
    out.extend_from_slice(b",\"series\":");
    write_opt_str(out, series);
    out.extend_from_slice(b",\"granularity\":");
    write_opt_str(out, granularity);
    out.extend_from_slice(b",\"status\":");
    write_str(out, status);
    out.extend_from_slice(b",\"last_chunk_seq\":");
    write_u64(out, last_chunk_seq);
    out.push(b'}');
}

fn active_status(stream_id: &str, stream: &ActiveStream) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let (series, granularity) = (stream.series.as_deref(), stream.granularity.as_deref());
    write_status(&mut out, stream_id, stream.mode, series, granularity, "active", stream.last_chunk_seq);
    out
}

fn committed_status(stream: &CommittedStream) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let (series, granularity) = (stream.series_name.as_deref(), stream.granularity.as_deref());
    let id = &stream.stream_id;
    write_status(&mut out, id, stream.mode, series, granularity, "already_committed", stream.last_chunk_seq);
    out
}

/// The reply of an applied chunk:
/// `{"stream_id":…,"chunk_seq":N,"skipped":false,"applied":N,"total":N}`.
pub fn write_chunk_applied(out: &mut Vec<u8>, stream_id: &str, chunk_seq: u64, applied: usize, total: u64) {
    write_chunk_head(out, stream_id, chunk_seq, false);
    out.extend_from_slice(b",\"applied\":");
    write_u64(out, applied as u64);
    out.extend_from_slice(b",\"total\":");
    write_u64(out, total);
    out.push(b'}');
}

/// The reply of a skipped chunk:
/// `{"stream_id":…,"chunk_seq":N,"skipped":true,"committed":b,"applied":0,"total":0}`.
pub fn write_chunk_skipped(out: &mut Vec<u8>, stream_id: &str, chunk_seq: u64, committed: bool) {
    write_chunk_head(out, stream_id, chunk_seq, true);
    out.extend_from_slice(b",\"committed\":");
    write_bool(out, committed);
    out.extend_from_slice(b",\"applied\":0,\"total\":0}");
}

fn write_chunk_head(out: &mut Vec<u8>, stream_id: &str, chunk_seq: u64, skipped: bool) {
    out.extend_from_slice(b"{\"stream_id\":");
    write_str(out, stream_id);
    out.extend_from_slice(b",\"chunk_seq\":");
    write_u64(out, chunk_seq);
    out.extend_from_slice(b",\"skipped\":");
    write_bool(out, skipped);
}
