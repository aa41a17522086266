//! The fields of the ops that are not reads (class `Admin` or `Logged`):
//! for each, a struct of the same name as its row in the op table
//! (`protocol/op.rs`), and its parse step, written by hand because these
//! ops' fields have irregular rules (defaults, aliases, fields that are not
//! request fields) and exact error texts. The row names the struct's
//! handler, which receives it: an admin op's is called by
//! `engine/route.rs`, a logged op's by `engine/apply.rs`.
//!
//! Each parse step reads the fields in the op's field order (docs/protocol.md,
//! Order of checks); the semantic checks after authentication are in
//! `validate.rs`.

use super::fields::{self, keys, opt_limit, opt_uint, req_range, req_str, req_uint, series, snapshot_file};
use super::fields::{FieldResult, Item, RawRange};
use super::json::Value;
use crate::store::Bucket;
use std::borrow::Cow;
use std::marker::PhantomData;

/// `before` of `idempotency.prune`, already turned into Unix seconds.
pub type UnixSeconds = u64;

/// `counter.increment`.
#[derive(Debug, Clone, PartialEq)]
pub struct Increment<'a> {
    pub series: Cow<'a, str>,
    pub key: u64,
    pub bucket: Bucket,
    pub value: Option<u64>,
}

impl<'a> Increment<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<Increment<'a>> {
        let (series, key, bucket, value) = counter_write(obj)?;
        Ok(Increment { series, key, bucket, value })
    }
}

/// `counter.decrement`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decrement<'a> {
    pub series: Cow<'a, str>,
    pub key: u64,
    pub bucket: Bucket,
    pub value: Option<u64>,
}

impl<'a> Decrement<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<Decrement<'a>> {
        let (series, key, bucket, value) = counter_write(obj)?;
        Ok(Decrement { series, key, bucket, value })
    }
}

/// The fields of `counter.increment` and `counter.decrement`, in order.
fn counter_write<'a>(obj: &Value<'a>) -> FieldResult<(Cow<'a, str>, u64, Bucket, Option<u64>)> {
    let series = series(obj)?;
    let key = req_uint(obj, "key")?;
    let bucket = fields::write_bucket(obj)?;
    let value = opt_uint(obj, "value", "value")?;
    Ok((series, key, bucket, value))
}

/// `counter.delete_range`.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterDeleteRange<'a> {
    pub series: Cow<'a, str>,
    pub key: u64,
    pub range: RawRange,
}

impl<'a> CounterDeleteRange<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<CounterDeleteRange<'a>> {
        let range = req_range(obj)?;
        let series = series(obj)?;
        let key = req_uint(obj, "key")?;
        Ok(CounterDeleteRange { series, key, range })
    }
}

/// `counter.batch_delete_range`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchDeleteRange<'a> {
    pub series: Cow<'a, str>,
    pub keys: Vec<u64>,
    pub range: RawRange,
}

impl<'a> BatchDeleteRange<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<BatchDeleteRange<'a>> {
        let range = req_range(obj)?;
        Ok(BatchDeleteRange { series: series(obj)?, keys: keys(obj)?, range })
    }
}

/// `counter.reset`.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterReset<'a> {
    pub series: Cow<'a, str>,
    pub key: u64,
}

impl<'a> CounterReset<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<CounterReset<'a>> {
        Ok(CounterReset { series: series(obj)?, key: req_uint(obj, "key")? })
    }
}

/// `counter.batch_reset`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchReset<'a> {
    pub series: Cow<'a, str>,
    pub keys: Vec<u64>,
}

impl<'a> BatchReset<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<BatchReset<'a>> {
        Ok(BatchReset { series: series(obj)?, keys: keys(obj)? })
    }
}

/// `series.batch_add`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchAdd<'a> {
    pub series: Cow<'a, str>,
    pub items: Vec<Item>,
}

impl<'a> BatchAdd<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<BatchAdd<'a>> {
        Ok(BatchAdd { series: series(obj)?, items: fields::items(obj)? })
    }
}

/// `series.batch_set`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSet<'a> {
    pub series: Cow<'a, str>,
    pub items: Vec<Item>,
}

impl<'a> BatchSet<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<BatchSet<'a>> {
        Ok(BatchSet { series: series(obj)?, items: fields::items(obj)? })
    }
}

/// `series.delete_before`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteBefore<'a> {
    pub series: Cow<'a, str>,
    pub before: u64,
}

impl<'a> DeleteBefore<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<DeleteBefore<'a>> {
        let series = series(obj)?;
        let before = match opt_uint(obj, "before", "before")? {
            Some(before) => before,
            None => opt_uint(obj, "date", "date")?.ok_or_else(|| fields::required("before"))?,
        };
        Ok(DeleteBefore { series, before })
    }
}

/// `series.compact`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesCompact<'a> {
    pub series: Cow<'a, str>,
}

impl<'a> SeriesCompact<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<SeriesCompact<'a>> {
        Ok(SeriesCompact { series: series(obj)? })
    }
}

/// `system.compact`: no fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemCompact<'a> {
    /// Ties the struct to the request line, as every command is.
    line: PhantomData<&'a str>,
}

impl<'a> SystemCompact<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(_obj: &Value<'a>) -> FieldResult<SystemCompact<'a>> {
        Ok(SystemCompact { line: PhantomData })
    }
}

/// `tree.create`.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeCreate<'a> {
    pub series: Cow<'a, str>,
}

impl<'a> TreeCreate<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<TreeCreate<'a>> {
        Ok(TreeCreate { series: series(obj)? })
    }
}

/// `tree.drop`.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeDrop<'a> {
    pub series: Cow<'a, str>,
}

impl<'a> TreeDrop<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<TreeDrop<'a>> {
        Ok(TreeDrop { series: series(obj)? })
    }
}

/// `tree.reset`.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeReset<'a> {
    pub series: Cow<'a, str>,
}

impl<'a> TreeReset<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<TreeReset<'a>> {
        Ok(TreeReset { series: series(obj)? })
    }
}

/// `tree.delete_range`.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeDeleteRange<'a> {
    pub series: Cow<'a, str>,
    pub range: RawRange,
}

impl<'a> TreeDeleteRange<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<TreeDeleteRange<'a>> {
        let range = req_range(obj)?;
        Ok(TreeDeleteRange { series: series(obj)?, range })
    }
}

/// `ingest.begin`.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestBegin<'a> {
    pub stream_id: Cow<'a, str>,
    pub mode: Cow<'a, str>,
    pub granularity: Option<Cow<'a, str>>,
}

impl<'a> IngestBegin<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<IngestBegin<'a>> {
        Ok(IngestBegin {
            stream_id: req_str(obj, "stream_id")?,
            mode: req_str(obj, "mode")?,
            granularity: fields::opt_str(obj, "granularity"),
        })
    }
}

/// `ingest.chunk`.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestChunk<'a> {
    pub series: Cow<'a, str>,
    pub stream_id: Cow<'a, str>,
    pub chunk_seq: u64,
    pub items: Vec<Item>,
}

impl<'a> IngestChunk<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<IngestChunk<'a>> {
        let series = series(obj)?;
        let stream_id = req_str(obj, "stream_id")?;
        let chunk_seq = req_uint(obj, "chunk_seq")?;
        Ok(IngestChunk { series, stream_id, chunk_seq, items: fields::items(obj)? })
    }
}

/// `ingest.commit`. `committed_at_unix` is the commit time the master
/// stamped into its WAL entry, so replay and slaves record the same time;
/// a client's value is ignored (the live path stamps its own).
#[derive(Debug, Clone, PartialEq)]
pub struct IngestCommit<'a> {
    pub stream_id: Cow<'a, str>,
    pub committed_at_unix: Option<u64>,
}

impl<'a> IngestCommit<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<IngestCommit<'a>> {
        Ok(IngestCommit {
            stream_id: req_str(obj, "stream_id")?,
            // Not a request field for Karma 1.0, which ignores unknown fields:
            // anything but a non-negative integer is ignored the same way.
            committed_at_unix: match obj.get("committed_at_unix") {
                Some(Value::Int(t)) => u64::try_from(*t).ok(),
                _ => None,
            },
        })
    }
}

/// `ingest.abort`.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestAbort<'a> {
    pub stream_id: Cow<'a, str>,
}

impl<'a> IngestAbort<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<IngestAbort<'a>> {
        Ok(IngestAbort { stream_id: req_str(obj, "stream_id")? })
    }
}

/// `idempotency.prune`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyPrune<'a> {
    pub before: UnixSeconds,
    pub limit: Option<i64>,
    /// Ties the struct to the request line, as every command is.
    line: PhantomData<&'a str>,
}

impl<'a> IdempotencyPrune<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<IdempotencyPrune<'a>> {
        let before = prune_before(obj)?;
        Ok(IdempotencyPrune { before, limit: opt_limit(obj)?, line: PhantomData })
    }
}

/// `before` of `idempotency.prune`: Unix seconds or an RFC 3339 timestamp.
fn prune_before(obj: &Value<'_>) -> FieldResult<UnixSeconds> {
    match obj.get("before") {
        None => Err(fields::required("before")),
        Some(value @ Value::Int(_)) => fields::uint_value(value, "before"),
        Some(Value::Str(text)) => crate::util::time::parse_rfc3339(text)
            .map(|secs| secs.max(0) as u64)
            .ok_or_else(|| super::CommandError::validation("Field before must be an ISO8601 timestamp")),
        Some(_) => Err(super::CommandError::validation("Field before must be an integer or ISO8601 timestamp")),
    }
}

/// `snapshot.create`.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotCreate<'a> {
    pub series: Cow<'a, str>,
}

impl<'a> SnapshotCreate<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<SnapshotCreate<'a>> {
        Ok(SnapshotCreate { series: series(obj)? })
    }
}

/// `snapshot.create_all`: no fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotCreateAll<'a> {
    /// Ties the struct to the request line, as every command is.
    line: PhantomData<&'a str>,
}

impl<'a> SnapshotCreateAll<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(_obj: &Value<'a>) -> FieldResult<SnapshotCreateAll<'a>> {
        Ok(SnapshotCreateAll { line: PhantomData })
    }
}

/// `snapshot.load`.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotLoad<'a> {
    pub file: Cow<'a, str>,
}

impl<'a> SnapshotLoad<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<SnapshotLoad<'a>> {
        Ok(SnapshotLoad { file: snapshot_file(obj)? })
    }
}

/// `reconciliation.report`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconciliationReport<'a> {
    pub checked_points: i64,
    pub mismatch_count: i64,
    pub absolute_drift: i64,
    pub max_abs_delta: i64,
    /// Ties the struct to the request line, as every command is.
    line: PhantomData<&'a str>,
}

impl<'a> ReconciliationReport<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<ReconciliationReport<'a>> {
        let int = |name: &str| fields::opt_int(obj, name);
        let checked_points = int("checked_points")?.ok_or_else(|| fields::required("checked_points"))?;
        let mismatch_count = int("mismatch_count")?.ok_or_else(|| fields::required("mismatch_count"))?;
        let absolute_drift = int("absolute_drift")?.unwrap_or(0);
        let max_abs_delta = int("max_abs_delta")?.unwrap_or(0);
        Ok(ReconciliationReport { checked_points, mismatch_count, absolute_drift, max_abs_delta, line: PhantomData })
    }
}

/// `recovery.checkpoint`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryCheckpoint<'a> {
    pub source: Cow<'a, str>,
    pub offset: Option<String>,
    pub event_id: Option<String>,
}

impl<'a> RecoveryCheckpoint<'a> {
    /// The parse step: the fields in the op's field order.
    pub fn parse(obj: &Value<'a>) -> FieldResult<RecoveryCheckpoint<'a>> {
        let source = req_str(obj, "source")?;
        let offset = if obj.has("source_offset") {
            fields::opt_str_or_int(obj, "source_offset")?
        } else {
            fields::opt_str_or_int(obj, "offset")?
        };
        let offset = offset.map(Cow::into_owned);
        let event_id = fields::opt_str_or_int(obj, "event_id")?.map(Cow::into_owned);
        Ok(RecoveryCheckpoint { source, offset, event_id })
    }
}
