//! Snapshots: one `.tree` file per series plus its `.meta.json` sidecar,
//! and the idempotency snapshot, in the data directory.
//!
//! The engine copies a series and the current LSN under its lock and calls
//! this module outside it; this module owns the file formats and the
//! directory bookkeeping, and knows nothing about locks or the WAL.
//!
//! - [`names`]: `<unix>_<series>.tree`, escaped so that no series name can
//!   produce a path outside the data directory (defect D10);
//! - [`series_codec`]: the Karma 1.0 MessagePack layout, streamed straight
//!   from / into `store::Series` (docs/storage.md, Snapshots);
//! - [`meta`]: the JSON sidecars and their reply forms (docs/storage.md,
//!   Snapshots; Idempotency and ingest snapshot);
//! - [`catalog`]: listing, ordering, restore LSN, pruning, writing and
//!   reading snapshots (docs/storage.md, Snapshots; docs/protocol.md,
//!   Snapshot ops), with the temp file, fsync, rename and directory fsync
//!   of `crate::util::fs` (docs/storage.md, What is durable when).
//!
//! Durability order for one series: the `.tree` is renamed into place
//! first, then its sidecar, then the directory is fsynced. A crash between
//! the two renames leaves a `.tree` without a sidecar, which readers accept
//! with `last_lsn` 0 (docs/storage.md, Snapshots).

pub mod catalog;
pub mod meta;
pub mod names;
pub mod series_codec;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use catalog::{
    last_snapshot_lsn, latest_per_series, list_snapshots, load_meta, prune, read_idempotency_meta, read_snapshot,
    remove_series_snapshots, restore_lsn, stat_snapshot, write_idempotency_snapshot, write_snapshot, SnapshotFile,
    IDEMPOTENCY_FILE,
};
pub use meta::{IdempotencyMeta, SnapshotMeta};
pub use names::{check_requested_file, parse_snapshot_file_name, snapshot_file_name, NameError, ParsedName};
pub use series_codec::{decode_series, encode_series, encode_series_into, SeriesDecodeError};

/// What can go wrong reading or writing snapshot files. Every variant names
/// the file involved.
#[derive(Debug)]
pub enum SnapshotError {
    /// Reading, writing, renaming or removing `path` failed.
    Io {
        /// What was being done, e.g. `read`, `write`.
        action: &'static str,
        /// The file (or directory) involved.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A `.tree` file that does not decode.
    Corrupt {
        /// The `.tree` file.
        path: PathBuf,
        /// Why it does not decode.
        reason: SeriesDecodeError,
    },
    /// A sidecar that exists but does not parse (or does not match its
    /// snapshot's hashed name).
    InvalidMeta {
        /// The sidecar.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A requested file name that is not a snapshot name.
    InvalidName {
        /// The name as given.
        file: String,
        /// Why it does not parse.
        reason: NameError,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Io { action, path, source } => write!(f, "Cannot {action} {}: {source}", path.display()),
            SnapshotError::Corrupt { path, reason } => {
                write!(f, "Corrupt snapshot {}: {reason}", path.display())
            }
            SnapshotError::InvalidMeta { path, message } => {
                write!(f, "Invalid snapshot metadata {}: {message}", path.display())
            }
            SnapshotError::InvalidName { file, .. } => {
                write!(f, "Invalid dump file name \"{file}\"")
            }
        }
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SnapshotError::Io { source, .. } => Some(source),
            SnapshotError::Corrupt { reason, .. } => Some(reason),
            SnapshotError::InvalidName { reason, .. } => Some(reason),
            SnapshotError::InvalidMeta { .. } => None,
        }
    }
}
