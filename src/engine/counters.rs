//! Counter ops (docs/protocol.md, Counter ops) and the series batch writes
//! (docs/protocol.md, series.batch_add / series.batch_set). Every write
//! checks completely before it changes anything, so a failed command leaves
//! the store exactly as it was.
//!
//! Every function here is the handler that an op's row in the op table
//! names: the reads run under the state lock (`Engine::read`), the writes
//! are applied to the state by `apply` (live, on replay and on a slave).

use super::state::{Apply, State};
use super::Engine;
use crate::metrics::Metrics;
use crate::protocol::fields::RawRange;
use crate::protocol::{read, write, CommandError};
use crate::store::{Bucket, Counter, Series};
use crate::util::json_writer::{write_key, write_str, write_u64};

pub(super) fn increment(
    apply: &mut Apply<'_, '_>,
    args: &write::Increment<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let (key, bucket, value) = (args.key, args.bucket, args.value.unwrap_or(1));
    // A missing key or series cannot overflow, so creating them first never
    // leaves a trace of a failed increment.
    apply
        .state
        .store
        .get_or_create(&args.series)
        .counter_mut(key)
        .add(bucket, value)
        .map_err(|_| counter_overflow(key, bucket))?;
    write_u64(out, value);
    Ok(())
}

/// Defect D4 fixed: every increment overflow is this validation error.
fn counter_overflow(key: u64, bucket: Bucket) -> CommandError {
    CommandError::validation(format!("Counter overflow key={key} bucket={bucket}"))
}

pub(super) fn decrement(
    apply: &mut Apply<'_, '_>,
    args: &write::Decrement<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let value = args.value.unwrap_or(1);
    apply.state.store.get_or_create(&args.series).counter_mut(args.key).sub_floor(args.bucket, value);
    write_u64(out, value);
    Ok(())
}

fn existing<'s>(state: &'s State, series: &str) -> Result<&'s Series, CommandError> {
    state.store.get(series).ok_or_else(|| CommandError::series_not_found(series))
}

fn existing_mut<'s>(state: &'s mut State, series: &str) -> Result<&'s mut Series, CommandError> {
    state.store.get_mut(series).ok_or_else(|| CommandError::series_not_found(series))
}

/// The value of one key: its total, or its in-range sum.
fn key_value(series: &Series, key: u64, range: Option<(Bucket, Bucket)>) -> u64 {
    match (series.get(key), range) {
        (None, _) => 0,
        (Some(counter), None) => counter.total(),
        (Some(counter), Some((from, to))) => counter.range_sum(from, to),
    }
}

fn checked_range(range: &Option<RawRange>) -> Result<Option<(Bucket, Bucket)>, CommandError> {
    range.as_ref().map(RawRange::buckets).transpose()
}

/// `counter.sum`.
pub(super) fn sum(engine: &Engine, args: &read::Sum<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
    engine.read(out, |state, out| {
        let range = checked_range(&args.range)?;
        write_u64(out, key_value(existing(state, &args.series)?, args.key, range));
        Ok(())
    })
}

/// `counter.batch_sum`.
pub(super) fn batch_sum(engine: &Engine, args: &read::BatchSum<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
    engine.read(out, |state, out| {
        let range = checked_range(&args.range)?;
        let series = existing(state, &args.series)?;
        out.push(b'[');
        for (i, &key) in args.keys.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"key\":");
            write_u64(out, key);
            out.extend_from_slice(b",\"value\":");
            write_u64(out, key_value(series, key, range));
            out.push(b'}');
        }
        out.push(b']');
        engine.metrics.batch_read_count.inc();
        engine.metrics.batch_read_key_count.add(args.keys.len() as u64);
        Ok(())
    })
}

/// `counter.multi_sum`.
pub(super) fn multi_sum(engine: &Engine, args: &read::MultiSum<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
    engine.read(out, |state, out| {
        let range = checked_range(&args.range)?;
        if let Some((missing, _)) = args.items.iter().find(|(series, _)| !state.store.contains(series)) {
            return Err(CommandError::series_not_found(missing));
        }
        out.push(b'[');
        for (i, (series, key)) in args.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"series\":");
            write_str(out, series);
            out.extend_from_slice(b",\"key\":");
            write_u64(out, *key);
            out.extend_from_slice(b",\"value\":");
            write_u64(out, existing(state, series).map(|s| key_value(s, *key, range)).unwrap_or(0));
            out.push(b'}');
        }
        out.push(b']');
        Ok(())
    })
}

/// Writes `{"<bucket>":value,...}` for the in-range points of one counter.
pub(super) fn write_points(out: &mut Vec<u8>, points: impl Iterator<Item = (Bucket, u64)>) {
    out.push(b'{');
    for (i, (bucket, value)) in points.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        write_u64(out, u64::from(bucket.yyyymmdd()));
        out.extend_from_slice(b"\":");
        write_u64(out, value);
    }
    out.push(b'}');
}

/// `counter.series`.
pub(super) fn counter_series(
    engine: &Engine,
    args: &read::CounterSeries<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    engine.read(out, |state, out| {
        let (from, to) = args.range.buckets()?;
        match existing(state, &args.series)?.get(args.key) {
            Some(counter) => write_points(out, counter.range_points(from, to)),
            None => out.extend_from_slice(b"{}"),
        }
        Ok(())
    })
}

pub(super) fn delete_range(
    apply: &mut Apply<'_, '_>,
    args: &write::CounterDeleteRange<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let (from, to) = args.range.buckets()?;
    let series = apply.state.store.get_or_create(&args.series);
    if let Some(mut counter) = series.get_mut(args.key) {
        counter.delete_range(from, to);
    }
    out.extend_from_slice(b"true");
    Ok(())
}

pub(super) fn batch_delete_range(
    apply: &mut Apply<'_, '_>,
    args: &write::BatchDeleteRange<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let (from, to) = args.range.buckets()?;
    let delete = |counter: &mut Counter| counter.delete_range(from, to) > 0;
    over_keys(apply.state, apply.metrics, &args.series, &args.keys, "deleted", delete, out)
}

pub(super) fn reset(
    apply: &mut Apply<'_, '_>,
    args: &write::CounterReset<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    if let Some(mut counter) = apply.state.store.get_or_create(&args.series).get_mut(args.key) {
        counter.clear();
    }
    out.extend_from_slice(b"\"OK\"");
    Ok(())
}

pub(super) fn batch_reset(
    apply: &mut Apply<'_, '_>,
    args: &write::BatchReset<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let clear = |counter: &mut Counter| {
        counter.clear();
        true
    };
    over_keys(apply.state, apply.metrics, &args.series, &args.keys, "reset", clear, out)
}

/// The walk shared by `counter.batch_delete_range` and `counter.batch_reset`
/// (docs/protocol.md, counter.batch_delete_range / counter.batch_reset): keys in request order,
/// duplicates one by one; a key that holds buckets counts as `changed` when `change` says so, a
/// missing or empty key counts as `missing`.
fn over_keys(
    state: &mut State,
    metrics: &Metrics,
    series: &str,
    keys: &[u64],
    changed: &str,
    mut change: impl FnMut(&mut Counter) -> bool,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let series = existing_mut(state, series)?;
    let (mut changed_count, mut missing) = (0u64, 0u64);
    for &key in keys {
        match series.get_mut(key) {
            Some(mut counter) if !counter.is_empty() => {
                if change(&mut counter) {
                    changed_count += 1;
                }
            }
            _ => missing += 1,
        }
    }
    write_tally(out, changed, changed_count, "missing", missing);
    metrics.batch_write_count.inc();
    metrics.batch_write_item_count.add(keys.len() as u64);
    Ok(())
}

fn write_tally(out: &mut Vec<u8>, first: &str, a: u64, second: &str, b: u64) {
    out.push(b'{');
    write_key(out, first);
    write_u64(out, a);
    out.push(b',');
    write_key(out, second);
    write_u64(out, b);
    out.push(b'}');
}

/// `series.batch_add`: creates the series even for an empty batch.
pub(super) fn batch_add(
    apply: &mut Apply<'_, '_>,
    args: &write::BatchAdd<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let (state, metrics, series, items) = (&mut *apply.state, apply.metrics, &*args.series, &args.items);
    let outcome = match state.store.get_mut(series) {
        Some(existing) => existing.batch_add(items)?,
        None => {
            let mut fresh = Series::new();
            let outcome = fresh.batch_add(items)?;
            state.store.insert(series, fresh);
            outcome
        }
    };
    out.extend_from_slice(b"{\"applied\":");
    write_u64(out, outcome.applied as u64);
    out.extend_from_slice(b",\"total\":");
    write_u64(out, outcome.total);
    out.push(b'}');
    metrics.batch_write_count.inc();
    metrics.batch_write_item_count.add(items.len() as u64);
    Ok(())
}

/// `series.batch_set`: an empty batch touches nothing and is not counted.
pub(super) fn batch_set(
    apply: &mut Apply<'_, '_>,
    args: &write::BatchSet<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let (state, metrics, series, items) = (&mut *apply.state, apply.metrics, &*args.series, &args.items);
    if !items.is_empty() {
        match state.store.get_mut(series) {
            Some(existing) => {
                existing.batch_set(items)?;
            }
            None => {
                let mut fresh = Series::new();
                fresh.batch_set(items)?;
                state.store.insert(series, fresh);
            }
        }
        metrics.batch_write_count.inc();
        metrics.batch_write_item_count.add(items.len() as u64);
    }
    out.extend_from_slice(b"{\"applied\":");
    write_u64(out, items.len() as u64);
    out.push(b'}');
    Ok(())
}
