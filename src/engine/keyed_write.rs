//! A write sent with an `idempotency_key` (docs/protocol.md, Idempotency),
//! live, replayed or replicated: its key checks, the look-up of a saved
//! reply, and remembering the reply once it ran. The registry that holds
//! the records is `idempotency`.
//!
//! An idempotent write's fingerprint digest and key hash are computed
//! first, without the lock (`keyed`). It is then looked up under the state
//! lock before it runs: a hit answers the saved reply (`"idempotent":
//! true`) and changes nothing; a miss runs the command and, only if it
//! succeeds, stores a record with the server's creation time, which also
//! goes into the WAL entry so age pruning survives replay (defect D11
//! fixed). `idempotency.prune` deletes records by age ([`prune`], the
//! handler its row names).

use super::idempotency::{check_fields, IdempotencyRecord, KeyHash};
use super::state::{Apply, State};
use crate::metrics::Metrics;
use crate::protocol::fingerprint::{Digest, Fingerprint};
use crate::protocol::saved_reply::write_saved_reply;
use crate::protocol::{write, Command, CommandError, IdempotencyFields, Op, Request};
use crate::util::json_writer::write_u64;
use std::borrow::Cow;

/// An idempotent write's key fields and its computed fingerprint.
pub(super) struct Keyed<'r> {
    pub fields: &'r IdempotencyFields<'r>,
    /// The SHA-256 of the request's canonical text (docs/protocol.md, Fingerprints).
    pub digest: Digest,
    /// The registry's hash of the key, computed before the lock is taken.
    pub key_hash: KeyHash,
}

/// The key and fingerprint checks of docs/protocol.md, Idempotency, for an
/// eligible op sent with a key (no lock needed); `None` when the request is
/// not an idempotent write. `fingerprint` is the request's.
pub(super) fn keyed<'r>(
    request: &'r Request<'_>,
    fingerprint: &Fingerprint<'_, '_>,
) -> Result<Option<Keyed<'r>>, CommandError> {
    let (Some(fields), true) = (&request.idempotency, request.op.is_idempotent()) else { return Ok(None) };
    // Every idempotent op has a canonical text.
    let digest = fingerprint.digest().copied().unwrap_or_default();
    check_fields(fields, &digest)?;
    Ok(Some(Keyed { fields, digest, key_hash: KeyHash::of(fields.key.as_bytes()) }))
}

/// Step 4: a stored reply for the same request, or a conflict. Counts hits
/// and conflicts.
pub(super) fn lookup(
    state: &State,
    metrics: &Metrics,
    keyed: &Keyed<'_>,
    out: &mut Vec<u8>,
) -> Result<bool, CommandError> {
    match state.idempotency.lookup_hashed(keyed.key_hash, &keyed.fields.key, &keyed.digest) {
        Ok(Some(record)) => {
            metrics.idempotency_hits.inc();
            out.extend_from_slice(record.response().as_bytes());
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(error) => {
            metrics.idempotency_conflicts.inc();
            Err(error)
        }
    }
}

/// Step 5 after a successful run: remember the reply. `now` drives the
/// lazy pruning; `created_at` is the record's time (the entry's on replay).
#[allow(clippy::too_many_arguments)]
pub(super) fn remember(
    state: &mut State,
    metrics: &Metrics,
    keyed: &Keyed<'_>,
    op: Op,
    created_at: i64,
    now: i64,
    response: &[u8],
) {
    // Replies are rendered as UTF-8; the lossy form is only a fallback.
    let response = std::str::from_utf8(response).map_or_else(|_| String::from_utf8_lossy(response), Cow::Borrowed);
    let record = IdempotencyRecord::new(&keyed.fields.key, op, keyed.digest, &response, created_at);
    let pruned = state.idempotency.insert_hashed(keyed.key_hash, record, now);
    if pruned > 0 {
        metrics.idempotency_pruned.add(pruned);
    }
    metrics.idempotency_write_count.inc();
}

/// The WAL entry field holding an idempotent write's first reply: replay
/// restores the record from it when a series snapshot already holds the
/// write's effect but the idempotency snapshot does not hold its record
/// (after a plain `snapshot.create`). Karma 1.0 ignores unknown fields but
/// parses them: a reply with an integer above `i64::MAX` is written as
/// `protocol::saved_reply` says, with the exact text in `idempotency_response_json`.
const SAVED_REPLY_FIELD: &str = "idempotency_response";

/// Appends the saved reply to a rendered entry object (before its `}`).
pub(super) fn save_reply_in_entry(entry: &mut Vec<u8>, response: &[u8]) {
    debug_assert_eq!(entry.last(), Some(&b'}'));
    entry.pop();
    entry.push(b',');
    write_saved_reply(entry, SAVED_REPLY_FIELD, response);
    entry.push(b'}');
}

/// The reply saved in a WAL entry, or, for an entry without one (Karma
/// 1.0's), the reply when it follows from the request alone.
pub(super) fn saved_reply(entry: &str, command: &Command<'_>) -> Option<Vec<u8>> {
    #[derive(serde::Deserialize)]
    struct Saved<'a> {
        #[serde(borrow)]
        idempotency_response: Option<&'a serde_json::value::RawValue>,
        /// The exact reply when `idempotency_response` holds it with floats.
        idempotency_response_json: Option<String>,
    }
    match serde_json::from_str::<Saved<'_>>(entry) {
        Ok(Saved { idempotency_response_json: Some(exact), .. })
            if serde_json::from_str::<serde::de::IgnoredAny>(&exact).is_ok() =>
        {
            return Some(exact.into_bytes())
        }
        Ok(Saved { idempotency_response: Some(raw), .. }) => return Some(raw.get().as_bytes().to_vec()),
        _ => {}
    }
    let mut reply = Vec::new();
    match command {
        Command::Increment(write::Increment { value, .. }) | Command::Decrement(write::Decrement { value, .. }) => {
            write_u64(&mut reply, value.unwrap_or(1))
        }
        Command::BatchAdd(write::BatchAdd { items, .. }) => {
            let total = items.iter().fold(0u64, |sum, &(_, _, v)| sum.saturating_add(v));
            reply.extend_from_slice(b"{\"applied\":");
            write_u64(&mut reply, items.len() as u64);
            reply.extend_from_slice(b",\"total\":");
            write_u64(&mut reply, total);
            reply.push(b'}');
        }
        Command::BatchSet(write::BatchSet { items, .. }) => {
            reply.extend_from_slice(b"{\"applied\":");
            write_u64(&mut reply, items.len() as u64);
            reply.push(b'}');
        }
        Command::CounterReset(write::CounterReset { .. }) | Command::TreeReset(write::TreeReset { .. }) => {
            reply.extend_from_slice(b"\"OK\"")
        }
        Command::CounterDeleteRange(write::CounterDeleteRange { .. })
        | Command::TreeDeleteRange(write::TreeDeleteRange { .. }) => reply.extend_from_slice(b"true"),
        // The batch reset/delete tallies depend on the state before.
        Command::BatchReset(_) | Command::BatchDeleteRange(_) => return None,
        // Not eligible for idempotency keys, so never saved.
        Command::Read(_)
        | Command::DeleteBefore(_)
        | Command::SeriesCompact(_)
        | Command::SystemCompact(_)
        | Command::TreeCreate(_)
        | Command::TreeDrop(_)
        | Command::IngestBegin(_)
        | Command::IngestChunk(_)
        | Command::IngestCommit(_)
        | Command::IngestAbort(_)
        | Command::IdempotencyPrune(_)
        | Command::SnapshotCreate(_)
        | Command::SnapshotCreateAll(_)
        | Command::SnapshotLoad(_)
        | Command::ReconciliationReport(_)
        | Command::RecoveryCheckpoint(_) => return None,
    }
    Some(reply)
}

/// `idempotency.prune`: deletes the records created before `before`, at
/// most `limit` of them.
pub(super) fn prune(
    apply: &mut Apply<'_, '_>,
    args: &write::IdempotencyPrune<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let before = i64::try_from(args.before).unwrap_or(i64::MAX);
    let deleted = apply.state.idempotency.prune_before(before, args.limit.map(|n| n as usize));
    apply.metrics.idempotency_pruned.add(deleted as u64);
    out.extend_from_slice(b"{\"deleted\":");
    write_u64(out, deleted as u64);
    out.push(b'}');
    Ok(())
}
