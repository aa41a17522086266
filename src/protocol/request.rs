//! Request lines into typed [`Request`]s: the checks of docs/protocol.md,
//! Order of checks, from the JSON syntax to each op's fields, in each op's
//! field order. A read op's fields are parsed as its row in the op table
//! declares them (`read.rs`); the other ops' are parsed by hand in
//! `parse_write`.
//! Semantic checks that come after authentication live in `validate.rs`.

use super::error::{CommandError, ErrorCode};
use super::fields::{self, FieldResult, Item, RawRange};
use super::json::{self, Value};
use super::op::{for_each_op, Op, WriteOp};
use super::read::{self, ReadCommand};
use crate::store::Bucket;
use std::borrow::Cow;

/// A parsed request: the op, its typed fields and the envelope fields.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub op: Op,
    pub command: Command<'a>,
    /// `token` when it is a string (any other type counts as absent).
    pub token: Option<Cow<'a, str>>,
    /// Present when the object has the key `idempotency_key`.
    pub idempotency: Option<IdempotencyFields<'a>>,
}

/// The idempotency fields of docs/protocol.md, Idempotency (strings borrowed from the
/// request line when they have no escapes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyFields<'a> {
    pub key: Cow<'a, str>,
    pub fingerprint: Option<Cow<'a, str>>,
    pub created_at_unix: Option<u64>,
}

/// `before` of `idempotency.prune`, already turned into Unix seconds.
pub type UnixSeconds = u64;

/// The typed fields of each op, in the names of the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Command<'a> {
    /// A read op, with the fields its row in the op table declares.
    Read(ReadCommand<'a>),
    Increment {
        series: Cow<'a, str>,
        key: u64,
        bucket: Bucket,
        value: Option<u64>,
    },
    Decrement {
        series: Cow<'a, str>,
        key: u64,
        bucket: Bucket,
        value: Option<u64>,
    },
    CounterDeleteRange {
        series: Cow<'a, str>,
        key: u64,
        range: RawRange,
    },
    BatchDeleteRange {
        series: Cow<'a, str>,
        keys: Vec<u64>,
        range: RawRange,
    },
    CounterReset {
        series: Cow<'a, str>,
        key: u64,
    },
    BatchReset {
        series: Cow<'a, str>,
        keys: Vec<u64>,
    },
    BatchAdd {
        series: Cow<'a, str>,
        items: Vec<Item>,
    },
    BatchSet {
        series: Cow<'a, str>,
        items: Vec<Item>,
    },
    DeleteBefore {
        series: Cow<'a, str>,
        before: u64,
    },
    SeriesCompact {
        series: Cow<'a, str>,
    },
    SystemCompact,
    TreeCreate {
        series: Cow<'a, str>,
    },
    TreeDrop {
        series: Cow<'a, str>,
    },
    TreeReset {
        series: Cow<'a, str>,
    },
    TreeDeleteRange {
        series: Cow<'a, str>,
        range: RawRange,
    },
    IngestBegin {
        stream_id: Cow<'a, str>,
        mode: Cow<'a, str>,
        granularity: Option<Cow<'a, str>>,
    },
    IngestChunk {
        series: Cow<'a, str>,
        stream_id: Cow<'a, str>,
        chunk_seq: u64,
        items: Vec<Item>,
    },
    /// `committed_at_unix` is the commit time the master stamped into its
    /// WAL entry, so replay and slaves record the same time; a client's
    /// value is ignored (the live path stamps its own).
    IngestCommit {
        stream_id: Cow<'a, str>,
        committed_at_unix: Option<u64>,
    },
    IngestAbort {
        stream_id: Cow<'a, str>,
    },
    IdempotencyPrune {
        before: UnixSeconds,
        limit: Option<i64>,
    },
    SnapshotCreate {
        series: Cow<'a, str>,
    },
    SnapshotCreateAll,
    SnapshotLoad {
        file: Cow<'a, str>,
    },
    ReconciliationReport {
        checked_points: i64,
        mismatch_count: i64,
        absolute_drift: i64,
        max_abs_delta: i64,
    },
    RecoveryCheckpoint {
        source: Cow<'a, str>,
        offset: Option<String>,
        event_id: Option<String>,
    },
}

impl Command<'_> {
    /// The one series a series-scoped command reads or writes (`None` for
    /// ops over every series or none, and for ingest, whose stream state is
    /// global).
    pub fn series_name(&self) -> Option<&str> {
        match self {
            Command::Increment { series, .. }
            | Command::Decrement { series, .. }
            | Command::CounterDeleteRange { series, .. }
            | Command::BatchDeleteRange { series, .. }
            | Command::CounterReset { series, .. }
            | Command::BatchReset { series, .. }
            | Command::BatchAdd { series, .. }
            | Command::BatchSet { series, .. }
            | Command::DeleteBefore { series, .. }
            | Command::SeriesCompact { series }
            | Command::TreeCreate { series }
            | Command::TreeDrop { series }
            | Command::TreeReset { series }
            | Command::TreeDeleteRange { series, .. }
            | Command::SnapshotCreate { series } => Some(series),
            Command::Read(read) => read.series_name(),
            _ => None,
        }
    }
}

/// Why a line was rejected before it became a request. `op` is known when
/// the failure came after the op lookup (for per-op error metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub op: Option<Op>,
    pub error: CommandError,
}

impl Rejected {
    fn early(code: ErrorCode, message: impl Into<String>) -> Rejected {
        Rejected { op: None, error: CommandError::new(code, message) }
    }
}

fn unsupported_protocol() -> Rejected {
    Rejected::early(ErrorCode::UnsupportedProtocol, "Karma 1.0 accepts only protocol v2 requests with field v=2")
}

/// Parses one request line (without its terminator).
pub fn parse_request(line: &[u8]) -> Result<Request<'_>, Rejected> {
    let value = json::parse(line).map_err(|e| Rejected::early(ErrorCode::InvalidJson, e.to_string()))?;
    parse_value(value)
}

/// Steps 3-8 of the pipeline on an already parsed JSON value.
pub fn parse_value(value: Value<'_>) -> Result<Request<'_>, Rejected> {
    if !matches!(value, Value::Object(_)) {
        return Err(Rejected::early(
            ErrorCode::ValidationError,
            format!("Request must be a JSON object, got {}", value.type_name()),
        ));
    }
    match value.get("v") {
        Some(Value::Int(2)) => {}
        // Defect D5 fixed: Karma 1.0 converted `v` to int32 and failed with
        // `internal_error` outside that range.
        Some(Value::Int(v)) if i32::try_from(*v).is_err() => {
            return Err(Rejected::early(ErrorCode::ValidationError, "Field v must fit in int32"));
        }
        _ => return Err(unsupported_protocol()),
    }
    let op_name = match value.get("op") {
        Some(Value::Str(name)) => name,
        _ => return Err(Rejected::early(ErrorCode::ValidationError, "Field op is required")),
    };
    let op = Op::from_name(op_name)
        .ok_or_else(|| Rejected::early(ErrorCode::UnknownCommand, format!("Unknown op {op_name}")))?;
    let fail = |error| Rejected { op: Some(op), error };
    let command = parse_command(op, &value).map_err(fail)?;
    let idempotency = match value.get("idempotency_key") {
        Some(key) => Some(parse_idempotency(&value, key).map_err(fail)?),
        None => None,
    };
    let token = fields::opt_str(&value, "token");
    Ok(Request { op, command, token, idempotency })
}

/// The idempotency fields of `obj`, whose `idempotency_key` is `key`.
fn parse_idempotency<'a>(obj: &Value<'a>, key: &Value<'a>) -> FieldResult<IdempotencyFields<'a>> {
    let key = fields::str_or_int(key, "idempotency_key")?;
    let fingerprint = fields::opt_str_or_int(obj, "fingerprint")?;
    let created_at_unix = match obj.get("idempotency_created_at_unix") {
        None => None,
        // uint_value rejects a negative time with the "greater than or
        // equal to 0" message.
        Some(value @ Value::Int(_)) => Some(fields::uint_value(value, "idempotency_created_at_unix")?),
        Some(_) => return Err(CommandError::validation("Field idempotency_created_at_unix must be an integer")),
    };
    Ok(IdempotencyFields { key, fingerprint, created_at_unix })
}

/// Dispatches an op to its parse step: a read op's is generated from its
/// row (`protocol/read.rs`), any other op's is `parse_write`.
macro_rules! command_parser {
    (
        all [$($all:tt)*]
        reads [$( $read:ident $fields:tt => $handler:path; )*]
        writes [$($write:ident)*]
    ) => {
        fn parse_command<'a>(op: Op, obj: &Value<'a>) -> FieldResult<Command<'a>> {
            match op {
                $(Op::$read => read::$read::parse(obj).map(|args| Command::Read(ReadCommand::$read(args))),)*
                $(Op::$write => parse_write(WriteOp::$write, obj),)*
            }
        }
    };
}

for_each_op!(command_parser);

/// The fields of an op that is not a read, in the op's field order.
fn parse_write<'a>(op: WriteOp, obj: &Value<'a>) -> FieldResult<Command<'a>> {
    use fields::{keys, opt_limit, opt_uint, req_range, req_str, req_uint, series, snapshot_file};
    Ok(match op {
        WriteOp::Increment | WriteOp::Decrement => {
            let series = series(obj)?;
            let key = req_uint(obj, "key")?;
            let bucket = fields::write_bucket(obj)?;
            let value = opt_uint(obj, "value", "value")?;
            if op == WriteOp::Increment {
                Command::Increment { series, key, bucket, value }
            } else {
                Command::Decrement { series, key, bucket, value }
            }
        }
        WriteOp::CounterDeleteRange => {
            let range = req_range(obj)?;
            let series = series(obj)?;
            let key = req_uint(obj, "key")?;
            Command::CounterDeleteRange { series, key, range }
        }
        WriteOp::BatchDeleteRange => {
            let range = req_range(obj)?;
            Command::BatchDeleteRange { series: series(obj)?, keys: keys(obj)?, range }
        }
        WriteOp::CounterReset => Command::CounterReset { series: series(obj)?, key: req_uint(obj, "key")? },
        WriteOp::BatchReset => Command::BatchReset { series: series(obj)?, keys: keys(obj)? },
        WriteOp::BatchAdd => Command::BatchAdd { series: series(obj)?, items: fields::items(obj)? },
        WriteOp::BatchSet => Command::BatchSet { series: series(obj)?, items: fields::items(obj)? },
        WriteOp::DeleteBefore => {
            let series = series(obj)?;
            let before = match opt_uint(obj, "before", "before")? {
                Some(before) => before,
                None => opt_uint(obj, "date", "date")?.ok_or_else(|| fields::required("before"))?,
            };
            Command::DeleteBefore { series, before }
        }
        WriteOp::SeriesCompact => Command::SeriesCompact { series: series(obj)? },
        WriteOp::SystemCompact => Command::SystemCompact,
        WriteOp::TreeCreate => Command::TreeCreate { series: series(obj)? },
        WriteOp::TreeDrop => Command::TreeDrop { series: series(obj)? },
        WriteOp::TreeReset => Command::TreeReset { series: series(obj)? },
        WriteOp::TreeDeleteRange => {
            let range = req_range(obj)?;
            Command::TreeDeleteRange { series: series(obj)?, range }
        }
        WriteOp::IngestBegin => Command::IngestBegin {
            stream_id: req_str(obj, "stream_id")?,
            mode: req_str(obj, "mode")?,
            granularity: fields::opt_str(obj, "granularity"),
        },
        WriteOp::IngestChunk => {
            let series = series(obj)?;
            let stream_id = req_str(obj, "stream_id")?;
            let chunk_seq = req_uint(obj, "chunk_seq")?;
            Command::IngestChunk { series, stream_id, chunk_seq, items: fields::items(obj)? }
        }
        WriteOp::IngestCommit => Command::IngestCommit {
            stream_id: req_str(obj, "stream_id")?,
            // Not a request field for Karma 1.0, which ignores unknown fields:
            // anything but a non-negative integer is ignored the same way.
            committed_at_unix: match obj.get("committed_at_unix") {
                Some(Value::Int(t)) => u64::try_from(*t).ok(),
                _ => None,
            },
        },
        WriteOp::IngestAbort => Command::IngestAbort { stream_id: req_str(obj, "stream_id")? },
        WriteOp::IdempotencyPrune => {
            let before = prune_before(obj)?;
            Command::IdempotencyPrune { before, limit: opt_limit(obj)? }
        }
        WriteOp::SnapshotCreate => Command::SnapshotCreate { series: series(obj)? },
        WriteOp::SnapshotCreateAll => Command::SnapshotCreateAll,
        WriteOp::SnapshotLoad => Command::SnapshotLoad { file: snapshot_file(obj)? },
        WriteOp::ReconciliationReport => {
            let int = |name: &str| fields::opt_int(obj, name);
            let checked_points = int("checked_points")?.ok_or_else(|| fields::required("checked_points"))?;
            let mismatch_count = int("mismatch_count")?.ok_or_else(|| fields::required("mismatch_count"))?;
            let absolute_drift = int("absolute_drift")?.unwrap_or(0);
            let max_abs_delta = int("max_abs_delta")?.unwrap_or(0);
            Command::ReconciliationReport { checked_points, mismatch_count, absolute_drift, max_abs_delta }
        }
        WriteOp::RecoveryCheckpoint => {
            let source = req_str(obj, "source")?;
            let offset = if obj.has("source_offset") {
                fields::opt_str_or_int(obj, "source_offset")?
            } else {
                fields::opt_str_or_int(obj, "offset")?
            };
            let offset = offset.map(Cow::into_owned);
            let event_id = fields::opt_str_or_int(obj, "event_id")?.map(Cow::into_owned);
            Command::RecoveryCheckpoint { source, offset, event_id }
        }
    })
}

/// `before` of `idempotency.prune`: Unix seconds or an RFC 3339 timestamp.
fn prune_before(obj: &Value<'_>) -> FieldResult<UnixSeconds> {
    match obj.get("before") {
        None => Err(fields::required("before")),
        Some(value @ Value::Int(_)) => fields::uint_value(value, "before"),
        Some(Value::Str(text)) => crate::util::time::parse_rfc3339(text)
            .map(|secs| secs.max(0) as u64)
            .ok_or_else(|| CommandError::validation("Field before must be an ISO8601 timestamp")),
        Some(_) => Err(CommandError::validation("Field before must be an integer or ISO8601 timestamp")),
    }
}

#[cfg(test)]
mod tests;
