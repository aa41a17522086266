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
//! Group commit (`handle`, `committer`, over the bookkeeping in
//! `progress`): `append` only queues the
//! encoded line; a session registers a completion for its LSN
//! ([`Wal::when_durable`]) and commits everything queued itself if the
//! writer is free, else leaves it to the committer of the moment and the
//! WAL thread (batches of up to `batch_size`, waiting up to `batch_wait`
//! for more, one write and at most one fsync each, rotating the active
//! file into a sealed segment when it has reached `segment_bytes`); the
//! committer calls the completions of the LSNs it made durable, which send
//! the replies (`file_writer` does the file work). So:
//!
//! - *durable LSN = D* means every line with `lsn <= D` is in a WAL file
//!   (and fsynced when `fsync` is on); nothing above D has been reported
//!   durable;
//! - a write or fsync error is sticky: waiters of non-durable LSNs and every
//!   later call fail, and nothing is acknowledged that is not on disk;
//! - `karma.wal.lsn` is rewritten after every batch with the durable LSN (a
//!   hint, fsynced only at truncation and shutdown), so it stays current.
//!
//! Files (`files`): sealed segments `karma.wal.<first LSN, 20 digits>.segment`
//! in LSN order, then `karma.wal`. Each segment gets a text `.idx` sidecar
//! (`index`). Truncation after a snapshot ([`Wal::seal`] +
//! [`Wal::drop_through`]) deletes whole sealed segments only; the active
//! file is never rewritten while the process runs, which is what lets
//! readers map files without locks.
//!
//! Startup reading is in [`replay`] (every entry in order, torn-tail repair,
//! LSN recovery); replication pages are served by [`reader`], which never
//! touches the engine's lock and reads at most up to the durable LSN.

mod bisect;
mod committer;
mod error;
mod file_writer;
mod files;
mod handle;
mod index;
mod line;
mod locate;
mod options;
mod progress;
mod queue;
pub mod reader;
pub mod replay;
mod state;
mod tail;

mod fault;

pub use error::WalError;
pub use files::{remove_all, wal_files};
pub use handle::{Wal, WalStats};
pub use options::WalOptions;
pub use progress::Completion;
pub use reader::{Page, PageError, PageRequest, WalReader};
pub use replay::{for_each_record, read_lsn_file, recover_lsn, scan_records, ReplaySummary, WalRecord};
