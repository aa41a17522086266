//! What can go wrong in the WAL.
//!
//! Each variant says what failed and keeps the `io::Error` it came from.
//! The texts (`Display`) are the ones the WAL has always reported: a failed
//! WAL's error reaches clients inside `WAL is unavailable, writes are
//! refused: <error>` and operators in log lines, so they do not change.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// A WAL failure. A sticky failure is handed to every waiter of the
/// writes it refused, so it is cheap to clone (the `io::Error` is shared).
#[derive(Debug, Clone, thiserror::Error)]
pub enum WalError {
    /// A file system call failed: `Cannot <action> <path>: <OS error>`.
    #[error("Cannot {action} {}: {source}", path.display())]
    Io {
        /// The step, in words (`write WAL file`, `fsync WAL directory`).
        action: &'static str,
        path: PathBuf,
        source: Arc<io::Error>,
    },
    /// Rotation found a segment of the name it was about to use.
    #[error("WAL segment already exists: {}", .0.display())]
    SegmentExists(PathBuf),
    /// A line that is not a WAL record where one must be (not a torn tail).
    #[error("Corrupt WAL line at {}:{line}: {reason}", path.display())]
    CorruptLine { path: PathBuf, line: usize, reason: String },
    /// `karma.wal.lsn` holds something other than a number.
    #[error("Invalid WAL LSN file {}", .0.display())]
    InvalidLsnFile(PathBuf),
    /// Someone waited for an LSN beyond the last one appended.
    #[error("WAL LSN {lsn} was never appended{}", LastAppended(*.last_appended))]
    NeverAppended { lsn: u64, last_appended: Option<u64> },
    /// The dedicated WAL thread could not be spawned.
    #[error("Cannot start the WAL thread: {0}")]
    ThreadStart(#[source] Arc<io::Error>),
    /// A committer panicked mid-commit: what it took may be half written.
    #[error("the WAL writer panicked")]
    WriterPanicked,
    /// The WAL was reset (a slave re-bootstrapping) while the write waited.
    #[error("the WAL was reset")]
    Reset,
    /// The WAL is shut down: nothing more is written.
    #[error("WAL is shut down")]
    ShutDown,
}

impl WalError {
    /// `Cannot <action> <path>: <error>`, keeping `error`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, error: io::Error) -> WalError {
        WalError::Io { action, path: path.into(), source: Arc::new(error) }
    }

    /// The OS error's kind, when an I/O call failed.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            WalError::Io { source, .. } | WalError::ThreadStart(source) => Some(source.kind()),
            _ => None,
        }
    }
}

/// Two errors are equal when they are of one kind and say the same thing
/// (an `io::Error` has no equality of its own): for results compared in
/// tests.
impl PartialEq for WalError {
    fn eq(&self, other: &WalError) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.io_kind() == other.io_kind()
            && self.to_string() == other.to_string()
    }
}

impl Eq for WalError {}

/// ` (last appended: N)` when the waiter knew it.
struct LastAppended(Option<u64>);

impl fmt::Display for LastAppended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(lsn) => write!(f, " (last appended: {lsn})"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
