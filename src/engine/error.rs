//! What can go wrong when the engine loads its data directory (start-up,
//! `snapshot.verify`, the reload after a WAL failure) and when a slave
//! applies what it pulled. Each variant keeps the error it came from; the
//! texts are the start-up `ERROR:` lines and the log lines.

use super::ingest::IdempotencyFileError;
use crate::protocol::CommandError;
use crate::replication::ReplicationError;
use crate::snapshot::SnapshotError;
use crate::wal::WalError;
use std::io;
use std::path::PathBuf;

/// Why the data directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// A file of ours exists but cannot be read.
    #[error("Cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    /// `recovery.json` is not valid.
    #[error("Cannot parse {}: {source}", .path.display())]
    RecoveryFile { path: PathBuf, source: serde_json::Error },
    /// `karma.failed_entries.json` is not valid.
    #[error("Invalid {}: {source}", .path.display())]
    FailedEntriesFile { path: PathBuf, source: serde_json::Error },
    /// The data directory cannot be listed.
    #[error("Cannot list snapshots in {}: {source}", .dir.display())]
    ListSnapshots { dir: PathBuf, source: io::Error },
    /// A snapshot or its sidecar cannot be read.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// `karma.idempotency.json` cannot be loaded.
    #[error("{source} ({})", .path.display())]
    IdempotencyFile { path: PathBuf, source: IdempotencyFileError },
    /// A WAL line whose entry is not a request.
    #[error("Invalid WAL entry at {}:{line}: {}", .file.display(), .error.message)]
    InvalidWalEntry {
        file: PathBuf,
        line: usize,
        #[source]
        error: CommandError,
    },
    /// The WAL cannot be read, repaired or opened.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// `karma.replication.lsn` cannot be read or written.
    #[error(transparent)]
    Replication(#[from] ReplicationError),
}

/// Why a slave could not apply what it pulled, or bootstrap again.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// A pulled entry that is not a request.
    #[error("Cannot apply WAL entry {lsn}: {}", .error.message)]
    Unparsable {
        lsn: u64,
        #[source]
        error: CommandError,
    },
    /// The local WAL refuses writes (its failure, as the reply says it).
    #[error("{}", .0.message)]
    Refused(#[source] CommandError),
    /// An entry after a hole in the sequence.
    #[error("Replication gap: expected LSN {expected}, got {got}")]
    Gap { expected: u64, got: u64 },
    /// An applied entry the local WAL could not take.
    #[error("Cannot log WAL entry {lsn}: {source}")]
    Log { lsn: u64, source: WalError },
    /// Waiting for durability or resetting the local WAL failed.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// The master, the bootstrap, or `karma.replication.lsn`.
    #[error(transparent)]
    Replication(#[from] ReplicationError),
    /// The fetched snapshots do not load.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// The old snapshots cannot be listed or removed.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Moving the fetched files into the data directory failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}
