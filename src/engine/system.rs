//! System ops (docs/protocol.md, System ops): health, stats, metrics and
//! reconciliation reports. Stats and metrics render the same [`Figures`],
//! so the JSON object and the Prometheus text can never disagree.

use super::Engine;
use crate::metrics::{resident_memory_bytes, HistogramSnapshot};
use crate::protocol::op::ALL_OPS;
use crate::protocol::{read, write, CommandError};
use crate::snapshot::names::SNAPSHOT_SUFFIX;
use crate::util::json_writer::{write_bool, write_f64, write_key, write_opt_str, write_str, write_u64};
use crate::util::time::unix_now;

/// One value of the stats object / metrics text.
pub(super) enum Figure {
    Int(u64),
    Float(f64),
    Text(Option<String>),
    Bool(bool),
}

/// The `system.stats` fields in order, with their Prometheus names
/// (`None` where a stats field has no metric, such as error strings).
pub(super) struct Figures(pub(super) Vec<(&'static str, Option<Metric>, Figure)>);

/// A Prometheus metric name and type.
pub(super) type Metric = (&'static str, &'static str);

impl Figures {
    fn int(&mut self, stat: &'static str, metric: Option<Metric>, value: u64) {
        self.0.push((stat, metric, Figure::Int(value)));
    }
}

/// Figures read under the state lock in one go.
struct Counts {
    series: u64,
    keys: u64,
    points: u64,
    lsn: u64,
    records: u64,
    committed: u64,
    active_streams: u64,
    staged_bytes: u64,
    checkpoints: u64,
    last_checkpoint: u64,
}

const GAUGE: &str = "gauge";
const COUNTER: &str = "counter";

impl Engine {
    /// `reconciliation.report`: adds one run of a reconciliation tool to
    /// the figures.
    pub(super) fn reconciliation_report(
        &self,
        args: &write::ReconciliationReport<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        let (checked_points, mismatch_count, absolute_drift, max_abs_delta) =
            (args.checked_points, args.mismatch_count, args.absolute_drift, args.max_abs_delta);
        let m = &self.metrics;
        let (checked, mismatches, drift) = (checked_points as u64, mismatch_count as u64, absolute_drift as u64);
        m.reconciliation_run_count.inc();
        m.reconciliation_checked_points.add(checked);
        m.reconciliation_mismatch_count.add(mismatches);
        m.reconciliation_absolute_drift.add(drift);
        m.reconciliation_last_run_unix.set(unix_now().max(0) as u64);
        m.reconciliation_last_checked_points.set(checked);
        m.reconciliation_last_mismatch_count.set(mismatches);
        m.reconciliation_last_absolute_drift.set(drift);
        m.reconciliation_last_max_abs_delta.set(max_abs_delta as u64);
        out.extend_from_slice(b"\"OK\"");
        Ok(())
    }

    /// `system.ping`.
    pub(super) fn ping(&self, _: &read::Ping<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
        out.extend_from_slice(b"\"pong\"");
        Ok(())
    }

    /// `status` is `ok`, or `degraded` once the WAL has failed (writes are
    /// then refused, and `wal_error` says why).
    pub(super) fn health(&self, _: &read::Health<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
        self.retry_wal_for_health();
        let failure = self.wal_failure();
        out.extend_from_slice(b"{\"status\":");
        write_str(out, if failure.is_some() { "degraded" } else { "ok" });
        out.extend_from_slice(b",\"uptime_seconds\":");
        write_f64(out, self.uptime_seconds());
        out.extend_from_slice(b",\"role\":");
        write_str(out, self.config.role.as_str());
        out.extend_from_slice(b",\"wal_enabled\":");
        write_bool(out, self.config.wal);
        if let Some(failure) = failure {
            out.extend_from_slice(b",\"wal_error\":");
            write_str(out, &failure);
        }
        self.write_wal_recovery_health(out);
        out.push(b'}');
        Ok(())
    }

    pub(super) fn figures(&self) -> Figures {
        let m = &self.metrics;
        let counts = {
            let state = self.state.lock();
            let store = &state.store;
            Counts {
                series: store.series_count() as u64,
                keys: store.key_count() as u64,
                points: store.point_count() as u64,
                lsn: state.last_lsn,
                records: state.idempotency.len() as u64,
                committed: state.ingest.committed_count() as u64,
                active_streams: state.ingest.active_count() as u64,
                staged_bytes: state.ingest.staged_bytes() as u64,
                checkpoints: state.recovery.count() as u64,
                last_checkpoint: state.recovery.last_updated_unix().max(0) as u64,
            }
        };
        let Counts { series, keys, points, lsn, .. } = counts;
        let wal = self.wal.as_ref().map(|wal| wal.stats());
        let r = &self.replication;
        let mut f = Figures(Vec::with_capacity(80));
        f.0.push(("uptime_seconds", Some(("karma_uptime_seconds", GAUGE)), Figure::Float(self.uptime_seconds())));
        f.int("trees", Some(("karma_trees", GAUGE)), series);
        f.int("keys", Some(("karma_keys", GAUGE)), keys);
        f.int("dump_count", Some(("karma_dumps", GAUGE)), self.snapshot_file_count());
        f.0.push(("role", None, Figure::Text(Some(self.config.role.as_str().to_string()))));
        f.0.push(("wal_enabled", None, Figure::Bool(self.config.wal)));
        f.int("wal_bytes", Some(("karma_wal_bytes", GAUGE)), wal.as_ref().map_or(0, |w| w.bytes));
        f.int("wal_current_lsn", Some(("karma_wal_current_lsn", GAUGE)), lsn);
        f.int("replication_replayed_lsn", Some(("karma_replication_replayed_lsn", GAUGE)), self.replayed_lsn());
        f.int("replication_lag_entries", Some(("karma_replication_lag_entries", GAUGE)), self.replication_lag());
        f.int(
            "replication_entries_applied",
            Some(("karma_replication_entries_applied_total", COUNTER)),
            r.entries_applied.get(),
        );
        f.int(
            "replication_last_received_unix",
            Some(("karma_replication_last_received_unix", GAUGE)),
            r.last_received_unix.get(),
        );
        f.int(
            "replication_poll_attempt_count",
            Some(("karma_replication_poll_attempts_total", COUNTER)),
            r.poll_attempts.get(),
        );
        f.int(
            "replication_poll_success_count",
            Some(("karma_replication_poll_success_total", COUNTER)),
            r.poll_successes.get(),
        );
        f.int(
            "replication_poll_error_count",
            Some(("karma_replication_poll_errors_total", COUNTER)),
            r.poll_errors.get(),
        );
        f.int(
            "replication_last_poll_attempt_unix",
            Some(("karma_replication_last_poll_attempt_unix", GAUGE)),
            r.last_poll_attempt_unix.get(),
        );
        f.int(
            "replication_last_poll_success_unix",
            Some(("karma_replication_last_poll_success_unix", GAUGE)),
            r.last_poll_success_unix.get(),
        );
        f.int(
            "replication_last_poll_error_unix",
            Some(("karma_replication_last_poll_error_unix", GAUGE)),
            r.last_poll_error_unix.get(),
        );
        f.0.push(("replication_last_poll_error", None, Figure::Text(r.last_poll_error.lock().clone())));
        f.int(
            "replication_bootstrap_attempt_count",
            Some(("karma_replication_bootstrap_attempts_total", COUNTER)),
            r.bootstrap_attempts.get(),
        );
        f.int(
            "replication_bootstrap_success_count",
            Some(("karma_replication_bootstrap_success_total", COUNTER)),
            r.bootstrap_successes.get(),
        );
        f.int(
            "replication_bootstrap_error_count",
            Some(("karma_replication_bootstrap_errors_total", COUNTER)),
            r.bootstrap_errors.get(),
        );
        f.int(
            "replication_last_bootstrap_attempt_unix",
            Some(("karma_replication_last_bootstrap_attempt_unix", GAUGE)),
            r.last_bootstrap_attempt_unix.get(),
        );
        f.int(
            "replication_last_bootstrap_success_unix",
            Some(("karma_replication_last_bootstrap_success_unix", GAUGE)),
            r.last_bootstrap_success_unix.get(),
        );
        f.int(
            "replication_last_bootstrap_error_unix",
            Some(("karma_replication_last_bootstrap_error_unix", GAUGE)),
            r.last_bootstrap_error_unix.get(),
        );
        f.0.push(("replication_last_bootstrap_error", None, Figure::Text(r.last_bootstrap_error.lock().clone())));
        f.int("memory_bytes", Some(("karma_memory_bytes", GAUGE)), resident_memory_bytes());
        f.int("command_count", Some(("karma_commands_total", COUNTER)), m.command_count.get());
        f.int("error_count", Some(("karma_errors_total", COUNTER)), m.error_count.get());
        f.int("query_timeout_count", Some(("karma_query_timeouts_total", COUNTER)), m.query_timeout_count.get());
        f.int("batch_read_count", Some(("karma_batch_reads_total", COUNTER)), m.batch_read_count.get());
        f.int("batch_read_key_count", Some(("karma_batch_read_keys_total", COUNTER)), m.batch_read_key_count.get());
        f.int("batch_write_count", Some(("karma_batch_writes_total", COUNTER)), m.batch_write_count.get());
        f.int(
            "batch_write_item_count",
            Some(("karma_batch_write_items_total", COUNTER)),
            m.batch_write_item_count.get(),
        );
        f.int("retention_count", Some(("karma_retention_operations_total", COUNTER)), m.retention_count.get());
        f.int("compact_count", Some(("karma_compactions_total", COUNTER)), m.compact_count.get());
        f.int(
            "reconciliation_run_count",
            Some(("karma_reconciliation_runs_total", COUNTER)),
            m.reconciliation_run_count.get(),
        );
        f.int(
            "reconciliation_checked_points",
            Some(("karma_reconciliation_checked_points_total", COUNTER)),
            m.reconciliation_checked_points.get(),
        );
        f.int(
            "reconciliation_mismatch_count",
            Some(("karma_reconciliation_mismatches_total", COUNTER)),
            m.reconciliation_mismatch_count.get(),
        );
        f.int(
            "reconciliation_absolute_drift",
            Some(("karma_reconciliation_absolute_drift_total", COUNTER)),
            m.reconciliation_absolute_drift.get(),
        );
        f.int(
            "reconciliation_last_run_unix",
            Some(("karma_reconciliation_last_run_unix", GAUGE)),
            m.reconciliation_last_run_unix.get(),
        );
        f.int(
            "reconciliation_last_checked_points",
            Some(("karma_reconciliation_last_checked_points", GAUGE)),
            m.reconciliation_last_checked_points.get(),
        );
        f.int(
            "reconciliation_last_mismatch_count",
            Some(("karma_reconciliation_last_mismatches", GAUGE)),
            m.reconciliation_last_mismatch_count.get(),
        );
        f.int(
            "reconciliation_last_absolute_drift",
            Some(("karma_reconciliation_last_absolute_drift", GAUGE)),
            m.reconciliation_last_absolute_drift.get(),
        );
        f.int(
            "reconciliation_last_max_abs_delta",
            Some(("karma_reconciliation_last_max_abs_delta", GAUGE)),
            m.reconciliation_last_max_abs_delta.get(),
        );
        f.int("recovery_checkpoint_count", Some(("karma_recovery_checkpoints", GAUGE)), counts.checkpoints);
        f.int(
            "recovery_last_checkpoint_unix",
            Some(("karma_recovery_last_checkpoint_unix", GAUGE)),
            counts.last_checkpoint,
        );
        f.0.push((
            "latency_ms_avg",
            Some(("karma_command_latency_ms_average", GAUGE)),
            Figure::Float(m.latency.average_ms()),
        ));
        f.0.push(("latency_ms_last", Some(("karma_command_latency_ms", GAUGE)), Figure::Float(m.latency.last_ms())));
        f.int("ingest_active_streams", Some(("karma_ingest_active_streams", GAUGE)), counts.active_streams);
        f.int(
            "ingest_chunks_applied",
            Some(("karma_ingest_chunks_applied_total", COUNTER)),
            m.ingest_chunks_applied.get(),
        );
        f.int(
            "ingest_chunks_skipped",
            Some(("karma_ingest_chunks_skipped_total", COUNTER)),
            m.ingest_chunks_skipped.get(),
        );
        f.int(
            "ingest_chunks_rejected",
            Some(("karma_ingest_chunks_rejected_total", COUNTER)),
            m.ingest_chunks_rejected.get(),
        );
        f.int(
            "ingest_items_applied",
            Some(("karma_ingest_items_applied_total", COUNTER)),
            m.ingest_items_applied.get(),
        );
        f.0.push((
            "ingest_latency_ms_last",
            Some(("karma_ingest_chunk_latency_ms", GAUGE)),
            Figure::Float(m.ingest_latency.last_ms()),
        ));
        f.0.push((
            "ingest_latency_ms_avg",
            Some(("karma_ingest_chunk_latency_ms_average", GAUGE)),
            Figure::Float(m.ingest_latency.average_ms()),
        ));
        f.int("idempotency_record_count", Some(("karma_idempotency_records", GAUGE)), counts.records);
        f.int("idempotency_hits", Some(("karma_idempotency_hits_total", COUNTER)), m.idempotency_hits.get());
        f.int(
            "idempotency_conflicts",
            Some(("karma_idempotency_conflicts_total", COUNTER)),
            m.idempotency_conflicts.get(),
        );
        f.int("idempotency_pruned", Some(("karma_idempotency_pruned_total", COUNTER)), m.idempotency_pruned.get());
        f.int(
            "idempotency_write_count",
            Some(("karma_idempotency_writes_total", COUNTER)),
            m.idempotency_write_count.get(),
        );
        f.0.push((
            "idempotency_write_latency_ms_last",
            Some(("karma_idempotency_write_latency_ms", GAUGE)),
            Figure::Float(m.idempotency_write_latency.last_ms()),
        ));
        f.0.push((
            "idempotency_write_latency_ms_avg",
            Some(("karma_idempotency_write_latency_ms_average", GAUGE)),
            Figure::Float(m.idempotency_write_latency.average_ms()),
        ));
        f.int(
            "idempotency_committed_stream_count",
            Some(("karma_idempotency_committed_streams", GAUGE)),
            counts.committed,
        );
        // Beyond Karma 1.0's 64 fields / 61 metrics.
        f.int("points", Some(("karma_points", GAUGE)), points);
        f.int("ingest_staged_bytes", Some(("karma_ingest_staged_bytes", GAUGE)), counts.staged_bytes);
        f.int("connections_active", Some(("karma_connections_active", GAUGE)), m.connections_active.get());
        f.int(
            "connections_accepted",
            Some(("karma_connections_accepted_total", COUNTER)),
            m.connections_accepted.get(),
        );
        f.int(
            "connections_rejected",
            Some(("karma_connections_rejected_total", COUNTER)),
            m.connections_rejected.get(),
        );
        f.int("wal_durable_lsn", Some(("karma_wal_durable_lsn", GAUGE)), wal.as_ref().map_or(0, |w| w.durable_lsn));
        f.int("wal_batches", Some(("karma_wal_batches_total", COUNTER)), wal.as_ref().map_or(0, |w| w.batches));
        f.int("wal_records", Some(("karma_wal_records_total", COUNTER)), wal.as_ref().map_or(0, |w| w.records));
        f.int("wal_fsyncs", Some(("karma_wal_fsyncs_total", COUNTER)), wal.as_ref().map_or(0, |w| w.fsyncs));
        f.int("wal_segments", Some(("karma_wal_segments", GAUGE)), wal.as_ref().map_or(0, |w| w.segments as u64));
        let failed = wal.as_ref().is_some_and(|w| w.failure.is_some());
        f.int("wal_failed", Some(("karma_wal_failed", GAUGE)), u64::from(failed));
        f.0.push(("wal_error", None, Figure::Text(wal.and_then(|w| w.failure))));
        f.int("snapshot_count", Some(("karma_snapshots_total", COUNTER)), m.snapshot_count.get());
        f.int("snapshot_failures", Some(("karma_snapshot_failures_total", COUNTER)), m.snapshot_failures.get());
        let failed = &m.failed_entries;
        f.int(
            "wal_failed_entries_skipped",
            Some(("karma_wal_failed_entries_skipped_total", COUNTER)),
            failed.count.get(),
        );
        f.int("wal_last_failed_entry_lsn", Some(("karma_wal_last_failed_entry_lsn", GAUGE)), failed.last_lsn.get());
        f.0.push(("wal_last_failed_entry_error", None, Figure::Text(failed.last_error.lock().clone())));
        f.0.push(("replication_in_sync", Some(("karma_replication_in_sync", GAUGE)), Figure::Bool(self.in_sync())));
        f
    }

    /// Number of series snapshot files (`*.tree`) in the data directory.
    fn snapshot_file_count(&self) -> u64 {
        std::fs::read_dir(&self.config.directory)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(SNAPSHOT_SUFFIX))
                    .count() as u64
            })
            .unwrap_or(0)
    }

    pub(super) fn stats(&self, _: &read::Stats<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
        out.push(b'{');
        for (i, (name, _, value)) in self.figures().0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(out, name);
            match value {
                Figure::Int(n) => write_u64(out, *n),
                Figure::Float(x) => write_f64(out, *x),
                Figure::Text(s) => write_opt_str(out, s.as_deref()),
                Figure::Bool(b) => write_bool(out, *b),
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// Prometheus text exposition, returned as one JSON string.
    pub(super) fn prometheus(&self, _: &read::Metrics<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let mut text = String::with_capacity(8192);
        for (stat, metric, value) in &self.figures().0 {
            if *stat == "role" {
                text.push_str("# TYPE karma_role gauge\nkarma_role{role=\"");
                text.push_str(self.config.role.as_str());
                text.push_str("\"} 1\n");
                continue;
            }
            let Some((name, kind)) = metric else { continue };
            let rendered = match value {
                Figure::Int(n) => n.to_string(),
                Figure::Float(x) => format!("{x:?}"),
                Figure::Bool(b) => u64::from(*b).to_string(),
                Figure::Text(_) => continue,
            };
            text.push_str(&format!("# TYPE {name} {kind}\n{name} {rendered}\n"));
        }
        self.per_op_metrics(&mut text);
        if let Some(wal) = self.wal.as_ref().map(|wal| wal.stats()) {
            text.push_str("# TYPE karma_wal_batch_records histogram\n");
            write_histogram(&mut text, "karma_wal_batch_records", "", &wal.batch_sizes);
            text.push_str("# TYPE karma_wal_fsync_ms histogram\n");
            write_histogram(&mut text, "karma_wal_fsync_ms", "", &wal.fsync_ms);
        }
        text.push_str("# TYPE karma_snapshot_duration_ms histogram\n");
        write_histogram(&mut text, "karma_snapshot_duration_ms", "", &self.metrics.snapshot_ms.0.snapshot());
        write_str(out, &text);
        Ok(())
    }

    fn per_op_metrics(&self, text: &mut String) {
        let used: Vec<_> = ALL_OPS.iter().filter(|op| self.metrics.per_op.get(**op).count.get() > 0).collect();
        text.push_str("# TYPE karma_op_commands_total counter\n");
        for op in &used {
            let count = self.metrics.per_op.get(**op).count.get();
            text.push_str(&format!("karma_op_commands_total{{op=\"{}\"}} {count}\n", op.name()));
        }
        text.push_str("# TYPE karma_op_errors_total counter\n");
        for op in &used {
            let errors = self.metrics.per_op.get(**op).errors.get();
            text.push_str(&format!("karma_op_errors_total{{op=\"{}\"}} {errors}\n", op.name()));
        }
        text.push_str("# TYPE karma_op_latency_ms histogram\n");
        for op in &used {
            let labels = format!("op=\"{}\"", op.name());
            write_histogram(text, "karma_op_latency_ms", &labels, &self.metrics.per_op.get(**op).latency_ms.snapshot());
        }
    }
}

/// Appends a Prometheus histogram (cumulative buckets, sum, count).
pub(crate) fn write_histogram(text: &mut String, name: &str, labels: &str, h: &HistogramSnapshot) {
    let sep = if labels.is_empty() { "" } else { "," };
    let mut cumulative = 0;
    for (bound, count) in h.bounds.iter().zip(&h.counts) {
        cumulative += count;
        text.push_str(&format!("{name}_bucket{{{labels}{sep}le=\"{bound:?}\"}} {cumulative}\n"));
    }
    text.push_str(&format!("{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}\n", h.count));
    let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
    text.push_str(&format!("{name}_sum{braces} {:?}\n{name}_count{braces} {}\n", h.sum, h.count));
}
