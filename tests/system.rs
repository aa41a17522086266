//! System ops: ping, health, stats (the 64 fields of Karma 1.0 in order, then
//! ours), metrics (Prometheus text), reconciliation reports.
mod common;
use common::{err, ok, Server};

const STATS_FIELDS: [&str; 64] = [
    "uptime_seconds",
    "trees",
    "keys",
    "dump_count",
    "role",
    "wal_enabled",
    "wal_bytes",
    "wal_current_lsn",
    "replication_replayed_lsn",
    "replication_lag_entries",
    "replication_entries_applied",
    "replication_last_received_unix",
    "replication_poll_attempt_count",
    "replication_poll_success_count",
    "replication_poll_error_count",
    "replication_last_poll_attempt_unix",
    "replication_last_poll_success_unix",
    "replication_last_poll_error_unix",
    "replication_last_poll_error",
    "replication_bootstrap_attempt_count",
    "replication_bootstrap_success_count",
    "replication_bootstrap_error_count",
    "replication_last_bootstrap_attempt_unix",
    "replication_last_bootstrap_success_unix",
    "replication_last_bootstrap_error_unix",
    "replication_last_bootstrap_error",
    "memory_bytes",
    "command_count",
    "error_count",
    "query_timeout_count",
    "batch_read_count",
    "batch_read_key_count",
    "batch_write_count",
    "batch_write_item_count",
    "retention_count",
    "compact_count",
    "reconciliation_run_count",
    "reconciliation_checked_points",
    "reconciliation_mismatch_count",
    "reconciliation_absolute_drift",
    "reconciliation_last_run_unix",
    "reconciliation_last_checked_points",
    "reconciliation_last_mismatch_count",
    "reconciliation_last_absolute_drift",
    "reconciliation_last_max_abs_delta",
    "recovery_checkpoint_count",
    "recovery_last_checkpoint_unix",
    "latency_ms_avg",
    "latency_ms_last",
    "ingest_active_streams",
    "ingest_chunks_applied",
    "ingest_chunks_skipped",
    "ingest_chunks_rejected",
    "ingest_items_applied",
    "ingest_latency_ms_last",
    "ingest_latency_ms_avg",
    "idempotency_record_count",
    "idempotency_hits",
    "idempotency_conflicts",
    "idempotency_pruned",
    "idempotency_write_count",
    "idempotency_write_latency_ms_last",
    "idempotency_write_latency_ms_avg",
    "idempotency_committed_stream_count",
];

fn stats_keys(reply: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(reply).unwrap();
    let response = value["response"].as_object().unwrap();
    // serde_json without preserve_order sorts keys, so read them from the text.
    let body = reply.split("\"response\":{").nth(1).unwrap();
    let mut keys = Vec::new();
    for part in body.split(",\"").map(|p| p.trim_start_matches('"')) {
        if let Some((key, _)) = part.split_once("\":") {
            if response.contains_key(key) {
                keys.push(key.to_string());
            }
        }
    }
    keys
}

#[test]
fn ping_health_and_stats_shape() {
    let server = Server::start(&[]);
    assert_eq!(server.request(r#"{"v":2,"op":"system.ping"}"#), ok(r#""pong""#));
    let health = server.request(r#"{"v":2,"op":"system.health"}"#);
    assert!(
        health.starts_with(r#"{"protocol_version":2,"success":true,"response":{"status":"ok","uptime_seconds":"#),
        "{health}"
    );
    assert!(health.ends_with(r#","role":"master","wal_enabled":true},"error_code":null}"#), "{health}");
    server.request(r#"{"v":2,"op":"series.batch_add","series":"s","items":[[1,20260501,5],[2,20260501,3]]}"#);
    server.request(r#"{"v":2,"op":"counter.batch_sum","series":"s","keys":[1,2,3]}"#);
    server.request(r#"{"v":2,"op":"nope"}"#);
    let stats = server.request(r#"{"v":2,"op":"system.stats"}"#);
    let keys = stats_keys(&stats);
    assert_eq!(&keys[..64], &STATS_FIELDS[..], "{stats}");
    for expected in [
        r#""trees":1,"keys":2,"#,
        r#""role":"master","wal_enabled":true,"#,
        r#""wal_current_lsn":1,"#,
        r#""command_count":6,"error_count":1,"#,
        r#""batch_read_count":1,"batch_read_key_count":3,"batch_write_count":1,"batch_write_item_count":2,"#,
        r#""replication_last_poll_error":null,"#,
    ] {
        assert!(stats.contains(expected), "{expected} not in {stats}");
    }
}

#[test]
fn metrics_are_prometheus_text_in_one_json_string() {
    let server = Server::start(&[]);
    server.request(r#"{"v":2,"op":"counter.increment","series":"m","key":1,"bucket":20260501}"#);
    let reply = server.request(r#"{"v":2,"op":"system.metrics"}"#);
    let value: serde_json::Value = serde_json::from_str(&reply).unwrap();
    let text = value["response"].as_str().unwrap();
    assert!(text.starts_with("# TYPE karma_uptime_seconds gauge\nkarma_uptime_seconds "), "{text}");
    for line in [
        "# TYPE karma_trees gauge\nkarma_trees 1\n",
        "karma_role{role=\"master\"} 1\n",
        "# TYPE karma_commands_total counter\nkarma_commands_total 2\n",
        "# TYPE karma_idempotency_records gauge\nkarma_idempotency_records 0\n",
        "# TYPE karma_idempotency_committed_streams gauge\nkarma_idempotency_committed_streams 0\n",
        "karma_op_commands_total{op=\"counter.increment\"} 1\n",
        "karma_wal_fsync_ms_count ",
    ] {
        assert!(text.contains(line), "{line:?} not in {text}");
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn reconciliation_reports_feed_stats() {
    let server = Server::start(&[]);
    let report = r#"{"v":2,"op":"reconciliation.report","checked_points":10,"mismatch_count":2,"absolute_drift":7,"max_abs_delta":5}"#;
    assert_eq!(server.request(report), ok(r#""OK""#));
    assert_eq!(
        server.request(r#"{"v":2,"op":"reconciliation.report","checked_points":1,"mismatch_count":2}"#),
        err("validation_error", "Field mismatch_count must be less than or equal to checked_points")
    );
    let stats = server.request(r#"{"v":2,"op":"system.stats"}"#);
    assert!(
        stats.contains(r#""reconciliation_run_count":1,"reconciliation_checked_points":10,"reconciliation_mismatch_count":2,"reconciliation_absolute_drift":7,"#),
        "{stats}"
    );
    assert!(stats.contains(r#""reconciliation_last_max_abs_delta":5,"#), "{stats}");
}

#[test]
fn response_size_limit_applies_after_execution() {
    let server = Server::start(&["--max-response-bytes=80"]);
    assert_eq!(server.request(r#"{"v":2,"op":"counter.increment","series":"r","key":1,"bucket":20260501}"#), ok("1"));
    assert_eq!(
        server.request(r#"{"v":2,"op":"counter.batch_sum","series":"r","keys":[1,2,3]}"#),
        err("response_too_large", "Response exceeds 80 bytes")
    );
}

#[test]
fn wal_and_snapshot_figures_follow_the_writes() {
    let server = Server::start(&[]);
    for key in 0..3 {
        server.request(&format!(r#"{{"v":2,"op":"counter.increment","series":"w","key":{key},"bucket":20260501}}"#));
    }
    server.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    let stats = server.request(r#"{"v":2,"op":"system.stats"}"#);
    for expected in [
        r#""wal_durable_lsn":3,"#,
        r#""wal_records":3,"#,
        r#""wal_failed":0,"wal_error":null,"snapshot_count":1,"snapshot_failures":0"#,
    ] {
        assert!(stats.contains(expected), "{expected} not in {stats}");
    }
}
