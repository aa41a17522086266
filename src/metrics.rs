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
pub const LATENCY_MS_BOUNDS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
    10000.0,
];

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
        self.sum_micros
            .fetch_add((value * 1_000_000.0) as u64, Ordering::Relaxed);
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
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bound_not_below_them() {
        let histogram = Histogram::new(&[1.0, 10.0]);
        for value in [0.5, 1.0, 1.5, 10.0, 11.0] {
            histogram.observe(value);
        }
        let snap = histogram.snapshot();
        assert_eq!(snap.counts, vec![2, 2, 1]);
        assert_eq!(snap.count, 5);
        assert!((snap.sum - 24.0).abs() < 1e-9);
    }
}
