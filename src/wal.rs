//! The write-ahead log (docs/storage.md, The write-ahead log).
//!
//! Every persisted mutation becomes one line
//! `{"v":2,"lsn":N,"entry":<entry>}\n` in `karma.wal`. The engine applies a
//! command to memory under its state lock, assigns the next LSN and calls
//! [`Wal::append`] before unlocking, so records reach the writer in strictly
//! increasing LSN order (+1 each). The session then calls
//! [`Wal::wait_durable`] outside the lock and acknowledges the client only
//! when it returns `Ok`.
//!
//! Group commit ([`writer`], [`committer`]): `append` only queues the
//! encoded line; a session registers a completion for its LSN
//! ([`Wal::when_durable`]) and commits everything queued itself if the
//! writer is free, else leaves it to the committer of the moment and the
//! WAL thread (batches of up to `batch_size`, waiting up to `batch_wait`
//! for more, one write and at most one fsync each, rotating the active
//! file into a sealed segment when it has reached `segment_bytes`); the
//! committer calls the completions of the LSNs it made durable, which send
//! the replies ([`commit`] does the file work). So:
//!
//! - *durable LSN = D* means every line with `lsn <= D` is in a WAL file
//!   (and fsynced when `fsync` is on); nothing above D has been reported
//!   durable;
//! - a write or fsync error is sticky: waiters of non-durable LSNs and every
//!   later call fail, and nothing is acknowledged that is not on disk;
//! - `karma.wal.lsn` is rewritten after every batch with the durable LSN (a
//!   hint, fsynced only at truncation and shutdown), so it stays current.
//!
//! Files ([`files`]): sealed segments `karma.wal.<first LSN, 20 digits>.segment`
//! in LSN order, then `karma.wal`. Each segment gets a text `.idx` sidecar
//! ([`index`]). Truncation after a snapshot ([`Wal::seal`] +
//! [`Wal::drop_through`]) deletes whole sealed segments only; the active
//! file is never rewritten while the process runs, which is what lets
//! readers map files without locks.
//!
//! Startup reading is in [`replay`] (every entry in order, torn-tail repair,
//! LSN recovery); replication pages are served by [`reader`], which never
//! touches the engine's lock and reads at most up to the durable LSN.

mod commit;
mod committer;
mod error;
mod files;
mod index;
mod line;
mod locate;
mod progress;
pub mod reader;
pub mod replay;
mod tail;
mod writer;

mod fault;

use std::path::PathBuf;
use std::time::Duration;

use crate::metrics::HistogramSnapshot;

pub use committer::Completion;
pub use error::WalError;
pub use files::{remove_all, wal_files};
pub use reader::{Page, PageError, PageRequest, WalReader};
pub use replay::{for_each_record, read_lsn_file, recover_lsn, scan_records, ReplaySummary, WalRecord};
pub use writer::Wal;

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

/// Counters for `system.stats` / `system.metrics`.
#[derive(Debug, Clone)]
pub struct WalStats {
    /// Bytes in all WAL files (segments and `karma.wal`; not `.idx`/`.lsn`).
    pub bytes: u64,
    pub durable_lsn: u64,
    pub last_appended_lsn: u64,
    /// Writer batches written (each one write call, at most one fsync).
    pub batches: u64,
    /// Records written.
    pub records: u64,
    pub fsyncs: u64,
    /// Records per batch.
    pub batch_sizes: HistogramSnapshot,
    /// fsync latency in milliseconds.
    pub fsync_ms: HistogramSnapshot,
    /// Sealed segments currently on disk.
    pub segments: usize,
    /// The sticky failure, if the WAL has failed.
    pub failure: Option<String>,
}
