//! What can go wrong on the slave's side of replication: the position file,
//! talking to the master, and installing what it sends. Each variant keeps
//! the error it came from; the texts are the log lines and the
//! `last_poll_error` / `last_bootstrap_error` of `replication.status`.

use crate::client::Error as ClientError;
use crate::protocol::ErrorCode;
use crate::snapshot::NameError;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    /// `karma.replication.lsn` holds something other than a number.
    #[error("Invalid replication LSN file {}", .path.display())]
    InvalidLsnFile { path: PathBuf },
    /// `karma.replication.lsn` cannot be read.
    #[error("Cannot read {}: {source}", .path.display())]
    ReadLsnFile { path: PathBuf, source: io::Error },
    /// `karma.replication.lsn` cannot be written.
    #[error("Cannot write {}: {source}", .path.display())]
    WriteLsnFile { path: PathBuf, source: io::Error },
    /// A request line of ours that is not JSON (a bug, never the master's).
    #[error("Invalid request to master {line}: {source}")]
    InvalidRequest { line: String, source: serde_json::Error },
    /// No connection to the master could be made.
    #[error("Cannot connect to master {host}:{port}: {source}")]
    Connect { host: String, port: u16, source: io::Error },
    /// The master hung up before answering.
    #[error("Master closed connection without response")]
    Closed { source: io::Error },
    /// Any other failure of a request to the master.
    #[error("Request to master {host}:{port} failed: {source}")]
    Request { host: String, port: u16, source: ClientError },
    /// A reply line that is not an envelope; `what` names the request kind.
    #[error("Invalid reply from master to {what}: {source}")]
    InvalidReply { what: &'static str, source: serde_json::Error },
    /// An error envelope; `code` is its `error_code` (`replication_gap`
    /// makes the poller bootstrap again), `reply` the whole line.
    #[error("Master rejected {what} request: {reply}")]
    Rejected { what: &'static str, code: Option<ErrorCode>, reply: String },
    /// A `response` without the shape of its op; `what` names it.
    #[error("Invalid {what} from master: {source}")]
    InvalidResponse { what: &'static str, source: serde_json::Error },
    /// A chunk whose `data_base64` does not decode.
    #[error("Invalid chunk data from master: {0}")]
    ChunkData(#[source] base64::DecodeError),
    /// A snapshot file changed while it was fetched; `what` names it.
    #[error("{what} changed during fetch")]
    Changed { what: &'static str },
    /// The master answered no chunk at all for a file.
    #[error("Master sent no chunk of {name}")]
    NoChunk { name: String },
    /// A snapshot name that could escape the data directory.
    #[error("Master offered an unsafe snapshot name {0:?}")]
    UnsafeName(String),
    /// A snapshot name that does not parse.
    #[error("Invalid snapshot name {file:?}: {reason:?}")]
    InvalidName {
        file: String,
        #[source]
        reason: NameError,
    },
    /// The data (or staging) directory cannot be created.
    #[error("Cannot create {}: {source}", .dir.display())]
    CreateDir { dir: PathBuf, source: io::Error },
    /// A fetched file cannot be put in place.
    #[error("Cannot install {name}: {source}")]
    Install { name: String, source: io::Error },
    /// The sidecar of a fetched snapshot cannot be written.
    #[error("Cannot write the sidecar of {file}: {source}")]
    WriteSidecar { file: String, source: io::Error },
    /// The idempotency snapshot's sidecar cannot be written.
    #[error("Cannot write {name}: {source}")]
    WriteIdempotencySidecar { name: String, source: io::Error },
}

impl ReplicationError {
    /// The `error_code` of the master's error envelope, if that is what
    /// this is.
    pub fn master_code(&self) -> Option<ErrorCode> {
        match self {
            ReplicationError::Rejected { code, .. } => *code,
            _ => None,
        }
    }
}
