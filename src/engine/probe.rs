//! What the optional HTTP listener shows: the Prometheus exposition of
//! `GET /metrics` and the verdict of `GET /health`.
//!
//! The exposition renders the same [`Figures`] as `system.stats` and the
//! TCP `system.metrics` op (which keeps Karma 1.0's text), so nothing can be
//! in one and missing from the other; only the presentation differs, as
//! Prometheus asks: a `# HELP` and `# TYPE` line for every family, base
//! units (a `_ms` figure becomes `_seconds`, a `_unix` one
//! `_timestamp_seconds`) and histograms in seconds. Reading the figures
//! takes the state lock once, for the same few counts the stats op reads.

use super::system::{write_histogram, Figure, Figures};
use super::Engine;
use crate::metrics::HistogramSnapshot;
use crate::protocol::op::ALL_OPS;
use crate::util::json_writer::{write_str, write_u64};

/// The health verdict for a load balancer.
pub struct Health {
    /// True when the node serves (HTTP 200); false when degraded or still
    /// bootstrapping (HTTP 503).
    pub serving: bool,
    /// The small JSON object of the response body.
    pub body: Vec<u8>,
}

impl Engine {
    /// `status` is `ok`, `degraded` (the WAL failed: writes are refused) or
    /// `bootstrapping` (a slave copying the master's snapshots again, or
    /// whose last attempt failed: its data is not the master's yet).
    pub fn health_probe(&self) -> Health {
        self.retry_wal_for_health();
        let failure = self.wal_failure();
        let r = &self.replication;
        let bootstrap_running = r.bootstrap_attempts.get() > r.bootstrap_successes.get() + r.bootstrap_errors.get();
        let bootstrap_failed = r.last_bootstrap_error.lock().is_some();
        let status = if failure.is_some() {
            "degraded"
        } else if bootstrap_running || bootstrap_failed {
            "bootstrapping"
        } else {
            "ok"
        };
        let mut body = Vec::with_capacity(160);
        body.extend_from_slice(b"{\"status\":");
        write_str(&mut body, status);
        body.extend_from_slice(b",\"role\":");
        write_str(&mut body, self.config.role.as_str());
        body.extend_from_slice(b",\"wal\":");
        write_str(
            &mut body,
            if !self.config.wal {
                "off"
            } else if failure.is_some() {
                "failed"
            } else {
                "ok"
            },
        );
        if let Some(failure) = &failure {
            body.extend_from_slice(b",\"wal_error\":");
            write_str(&mut body, failure);
        }
        body.extend_from_slice(b",\"replication_lag_entries\":");
        write_u64(&mut body, self.replication_lag());
        body.push(b'}');
        Health { serving: status == "ok", body }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn exposition(&self) -> String {
        let mut text = String::with_capacity(16 * 1024);
        let Figures(figures) = self.figures();
        for (stat, metric, value) in &figures {
            match (*stat, metric, value) {
                ("role", _, _) => {
                    family(&mut text, "karma_role", "gauge", help(stat));
                    text.push_str(&format!("karma_role{{role=\"{}\"}} 1\n", self.config.role.as_str()));
                }
                ("wal_enabled", _, Figure::Bool(on)) => {
                    family(&mut text, "karma_wal_enabled", "gauge", help(stat));
                    text.push_str(&format!("karma_wal_enabled {}\n", u8::from(*on)));
                }
                (_, Some((name, kind)), Figure::Int(n)) => {
                    let (name, scale) = base_unit(name);
                    family(&mut text, &name, kind, help(stat));
                    match scale {
                        Some(scale) => text.push_str(&format!("{name} {:?}\n", *n as f64 * scale)),
                        None => text.push_str(&format!("{name} {n}\n")),
                    }
                }
                (_, Some((name, kind)), Figure::Bool(on)) => {
                    family(&mut text, name, kind, help(stat));
                    text.push_str(&format!("{name} {}\n", u8::from(*on)));
                }
                (_, Some((name, kind)), Figure::Float(x)) => {
                    let (name, scale) = base_unit(name);
                    family(&mut text, &name, kind, help(stat));
                    text.push_str(&format!("{name} {:?}\n", x * scale.unwrap_or(1.0)));
                }
                // Error texts have no metric; the `_failed` gauges and
                // error counters stand for them.
                _ => {}
            }
        }
        self.per_op_exposition(&mut text);
        if let Some(wal) = self.wal.as_ref().map(|wal| wal.stats()) {
            family(&mut text, "karma_wal_batch_records", "histogram", "Records written per WAL batch.");
            write_histogram(&mut text, "karma_wal_batch_records", "", &wal.batch_sizes);
            family(&mut text, "karma_wal_fsync_seconds", "histogram", "Duration of WAL fsyncs.");
            write_histogram(&mut text, "karma_wal_fsync_seconds", "", &in_seconds(&wal.fsync_ms));
        }
        let snapshots = in_seconds(&self.metrics.snapshot_ms.0.snapshot());
        family(&mut text, "karma_snapshot_duration_seconds", "histogram", "Duration of whole-directory snapshots.");
        write_histogram(&mut text, "karma_snapshot_duration_seconds", "", &snapshots);
        text
    }

    /// Per-op executions, failures and latency, for the ops used so far.
    fn per_op_exposition(&self, text: &mut String) {
        let per_op = &self.metrics.per_op;
        let used: Vec<_> = ALL_OPS.iter().filter(|op| per_op.get(**op).count.get() > 0).collect();
        family(text, "karma_op_commands_total", "counter", "Requests executed, by op.");
        for op in &used {
            text.push_str(&format!(
                "karma_op_commands_total{{op=\"{}\"}} {}\n",
                op.name(),
                per_op.get(**op).count.get()
            ));
        }
        family(text, "karma_op_errors_total", "counter", "Requests that failed, by op.");
        for op in &used {
            text.push_str(&format!(
                "karma_op_errors_total{{op=\"{}\"}} {}\n",
                op.name(),
                per_op.get(**op).errors.get()
            ));
        }
        family(text, "karma_op_latency_seconds", "histogram", "Time from parsed request to reply, by op.");
        for op in &used {
            let labels = format!("op=\"{}\"", op.name());
            let latency = in_seconds(&per_op.get(**op).latency_ms.snapshot());
            write_histogram(text, "karma_op_latency_seconds", &labels, &latency);
        }
    }
}

fn family(text: &mut String, name: &str, kind: &str, help: &str) {
    text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
}

/// The metric's name in base units, and the factor its value needs:
/// milliseconds become seconds, Unix times `_timestamp_seconds`.
fn base_unit(name: &str) -> (String, Option<f64>) {
    if let Some(stem) = name.strip_suffix("_unix") {
        return (format!("{stem}_timestamp_seconds"), None);
    }
    match name.split_once("_ms") {
        Some((stem, rest)) if rest.is_empty() || rest.starts_with('_') => {
            (format!("{stem}_seconds{rest}"), Some(0.001))
        }
        _ => (name.to_string(), None),
    }
}

/// A millisecond histogram in seconds. Going through whole microseconds
/// keeps the bounds short (`5e-5`, not `5.000000000000001e-5`).
fn in_seconds(h: &HistogramSnapshot) -> HistogramSnapshot {
    let seconds = |ms: f64| (ms * 1000.0).round() / 1_000_000.0;
    HistogramSnapshot {
        bounds: h.bounds.iter().map(|&b| seconds(b)).collect(),
        counts: h.counts.clone(),
        count: h.count,
        sum: seconds(h.sum),
    }
}

/// The `# HELP` text of each figure, by its `system.stats` name.
fn help(stat: &str) -> &'static str {
    match stat {
        "uptime_seconds" => "Time since the process started.",
        "trees" => "Series held in memory.",
        "keys" => "Keys held in memory, over all series.",
        "dump_count" => "Snapshot (.tree) files in the data directory.",
        "role" => "The node's role (label role: master or slave); always 1.",
        "wal_enabled" => "1 when the write-ahead log is on (--wal).",
        "wal_bytes" => "Bytes in all WAL files.",
        "wal_current_lsn" => "LSN of the last logged write.",
        "replication_replayed_lsn" => "Last master LSN this slave applied (0 on a master).",
        "replication_lag_entries" => "Entries this slave is behind the master's newest LSN (0 on a master).",
        "replication_entries_applied" => "WAL entries applied from the master.",
        "replication_last_received_unix" => "When the last entries arrived from the master.",
        "replication_poll_attempt_count" => "Polls of the master attempted.",
        "replication_poll_success_count" => "Polls of the master that succeeded.",
        "replication_poll_error_count" => "Polls of the master that failed.",
        "replication_last_poll_attempt_unix" => "When the master was last polled.",
        "replication_last_poll_success_unix" => "When a poll of the master last succeeded.",
        "replication_last_poll_error_unix" => "When a poll of the master last failed.",
        "replication_bootstrap_attempt_count" => "Snapshot bootstraps from the master attempted.",
        "replication_bootstrap_success_count" => "Snapshot bootstraps from the master that succeeded.",
        "replication_bootstrap_error_count" => "Snapshot bootstraps from the master that failed.",
        "replication_last_bootstrap_attempt_unix" => "When a bootstrap was last attempted (Karma 1.0 figure).",
        "replication_last_bootstrap_success_unix" => "When a bootstrap last succeeded (Karma 1.0 figure).",
        "replication_last_bootstrap_error_unix" => "When a bootstrap last failed.",
        "memory_bytes" => "Resident memory of the process.",
        "command_count" => "Request lines that reached the parser.",
        "error_count" => "Requests answered with an error.",
        "query_timeout_count" => "Whole-series reads stopped by --query-timeout-ms.",
        "batch_read_count" => "Batch reads executed.",
        "batch_read_key_count" => "Keys read by batch reads.",
        "batch_write_count" => "Batch writes executed.",
        "batch_write_item_count" => "Items written by batch writes.",
        "retention_count" => "Retention (delete-before) operations executed.",
        "compact_count" => "Compactions executed.",
        "reconciliation_run_count" => "Reconciliation runs reported.",
        "reconciliation_checked_points" => "Points checked by reported reconciliation runs.",
        "reconciliation_mismatch_count" => "Mismatching points found by reported reconciliation runs.",
        "reconciliation_absolute_drift" => "Absolute drift found by reported reconciliation runs.",
        "reconciliation_last_run_unix" => "When the last reconciliation run was reported.",
        "reconciliation_last_checked_points" => "Points checked by the last reported reconciliation run.",
        "reconciliation_last_mismatch_count" => "Mismatching points of the last reported reconciliation run.",
        "reconciliation_last_absolute_drift" => "Absolute drift of the last reported reconciliation run.",
        "reconciliation_last_max_abs_delta" => "Largest absolute difference of the last reconciliation run.",
        "recovery_checkpoint_count" => "Recovery checkpoints stored.",
        "recovery_last_checkpoint_unix" => "When a recovery checkpoint was last stored.",
        "latency_ms_avg" => "Mean request latency since start.",
        "latency_ms_last" => "Latency of the last request.",
        "ingest_active_streams" => "Streaming ingest streams open.",
        "ingest_chunks_applied" => "Ingest chunks applied.",
        "ingest_chunks_skipped" => "Ingest chunks skipped as repeats.",
        "ingest_chunks_rejected" => "Ingest chunks rejected.",
        "ingest_items_applied" => "Items applied by ingest chunks.",
        "ingest_latency_ms_last" => "Latency of the last ingest chunk.",
        "ingest_latency_ms_avg" => "Mean ingest chunk latency since start.",
        "idempotency_record_count" => "Idempotency records kept.",
        "idempotency_hits" => "Keyed writes answered from their saved reply.",
        "idempotency_conflicts" => "Keyed writes refused: same key, other payload.",
        "idempotency_pruned" => "Idempotency records pruned.",
        "idempotency_write_count" => "Keyed writes executed.",
        "idempotency_write_latency_ms_last" => "Latency of the last keyed write.",
        "idempotency_write_latency_ms_avg" => "Mean keyed write latency since start.",
        "idempotency_committed_stream_count" => "Committed ingest streams remembered.",
        "points" => "Stored (key, bucket) points, over all series.",
        "ingest_staged_bytes" => "Bytes staged by open replace_series ingest streams.",
        "connections_active" => "Clients connected now.",
        "connections_accepted" => "Clients accepted.",
        "connections_rejected" => "Clients refused past --max-connections.",
        "wal_durable_lsn" => "Highest LSN written (and fsynced with --wal-fsync) to the WAL.",
        "wal_batches" => "WAL batches written.",
        "wal_records" => "WAL records written.",
        "wal_fsyncs" => "WAL fsyncs.",
        "wal_segments" => "Sealed WAL segments on disk.",
        "wal_failed" => "1 once the WAL has failed and writes are refused.",
        "snapshot_count" => "Whole-directory snapshots taken.",
        "snapshot_failures" => "Whole-directory snapshots that failed.",
        "wal_failed_entries_skipped" => {
            "Logged WAL entries that failed to apply on replay or replication and were skipped."
        }
        "wal_last_failed_entry_lsn" => "LSN of the last WAL entry skipped as failed (0: none).",
        "replication_in_sync" => "1 while no WAL entry was skipped and, on a slave, the last poll left no lag.",
        _ => "Karma figure (see system.stats).",
    }
}

#[cfg(test)]
mod tests;
