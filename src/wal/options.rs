//! How the WAL is configured.

use std::path::PathBuf;
use std::time::Duration;

/// How the WAL writes (from `--directory`, `--wal-fsync`,
/// `--wal-segment-bytes`, `--wal-batch-size`, `--wal-batch-wait-us`).
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// The data directory (created if missing).
    pub dir: PathBuf,
    /// fsync every batch before reporting it durable.
    pub fsync: bool,
    /// Rotate the active file once it has reached this size; 0 = never.
    pub segment_bytes: u64,
    /// Most records written by one batch (at least 1 is used).
    pub batch_size: usize,
    /// How long a batch that is not full waits for more records; zero means
    /// only what is already queued is batched.
    pub batch_wait: Duration,
}
