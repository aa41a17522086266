//! Executes a validated [`Request`] against the [`State`]: reads under the
//! lock, writes applied under the lock. One arm per op, grouped by family;
//! the families live in their own files.

use super::inspect::{self, Deadline};
use super::state::State;
use super::{counters, maintenance};
use crate::metrics::Metrics;
use crate::protocol::{Command, CommandError, Request};

/// Runs a read-only op. `out` receives the `response` JSON.
pub(super) fn read(
    state: &State,
    metrics: &Metrics,
    query_timeout_ms: u64,
    request: &Request<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    match &request.command {
        Command::Sum { series, key, range } => counters::sum(state, series, *key, range, out),
        Command::BatchSum { series, keys, range } => counters::batch_sum(state, metrics, series, keys, range, out),
        Command::MultiSum { items, range } => counters::multi_sum(state, items, range, out),
        Command::CounterSeries { series, key, range } => counters::counter_series(state, series, *key, range, out),
        Command::TreeList => {
            inspect::list(state, out);
            Ok(())
        }
        Command::TreeInfo { series } => inspect::info(state, metrics, &Deadline::start(query_timeout_ms), series, out),
        Command::TreeKeys { series, limit, cursor } => {
            inspect::keys(state, metrics, &Deadline::start(query_timeout_ms), series, *limit, *cursor, out)
        }
        Command::TreeSummary { series, range } => {
            inspect::summary(state, metrics, &Deadline::start(query_timeout_ms), series, range, out)
        }
        Command::TreeTop { series, limit, range } => {
            inspect::top(state, metrics, &Deadline::start(query_timeout_ms), series, *limit, range, out)
        }
        Command::TreeSeries { series, range } => {
            inspect::series_points(state, metrics, &Deadline::start(query_timeout_ms), series, range, out)
        }
        Command::RecoveryStatus { source } => {
            state.recovery.status_json(source.as_deref(), out);
            Ok(())
        }
        _ => Err(misrouted(request)),
    }
}

/// Applies a logged write. On error nothing has changed.
pub(super) fn apply(
    state: &mut State,
    metrics: &Metrics,
    request: &Request<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    apply_command(state, metrics, &request.command, &|_| true, out)
}

/// Applies a write command; `applies_to` filters which series a
/// `system.compact` touches (all, outside WAL replay).
pub(super) fn apply_command(
    state: &mut State,
    metrics: &Metrics,
    command: &Command<'_>,
    applies_to: &dyn Fn(&str) -> bool,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    if let Some(result) = super::exactly_once::apply_stream_command(state, metrics, command, out) {
        return result;
    }
    match command {
        Command::Increment { series, key, bucket, value } => {
            counters::increment(state, series, *key, *bucket, value.unwrap_or(1), out)
        }
        Command::Decrement { series, key, bucket, value } => {
            counters::decrement(state, series, *key, *bucket, value.unwrap_or(1), out);
            Ok(())
        }
        Command::CounterDeleteRange { series, key, range } => counters::delete_range(state, series, *key, range, out),
        Command::BatchDeleteRange { series, keys, range } => {
            counters::batch_delete_range(state, metrics, series, keys, range, out)
        }
        Command::CounterReset { series, key } => {
            counters::reset(state, series, *key, out);
            Ok(())
        }
        Command::BatchReset { series, keys } => counters::batch_reset(state, metrics, series, keys, out),
        Command::BatchAdd { series, items } => counters::batch_add(state, metrics, series, items, out),
        Command::BatchSet { series, items } => counters::batch_set(state, metrics, series, items, out),
        Command::DeleteBefore { series, before } => maintenance::delete_before(state, metrics, series, *before, out),
        Command::SeriesCompact { series } => maintenance::compact_series(state, metrics, series, out),
        Command::SystemCompact => {
            maintenance::compact_all(state, metrics, applies_to, out);
            Ok(())
        }
        Command::TreeCreate { series } => {
            maintenance::create(state, series, out);
            Ok(())
        }
        Command::TreeDrop { series } => maintenance::drop(state, series, out),
        Command::TreeReset { series } => {
            maintenance::reset(state, series, out);
            Ok(())
        }
        Command::TreeDeleteRange { series, range } => maintenance::delete_range(state, series, range, out),
        _ => Err(CommandError::internal("Command is not a write")),
    }
}

/// Every op has a handler; reaching this means a dispatch table is missing
/// an arm, which must fail loudly rather than pretend success.
pub(super) fn misrouted(request: &Request<'_>) -> CommandError {
    CommandError::internal(format!("{} has no handler on this path", request.op.name()))
}
