//! What can stop a node from starting ([`crate::run`]); `main` prints it
//! as the one line `ERROR: <error>`. Each variant keeps the error it came
//! from.

use crate::engine::RestoreError;
use crate::replication::ReplicationError;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("Cannot install signal handlers: {0}")]
    Signals(#[source] io::Error),
    /// The client port is taken or cannot be bound.
    #[error("Cannot listen on {host}:{port}: {source}")]
    Listen { host: String, port: u16, source: io::Error },
    /// The HTTP port is taken or cannot be bound.
    #[error("Cannot listen for HTTP on {host}:{port}: {source}")]
    ListenHttp { host: String, port: u16, source: io::Error },
    #[error("Cannot start the HTTP listener: {0}")]
    StartHttp(#[source] io::Error),
    #[error("Cannot create data directory {}: {source}", .dir.display())]
    CreateDirectory { dir: PathBuf, source: io::Error },
    #[error("Cannot open lock file {}: {source}", .path.display())]
    OpenLock { path: PathBuf, source: io::Error },
    /// Another process holds the data directory's lock.
    #[error("Data directory {} is in use by another karma process (lock file {})", .dir.display(), .path.display())]
    DirectoryInUse { dir: PathBuf, path: PathBuf },
    #[error("Cannot lock {}: {source}", .path.display())]
    Lock { path: PathBuf, source: io::Error },
    /// A slave's first bootstrap from its master failed.
    #[error(transparent)]
    Bootstrap(#[from] ReplicationError),
    /// The WAL of a bootstrapped slave could not be cleared.
    #[error("Cannot clear the old WAL in {}: {source}", .dir.display())]
    ClearWal { dir: PathBuf, source: io::Error },
    /// The data directory could not be restored.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error("Cannot start the listener: {0}")]
    StartListener(#[source] io::Error),
    #[error("Cannot start the replication poller: {0}")]
    StartPoller(#[source] io::Error),
}
