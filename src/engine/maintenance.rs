//! Series-level maintenance (docs/protocol.md, series.delete_before / series.compact and
//! system.compact / Managing series): create, drop, reset, range deletes, retention and compaction.

use super::state::State;
use crate::metrics::Metrics;
use crate::protocol::fields::RawRange;
use crate::protocol::CommandError;

const OK: &[u8] = b"\"OK\"";

pub(super) fn create(state: &mut State, series: &str, out: &mut Vec<u8>) {
    state.store.get_or_create(series);
    out.extend_from_slice(OK);
}

pub(super) fn drop(state: &mut State, series: &str, out: &mut Vec<u8>) -> Result<(), CommandError> {
    state.store.remove(series).ok_or_else(|| CommandError::series_not_found(series))?;
    out.extend_from_slice(OK);
    Ok(())
}

pub(super) fn reset(state: &mut State, series: &str, out: &mut Vec<u8>) {
    state.store.get_or_create(series).reset_all();
    out.extend_from_slice(OK);
}

pub(super) fn delete_range(
    state: &mut State,
    series: &str,
    range: &RawRange,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let (from, to) = range.buckets()?;
    state.store.get_or_create(series).delete_range_all(from, to);
    out.extend_from_slice(b"true");
    Ok(())
}

pub(super) fn delete_before(
    state: &mut State,
    metrics: &Metrics,
    series: &str,
    before: u64,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    state.store.get_mut(series).ok_or_else(|| CommandError::series_not_found(series))?.delete_before(before);
    metrics.retention_count.inc();
    out.extend_from_slice(OK);
    Ok(())
}

pub(super) fn compact_series(
    state: &mut State,
    metrics: &Metrics,
    series: &str,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    state.store.get_mut(series).ok_or_else(|| CommandError::series_not_found(series))?.compact();
    metrics.compact_count.inc();
    out.extend_from_slice(OK);
    Ok(())
}

/// `system.compact`; `only` limits it to the series a replayed entry still
/// applies to (those whose snapshot does not already include it).
pub(super) fn compact_all(state: &mut State, metrics: &Metrics, only: &dyn Fn(&str) -> bool, out: &mut Vec<u8>) {
    let names: Vec<String> = state.store.names().filter(|n| only(n)).map(str::to_owned).collect();
    for name in names {
        if let Some(series) = state.store.get_mut(&name) {
            series.compact();
        }
    }
    metrics.compact_count.inc();
    out.extend_from_slice(OK);
}
