//! Process metrics: lock-free counters and latency histograms, rendered as
//! the `system.stats` object and the Prometheus text of `system.metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// A fixed-bucket histogram of non-negative observations (milliseconds,
/// batch sizes, ...), safe to observe from many threads without a lock.
///
/// Invariant: `bounds` is strictly increasing; `counts` has one slot per
/// bound plus a final overflow slot (`+Inf`).
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    count: AtomicU64,
    /// Sum of observations in millionths, so it fits an atomic integer.
    sum_micros: AtomicU64,
}

/// A consistent-enough copy of a [`Histogram`] for rendering.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
    pub bounds: Vec<f64>,
    /// Non-cumulative counts, one per bound plus the `+Inf` slot.
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum: f64,
}

/// Bounds for latencies in milliseconds (50 us .. 10 s).
pub const LATENCY_MS_BOUNDS: &[f64] =
    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0];

/// Bounds for sizes such as records per WAL batch.
pub const SIZE_BOUNDS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        let value = if value.is_finite() && value > 0.0 { value } else { 0.0 };
        let slot = self.bounds.partition_point(|&bound| bound < value);
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add((value * 1_000_000.0) as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            bounds: self.bounds.to_vec(),
            counts: self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect(),
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1_000_000.0,
        }
    }
}

#[cfg(test)]
mod tests;

/// A monotonically growing count.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that is set, not accumulated (last seen, current size, ...).
#[derive(Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    pub fn set(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sub(&self, n: u64) {
        self.0.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Latency of a family of executions: the last one and the running mean.
#[derive(Default)]
pub struct Latency {
    count: Counter,
    total_micros: Counter,
    last_micros: Gauge,
}

impl Latency {
    pub fn record(&self, micros: u64) {
        self.count.inc();
        self.total_micros.add(micros);
        self.last_micros.set(micros);
    }

    pub fn last_ms(&self) -> f64 {
        self.last_micros.get() as f64 / 1000.0
    }

    pub fn average_ms(&self) -> f64 {
        match self.count.get() {
            0 => 0.0,
            n => self.total_micros.get() as f64 / n as f64 / 1000.0,
        }
    }
}

/// Per-op figures: executions, failures and a latency histogram.
pub struct OpMetrics {
    pub count: Counter,
    pub errors: Counter,
    pub latency_ms: Histogram,
}

impl Default for OpMetrics {
    fn default() -> OpMetrics {
        OpMetrics {
            count: Counter::default(),
            errors: Counter::default(),
            latency_ms: Histogram::new(LATENCY_MS_BOUNDS),
        }
    }
}

/// Every process-lifetime figure behind `system.stats` and
/// `system.metrics`, updated without taking the state lock.
#[derive(Default)]
pub struct Metrics {
    pub command_count: Counter,
    pub error_count: Counter,
    pub query_timeout_count: Counter,
    pub batch_read_count: Counter,
    pub batch_read_key_count: Counter,
    pub batch_write_count: Counter,
    pub batch_write_item_count: Counter,
    pub retention_count: Counter,
    pub compact_count: Counter,
    pub latency: Latency,
    pub per_op: PerOp,
    /// Lines rejected before an op was known (framing, JSON, preamble).
    pub preamble_errors: Counter,
    pub connections_active: Gauge,
    pub connections_accepted: Counter,
    pub connections_rejected: Counter,
    pub reconciliation_run_count: Counter,
    pub reconciliation_checked_points: Counter,
    pub reconciliation_mismatch_count: Counter,
    pub reconciliation_absolute_drift: Counter,
    pub reconciliation_last_run_unix: Gauge,
    pub reconciliation_last_checked_points: Gauge,
    pub reconciliation_last_mismatch_count: Gauge,
    pub reconciliation_last_absolute_drift: Gauge,
    pub reconciliation_last_max_abs_delta: Gauge,
    pub ingest_chunks_applied: Counter,
    pub ingest_chunks_skipped: Counter,
    pub ingest_chunks_rejected: Counter,
    pub ingest_items_applied: Counter,
    pub ingest_latency: Latency,
    pub idempotency_hits: Counter,
    pub idempotency_conflicts: Counter,
    pub idempotency_pruned: Counter,
    pub idempotency_write_count: Counter,
    pub idempotency_write_latency: Latency,
    pub snapshot_count: Counter,
    pub snapshot_failures: Counter,
    pub snapshot_ms: SnapshotHistogram,
    pub failed_entries: FailedEntries,
}

/// Logged WAL entries that replay or replication could not apply and
/// skipped. A command Karma 1.0 logged and then failed (defect D2) fails
/// here too and rightly changes nothing; but an entry Karma 1.0 applied
/// that fails here means this node lacks data its source has, so every
/// skip is counted and kept visible with its LSN and reason (and, by the
/// engine, in the data directory, so a restart keeps them).
#[derive(Default)]
pub struct FailedEntries {
    pub count: Counter,
    pub last_lsn: Gauge,
    pub last_error: parking_lot::Mutex<Option<String>>,
}

impl FailedEntries {
    /// Records one skipped entry.
    pub fn record(&self, lsn: u64, reason: &str) {
        self.count.inc();
        self.last_lsn.set(lsn);
        *self.last_error.lock() = Some(reason.to_string());
    }
}

/// Duration of whole-directory snapshots in milliseconds.
pub struct SnapshotHistogram(pub Histogram);

impl Default for SnapshotHistogram {
    fn default() -> SnapshotHistogram {
        SnapshotHistogram(Histogram::new(LATENCY_MS_BOUNDS))
    }
}

/// One [`OpMetrics`] per op of the catalogue.
pub type PerOp = crate::protocol::op::OpMap<OpMetrics>;

/// Resident memory of this process in bytes (from /proc), or 0 where that
/// is not available.
pub fn resident_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|pages| pages.parse::<u64>().ok()))
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}
