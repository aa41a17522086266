//! Semantic validation (docs/protocol.md, Order of checks: "the values make
//! sense"): the checks that run after authentication and need no state:
//! non-empty names, limits and maxima, real dates in ranges, positive
//! values.

use super::error::CommandError;
use super::fields::RawRange;
use super::request::Command;

/// Most keys or items one batch request may carry.
pub const MAX_BATCH: usize = 10_000;

/// Default and maximum of each op's `limit`.
pub const TREE_KEYS_LIMIT: (usize, usize) = (100, 10_000);
pub const TREE_TOP_LIMIT: (usize, usize) = (50, 1_000);
pub const REPLICATION_LIMIT: (usize, usize) = (1_000, 10_000);
pub const CHUNK_LIMIT: (usize, usize) = (262_144, 524_288);
pub const PRUNE_LIMIT_MAX: usize = 100_000;

/// Checks `limit` against `1..=max`; absent means `default` (defect D1 fixed).
pub fn limit_or_default(limit: Option<i64>, (default, max): (usize, usize)) -> Result<usize, CommandError> {
    match limit {
        None => Ok(default),
        Some(n) if n <= 0 => Err(CommandError::validation("Field limit must be greater than 0")),
        Some(n) if n as u64 > max as u64 => Err(CommandError::validation("Field limit exceeds max size")),
        Some(n) => Ok(n as usize),
    }
}

fn series_name(series: &str) -> Result<(), CommandError> {
    if series.is_empty() {
        Err(CommandError::validation("Field tree_name is required"))
    } else {
        Ok(())
    }
}

fn non_empty(value: &str, field: &str) -> Result<(), CommandError> {
    if value.is_empty() {
        Err(CommandError::validation(format!("Field {field} is required")))
    } else {
        Ok(())
    }
}

fn max_size(len: usize, field: &str) -> Result<(), CommandError> {
    if len > MAX_BATCH {
        Err(CommandError::validation(format!("Field {field} exceeds max size")))
    } else {
        Ok(())
    }
}

fn opt_range(range: &Option<RawRange>) -> Result<(), CommandError> {
    range.as_ref().map(RawRange::buckets).transpose().map(|_| ())
}

fn not_negative(value: i64, field: &str) -> Result<(), CommandError> {
    if value < 0 {
        Err(CommandError::validation(format!("Field {field} must be greater than or equal to 0")))
    } else {
        Ok(())
    }
}

impl Command<'_> {
    /// The stateless semantic checks of this command.
    pub fn validate(&self) -> Result<(), CommandError> {
        match self {
            Command::Increment { series, value, .. } | Command::Decrement { series, value, .. } => {
                series_name(series)?;
                if *value == Some(0) {
                    return Err(CommandError::validation("Field value must be greater than 0"));
                }
            }
            Command::Sum { series, range, .. } | Command::TreeSummary { series, range } => {
                series_name(series)?;
                opt_range(range)?;
            }
            Command::BatchSum { series, keys, range } => {
                series_name(series)?;
                max_size(keys.len(), "keys")?;
                opt_range(range)?;
            }
            Command::MultiSum { items, range } => {
                max_size(items.len(), "items")?;
                opt_range(range)?;
            }
            Command::CounterSeries { series, range, .. }
            | Command::CounterDeleteRange { series, range, .. }
            | Command::TreeDeleteRange { series, range }
            | Command::TreeSeries { series, range } => {
                series_name(series)?;
                range.buckets()?;
            }
            Command::BatchDeleteRange { series, keys, range } => {
                series_name(series)?;
                max_size(keys.len(), "keys")?;
                range.buckets()?;
            }
            Command::BatchReset { series, keys } => {
                series_name(series)?;
                max_size(keys.len(), "keys")?;
            }
            Command::BatchAdd { series, items } => {
                series_name(series)?;
                max_size(items.len(), "items")?;
                if items.iter().any(|&(_, _, value)| value == 0) {
                    return Err(CommandError::validation("Batch item value must be greater than 0"));
                }
            }
            Command::BatchSet { series, items } => {
                series_name(series)?;
                max_size(items.len(), "items")?;
            }
            Command::CounterReset { series, .. }
            | Command::DeleteBefore { series, .. }
            | Command::TreeCreate { series }
            | Command::TreeDrop { series }
            | Command::TreeReset { series }
            | Command::TreeInfo { series }
            | Command::SeriesCompact { series }
            | Command::SnapshotCreate { series } => series_name(series)?,
            Command::TreeKeys { series, limit, .. } => {
                series_name(series)?;
                limit_or_default(*limit, TREE_KEYS_LIMIT)?;
            }
            Command::TreeTop { series, limit, range } => {
                series_name(series)?;
                limit_or_default(*limit, TREE_TOP_LIMIT)?;
                opt_range(range)?;
            }
            Command::IngestBegin { stream_id, mode, .. } => {
                non_empty(stream_id, "stream_id")?;
                non_empty(mode, "mode")?;
                if !matches!(mode.as_ref(), "add" | "set" | "replace_series") {
                    return Err(CommandError::validation(format!("Unsupported ingest mode {mode}")));
                }
            }
            Command::IngestChunk { series, stream_id, .. } => {
                non_empty(stream_id, "stream_id")?;
                series_name(series)?;
            }
            Command::IngestCommit { stream_id, .. } | Command::IngestAbort { stream_id } => {
                non_empty(stream_id, "stream_id")?;
            }
            Command::IdempotencyPrune { limit, .. } => {
                if limit.is_some() {
                    limit_or_default(*limit, (0, PRUNE_LIMIT_MAX))?;
                }
            }
            Command::IdempotencySnapshotFetchChunk { limit, .. } | Command::SnapshotFetchChunk { limit, .. } => {
                limit_or_default(*limit, CHUNK_LIMIT)?;
            }
            Command::ReplicationEntries { limit, .. } => {
                limit_or_default(*limit, REPLICATION_LIMIT)?;
            }
            Command::ReconciliationReport { checked_points, mismatch_count, absolute_drift, max_abs_delta } => {
                not_negative(*checked_points, "checked_points")?;
                not_negative(*mismatch_count, "mismatch_count")?;
                if mismatch_count > checked_points {
                    return Err(CommandError::validation(
                        "Field mismatch_count must be less than or equal to checked_points",
                    ));
                }
                not_negative(*absolute_drift, "absolute_drift")?;
                not_negative(*max_abs_delta, "max_abs_delta")?;
            }
            Command::RecoveryCheckpoint { source, offset, event_id } => {
                non_empty(source, "source")?;
                if offset.is_none() && event_id.is_none() {
                    return Err(CommandError::validation("Field offset or event_id is required"));
                }
                if offset.as_deref() == Some("") {
                    return Err(CommandError::validation("Field offset must not be empty"));
                }
                if event_id.as_deref() == Some("") {
                    return Err(CommandError::validation("Field event_id must not be empty"));
                }
            }
            Command::SystemCompact
            | Command::TreeList
            | Command::SnapshotCreateAll
            | Command::SnapshotList
            | Command::SnapshotInfo
            | Command::SnapshotLoad { .. }
            | Command::SnapshotFetch { .. }
            | Command::SnapshotVerify
            | Command::Ping
            | Command::Health
            | Command::Stats
            | Command::Metrics
            | Command::RecoveryStatus { .. }
            | Command::ReplicationStatus => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
