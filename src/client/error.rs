//! What a client call can fail with.

use crate::protocol::ErrorCode;
use std::fmt;

/// The `error_code` of an error reply: one the protocol defines, or any
/// other string a (newer) server sent, kept as it came.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServerCode {
    Known(ErrorCode),
    Unknown(String),
}

impl ServerCode {
    /// Reads an `error_code` string.
    pub fn from_name(name: &str) -> ServerCode {
        match ErrorCode::from_name(name) {
            Some(code) => ServerCode::Known(code),
            None => ServerCode::Unknown(name.to_string()),
        }
    }

    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            ServerCode::Known(code) => code.as_str(),
            ServerCode::Unknown(name) => name,
        }
    }
}

impl fmt::Display for ServerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed call.
#[derive(Debug)]
pub enum Error {
    /// No connection could be made; nothing was sent.
    Connect { address: String, source: std::io::Error },
    /// The connection broke after the request was (maybe) sent, and the
    /// call was not safe to repeat (a write without an idempotency key):
    /// the server may or may not have applied it. Read the state back, or
    /// send writes with an idempotency key so they can be retried.
    OutcomeUnknown { source: std::io::Error },
    /// The connection failed in a way a retry cannot fix (for example a
    /// reply line over the client's limit).
    Io(std::io::Error),
    /// The server's reply was not a protocol envelope, or its `response`
    /// did not have the shape this op returns.
    InvalidReply { reason: String, reply: String },
    /// The request could not be built (nothing was sent).
    InvalidRequest(String),
    /// The server answered with an error envelope.
    Server { code: ServerCode, message: String },
}

impl Error {
    /// The server's error code, when the server answered with an error.
    pub fn server_code(&self) -> Option<&ServerCode> {
        match self {
            Error::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether this is the server's error `code`.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.server_code() == Some(&ServerCode::Known(code))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect { address, source } => write!(f, "cannot connect to {address}: {source}"),
            Error::OutcomeUnknown { source } => {
                write!(f, "connection lost after the request was sent, outcome unknown: {source}")
            }
            Error::Io(source) => write!(f, "connection failed: {source}"),
            Error::InvalidReply { reason, reply } => {
                let shown: String = reply.chars().take(200).collect();
                write!(f, "invalid reply ({reason}): {shown}")
            }
            Error::InvalidRequest(reason) => write!(f, "invalid request: {reason}"),
            Error::Server { code, message } => write!(f, "{code}: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } | Error::OutcomeUnknown { source } | Error::Io(source) => Some(source),
            _ => None,
        }
    }
}

/// The result of a client call.
pub type Result<T> = std::result::Result<T, Error>;
