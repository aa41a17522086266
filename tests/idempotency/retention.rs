//! Retention (docs/protocol.md, Idempotency / idempotency.prune): pruning by count and by age, and
//! `idempotency.prune`.
use super::*;
use crate::common::unix_now;
use std::time::Duration;

/// docs/protocol.md, Idempotency: pruning also runs when records are loaded at startup,
/// and each drop adds 1 to `idempotency_pruned`.
#[test]
fn records_pruned_at_load_count_in_idempotency_pruned() {
    let temp = temp_dir();
    let now = unix_now();
    let record = |key: &str, at: i64| {
        format!(
            r#"{{"key":"{key}","operation":"increment","fingerprint":"{EXAMPLE_FP}","response":2,"created_at_unix":{at}}}"#
        )
    };
    let document = format!(
        "{{\"records\":[{},{},{}],\"committed_streams\":[]}}\n",
        record("ancient", now - 8 * 86400),
        record("older", now - 120),
        record("recent", now - 60)
    );
    std::fs::write(temp.path().join("karma.idempotency.json"), document).unwrap();
    // Age prunes "ancient", then the count limit evicts "older".
    let server = Server::start_in(temp.path(), &["--idempotency-max-records=1"]);
    assert_eq!(server.request(&example(r#","idempotency_key":"recent""#)), ok_idem("2", true));
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_pruned"]),
        expected_stats(&[("idempotency_record_count", 1), ("idempotency_pruned", 2)])
    );
}

#[test]
fn pruning_by_max_records() {
    let server = Server::start(&["--idempotency-max-records=2"]);
    let inc = |key: &str| {
        server.request(&format!(
            r#"{{"v":2,"op":"counter.increment","series":"p","key":1,"bucket":20260501,"idempotency_key":"{key}"}}"#
        ))
    };
    assert_eq!(inc("a"), ok_idem("1", false));
    assert_eq!(inc("b"), ok_idem("1", false));
    assert_eq!(inc("a"), ok_idem("1", true));
    // The third key evicts the oldest (insertion order, not last use).
    assert_eq!(inc("c"), ok_idem("1", false));
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_pruned"]),
        expected_stats(&[("idempotency_record_count", 2), ("idempotency_pruned", 1)])
    );
    assert_eq!(inc("a"), ok_idem("1", false)); // evicts b
    assert_eq!(inc("c"), ok_idem("1", true));
    assert_eq!(inc("b"), ok_idem("1", false)); // evicts c
    assert_eq!(inc("a"), ok_idem("1", true));
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"p","key":1}"#), ok("5"));
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_pruned", "idempotency_write_count"]),
        expected_stats(&[("idempotency_record_count", 2), ("idempotency_pruned", 3), ("idempotency_write_count", 5)])
    );
}

/// Age pruning (docs/protocol.md, Idempotency). A live request's `idempotency_created_at_unix` is
/// accepted and ignored (the record gets the server's time); a record
/// expires once `max_age` has passed; WAL entries carrying
/// `idempotency_created_at_unix` (as Karma 1.0 logs them when a client
/// sent one) replay with that time, so old ones expire at startup.
#[test]
fn pruning_by_max_age() {
    // Live: the client's time is ignored.
    let server = Server::start(&["--idempotency-max-age-seconds=3600"]);
    let before = unix_now();
    assert_eq!(
        server.request(&example(r#","idempotency_key":"client-old","idempotency_created_at_unix":1"#)),
        ok_idem("2", false)
    );
    let after = unix_now();
    assert_eq!(server.request(&example(r#","idempotency_key":"next""#)), ok_idem("2", false));
    assert_eq!(server.request(&example(r#","idempotency_key":"client-old""#)), ok_idem("2", true));
    let records = snapshot_records(&server);
    let created = records[0]["created_at_unix"].as_i64().unwrap();
    assert_eq!(records[0]["key"], json!("client-old"));
    assert!((before..=after).contains(&created), "{created} not in {before}..={after}");
    assert_eq!(stat_values(&server, &["idempotency_pruned"]), expected_stats(&[("idempotency_pruned", 0)]));
    drop(server);

    // Live: a record expires once created_at < now - max_age.
    let server = Server::start(&["--idempotency-max-age-seconds=1"]);
    assert_eq!(server.request(&example(r#","idempotency_key":"a""#)), ok_idem("2", false));
    let created = unix_now();
    assert_eq!(server.request(&example(r#","idempotency_key":"a""#)), ok_idem("2", true));
    while unix_now() < created + 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.request(&example(r#","idempotency_key":"b""#)), ok_idem("2", false));
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_pruned"]),
        expected_stats(&[("idempotency_record_count", 1), ("idempotency_pruned", 1)])
    );
    assert_eq!(server.request(&example(r#","idempotency_key":"a""#)), ok_idem("2", false));
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"usage","key":101}"#), ok("6"));
    drop(server);

    // Replay: entries with idempotency_created_at_unix keep that time.
    let temp = temp_dir();
    let now = unix_now();
    let wal = format!(
        concat!(
            r#"{{"v":2,"lsn":1,"entry":{{"v":2,"op":"counter.increment","series":"w","key":1,"bucket":20260501,"value":1,"idempotency_key":"old","idempotency_created_at_unix":{old}}}}}"#,
            "\n",
            r#"{{"v":2,"lsn":2,"entry":{{"v":2,"op":"counter.increment","series":"w","key":1,"bucket":20260501,"value":2,"idempotency_key":"new","idempotency_created_at_unix":{new}}}}}"#,
            "\n"
        ),
        old = now - 1000,
        new = now - 10
    );
    std::fs::write(temp.path().join("karma.wal"), wal).unwrap();
    let server = Server::start_in(temp.path(), &["--idempotency-max-age-seconds=100"]);
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"w","key":1}"#), ok("3"));
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_pruned"]),
        expected_stats(&[("idempotency_record_count", 1), ("idempotency_pruned", 1)])
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"counter.increment","series":"w","key":1,"bucket":20260501,"value":2,"idempotency_key":"new"}"#),
        ok_idem("2", true)
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"counter.increment","series":"w","key":1,"bucket":20260501,"value":1,"idempotency_key":"old"}"#),
        ok_idem("1", false)
    );
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"w","key":1}"#), ok("4"));
    let records = snapshot_records(&server);
    assert_eq!(records.len(), 2);
    assert_eq!((records[0]["key"].clone(), records[0]["created_at_unix"].clone()), (json!("new"), json!(now - 10)));
}

#[test]
fn idempotency_prune_op() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &["--idempotency-max-age-seconds=0"]);
    let keyed = |server: &Server, key: &str| {
        server.request(&format!(
            r#"{{"v":2,"op":"counter.increment","series":"p","key":1,"bucket":20260501,"idempotency_key":"{key}"}}"#
        ))
    };
    let prune =
        |server: &Server, fields: &str| server.request(&format!(r#"{{"v":2,"op":"idempotency.prune",{fields}}}"#));
    let t0 = unix_now();
    for key in ["p1", "p2", "p3"] {
        assert_eq!(keyed(&server, key), ok_idem("1", false));
    }
    let deleted = |n: u64| ok(&format!(r#"{{"deleted":{n}}}"#));
    assert_eq!(prune(&server, r#""before":0"#), deleted(0));
    assert_eq!(prune(&server, &format!(r#""before":{t0}"#)), deleted(0));
    assert_eq!(prune(&server, r#""before":"1970-01-01T00:00:00Z""#), deleted(0));
    // Oldest first, at most `limit`.
    assert_eq!(prune(&server, r#""before":"2099-01-01T00:00:00Z","limit":1"#), deleted(1));
    assert_eq!(keyed(&server, "p2"), ok_idem("1", true));
    assert_eq!(keyed(&server, "p1"), ok_idem("1", false)); // p1 ran again: now newest
    assert_eq!(prune(&server, r#""before":"2099-01-01 00:00:00.5+02:00","limit":1"#), deleted(1));
    assert_eq!(keyed(&server, "p3"), ok_idem("1", true));
    assert_eq!(prune(&server, r#""before":"2099-01-01t00:00:00-05:30","limit":100000"#), deleted(2));
    assert_eq!(keyed(&server, "p3"), ok_idem("1", false));
    assert_eq!(prune(&server, &format!(r#""before":{}"#, unix_now() + 5)), deleted(1));
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_pruned"]),
        expected_stats(&[("idempotency_record_count", 0), ("idempotency_pruned", 5)])
    );
    // Logged with `before` as Unix seconds, whatever the client sent.
    let entries = response(&server.request(r#"{"v":2,"op":"replication.entries","after_lsn":0}"#));
    let prunes: Vec<Value> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"].clone())
        .filter(|e| e["op"] == json!("idempotency.prune"))
        .collect();
    assert_eq!(
        prunes[..6],
        [
            json!({"v":2,"op":"idempotency.prune","before":0}),
            json!({"v":2,"op":"idempotency.prune","before":t0}),
            json!({"v":2,"op":"idempotency.prune","before":0}),
            json!({"v":2,"op":"idempotency.prune","before":4070908800u64,"limit":1}),
            json!({"v":2,"op":"idempotency.prune","before":4070901600u64,"limit":1}),
            json!({"v":2,"op":"idempotency.prune","before":4070928600u64,"limit":100000}),
        ]
    );
    // Replay: records come back from their lines and the prune lines
    // remove them again.
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"p","key":1}"#), ok("5"));
    server.kill9();
    let server = Server::start_in(temp.path(), &["--idempotency-max-age-seconds=0"]);
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"p","key":1}"#), ok("5"));
    assert_eq!(stat_values(&server, &["idempotency_record_count"]), expected_stats(&[("idempotency_record_count", 0)]));
    assert_eq!(keyed(&server, "p2"), ok_idem("1", false));

    // Errors.
    for (fields, message) in [
        (r#""limit":1"#, "Field before is required"),
        (r#""before":"2026-05-29""#, "Field before must be an ISO8601 timestamp"),
        (r#""before":"2026-05-29T00:00:00""#, "Field before must be an ISO8601 timestamp"),
        (r#""before":"2026-05-29T00:00:00+0200""#, "Field before must be an ISO8601 timestamp"),
        (r#""before":"yesterday""#, "Field before must be an ISO8601 timestamp"),
        (r#""before":1.5"#, "Field before must be an integer or ISO8601 timestamp"),
        (r#""before":null"#, "Field before must be an integer or ISO8601 timestamp"),
        (r#""before":true"#, "Field before must be an integer or ISO8601 timestamp"),
        (r#""before":[1]"#, "Field before must be an integer or ISO8601 timestamp"),
        (r#""before":-1"#, "Field before must be greater than or equal to 0"),
        (r#""before":1,"limit":0"#, "Field limit must be greater than 0"),
        (r#""before":1,"limit":100001"#, "Field limit exceeds max size"),
    ] {
        assert_eq!(prune(&server, fields), validation(message), "{fields}");
    }
    drop(server);
    let server = Server::start(&["--auth-token=W", "--read-auth-token=R"]);
    assert_eq!(
        prune(&server, r#""before":1,"token":"R""#),
        err("forbidden", "Read-only token cannot execute command idempotency_prune")
    );
    assert_eq!(prune(&server, r#""before":1,"token":"W""#), deleted(0));
    let slave = Server::start(&["--role=slave"]);
    assert_eq!(prune(&slave, r#""before":1"#), err("forbidden", "Slave role cannot execute command idempotency_prune"));
}
