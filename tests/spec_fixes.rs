//! Spec points and code defects fixed against Karma 1.0's behaviour, over
//! real TCP: `v` outside int32 (D5), the bootstrap times in stats and
//! metrics, `snapshot.verify` after a single-series `snapshot.create`, and
//! the commit time of ingest streams on master, slave and restart.
mod common;
mod replication_common;

use common::{err, ok, temp_dir, unix_now, Server};
use replication_common::{call, start_slave, status};
use serde_json::Value;

#[test]
fn v_outside_int32_is_a_validation_error() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut q = |line: &str| c.request(line).unwrap();
    let out_of_range = err("validation_error", "Field v must fit in int32");
    assert_eq!(q(r#"{"v":2147483648,"op":"system.ping"}"#), out_of_range);
    assert_eq!(q(r#"{"v":-2147483649,"op":"system.ping"}"#), out_of_range);
    assert_eq!(q(r#"{"v":9223372036854775807,"op":"system.ping"}"#), out_of_range);
    let unsupported = err("unsupported_protocol", "Karma 1.0 accepts only protocol v2 requests with field v=2");
    assert_eq!(q(r#"{"v":2147483647,"op":"system.ping"}"#), unsupported);
    assert_eq!(q(r#"{"v":-2147483648,"op":"system.ping"}"#), unsupported);
    assert_eq!(q(r#"{"v":2,"op":"system.ping"}"#), ok(r#""pong""#));
}

/// The value of the Prometheus line `name <value>` in `system.metrics`.
fn metric(server: &Server, name: &str) -> u64 {
    let text = call(server, r#"{"v":2,"op":"system.metrics"}"#);
    let text = text.as_str().expect("metrics text");
    let prefix = format!("{name} ");
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {name} in {text}"));
    line[prefix.len()..].parse().unwrap_or_else(|_| panic!("not an integer: {line}"))
}

#[test]
fn bootstrap_times_reach_stats_and_metrics() {
    let master = Server::start(&[]);
    master.request(r#"{"v":2,"op":"counter.increment","series":"a","key":1,"bucket":20260501}"#);
    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    let before = unix_now() as u64;
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    let after = unix_now() as u64;
    let status = status(&slave);
    assert_eq!(status["replication_bootstrap_success_count"], 1);
    let attempt = status["replication_last_bootstrap_attempt_unix"].as_u64().unwrap();
    let success = status["replication_last_bootstrap_success_unix"].as_u64().unwrap();
    assert!(before <= attempt && attempt <= success && success <= after, "{status}");
    let stats = call(&slave, r#"{"v":2,"op":"system.stats"}"#);
    assert_eq!(stats["replication_last_bootstrap_attempt_unix"], Value::from(attempt));
    assert_eq!(stats["replication_last_bootstrap_success_unix"], Value::from(success));
    assert_eq!(metric(&slave, "karma_replication_last_bootstrap_attempt_unix"), attempt);
    assert_eq!(metric(&slave, "karma_replication_last_bootstrap_success_unix"), success);
}

fn increment(series: &str, key: u64) -> String {
    format!(r#"{{"v":2,"op":"counter.increment","series":"{series}","key":{key},"bucket":20260501}}"#)
}

/// Replay skips the WAL entries a series' own snapshot holds, so verify
/// accepts them too, and newest snapshots at different LSNs.
#[test]
fn verify_accepts_what_replay_skips_after_a_single_series_snapshot() {
    let dir = temp_dir();
    let mut server = Server::start_in(dir.path(), &[]);
    for (series, key) in [("a", 1), ("a", 2), ("b", 1), ("a", 1)] {
        server.request(&increment(series, key));
    }
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create","series":"a"}"#), ok(r#""Tree \"a\" saved""#));
    let verified = |keys: u64, last: u64| {
        ok(&format!(
            r#"{{"status":"ok","dump_count":1,"trees":2,"keys":{keys},"snapshot_metadata_checked":1,"snapshot_missing_metadata":0,"restore_snapshot_lsn":4,"wal_entries_checked":{last},"wal_first_lsn":1,"wal_last_lsn":{last},"wal_lsn_file":{last}}}"#
        ))
    };
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.verify"}"#), verified(3, 4));
    server.request(&increment("b", 2));
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.verify"}"#), verified(4, 5));
    // The restart replays exactly what verify accepted.
    server.kill9();
    let server = Server::start_in(dir.path(), &[]);
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"a","key":1}"#), ok("2"));
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"b","key":2}"#), ok("1"));
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.verify"}"#), verified(4, 5));
}

/// After `snapshot.create_all`, a single-series snapshot leaves the newest
/// snapshots at two LSNs; replay handles that, so verify passes.
#[test]
fn verify_accepts_newest_snapshots_at_different_lsns() {
    let server = Server::start(&[]);
    server.request(&increment("a", 1));
    server.request(&increment("b", 1));
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    server.request(&increment("a", 1));
    // A new second, so the new snapshot of `a` is the newest one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create","series":"a"}"#), ok(r#""Tree \"a\" saved""#));
    let reply = server.request(r#"{"v":2,"op":"snapshot.verify"}"#);
    assert_eq!(
        reply,
        ok(
            r#"{"status":"ok","dump_count":3,"trees":2,"keys":2,"snapshot_metadata_checked":3,"snapshot_missing_metadata":0,"restore_snapshot_lsn":2,"wal_entries_checked":1,"wal_first_lsn":3,"wal_last_lsn":3,"wal_lsn_file":3}"#
        )
    );
}

/// `committed_at_unix` of the first committed stream in `dir`'s
/// `karma.idempotency.json`, once that file exists.
fn committed_at(dir: &std::path::Path) -> Value {
    let path = dir.join("karma.idempotency.json");
    assert!(common::eventually(std::time::Duration::from_secs(30), || path.exists()), "no {}", path.display());
    let document: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    document["committed_streams"][0]["committed_at_unix"].clone()
}

/// The master stamps the commit time into the WAL entry, so a slave and a
/// restarted node record the master's time instead of their own.
#[test]
fn ingest_commit_time_is_the_masters_everywhere() {
    let master_dir = temp_dir();
    let mut master = Server::start_in(master_dir.path(), &[]);
    let before = unix_now();
    for line in [
        r#"{"v":2,"op":"ingest.begin","stream_id":"c1","mode":"add"}"#,
        r#"{"v":2,"op":"ingest.chunk","stream_id":"c1","series":"s","chunk_seq":1,"items":[[1,20260501,4]]}"#,
        // A client's committed_at_unix is not a request field: ignored.
        r#"{"v":2,"op":"ingest.commit","stream_id":"c1","committed_at_unix":5}"#,
    ] {
        assert!(master.request(line).contains(r#""success":true"#), "{line}");
    }
    let after = unix_now();
    let wal = std::fs::read_to_string(master_dir.path().join("karma.wal")).unwrap();
    let commit = wal.lines().nth(2).unwrap();
    let stamped: i64 = commit
        .strip_prefix(r#"{"v":2,"lsn":3,"entry":{"v":2,"op":"ingest.commit","stream_id":"c1","committed_at_unix":"#)
        .and_then(|rest| rest.strip_suffix("}}"))
        .unwrap_or_else(|| panic!("{commit}"))
        .parse()
        .unwrap();
    assert!(before <= stamped && stamped <= after, "{commit}");
    // Later clocks everywhere else.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert!(common::eventually(std::time::Duration::from_secs(30), || status(&slave)["replayed_lsn"] == 3));
    slave.signal("USR1");
    assert_eq!(committed_at(slave_dir.path()), Value::from(stamped));
    master.kill9();
    let master = Server::start_in(master_dir.path(), &[]);
    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    assert_eq!(committed_at(master_dir.path()), Value::from(stamped));
}
