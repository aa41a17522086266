//! Semantic validation (docs/protocol.md, Order of checks: "the values make
//! sense"): the checks that run after authentication and need no state:
//! non-empty names, limits and maxima, real dates in ranges, positive
//! values. A read op's checks follow from the kinds of its fields
//! (`read.rs`, `field_kind.rs`); the other ops' are written out here.

use super::error::CommandError;
use super::field_kind::{limit_or_default, max_size, series_name};
use super::request::Command;
use super::write;

/// The most records one `idempotency.prune` may delete.
pub const PRUNE_LIMIT_MAX: usize = 100_000;

fn non_empty(value: &str, field: &str) -> Result<(), CommandError> {
    if value.is_empty() {
        Err(CommandError::validation(format!("Field {field} is required")))
    } else {
        Ok(())
    }
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
            Command::Read(read) => read.validate()?,
            Command::Increment(write::Increment { series, value, .. })
            | Command::Decrement(write::Decrement { series, value, .. }) => {
                series_name(series)?;
                if *value == Some(0) {
                    return Err(CommandError::validation("Field value must be greater than 0"));
                }
            }
            Command::CounterDeleteRange(write::CounterDeleteRange { series, range, .. })
            | Command::TreeDeleteRange(write::TreeDeleteRange { series, range }) => {
                series_name(series)?;
                range.buckets()?;
            }
            Command::BatchDeleteRange(write::BatchDeleteRange { series, keys, range }) => {
                series_name(series)?;
                max_size(keys.len(), "keys")?;
                range.buckets()?;
            }
            Command::BatchReset(write::BatchReset { series, keys }) => {
                series_name(series)?;
                max_size(keys.len(), "keys")?;
            }
            Command::BatchAdd(write::BatchAdd { series, items }) => {
                series_name(series)?;
                max_size(items.len(), "items")?;
                if items.iter().any(|&(_, _, value)| value == 0) {
                    return Err(CommandError::validation("Batch item value must be greater than 0"));
                }
            }
            Command::BatchSet(write::BatchSet { series, items }) => {
                series_name(series)?;
                max_size(items.len(), "items")?;
            }
            Command::CounterReset(write::CounterReset { series, .. })
            | Command::DeleteBefore(write::DeleteBefore { series, .. })
            | Command::TreeCreate(write::TreeCreate { series })
            | Command::TreeDrop(write::TreeDrop { series })
            | Command::TreeReset(write::TreeReset { series })
            | Command::SeriesCompact(write::SeriesCompact { series })
            | Command::SnapshotCreate(write::SnapshotCreate { series }) => series_name(series)?,
            Command::IngestBegin(write::IngestBegin { stream_id, mode, .. }) => {
                non_empty(stream_id, "stream_id")?;
                non_empty(mode, "mode")?;
                if !matches!(mode.as_ref(), "add" | "set" | "replace_series") {
                    return Err(CommandError::validation(format!("Unsupported ingest mode {mode}")));
                }
            }
            Command::IngestChunk(write::IngestChunk { series, stream_id, .. }) => {
                non_empty(stream_id, "stream_id")?;
                series_name(series)?;
            }
            Command::IngestCommit(write::IngestCommit { stream_id, .. })
            | Command::IngestAbort(write::IngestAbort { stream_id }) => {
                non_empty(stream_id, "stream_id")?;
            }
            Command::IdempotencyPrune(write::IdempotencyPrune { limit, .. }) => {
                if limit.is_some() {
                    limit_or_default(*limit, (0, PRUNE_LIMIT_MAX))?;
                }
            }
            Command::ReconciliationReport(write::ReconciliationReport {
                checked_points,
                mismatch_count,
                absolute_drift,
                max_abs_delta,
                ..
            }) => {
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
            Command::RecoveryCheckpoint(write::RecoveryCheckpoint { source, offset, event_id }) => {
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
            Command::SystemCompact(_)
            | Command::SnapshotCreateAll(_)
            | Command::SnapshotLoad(write::SnapshotLoad { .. }) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
