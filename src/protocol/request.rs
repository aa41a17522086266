//! Request lines into typed [`Request`]s: the checks of docs/protocol.md,
//! Order of checks, from the JSON syntax to each op's fields, in each op's
//! field order. A read op's fields are parsed as its row in the op table
//! declares them (`read.rs`); the other ops' are parsed by hand, each by
//! its fields struct in `write.rs`.
//! Semantic checks that come after authentication live in `validate.rs`.

use super::error::{CommandError, ErrorCode};
use super::fields::{self, FieldResult};
use super::json::{self, Value};
use super::op::{for_each_op, Op};
use super::read::{self, ReadCommand};
use super::write;
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

/// The typed fields of each op, in the names of the protocol: a read op's
/// as its row declares them, any other op's in its struct in `write.rs`.
/// Generated from the op table, so every row has its variant.
macro_rules! commands {
    (
        all [$($all:tt)*]
        reads [$( $read:ident $fields:tt => $read_handler:path; )*]
        admins [$( $admin:ident => $admin_handler:path; )*]
        logged [$( $logged:ident => $logged_handler:path; )*]
    ) => {
        /// A parsed command: a read op's fields, or an admin or logged op's.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Command<'a> {
            /// A read op, with the fields its row in the op table declares.
            Read(ReadCommand<'a>),
            $(
                #[doc = concat!("Run by `", stringify!($admin_handler), "`.")]
                $admin(write::$admin<'a>),
            )*
            $(
                #[doc = concat!("Logged; applied by `", stringify!($logged_handler), "`.")]
                $logged(write::$logged<'a>),
            )*
        }

        /// Dispatches an op to its parse step: a read op's is generated
        /// from its row (`protocol/read.rs`), any other op's is written by
        /// hand (`protocol/write.rs`).
        fn parse_command<'a>(op: Op, obj: &Value<'a>) -> FieldResult<Command<'a>> {
            match op {
                $(Op::$read => read::$read::parse(obj).map(|args| Command::Read(ReadCommand::$read(args))),)*
                $(Op::$admin => write::$admin::parse(obj).map(Command::$admin),)*
                $(Op::$logged => write::$logged::parse(obj).map(Command::$logged),)*
            }
        }
    };
}

for_each_op!(commands);

impl Command<'_> {
    /// The one series a series-scoped command reads or writes (`None` for
    /// ops over every series or none, and for ingest, whose stream state is
    /// global).
    pub fn series_name(&self) -> Option<&str> {
        match self {
            Command::Increment(write::Increment { series, .. })
            | Command::Decrement(write::Decrement { series, .. })
            | Command::CounterDeleteRange(write::CounterDeleteRange { series, .. })
            | Command::BatchDeleteRange(write::BatchDeleteRange { series, .. })
            | Command::CounterReset(write::CounterReset { series, .. })
            | Command::BatchReset(write::BatchReset { series, .. })
            | Command::BatchAdd(write::BatchAdd { series, .. })
            | Command::BatchSet(write::BatchSet { series, .. })
            | Command::DeleteBefore(write::DeleteBefore { series, .. })
            | Command::SeriesCompact(write::SeriesCompact { series })
            | Command::TreeCreate(write::TreeCreate { series })
            | Command::TreeDrop(write::TreeDrop { series })
            | Command::TreeReset(write::TreeReset { series })
            | Command::TreeDeleteRange(write::TreeDeleteRange { series, .. })
            | Command::SnapshotCreate(write::SnapshotCreate { series }) => Some(series),
            Command::Read(read) => read.series_name(),
            Command::SystemCompact(_)
            | Command::IngestBegin(_)
            | Command::IngestChunk(_)
            | Command::IngestCommit(_)
            | Command::IngestAbort(_)
            | Command::IdempotencyPrune(_)
            | Command::SnapshotCreateAll(_)
            | Command::SnapshotLoad(_)
            | Command::ReconciliationReport(_)
            | Command::RecoveryCheckpoint(_) => None,
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

#[cfg(test)]
mod tests;
