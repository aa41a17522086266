//! What can go wrong in `reconcile-csv`: the command line (printed with
//! the usage), a CSV row (reported and skipped), and a run (exit 1).

use karma::client::Error as ClientError;
use karma::protocol::field_kind::MAX_BATCH;
use std::io;
use std::path::PathBuf;

/// Why the command line does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// lexopt's own message (an unknown option, a missing value).
    #[error(transparent)]
    Parse(#[from] lexopt::Error),
    /// The option (its long name) has a value that is not UTF-8.
    #[error("--{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("--port {0:?} is not a port number")]
    Port(String),
    #[error("--batch {given:?} must be 1..={}", MAX_BATCH)]
    Batch { given: String },
    #[error("--series is required")]
    NoSeries,
    #[error("--csv is required")]
    NoCsv,
}

/// Why a CSV row is skipped.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("expected 3 fields key,bucket,value, found {0}")]
    FieldCount(usize),
    #[error("key {0:?} is not an unsigned integer")]
    Key(String),
    #[error("bucket {0:?} is not a date YYYYMMDD")]
    Bucket(String),
    #[error("value {0:?} is not an unsigned integer")]
    Value(String),
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("Cannot read {}: {source}", .path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("Cannot read {}: {source}", .path.display())]
    Csv { path: PathBuf, source: csv::Error },
    #[error("counter.batch_sum failed: {0}")]
    BatchSum(#[source] ClientError),
    #[error("reconciliation.report failed: {0}")]
    Report(#[source] ClientError),
}
