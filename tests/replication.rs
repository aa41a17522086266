//! Master -> slave replication with real processes on port 0: convergence
//! of every kind of write, bootstrap from snapshots then WAL, catch-up over
//! many sealed segments, the slave's refusals and reads, and promotion.
//! (Paging: `replication_entries.rs`; crashes, gaps, outages:
//! `replication_faults.rs`.)
mod common;
mod replication_common;

use common::{err, ok, temp_dir, Server};
use replication_common::{
    assert_converged, call, contents, current_lsn, mixed_writes, start_slave, status, status_u64, write,
};
use serde_json::Value;
use std::time::Duration;

#[test]
fn writes_converge_bootstrap_then_wal_and_restart_resumes() {
    let master = Server::start(&["--wal-segment-bytes=512"]);
    master.request(r#"{"v":2,"op":"series.batch_add","series":"a","items":[[1,20260501,5],[2,20260502,7]]}"#);
    master.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    for key in 0..50 {
        master.request(&format!(r#"{{"v":2,"op":"counter.increment","series":"a","key":{key},"bucket":20260503}}"#));
    }
    let slave_dir = temp_dir();
    let mut slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert_converged(&master, &slave, false);
    assert_eq!(
        slave.request(r#"{"v":2,"op":"counter.increment","series":"a","key":1}"#),
        err("forbidden", "Slave role cannot execute command increment")
    );
    // kill -9 the slave, write more, restart it: it resumes without bootstrap.
    slave.kill9();
    master.request(r#"{"v":2,"op":"counter.increment","series":"a","key":1,"bucket":20260504,"value":9}"#);
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert_converged(&master, &slave, false);
    assert_eq!(status_u64(&slave, "replication_bootstrap_attempt_count"), 0);
    assert_eq!(slave.request(r#"{"v":2,"op":"counter.sum","series":"a","key":1}"#), ok("15"));
}

/// A slave of an empty master gets every series through the WAL, so even
/// `tree.list`'s order matches.
#[test]
fn every_kind_of_write_converges_exactly() {
    let master = Server::start(&[]);
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    for round in 0..3 {
        mixed_writes(&master, round);
        assert_converged(&master, &slave, true);
    }
    let lsn = current_lsn(&master);
    assert!(lsn > 150, "the workload logged {lsn} entries");
    let status = status(&slave);
    assert_eq!(status["role"], "slave");
    assert_eq!(status["replayed_lsn"], lsn);
    assert_eq!(status["wal_current_lsn"], lsn, "the slave logs what it applies under the master's LSNs");
    assert_eq!(status["replication_entries_applied"], lsn);
    assert_eq!(status["replication_lag_entries"], 0);
    assert_eq!(status["replication_poll_error_count"], 0);
    assert_eq!(status["replication_last_poll_error"], Value::Null);
    // Bootstrap ran once, found nothing to fetch, and counted a success.
    assert_eq!(status["replication_bootstrap_attempt_count"], 1);
    assert_eq!(status["replication_bootstrap_success_count"], 1);
    assert_eq!(status["replication_bootstrap_error_count"], 0);
    assert_eq!(status["replication_last_bootstrap_error"], Value::Null);
    let master_status = call(&master, r#"{"v":2,"op":"replication.status"}"#);
    assert_eq!(master_status["role"], "master");
    assert_eq!(master_status["replayed_lsn"], 0);
    assert_eq!(master_status["replication_lag_entries"], 0);
    let (m, s) = (call(&master, r#"{"v":2,"op":"system.stats"}"#), call(&slave, r#"{"v":2,"op":"system.stats"}"#));
    for field in ["trees", "keys", "wal_current_lsn"] {
        assert_eq!(s[field], m[field], "system.stats {field}");
    }
}

#[test]
fn bootstrap_from_snapshots_then_wal() {
    let master = Server::start(&[]);
    mixed_writes(&master, 0);
    let mut c = master.client();
    write(&mut c, r#"{"v":2,"op":"series.batch_add","series":"gone","items":[[1,20260501,1]]}"#);
    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    let snapshot_lsn = current_lsn(&master);
    mixed_writes(&master, 1);
    write(&mut c, r#"{"v":2,"op":"tree.drop","series":"gone"}"#);
    mixed_writes(&master, 2);
    let info = call(&master, r#"{"v":2,"op":"snapshot.info"}"#);

    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert_converged(&master, &slave, false);
    assert!(!contents(&slave, None).list.contains(&"gone".to_string()));
    let log = slave.log_lines().join("\n");
    assert!(
        log.contains(&format!(r#""event":"replication.snapshot_bootstrap","message":"last_lsn={snapshot_lsn} "#)),
        "{log}"
    );
    // The slave's snapshots are the master's files with the master's
    // metadata (sidecars carry the master's series and last_lsn).
    let status = status(&slave);
    assert_eq!(status["latest_snapshots"], info["latest_by_tree"]);
    assert_eq!(status["last_snapshot_lsn"], info["last_snapshot_lsn"]);
    assert_eq!(status["replication_bootstrap_attempt_count"], 1);
    assert_eq!(status["replication_bootstrap_success_count"], 1);
    for snapshot in info["latest_by_tree"].as_array().expect("snapshots") {
        let file = snapshot["file"].as_str().expect("file");
        let ours = std::fs::read(slave_dir.path().join(file)).expect("bootstrapped file");
        assert_eq!(ours, std::fs::read(master.dir.join(file)).expect("master file"), "{file}");
    }
    assert!(slave_dir.path().join("karma.idempotency.json").exists());
    // Entries above the snapshots keep flowing.
    mixed_writes(&master, 3);
    assert_converged(&master, &slave, false);
}

/// `snapshot.create` of one series after `snapshot.create_all`: the
/// master's newest snapshots carry different LSNs, and the slave must
/// resume after the lowest (the restore LSN), not the highest.
#[test]
fn bootstrap_when_one_series_has_a_newer_snapshot() {
    let master = Server::start(&[]);
    let mut c = master.client();
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"a","key":1,"bucket":20260501,"value":1}"#);
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"b","key":1,"bucket":20260501,"value":1}"#);
    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"a","key":2,"bucket":20260501,"value":10}"#);
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"b","key":2,"bucket":20260501,"value":20}"#);
    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create","series":"b"}"#), ok(r#""Tree \"b\" saved""#));
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"a","key":3,"bucket":20260501,"value":100}"#);
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert_converged(&master, &slave, false);
    // LSN 3 (a, key 2) lies between the two snapshots' LSNs (2 and 4).
    assert_eq!(slave.request(r#"{"v":2,"op":"counter.sum","series":"a","key":2}"#), ok("10"));
}

#[test]
fn a_late_slave_catches_up_over_many_sealed_segments() {
    let master = Server::start(&["--wal-segment-bytes=300"]);
    let mut c = master.client();
    for i in 0..400u64 {
        let line = if i % 10 == 9 {
            // A 30-item batch is a segment of its own.
            let items: Vec<String> = (0..30).map(|k| format!("[{},{},{}]", k + i, 20260101 + i % 28, i + k)).collect();
            format!(r#"{{"v":2,"op":"series.batch_add","series":"big","items":[{}]}}"#, items.join(","))
        } else {
            format!(
                r#"{{"v":2,"op":"counter.increment","series":"s{}","key":{i},"bucket":20260505,"value":{}}}"#,
                i % 7,
                i + 1
            )
        };
        write(&mut c, &line);
    }
    let segments = std::fs::read_dir(&master.dir)
        .expect("dir")
        .filter(|e| e.as_ref().expect("entry").file_name().to_string_lossy().ends_with(".segment"))
        .count();
    assert!(segments >= 100, "only {segments} segments");
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &["--replication-batch-size=7"]);
    assert_converged(&master, &slave, true);
    assert_eq!(status_u64(&slave, "replayed_lsn"), 400);
    assert_eq!(status_u64(&slave, "replication_entries_applied"), 400);
    // The master never truncated: the first segment is still there.
    assert!(master.dir.join("karma.wal.00000000000000000001.segment").exists());
}

/// Every non-read-only op of docs/protocol.md, Op catalogue (aliases included),
/// with otherwise valid fields, and its internal name.
const WRITES: &[(&str, &str)] = &[
    (r#"{"v":2,"op":"counter.increment","series":"s","key":1,"bucket":20260501}"#, "increment"),
    (r#"{"v":2,"op":"series.increment","series":"s","key":1,"idempotency_key":"k1"}"#, "increment"),
    (r#"{"v":2,"op":"counter.decrement","series":"s","key":1,"bucket":20260501,"value":2}"#, "decrement"),
    (r#"{"v":2,"op":"counter.delete_range","series":"s","key":1,"range":{"from":20260501,"to":20260502}}"#, "delete"),
    (
        r#"{"v":2,"op":"counter.batch_delete_range","series":"s","keys":[1,2],"range":{"from":20260501,"to":20260502}}"#,
        "batch_delete_range",
    ),
    (r#"{"v":2,"op":"counter.reset","series":"s","key":1}"#, "reset"),
    (r#"{"v":2,"op":"counter.batch_reset","series":"s","keys":[1,2]}"#, "batch_reset"),
    (r#"{"v":2,"op":"series.batch_add","series":"s","items":[[1,20260501,1]]}"#, "batch_add"),
    (r#"{"v":2,"op":"counter.batch_increment","series":"s","items":[[1,20260501,1]]}"#, "batch_add"),
    (r#"{"v":2,"op":"series.batch_set","series":"s","items":[[1,20260501,0]]}"#, "batch_set"),
    (r#"{"v":2,"op":"series.delete_before","series":"s","before":20260502}"#, "delete_before"),
    (r#"{"v":2,"op":"tree.delete_before","series":"s","date":20260502}"#, "delete_before"),
    (r#"{"v":2,"op":"series.compact","series":"s"}"#, "compact"),
    (r#"{"v":2,"op":"tree.compact","series":"s"}"#, "compact"),
    (r#"{"v":2,"op":"system.compact"}"#, "compact"),
    (r#"{"v":2,"op":"tree.create","series":"new"}"#, "create"),
    (r#"{"v":2,"op":"tree.drop","series":"s"}"#, "drop"),
    (r#"{"v":2,"op":"tree.reset","series":"s"}"#, "reset"),
    (r#"{"v":2,"op":"tree.delete_range","series":"s","range":{"from":20260501,"to":20260502}}"#, "delete"),
    (r#"{"v":2,"op":"ingest.begin","stream_id":"st","mode":"add","granularity":"day"}"#, "ingest_begin"),
    (
        r#"{"v":2,"op":"ingest.chunk","series":"s","stream_id":"st","chunk_seq":1,"items":[[1,20260501,1]]}"#,
        "ingest_chunk",
    ),
    (r#"{"v":2,"op":"ingest.commit","stream_id":"st"}"#, "ingest_commit"),
    (r#"{"v":2,"op":"ingest.abort","stream_id":"st"}"#, "ingest_abort"),
    (r#"{"v":2,"op":"idempotency.prune","before":1700000000}"#, "idempotency_prune"),
    (r#"{"v":2,"op":"snapshot.create","series":"s"}"#, "dump"),
    (r#"{"v":2,"op":"snapshot.create_all"}"#, "dump_all"),
    (r#"{"v":2,"op":"snapshot.load","file":"1795245113_s.tree"}"#, "load"),
    (r#"{"v":2,"op":"reconciliation.report","checked_points":10,"mismatch_count":1}"#, "reconciliation_report"),
    (r#"{"v":2,"op":"recovery.checkpoint","source":"export","offset":17}"#, "recovery_checkpoint"),
];

#[test]
fn the_slave_refuses_every_write_and_serves_every_read() {
    let master = Server::start(&[]);
    let mut c = master.client();
    write(
        &mut c,
        r#"{"v":2,"op":"series.batch_add","series":"s","items":[[1,20260501,5],[2,20260502,3],[3,20260502,1]]}"#,
    );
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"s","key":1,"bucket":20260502,"idempotency_key":"i"}"#);
    write(&mut c, r#"{"v":2,"op":"snapshot.create_all"}"#);
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"t","key":9,"bucket":20260503,"value":4}"#);
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert_converged(&master, &slave, false);
    let before = contents(&slave, None);
    let lsn = current_lsn(&master);

    let mut sc = slave.client();
    for (line, internal) in WRITES {
        let expected = err("forbidden", &format!("Slave role cannot execute command {internal}"));
        assert_eq!(sc.request(line).expect("reply"), expected, "{line}");
    }
    // Validation comes before the role check.
    assert_eq!(
        sc.request(r#"{"v":2,"op":"counter.increment","series":"s"}"#).expect("reply"),
        err("validation_error", "Field key is required")
    );
    assert_eq!(
        sc.request(r#"{"v":2,"op":"counter.increment","series":"s","key":1,"value":0}"#).expect("reply"),
        err("validation_error", "Field value must be greater than 0")
    );
    // Nothing changed on either side.
    assert_eq!(contents(&slave, None), before);
    assert_eq!(status_u64(&slave, "wal_current_lsn"), lsn);
    assert_eq!(current_lsn(&master), lsn);

    // Data reads answer exactly what the master answers.
    let same = [
        r#"{"v":2,"op":"counter.sum","series":"s","key":1}"#,
        r#"{"v":2,"op":"series.sum","series":"s","key":1,"range":{"from":20260502,"to":20260502}}"#,
        r#"{"v":2,"op":"counter.batch_sum","series":"s","keys":[3,1,42,1]}"#,
        r#"{"v":2,"op":"series.batch_sum","series":"s","keys":[2]}"#,
        r#"{"v":2,"op":"counter.multi_sum","items":[{"series":"s","key":1},{"series":"t","key":9}]}"#,
        r#"{"v":2,"op":"counter.series","series":"s","key":1,"range":{"from":20260501,"to":20260502}}"#,
        r#"{"v":2,"op":"series.points","series":"s","key":2,"range":{"from":20260501,"to":20260502}}"#,
        r#"{"v":2,"op":"tree.series","series":"s","range":{"from":20260501,"to":20260502}}"#,
        r#"{"v":2,"op":"tree.info","series":"s"}"#,
        r#"{"v":2,"op":"tree.keys","series":"s","limit":2}"#,
        r#"{"v":2,"op":"tree.summary","series":"s","range":{"from":20260502,"to":20260502}}"#,
        r#"{"v":2,"op":"tree.top","series":"s","limit":2}"#,
        r#"{"v":2,"op":"counter.sum","series":"missing","key":1}"#,
        r#"{"v":2,"op":"system.ping"}"#,
    ];
    for line in same {
        assert_eq!(slave.request(line), master.request(line), "{line}");
    }
    assert_eq!(slave.request(r#"{"v":2,"op":"system.ping"}"#), ok(r#""pong""#));
    // Every other read-only op succeeds on the slave.
    let file = call(&slave, r#"{"v":2,"op":"snapshot.info"}"#)["latest_by_tree"][0]["file"]
        .as_str()
        .expect("file")
        .to_string();
    let reads = [
        r#"{"v":2,"op":"system.health"}"#.to_string(),
        r#"{"v":2,"op":"system.stats"}"#.to_string(),
        r#"{"v":2,"op":"system.metrics"}"#.to_string(),
        r#"{"v":2,"op":"tree.list"}"#.to_string(),
        r#"{"v":2,"op":"snapshot.list"}"#.to_string(),
        r#"{"v":2,"op":"snapshot.verify"}"#.to_string(),
        format!(r#"{{"v":2,"op":"snapshot.fetch","file":"{file}"}}"#),
        format!(r#"{{"v":2,"op":"snapshot.fetch_chunk","file":"{file}","offset":0,"limit":16}}"#),
        r#"{"v":2,"op":"idempotency.snapshot_fetch_chunk","offset":0,"limit":16}"#.to_string(),
        r#"{"v":2,"op":"replication.status"}"#.to_string(),
        format!(r#"{{"v":2,"op":"replication.entries","after_lsn":{lsn}}}"#),
    ];
    for line in &reads {
        call(&slave, line);
    }
    assert_eq!(call(&slave, r#"{"v":2,"op":"snapshot.verify"}"#)["status"], "ok");
    let metrics = call(&slave, r#"{"v":2,"op":"system.metrics"}"#);
    assert!(metrics.as_str().expect("text").contains("karma_role{role=\"slave\"} 1"), "{metrics}");
}

/// Stop the master, restart the slave's directory as a master: all data is
/// there, new writes continue the master's LSNs, and a new slave can follow it.
#[test]
fn a_promoted_slave_continues_the_lsn_sequence() {
    for clean_stop in [true, false] {
        let mut master = Server::start(&["--wal-segment-bytes=2048"]);
        mixed_writes(&master, 0);
        master.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
        mixed_writes(&master, 1);
        let slave_dir = temp_dir();
        let mut slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
        mixed_writes(&master, 2);
        assert_converged(&master, &slave, false);
        let lsn = current_lsn(&master);
        let expected = contents(&master, None);
        master.kill9();
        if clean_stop {
            slave.signal("TERM");
            assert_eq!(slave.wait_exit(Duration::from_secs(20)), Some(0));
        } else {
            slave.kill9();
        }

        let promoted = Server::start_in(slave_dir.path(), &["--role=master"]);
        let got = contents(&promoted, Some(&expected));
        assert_eq!(got.series, expected.series, "clean_stop={clean_stop}");
        assert_eq!(sorted(got.list), sorted(expected.list.clone()));
        assert_eq!(current_lsn(&promoted), lsn);
        let status = status(&promoted);
        assert_eq!(status["role"], "master");
        assert_eq!(status["replayed_lsn"], 0);
        assert_eq!(
            promoted
                .request(r#"{"v":2,"op":"counter.increment","series":"after","key":1,"bucket":20260601,"value":2}"#),
            ok("2")
        );
        assert_eq!(current_lsn(&promoted), lsn + 1);
        let page = call(&promoted, &format!(r#"{{"v":2,"op":"replication.entries","after_lsn":{lsn}}}"#));
        assert_eq!(
            page["entries"],
            serde_json::json!([{"lsn": lsn + 1, "entry": {"v":2,"op":"counter.increment","series":"after","key":1,"bucket":20260601,"value":2}}])
        );
        // A new slave follows the promoted master.
        let second_dir = temp_dir();
        let second = start_slave(second_dir.path(), promoted.addr.port(), &[]);
        mixed_writes(&promoted, 3);
        assert_converged(&promoted, &second, false);
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// A master with both tokens: the read token is enough for bootstrap and
/// polling; a wrong token is reported in the slave's status.
#[test]
fn the_read_token_is_enough_to_replicate() {
    let master = Server::start(&["--auth-token=W", "--read-auth-token=R"]);
    let mut c = master.client();
    write(&mut c, r#"{"v":2,"op":"series.batch_add","series":"s","items":[[1,20260501,5]],"token":"W"}"#);
    write(&mut c, r#"{"v":2,"op":"snapshot.create_all","token":"W"}"#);
    write(&mut c, r#"{"v":2,"op":"counter.increment","series":"s","key":2,"bucket":20260502,"value":3,"token":"W"}"#);
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &["--replication-token=R"]);
    assert!(common::eventually(replication_common::CONVERGE, || {
        slave.request(r#"{"v":2,"op":"counter.batch_sum","series":"s","keys":[1,2]}"#)
            == ok(r#"[{"key":1,"value":5},{"key":2,"value":3}]"#)
    }));
    assert_eq!(status_u64(&slave, "replayed_lsn"), 2);
    // Same data, but polling with a token the master does not know.
    drop(slave);
    let wrong = start_slave(slave_dir.path(), master.addr.port(), &["--replication-token=X"]);
    assert!(common::eventually(replication_common::CONVERGE, || {
        status(&wrong)["replication_last_poll_error"].as_str().is_some_and(|e| {
            e.starts_with("Master rejected replication request: ") && e.contains(r#""error_code":"unauthorized""#)
        })
    }));
    assert_eq!(status_u64(&wrong, "replayed_lsn"), 2);
}

/// Entries big enough that the byte budget, not `limit`, ends every page:
/// the slave still gets all of them, in order.
#[test]
fn pages_cut_by_the_byte_budget_still_converge() {
    let master = Server::start(&["--max-request-bytes=1000000", "--max-response-bytes=300000"]);
    let mut c = master.client();
    for batch in 0..12u64 {
        let items: Vec<String> =
            (0..5000).map(|k| format!("[{},{},{}]", k * 13 + batch, 20260101 + (k + batch) % 28, k % 17 + 1)).collect();
        write(&mut c, &format!(r#"{{"v":2,"op":"series.batch_add","series":"wide","items":[{}]}}"#, items.join(",")));
        write(
            &mut c,
            &format!(r#"{{"v":2,"op":"counter.increment","series":"narrow","key":{batch},"bucket":20260505}}"#),
        );
    }
    let page = call(&master, r#"{"v":2,"op":"replication.entries","after_lsn":0,"limit":1000}"#);
    assert_eq!(page["byte_limit"], 297952);
    assert_eq!(page["truncated_by_bytes"], true);
    assert!(page["count"].as_u64() < Some(24), "{}", page["count"]);
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &["--max-response-bytes=300000"]);
    assert_converged(&master, &slave, true);
    assert_eq!(status_u64(&slave, "replication_entries_applied"), 24);
}

#[test]
fn idempotency_and_committed_streams_replicate_and_survive_promotion() {
    let master = Server::start(&[]);
    let keyed =
        r#"{"v":2,"op":"counter.increment","series":"p","key":1,"bucket":20260501,"value":3,"idempotency_key":"once"}"#;
    assert_eq!(master.request(keyed), common::ok_idem("3", false));
    master.request(r#"{"v":2,"op":"ingest.begin","stream_id":"s1","mode":"add"}"#);
    master
        .request(r#"{"v":2,"op":"ingest.chunk","series":"p","stream_id":"s1","chunk_seq":1,"items":[[2,20260501,4]]}"#);
    master.request(r#"{"v":2,"op":"ingest.commit","stream_id":"s1"}"#);
    let slave_dir = temp_dir();
    let mut slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert_converged(&master, &slave, true);
    let stats = slave.request(r#"{"v":2,"op":"system.stats"}"#);
    assert!(stats.contains(r#""idempotency_record_count":1,"#), "{stats}");
    assert!(stats.contains(r#""idempotency_committed_stream_count":1"#), "{stats}");
    // Promote: restart the slave's directory as a master.
    slave.kill9();
    let promoted = Server::start_in(slave_dir.path(), &[]);
    assert_eq!(promoted.request(keyed), common::ok_idem("3", true));
    assert_eq!(
        promoted.request(r#"{"v":2,"op":"ingest.commit","stream_id":"s1"}"#),
        ok(
            r#"{"stream_id":"s1","mode":"add","series":"p","granularity":null,"status":"already_committed","last_chunk_seq":1}"#
        )
    );
    assert_eq!(promoted.request(r#"{"v":2,"op":"counter.sum","series":"p","key":1}"#), ok("3"));
    assert_eq!(promoted.request(r#"{"v":2,"op":"counter.sum","series":"p","key":2}"#), ok("4"));
}
