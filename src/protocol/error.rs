//! Error codes and the error a command answers with.

use crate::store::BatchError;
use std::fmt;

/// The `error_code` values of docs/protocol.md, Error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidJson,
    UnsupportedProtocol,
    UnknownCommand,
    ValidationError,
    NotFound,
    Unauthorized,
    Forbidden,
    RequestTooLarge,
    ResponseTooLarge,
    QueryTimeout,
    IdempotencyConflict,
    ReplicationGap,
    /// Never sent to TCP clients; used in replication status strings.
    ReplicationError,
    InternalError,
}

impl ErrorCode {
    /// Every code, in the order of docs/protocol.md, Error codes.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::InvalidJson,
        ErrorCode::UnsupportedProtocol,
        ErrorCode::UnknownCommand,
        ErrorCode::ValidationError,
        ErrorCode::NotFound,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::RequestTooLarge,
        ErrorCode::ResponseTooLarge,
        ErrorCode::QueryTimeout,
        ErrorCode::IdempotencyConflict,
        ErrorCode::ReplicationGap,
        ErrorCode::ReplicationError,
        ErrorCode::InternalError,
    ];

    /// Looks up a wire `error_code` string.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|code| code.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::UnsupportedProtocol => "unsupported_protocol",
            ErrorCode::UnknownCommand => "unknown_command",
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RequestTooLarge => "request_too_large",
            ErrorCode::ResponseTooLarge => "response_too_large",
            ErrorCode::QueryTimeout => "query_timeout",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::ReplicationGap => "replication_gap",
            ErrorCode::ReplicationError => "replication_error",
            ErrorCode::InternalError => "internal_error",
        }
    }
}

/// A failed command: the code and the message of its error envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> CommandError {
        CommandError { code, message: message.into() }
    }

    pub fn validation(message: impl Into<String>) -> CommandError {
        CommandError::new(ErrorCode::ValidationError, message)
    }

    pub fn not_found(message: impl Into<String>) -> CommandError {
        CommandError::new(ErrorCode::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> CommandError {
        CommandError::new(ErrorCode::InternalError, message)
    }

    /// `Tree "<series>" not found`.
    pub fn series_not_found(series: &str) -> CommandError {
        CommandError::not_found(format!("Tree \"{series}\" not found"))
    }
}

/// The store's batch errors in the reference's messages. All are
/// `validation_error`: the reference answers a key-total overflow with
/// `internal_error`, but it is the request's values that do not fit, not a
/// fault of the server, and nothing is applied.
impl From<BatchError> for CommandError {
    fn from(error: BatchError) -> CommandError {
        CommandError::validation(error.to_string())
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for CommandError {}
