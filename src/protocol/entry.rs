//! The canonical WAL entry of a logged command (docs/storage.md, The write-ahead log):
//! canonical op names, `series` for the name, resolved bucket and value,
//! buckets as integers, tokens never written.

use super::fields::{Item, RawRange};
use super::request::{Command, Request};
use super::write;
use crate::util::json_writer::{write_key, write_str, write_u64};

/// Appends the entry object of `request` (a logged op that succeeded).
/// `created_at_unix` is the server's idempotency record time, written so
/// that age pruning survives replay (defect D11 fixed); it falls back to
/// the client's value.
pub fn write_entry(out: &mut Vec<u8>, request: &Request<'_>, created_at_unix: Option<u64>) {
    out.extend_from_slice(b"{\"v\":2,\"op\":");
    write_str(out, request.op.name());
    match &request.command {
        Command::Increment(write::Increment { series, key, bucket, value })
        | Command::Decrement(write::Decrement { series, key, bucket, value }) => {
            field_str(out, "series", series);
            field_u64(out, "key", *key);
            field_u64(out, "bucket", u64::from(bucket.yyyymmdd()));
            field_u64(out, "value", value.unwrap_or(1));
        }
        Command::BatchAdd(write::BatchAdd { series, items }) | Command::BatchSet(write::BatchSet { series, items }) => {
            field_str(out, "series", series);
            out.extend_from_slice(b",\"granularity\":\"day\"");
            field_items(out, items);
        }
        Command::BatchReset(write::BatchReset { series, keys }) => {
            field_str(out, "series", series);
            field_keys(out, keys);
        }
        Command::BatchDeleteRange(write::BatchDeleteRange { series, keys, range }) => {
            field_str(out, "series", series);
            field_keys(out, keys);
            field_range(out, range);
        }
        Command::CounterDeleteRange(write::CounterDeleteRange { series, key, range }) => {
            field_str(out, "series", series);
            field_u64(out, "key", *key);
            field_range(out, range);
        }
        Command::TreeDeleteRange(write::TreeDeleteRange { series, range }) => {
            field_str(out, "series", series);
            field_range(out, range);
        }
        Command::CounterReset(write::CounterReset { series, key }) => {
            field_str(out, "series", series);
            field_u64(out, "key", *key);
        }
        Command::DeleteBefore(write::DeleteBefore { series, before }) => {
            field_str(out, "series", series);
            field_u64(out, "before", *before);
        }
        Command::TreeReset(write::TreeReset { series })
        | Command::SeriesCompact(write::SeriesCompact { series })
        | Command::TreeCreate(write::TreeCreate { series })
        | Command::TreeDrop(write::TreeDrop { series }) => field_str(out, "series", series),
        Command::IngestBegin(write::IngestBegin { stream_id, mode, granularity }) => {
            field_str(out, "stream_id", stream_id);
            field_str(out, "mode", mode);
            if let Some(granularity) = granularity {
                field_str(out, "granularity", granularity);
            }
        }
        Command::IngestChunk(write::IngestChunk { series, stream_id, chunk_seq, items }) => {
            field_str(out, "stream_id", stream_id);
            field_str(out, "series", series);
            field_u64(out, "chunk_seq", *chunk_seq);
            field_items(out, items);
        }
        Command::IngestCommit(write::IngestCommit { stream_id, committed_at_unix }) => {
            field_str(out, "stream_id", stream_id);
            // Beyond Karma 1.0's entry (docs/storage.md, The write-ahead
            // log): Karma 1.0 ignores the unknown field and stamps its
            // replay time, as it always did.
            if let Some(committed) = committed_at_unix {
                field_u64(out, "committed_at_unix", *committed);
            }
        }
        Command::IngestAbort(write::IngestAbort { stream_id }) => field_str(out, "stream_id", stream_id),
        Command::IdempotencyPrune(write::IdempotencyPrune { before, limit, .. }) => {
            field_u64(out, "before", *before);
            if let Some(limit) = limit {
                out.extend_from_slice(b",\"limit\":");
                crate::util::json_writer::write_i64(out, *limit);
            }
        }
        Command::SystemCompact(_) => {}
        // Never logged: these ops have no entry.
        Command::Read(_)
        | Command::SnapshotCreate(_)
        | Command::SnapshotCreateAll(_)
        | Command::SnapshotLoad(_)
        | Command::ReconciliationReport(_)
        | Command::RecoveryCheckpoint(_) => {}
    }
    if let Some(idem) = &request.idempotency {
        field_str(out, "idempotency_key", &idem.key);
        if let Some(fingerprint) = &idem.fingerprint {
            field_str(out, "fingerprint", fingerprint);
        }
        if let Some(created) = created_at_unix.or(idem.created_at_unix) {
            field_u64(out, "idempotency_created_at_unix", created);
        }
    }
    out.push(b'}');
}

fn field_str(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b',');
    write_key(out, name);
    write_str(out, value);
}

fn field_u64(out: &mut Vec<u8>, name: &str, value: u64) {
    out.push(b',');
    write_key(out, name);
    write_u64(out, value);
}

fn field_keys(out: &mut Vec<u8>, keys: &[u64]) {
    out.extend_from_slice(b",\"keys\":[");
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_u64(out, *key);
    }
    out.push(b']');
}

fn field_items(out: &mut Vec<u8>, items: &[Item]) {
    out.extend_from_slice(b",\"items\":[");
    for (i, (key, bucket, value)) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        write_u64(out, *key);
        out.push(b',');
        write_u64(out, u64::from(bucket.yyyymmdd()));
        out.push(b',');
        write_u64(out, *value);
        out.push(b']');
    }
    out.push(b']');
}

fn field_range(out: &mut Vec<u8>, range: &RawRange) {
    out.extend_from_slice(b",\"range\":{\"from\":");
    write_u64(out, range.from);
    out.extend_from_slice(b",\"to\":");
    write_u64(out, range.to);
    out.push(b'}');
}

#[cfg(test)]
mod tests;
