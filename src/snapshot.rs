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

use std::io;
use std::path::PathBuf;

pub use catalog::{
    last_snapshot_lsn, latest_per_series, list_snapshots, load_meta, prune, read_idempotency_meta, read_snapshot,
    remove_series_snapshots, restore_lsn, stat_snapshot, write_idempotency_snapshot, write_snapshot, SnapshotFile,
    IDEMPOTENCY_FILE,
};
pub use meta::{IdempotencyMeta, SnapshotMeta};
pub use names::{
    check_requested_file, parse_snapshot_file_name, snapshot_file_name, NameError, ParsedName, RequestedFileError,
};
pub use series_codec::{decode_series, encode_series, encode_series_into, SeriesDecodeError};

/// What can go wrong reading or writing snapshot files. Every variant names
/// the file involved and keeps the error it came from.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading, writing, renaming or removing `path` failed.
    #[error("Cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done, e.g. `read`, `write`.
        action: &'static str,
        /// The file (or directory) involved.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A `.tree` file that does not decode.
    #[error("Corrupt snapshot {}: {reason}", .path.display())]
    Corrupt {
        /// The `.tree` file.
        path: PathBuf,
        /// Why it does not decode.
        #[source]
        reason: SeriesDecodeError,
    },
    /// A sidecar that exists but does not parse (or does not match its
    /// snapshot's hashed name).
    #[error("Invalid snapshot metadata {}: {reason}", .path.display())]
    InvalidMeta {
        /// The sidecar.
        path: PathBuf,
        /// Why it is refused.
        #[source]
        reason: MetaError,
    },
    /// A requested file name that is not a snapshot name.
    #[error("Invalid dump file name \"{file}\"")]
    InvalidName {
        /// The name as given.
        file: String,
        /// Why it does not parse.
        #[source]
        reason: NameError,
    },
}

/// Why a sidecar, or the series a snapshot file name stands for, is refused.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The sidecar is not the JSON it should be (serde_json's message).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The file name does not parse.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The sidecar that would name a hashed file's series is unreadable.
    #[error(transparent)]
    Sidecar(Box<SnapshotError>),
    /// A hashed file name whose sidecar does not name its series.
    #[error("hashed name without a sidecar naming its series")]
    UnnamedHash,
}
