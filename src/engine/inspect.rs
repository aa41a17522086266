//! Whole-series reads (docs/protocol.md, Managing series: `tree.list`;
//! Inspecting a series), bounded by the query deadline (docs/protocol.md,
//! Limits): checked on the first key and every 256 after.
//!
//! Each op's handler (`tree_*`, named by its row in the op table) takes
//! the state lock and starts the deadline, then runs the read of the
//! state below it.

use super::state::State;
use super::Engine;
use crate::metrics::Metrics;
use crate::protocol::fields::RawRange;
use crate::protocol::{read, CommandError, ErrorCode};
use crate::store::{Bucket, Series};
use crate::util::json_writer::{write_str, write_u64};
use std::time::{Duration, Instant};

/// The `--query-timeout-ms` deadline of one whole-series read.
pub struct Deadline {
    at: Option<Instant>,
    timeout_ms: u64,
}

impl Deadline {
    pub fn start(timeout_ms: u64) -> Deadline {
        let at = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
        Deadline { at, timeout_ms }
    }

    /// Checks the clock when `visited` is 0 or a multiple of 256.
    pub fn check(&self, visited: usize, metrics: &Metrics) -> Result<(), CommandError> {
        if !visited.is_multiple_of(256) {
            return Ok(());
        }
        self.check_now(metrics)
    }

    pub fn check_now(&self, metrics: &Metrics) -> Result<(), CommandError> {
        match self.at {
            Some(at) if Instant::now() >= at => {
                metrics.query_timeout_count.inc();
                Err(CommandError::new(ErrorCode::QueryTimeout, format!("Query exceeded {} ms", self.timeout_ms)))
            }
            _ => Ok(()),
        }
    }
}

fn existing<'s>(state: &'s State, series: &str) -> Result<&'s Series, CommandError> {
    state.store.get(series).ok_or_else(|| CommandError::series_not_found(series))
}

pub(super) fn list(state: &State, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, name) in state.store.names().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, name);
    }
    out.push(b']');
}

pub(super) fn info(
    state: &State,
    metrics: &Metrics,
    deadline: &Deadline,
    name: &str,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let series = existing(state, name)?;
    let (mut buckets, mut total) = (0usize, 0u128);
    for (visited, (_, counter)) in series.iter().enumerate() {
        deadline.check(visited, metrics)?;
        buckets += counter.bucket_count();
        total += u128::from(counter.total());
    }
    let total = fits_u64(total)?;
    out.extend_from_slice(b"{\"tree\":");
    write_str(out, name);
    out.extend_from_slice(b",\"key_count\":");
    write_u64(out, series.key_count() as u64);
    out.extend_from_slice(b",\"bucket_count\":");
    write_u64(out, buckets as u64);
    out.extend_from_slice(b",\"total\":");
    write_u64(out, total);
    out.extend_from_slice(b",\"branches\":9}");
    Ok(())
}

/// Grand totals above u64 keep the reference's answer (defect D14).
fn fits_u64(total: u128) -> Result<u64, CommandError> {
    u64::try_from(total).map_err(|_| CommandError::internal("Arithmetic overflow"))
}

pub(super) fn keys(
    state: &State,
    metrics: &Metrics,
    deadline: &Deadline,
    name: &str,
    limit: usize,
    cursor: Option<u64>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let series = existing(state, name)?;
    deadline.check_now(metrics)?;
    let (page, more) = series.keys_after(cursor, limit);
    deadline.check_now(metrics)?;
    out.extend_from_slice(b"{\"tree\":");
    write_str(out, name);
    out.extend_from_slice(b",\"limit\":");
    write_u64(out, limit as u64);
    out.extend_from_slice(b",\"cursor\":");
    write_opt_u64(out, cursor);
    out.extend_from_slice(b",\"next_cursor\":");
    write_opt_u64(out, if more { page.last().copied() } else { None });
    out.extend_from_slice(b",\"keys\":[");
    for (i, key) in page.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":");
        write_u64(out, *key);
        out.extend_from_slice(b",\"total\":");
        write_u64(out, series.get(*key).map_or(0, |c| c.total()));
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

fn write_opt_u64(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        Some(v) => write_u64(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

pub(super) fn summary(
    state: &State,
    metrics: &Metrics,
    deadline: &Deadline,
    name: &str,
    range: &Option<RawRange>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let range = range.as_ref().map(|r| r.buckets().map(|b| (r, b))).transpose()?;
    let series = existing(state, name)?;
    let (mut total, mut active, mut buckets) = (0u128, 0u64, 0u64);
    for (visited, (_, counter)) in series.iter().enumerate() {
        deadline.check(visited, metrics)?;
        match range {
            None => {
                total += u128::from(counter.total());
                active += 1;
                buckets += counter.bucket_count() as u64;
            }
            Some((_, (from, to))) => {
                let sum = counter.range_sum(from, to);
                if sum > 0 {
                    total += u128::from(sum);
                    active += 1;
                    buckets += counter.range_bucket_count(from, to) as u64;
                }
            }
        }
    }
    let total = fits_u64(total)?;
    out.extend_from_slice(b"{\"tree\":");
    write_str(out, name);
    if let Some((raw, _)) = range {
        out.extend_from_slice(b",\"range_from\":");
        write_u64(out, raw.from);
        out.extend_from_slice(b",\"range_to\":");
        write_u64(out, raw.to);
    }
    out.extend_from_slice(b",\"total\":");
    write_u64(out, total);
    out.extend_from_slice(b",\"active_keys\":");
    write_u64(out, active);
    out.extend_from_slice(b",\"bucket_count\":");
    write_u64(out, buckets);
    out.push(b'}');
    Ok(())
}

pub(super) fn top(
    state: &State,
    metrics: &Metrics,
    deadline: &Deadline,
    name: &str,
    limit: usize,
    range: &Option<RawRange>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let range = range.as_ref().map(RawRange::buckets).transpose()?;
    let series = existing(state, name)?;
    let ranked = series.top_by(limit, |visited, counter| {
        deadline.check(visited, metrics)?;
        Ok::<u64, CommandError>(match range {
            None => counter.total(),
            Some((from, to)) => counter.range_sum(from, to),
        })
    })?;
    deadline.check_now(metrics)?;
    out.extend_from_slice(b"{\"tree\":");
    write_str(out, name);
    out.extend_from_slice(b",\"limit\":");
    write_u64(out, limit as u64);
    out.extend_from_slice(b",\"items\":[");
    for (i, (key, value)) in ranked.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":");
        write_u64(out, *key);
        out.extend_from_slice(b",\"value\":");
        write_u64(out, *value);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

pub(super) fn series_points(
    state: &State,
    metrics: &Metrics,
    deadline: &Deadline,
    name: &str,
    range: &RawRange,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let (from, to): (Bucket, Bucket) = range.buckets()?;
    let series = existing(state, name)?;
    let keys = series.sorted_keys();
    out.push(b'{');
    for (visited, key) in keys.iter().enumerate() {
        deadline.check(visited, metrics)?;
        if visited > 0 {
            out.push(b',');
        }
        out.push(b'"');
        write_u64(out, *key);
        out.extend_from_slice(b"\":");
        match series.get(*key) {
            Some(counter) => super::counters::write_points(out, counter.range_points(from, to)),
            None => out.extend_from_slice(b"{}"),
        }
    }
    out.push(b'}');
    Ok(())
}

/// The deadline of a whole-series read that starts now.
fn deadline(engine: &Engine) -> Deadline {
    Deadline::start(engine.config.query_timeout_ms)
}

/// `tree.list`.
pub(super) fn tree_list(engine: &Engine, _: &read::TreeList<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
    engine.read(out, |state, out| {
        list(state, out);
        Ok(())
    })
}

/// `tree.info`.
pub(super) fn tree_info(engine: &Engine, args: &read::TreeInfo<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
    engine.read(out, |state, out| info(state, &engine.metrics, &deadline(engine), &args.series, out))
}

/// `tree.keys`.
pub(super) fn tree_keys(engine: &Engine, args: &read::TreeKeys<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
    engine.read(out, |state, out| {
        let limit = args.limit.get()?;
        keys(state, &engine.metrics, &deadline(engine), &args.series, limit, args.cursor, out)
    })
}

/// `tree.summary`.
pub(super) fn tree_summary(
    engine: &Engine,
    args: &read::TreeSummary<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    engine.read(out, |state, out| summary(state, &engine.metrics, &deadline(engine), &args.series, &args.range, out))
}

/// `tree.top`.
pub(super) fn tree_top(engine: &Engine, args: &read::TreeTop<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
    engine.read(out, |state, out| {
        let limit = args.limit.get()?;
        top(state, &engine.metrics, &deadline(engine), &args.series, limit, &args.range, out)
    })
}

/// `tree.series`.
pub(super) fn tree_series(engine: &Engine, args: &read::TreeSeries<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
    engine.read(out, |state, out| {
        series_points(state, &engine.metrics, &deadline(engine), &args.series, &args.range, out)
    })
}

#[cfg(test)]
mod tests;
