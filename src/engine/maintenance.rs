//! Series-level maintenance (docs/protocol.md, series.delete_before / series.compact and
//! system.compact / Managing series): create, drop, reset, range deletes, retention and compaction.
//! Each function is the handler that a logged op's row in the op table names, applied by `apply`.

use super::state::Apply;
use crate::protocol::{write, CommandError};

const OK: &[u8] = b"\"OK\"";

pub(super) fn create(
    apply: &mut Apply<'_, '_>,
    args: &write::TreeCreate<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    apply.state.store.get_or_create(&args.series);
    out.extend_from_slice(OK);
    Ok(())
}

pub(super) fn drop(
    apply: &mut Apply<'_, '_>,
    args: &write::TreeDrop<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    apply.state.store.remove(&args.series).ok_or_else(|| CommandError::series_not_found(&args.series))?;
    out.extend_from_slice(OK);
    Ok(())
}

pub(super) fn reset(
    apply: &mut Apply<'_, '_>,
    args: &write::TreeReset<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    apply.state.store.get_or_create(&args.series).reset_all();
    out.extend_from_slice(OK);
    Ok(())
}

pub(super) fn delete_range(
    apply: &mut Apply<'_, '_>,
    args: &write::TreeDeleteRange<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let (from, to) = args.range.buckets()?;
    apply.state.store.get_or_create(&args.series).delete_range_all(from, to);
    out.extend_from_slice(b"true");
    Ok(())
}

pub(super) fn delete_before(
    apply: &mut Apply<'_, '_>,
    args: &write::DeleteBefore<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let series = apply.state.store.get_mut(&args.series);
    series.ok_or_else(|| CommandError::series_not_found(&args.series))?.delete_before(args.before);
    apply.metrics.retention_count.inc();
    out.extend_from_slice(OK);
    Ok(())
}

pub(super) fn compact_series(
    apply: &mut Apply<'_, '_>,
    args: &write::SeriesCompact<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    apply.state.store.get_mut(&args.series).ok_or_else(|| CommandError::series_not_found(&args.series))?.compact();
    apply.metrics.compact_count.inc();
    out.extend_from_slice(OK);
    Ok(())
}

/// `system.compact`, over the series `apply.applies_to` (on replay, those
/// whose snapshot does not already include the entry).
pub(super) fn compact_all(
    apply: &mut Apply<'_, '_>,
    _args: &write::SystemCompact<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let state = &mut *apply.state;
    let names: Vec<String> = state.store.names().filter(|n| (apply.applies_to)(n)).map(str::to_owned).collect();
    for name in names {
        if let Some(series) = state.store.get_mut(&name) {
            series.compact();
        }
    }
    apply.metrics.compact_count.inc();
    out.extend_from_slice(OK);
    Ok(())
}
