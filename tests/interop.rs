//! Interop with Karma 1.0 through the data directory and the replication
//! wire: series names with `%` keep their snapshot file names verbatim, so
//! both implementations read them as the same series; names Karma 1.0
//! cannot store stay escaped; directories written with the older escaping
//! still load. Karma 1.0 directories are built byte by byte from docs/storage.md.
mod common;
mod replication_common;

use common::{ok, snapshot_file_bytes, temp_dir, Server};
use replication_common::{assert_converged, call, start_slave};
use serde_json::Value;
use std::path::Path;

const PERCENT_NAMES: [&str; 3] = ["50%", "utm%20source", "cpu%2Fload"];

fn increment(series: &str, key: u64, value: u64) -> String {
    let series = serde_json::to_string(series).unwrap();
    format!(r#"{{"v":2,"op":"counter.increment","series":{series},"key":{key},"bucket":20260501,"value":{value}}}"#)
}

fn sum(server: &Server, series: &str, key: u64) -> String {
    let series = serde_json::to_string(series).unwrap();
    server.request(&format!(r#"{{"v":2,"op":"counter.sum","series":{series},"key":{key}}}"#))
}

fn series_names(server: &Server) -> Vec<String> {
    let list = call(server, r#"{"v":2,"op":"tree.list"}"#);
    let mut names: Vec<String> = list.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

/// `(series part of the file name, sidecar tree)` of every `.tree` in `dir`.
fn snapshot_names(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = file.strip_suffix(".tree") else { continue };
        let sidecar: Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{file}.meta.json"))).unwrap()).unwrap();
        let (prefix, series) = stem.split_once('_').unwrap();
        found.push((
            format!("{}_{series}", if prefix.starts_with('0') { "0" } else { "" }),
            sidecar["tree"].to_string(),
        ));
    }
    found.sort();
    found
}

/// Karma 1.0 takes a snapshot's series from its file name, verbatim, and a
/// slave of ours must offer it files whose name and metadata agree.
fn assert_karma_reads_the_names_offered(server: &Server) {
    let info = call(server, r#"{"v":2,"op":"snapshot.info"}"#);
    for latest in info["latest_by_tree"].as_array().unwrap() {
        let file = latest["file"].as_str().unwrap();
        let series = latest["tree"].as_str().unwrap();
        if series.contains('/') {
            continue; // Karma 1.0 cannot store such a name at all.
        }
        let verbatim = file.strip_suffix(".tree").and_then(|stem| stem.split_once('_')).unwrap().1;
        assert_eq!(verbatim, series, "{latest}");
    }
}

#[test]
fn percent_names_round_trip_snapshot_restart_and_bootstrap() {
    let dir = temp_dir();
    let mut master = Server::start_in(dir.path(), &[]);
    for (i, series) in PERCENT_NAMES.iter().chain(&["a/b"]).enumerate() {
        master.request(&increment(series, 1, i as u64 + 1));
    }
    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    assert_eq!(
        snapshot_names(dir.path()),
        [
            ("0_a%2Fb", r#""a/b""#),
            ("_50%", r#""50%""#),
            ("_cpu%2Fload", r#""cpu%2Fload""#),
            ("_utm%20source", r#""utm%20source""#),
        ]
        .map(|(file, series)| (file.to_string(), series.to_string()))
    );
    assert_karma_reads_the_names_offered(&master);
    let verified = call(&master, r#"{"v":2,"op":"snapshot.verify"}"#);
    assert_eq!((&verified["status"], &verified["trees"]), (&Value::from("ok"), &Value::from(4)));

    master.kill9();
    let master = Server::start_in(dir.path(), &[]);
    assert_eq!(series_names(&master), ["50%", "a/b", "cpu%2Fload", "utm%20source"]);
    for (i, series) in PERCENT_NAMES.iter().chain(&["a/b"]).enumerate() {
        assert_eq!(sum(&master, series, 1), ok(&(i + 1).to_string()), "{series}");
    }

    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert_converged(&master, &slave, false);
    assert_eq!(series_names(&slave), ["50%", "a/b", "cpu%2Fload", "utm%20source"]);
    assert_eq!(snapshot_names(slave_dir.path()), snapshot_names(dir.path()));
    let verified = call(&slave, r#"{"v":2,"op":"snapshot.verify"}"#);
    assert_eq!(verified["status"], "ok");
    let status = call(&slave, r#"{"v":2,"op":"replication.status"}"#);
    assert_eq!(failed_entries(&status), (Value::from(0), Value::from(0), Value::Null, Value::from(true)));
}

fn write_snapshot(dir: &Path, file: &str, series: Option<&str>, points: &[(u64, u64, u64)], last_lsn: u64) {
    let bytes = snapshot_file_bytes(points);
    std::fs::write(dir.join(file), &bytes).unwrap();
    if let Some(series) = series {
        let timestamp: i64 = file.split_once('_').unwrap().0.parse().unwrap();
        let sidecar = serde_json::json!({"tree": series, "file": file, "timestamp": timestamp, "last_lsn": last_lsn, "bytes": bytes.len()});
        std::fs::write(dir.join(format!("{file}.meta.json")), format!("{sidecar}\n")).unwrap();
    }
}

/// What Karma 1.0 stores as `cpu%2Fload` or `50%25` is that series here
/// too, with or without its sidecar.
#[test]
fn a_karma_directory_with_percent_names_reads_as_karma_reads_it() {
    let dir = temp_dir();
    write_snapshot(dir.path(), "1795245397_cpu%2Fload.tree", Some("cpu%2Fload"), &[(1, 20260501, 3)], 0);
    write_snapshot(dir.path(), "1795245397_50%25.tree", Some("50%25"), &[(1, 20260501, 4)], 0);
    write_snapshot(dir.path(), "1795245397_utm%20source.tree", None, &[(1, 20260501, 5)], 0);
    let wal = r#"{"v":2,"lsn":1,"entry":{"v":2,"op":"counter.increment","series":"50%25","key":1,"bucket":20260501,"value":10}}"#;
    std::fs::write(dir.path().join("karma.wal"), format!("{wal}\n")).unwrap();
    let server = Server::start_in(dir.path(), &[]);
    assert_eq!(series_names(&server), ["50%25", "cpu%2Fload", "utm%20source"]);
    assert_eq!(sum(&server, "cpu%2Fload", 1), ok("3"));
    assert_eq!(sum(&server, "50%25", 1), ok("14"));
    assert_eq!(sum(&server, "utm%20source", 1), ok("5"));
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    assert_karma_reads_the_names_offered(&server);
}

/// Older versions of this server escaped `%` in every name; those files
/// keep their series (through their sidecars) and give way to verbatim
/// names at the next snapshot.
#[test]
fn directories_written_with_the_old_escaping_still_load() {
    let dir = temp_dir();
    write_snapshot(dir.path(), "1795245397_50%25.tree", Some("50%"), &[(1, 20260501, 4)], 2);
    write_snapshot(dir.path(), "1795245397_a%2Fb%25.tree", Some("a/b%"), &[(1, 20260501, 6)], 2);
    write_snapshot(dir.path(), "1795245397_cpu%252Fload.tree", Some("cpu%2Fload"), &[(1, 20260501, 8)], 2);
    let mut server = Server::start_in(dir.path(), &[]);
    assert_eq!(series_names(&server), ["50%", "a/b%", "cpu%2Fload"]);
    assert_eq!(sum(&server, "50%", 1), ok("4"));
    assert_eq!(sum(&server, "a/b%", 1), ok("6"));
    assert_eq!(sum(&server, "cpu%2Fload", 1), ok("8"));
    server.request(&increment("50%", 1, 1));
    assert_eq!(call(&server, r#"{"v":2,"op":"snapshot.verify"}"#)["status"], "ok");
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    assert_karma_reads_the_names_offered(&server);
    server.kill9();
    let server = Server::start_in(dir.path(), &["--dump-retention-per-tree=1"]);
    assert_eq!(series_names(&server), ["50%", "a/b%", "cpu%2Fload"]);
    assert_eq!(sum(&server, "50%", 1), ok("5"));
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    let mut names: Vec<String> = snapshot_names(dir.path()).into_iter().map(|(file, _)| file).collect();
    names.sort();
    assert_eq!(names, ["0_a%2Fb%25", "_50%", "_cpu%2Fload"]);
}

/// A Karma 1.0 master's directory after `ingest.begin`, chunk 1,
/// `snapshot.create_all`, chunk 2, `ingest.commit` (mode `add`): the
/// snapshot holds chunk 1's data at LSN 2; the WAL, truncated by the
/// snapshot, holds chunk 2 and the commit; the open stream was only in
/// Karma 1.0's memory, so nothing on disk says which mode it had.
fn karma_directory_with_a_stream_across_a_snapshot(dir: &Path) {
    write_snapshot(dir, "1795245397_usage.tree", Some("usage"), &[(101, 20260529, 5)], 2);
    std::fs::write(dir.join("karma.idempotency.json"), "{\"records\":[],\"committed_streams\":[]}\n").unwrap();
    std::fs::write(
        dir.join("karma.idempotency.json.meta.json"),
        "{\"file\":\"karma.idempotency.json\",\"timestamp\":1795245397,\"last_lsn\":2,\"bytes\":38,\"record_count\":0,\"committed_stream_count\":0}\n",
    )
    .unwrap();
    let wal = [
        r#"{"v":2,"lsn":3,"entry":{"v":2,"op":"ingest.chunk","stream_id":"import-1","series":"usage","chunk_seq":2,"items":[[103,20260529,7]]}}"#,
        r#"{"v":2,"lsn":4,"entry":{"v":2,"op":"ingest.commit","stream_id":"import-1"}}"#,
    ];
    std::fs::write(dir.join("karma.wal"), wal.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("karma.wal.lsn"), "2\n").unwrap();
}

/// The figures of entries skipped as failed, from `value` (a
/// `replication.status` or `system.stats` reply).
fn failed_entries(value: &Value) -> (Value, Value, Value, Value) {
    (
        value["wal_failed_entries_skipped"].clone(),
        value["wal_last_failed_entry_lsn"].clone(),
        value["wal_last_failed_entry_error"].clone(),
        value["replication_in_sync"].clone(),
    )
}

fn metric(server: &Server, name: &str) -> String {
    let text = call(server, r#"{"v":2,"op":"system.metrics"}"#);
    let prefix = format!("{name} ");
    text.as_str().unwrap().lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or("missing").to_string()
}

/// Error-level `wal.entry_failed` log lines naming `during` and `lsn`,
/// waited for: stderr is read as it comes, so a line the server has written
/// may not have reached the log yet.
fn failed_entry_logged(server: &Server, during: &str, lsn: u64) -> bool {
    common::eventually(std::time::Duration::from_secs(30), || {
        server.log_lines().iter().any(|line| {
            line.contains(r#""level":"error""#)
                && line.contains(r#""event":"wal.entry_failed""#)
                && line.contains(&format!("during={during} lsn={lsn} "))
        })
    })
}

#[test]
fn entries_that_fail_on_replay_and_on_a_slave_are_reported() {
    let dir = temp_dir();
    karma_directory_with_a_stream_across_a_snapshot(dir.path());
    let master = Server::start_in(dir.path(), &[]);
    // Chunk 2 cannot be applied: its stream's mode was lost with the WAL
    // Karma 1.0 truncated. Chunk 1's data is there, chunk 2's is not.
    assert_eq!(sum(&master, "usage", 101), ok("5"));
    assert_eq!(sum(&master, "usage", 103), ok("0"));
    let not_found = Value::from("Ingest stream \"import-1\" not found");
    let reported = (Value::from(2), Value::from(4), not_found, Value::from(false));
    assert_eq!(failed_entries(&call(&master, r#"{"v":2,"op":"system.stats"}"#)), reported);
    assert_eq!(failed_entries(&call(&master, r#"{"v":2,"op":"replication.status"}"#)), reported);
    assert_eq!(metric(&master, "karma_wal_failed_entries_skipped_total"), "2");
    assert_eq!(metric(&master, "karma_wal_last_failed_entry_lsn"), "4");
    assert_eq!(metric(&master, "karma_replication_in_sync"), "0");
    assert!(failed_entry_logged(&master, "replay", 3) && failed_entry_logged(&master, "replay", 4));

    // A slave bootstrapping from it gets the snapshot, then the two entries:
    // it has replayed LSN 4 and has no lag, yet it is not in sync.
    let slave_dir = temp_dir();
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    let replayed = || call(&slave, r#"{"v":2,"op":"replication.status"}"#)["replayed_lsn"] == 4;
    assert!(common::eventually(std::time::Duration::from_secs(30), replayed));
    let status = call(&slave, r#"{"v":2,"op":"replication.status"}"#);
    assert_eq!(status["replication_lag_entries"], 0);
    assert_eq!(status["replication_last_poll_error"], Value::Null);
    assert_eq!(failed_entries(&status), reported);
    assert_eq!(failed_entries(&call(&slave, r#"{"v":2,"op":"system.stats"}"#)), reported);
    assert_eq!(metric(&slave, "karma_replication_in_sync"), "0");
    assert!(failed_entry_logged(&slave, "replication", 3) && failed_entry_logged(&slave, "replication", 4));
    assert_eq!(sum(&slave, "usage", 103), ok("0"));

    // The figures survive restarts: the slave's shutdown snapshot covers
    // LSN 4, so nothing is replayed, yet it still does not claim to be in
    // sync; the master replays the same entries again without counting
    // them twice.
    let mut slave = slave;
    slave.signal("TERM");
    assert_eq!(slave.wait_exit(std::time::Duration::from_secs(30)), Some(0));
    let slave = start_slave(slave_dir.path(), master.addr.port(), &[]);
    assert!(common::eventually(std::time::Duration::from_secs(30), || {
        call(&slave, r#"{"v":2,"op":"replication.status"}"#)["replication_poll_success_count"] != 0
    }));
    assert_eq!(failed_entries(&call(&slave, r#"{"v":2,"op":"replication.status"}"#)), reported);
    let mut master = master;
    master.kill9();
    let master = Server::start_in(dir.path(), &[]);
    assert_eq!(failed_entries(&call(&master, r#"{"v":2,"op":"system.stats"}"#)), reported);
    assert!(failed_entry_logged(&master, "replay", 4));
}
