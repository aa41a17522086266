//! Idempotency keys over real TCP and real restarts (docs/protocol.md, Idempotency;
//! docs/storage.md, Idempotency and ingest snapshot / The write-ahead log): the field rules, every
//! eligible op run once and replayed from its record, conflicts, failures that leave the key
//! free, records surviving `kill -9`, records written by Karma 1.0,
//! pruning by count, by age and by `idempotency.prune`.
mod common;
use common::{err, expected_stats, fingerprint_of, ok, ok_idem, response, stat_values, temp_dir, Server};
use serde_json::{json, Value};

#[path = "idempotency/ops.rs"]
mod ops;
#[path = "idempotency/persistence.rs"]
mod persistence;
#[path = "idempotency/retention.rs"]
mod retention;

/// The worked example of docs/protocol.md, Fingerprints and its fingerprint.
const EXAMPLE: &str = r#"{"v":2,"op":"counter.increment","series":"usage","key":101,"bucket":20260529,"value":2"#;
const EXAMPLE_FP: &str = "00efa1dcd02ad1bb399c2131de3a2ae29a340f7dc629c33809641d0a6bd46e14";

/// `EXAMPLE` with `extra` appended before the closing brace.
fn example(extra: &str) -> String {
    format!("{EXAMPLE}{extra}}}")
}

fn conflict() -> String {
    err("idempotency_conflict", "Idempotency key was already used with a different request")
}

fn validation(message: &str) -> String {
    err("validation_error", message)
}

/// The whole series as `tree.series` over all of 2026, parsed (key order
/// does not matter to `Value` equality).
fn series_state(server: &Server, series: &str) -> Value {
    response(&server.request(&format!(
        r#"{{"v":2,"op":"tree.series","series":"{series}","range":{{"from":20260101,"to":20261231}}}}"#
    )))
}

fn wal_lsn(server: &Server) -> Value {
    stat_values(server, &["wal_current_lsn"]).remove(0).1
}

/// The records of `karma.idempotency.json` as served by
/// `idempotency.snapshot_fetch_chunk` (after a `snapshot.create_all`).
fn snapshot_records(server: &Server) -> Vec<Value> {
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    let chunk = response(&server.request(r#"{"v":2,"op":"idempotency.snapshot_fetch_chunk"}"#));
    assert_eq!(chunk["done"], json!(true), "{chunk}");
    let text = chunk["data_base64"].as_str().expect("data_base64");
    let data = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text).expect("base64");
    let document: Value = serde_json::from_slice(&data).expect("karma.idempotency.json is JSON");
    document["records"].as_array().expect("records").clone()
}

#[test]
fn transcript_of_the_reference() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut q = |line: &str| c.request(line).unwrap();
    let first =
        r#"{"v":2,"op":"counter.increment","series":"s1","key":42,"bucket":20260505,"value":5,"idempotency_key":"k1"}"#;
    assert_eq!(q(first), ok_idem("5", false));
    assert_eq!(q(first), ok_idem("5", true));
    assert_eq!(
        q(
            r#"{"v":2,"op":"counter.increment","series":"s1","key":42,"bucket":20260505,"value":6,"idempotency_key":"k1"}"#
        ),
        conflict()
    );
    assert_eq!(
        q(
            r#"{"v":2,"op":"series.batch_add","series":"usage","items":[[1,20260501,5]],"idempotency_key":"ba","fingerprint":"abc"}"#
        ),
        err("idempotency_conflict", "Field fingerprint does not match request fingerprint")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"series.batch_add","series":"usage","items":[[1,20260501,5]],"idempotency_key":""}"#),
        validation("Field idempotency_key must not be empty")
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"s1","key":42}"#), ok("5"));
    // A keyed non-eligible op ignores the key and carries no flag.
    assert_eq!(q(r#"{"v":2,"op":"tree.create","series":"t","idempotency_key":""}"#), ok(r#""OK""#));
    assert_eq!(
        q(r#"{"v":2,"op":"idempotency.prune","before":"2099-01-01T00:00:00Z","limit":1}"#),
        ok(r#"{"deleted":1}"#)
    );
    assert_eq!(q(first), ok_idem("5", false));
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"s1","key":42}"#), ok("10"));
}

#[test]
fn request_field_rules() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut q = |line: &str| c.request(line).unwrap();
    // The test's own canonical text reproduces the vector of docs/protocol.md, Fingerprints.
    assert_eq!(
        fingerprint_of(&["command:s:9:increment", "series:s:5:usage", "key:u:101", "bucket:u:20260529", "value:u:2"]),
        EXAMPLE_FP
    );

    // idempotency_key: empty, 256 and 257 bytes, wrong types.
    assert_eq!(q(&example(r#","idempotency_key":"""#)), validation("Field idempotency_key must not be empty"));
    let k256 = "k".repeat(256);
    let k257 = "k".repeat(257);
    assert_eq!(
        q(&example(&format!(r#","idempotency_key":"{k257}""#))),
        validation("Field idempotency_key exceeds max size")
    );
    assert_eq!(q(&example(&format!(r#","idempotency_key":"{k256}""#))), ok_idem("2", false));
    assert_eq!(q(&example(&format!(r#","idempotency_key":"{k256}""#))), ok_idem("2", true));
    for bad in ["1.5", "null", "true", "[]", "{}"] {
        assert_eq!(
            q(&example(&format!(r#","idempotency_key":{bad}"#))),
            validation("Field idempotency_key must be a string or integer"),
            "idempotency_key {bad}"
        );
    }
    // An integer key is its decimal string.
    assert_eq!(q(&example(r#","idempotency_key":77"#)), ok_idem("2", false));
    assert_eq!(q(&example(r#","idempotency_key":"77""#)), ok_idem("2", true));

    // fingerprint: empty, too long, mismatched, wrong types, integer, correct.
    assert_eq!(
        q(&example(r#","idempotency_key":"f1","fingerprint":"""#)),
        validation("Field fingerprint must not be empty")
    );
    assert_eq!(
        q(&example(&format!(r#","idempotency_key":"f1","fingerprint":"{}""#, "a".repeat(513)))),
        validation("Field fingerprint exceeds max size")
    );
    let mismatch = err("idempotency_conflict", "Field fingerprint does not match request fingerprint");
    assert_eq!(q(&example(&format!(r#","idempotency_key":"f1","fingerprint":"{}""#, "a".repeat(512)))), mismatch);
    assert_eq!(q(&example(r#","idempotency_key":"f1","fingerprint":123"#)), mismatch);
    assert_eq!(
        q(&example(&format!(r#","idempotency_key":"f1","fingerprint":"{}""#, EXAMPLE_FP.to_uppercase()))),
        mismatch
    );
    for bad in ["1.5", "null", "false", "[]"] {
        assert_eq!(
            q(&example(&format!(r#","idempotency_key":"f1","fingerprint":{bad}"#))),
            validation("Field fingerprint must be a string or integer"),
            "fingerprint {bad}"
        );
    }
    // The key is checked before the fingerprint.
    assert_eq!(
        q(&example(r#","idempotency_key":"","fingerprint":"""#)),
        validation("Field idempotency_key must not be empty")
    );
    assert_eq!(q(&example(&format!(r#","idempotency_key":"f1","fingerprint":"{EXAMPLE_FP}""#))), ok_idem("2", false));
    assert_eq!(q(&example(&format!(r#","idempotency_key":"f1","fingerprint":"{EXAMPLE_FP}""#))), ok_idem("2", true));
    assert_eq!(q(&example(r#","idempotency_key":"f1""#)), ok_idem("2", true));
    // The mismatch check runs before the record lookup.
    assert_eq!(q(&example(r#","idempotency_key":"f1","fingerprint":"abc""#)), mismatch);

    // idempotency_created_at_unix: an integer >= 0.
    for bad in [r#""1795245230""#, "1.5", "null", "[]"] {
        assert_eq!(
            q(&example(&format!(r#","idempotency_key":"c1","idempotency_created_at_unix":{bad}"#))),
            validation("Field idempotency_created_at_unix must be an integer"),
            "idempotency_created_at_unix {bad}"
        );
    }
    assert_eq!(
        q(&example(r#","idempotency_key":"c1","idempotency_created_at_unix":-1"#)),
        validation("Field idempotency_created_at_unix must be greater than or equal to 0")
    );
    assert_eq!(q(&example(r#","idempotency_key":"c1","idempotency_created_at_unix":0"#)), ok_idem("2", false));

    // Without idempotency_key the other two fields are not read at all.
    assert_eq!(q(&example(r#","fingerprint":1.5,"idempotency_created_at_unix":"x""#)), ok("2"));
    assert_eq!(q(&example(r#","fingerprint":"abc""#)), ok("2"));

    // Other ops: types are checked, then the fields are ignored.
    assert_eq!(
        q(&format!(r#"{{"v":2,"op":"tree.create","series":"t","idempotency_key":"{k257}","fingerprint":"abc"}}"#)),
        ok(r#""OK""#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.create","series":"t","idempotency_key":1.5}"#),
        validation("Field idempotency_key must be a string or integer")
    );
    assert_eq!(
        q(
            r#"{"v":2,"op":"counter.sum","series":"usage","key":101,"idempotency_key":"r","idempotency_created_at_unix":-5}"#
        ),
        validation("Field idempotency_created_at_unix must be greater than or equal to 0")
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"usage","key":101,"idempotency_key":"r"}"#), ok("12"));

    // Command fields are parsed and validated before the idempotency fields.
    assert_eq!(
        q(r#"{"v":2,"op":"counter.increment","series":"usage","idempotency_key":1.5}"#),
        validation("Field key is required")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.increment","series":"usage","key":1,"value":0,"idempotency_key":""}"#),
        validation("Field value must be greater than 0")
    );

    // Six applications: k256, 77, f1, c1 and the two unkeyed ones.
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"usage","key":101}"#), ok("12"));
    assert_eq!(
        stat_values(
            &server,
            &["idempotency_record_count", "idempotency_hits", "idempotency_conflicts", "idempotency_write_count"]
        ),
        expected_stats(&[
            ("idempotency_record_count", 4),
            ("idempotency_hits", 4),
            // Fingerprint mismatches do not count as conflicts.
            ("idempotency_conflicts", 0),
            ("idempotency_write_count", 4),
        ])
    );
}

#[test]
fn keyed_writes_are_refused_for_the_read_token_and_on_a_slave() {
    let server = Server::start(&["--auth-token=W", "--read-auth-token=R"]);
    assert_eq!(
        server.request(&example(r#","idempotency_key":"a","token":"R""#)),
        err("forbidden", "Read-only token cannot execute command increment")
    );
    assert_eq!(server.request(&example(r#","idempotency_key":"a","token":"W""#)), ok_idem("2", false));
    // A replay with the read token is still forbidden, not a hit.
    assert_eq!(
        server.request(&example(r#","idempotency_key":"a","token":"R""#)),
        err("forbidden", "Read-only token cannot execute command increment")
    );
    assert_eq!(server.request(&example(r#","idempotency_key":"a","token":"x""#)), err("unauthorized", "Unauthorized"));
    let slave = Server::start(&["--role=slave"]);
    assert_eq!(
        slave.request(&example(r#","idempotency_key":"a""#)),
        err("forbidden", "Slave role cannot execute command increment")
    );
}

#[test]
fn failed_requests_never_occupy_the_key() {
    let server = Server::start(&[]);
    let half = i64::MAX;
    // Key 1 of "f" holds u64::MAX - 1 (the wire takes at most i64::MAX).
    assert_eq!(
        server.request(&format!(
            r#"{{"v":2,"op":"series.batch_add","series":"f","items":[[1,20260501,{half}],[1,20260501,{half}]]}}"#
        )),
        ok(r#"{"applied":2,"total":18446744073709551614}"#)
    );
    // Overflow: refused, nothing stored; the key then runs a valid request.
    assert_eq!(
        server.request(
            r#"{"v":2,"op":"counter.increment","series":"f","key":1,"bucket":20260501,"value":2,"idempotency_key":"o"}"#
        ),
        validation("Counter overflow key=1 bucket=20260501")
    );
    assert_eq!(
        server
            .request(r#"{"v":2,"op":"series.batch_add","series":"f","items":[[1,20260501,2]],"idempotency_key":"o2"}"#),
        validation("Counter overflow in batch item key=1 bucket=20260501")
    );
    let valid =
        r#"{"v":2,"op":"counter.increment","series":"f","key":1,"bucket":20260501,"value":1,"idempotency_key":"o"}"#;
    assert_eq!(server.request(valid), ok_idem("1", false));
    assert_eq!(server.request(valid), ok_idem("1", true));
    let valid2 = r#"{"v":2,"op":"series.batch_add","series":"f","items":[[2,20260501,1]],"idempotency_key":"o2"}"#;
    assert_eq!(server.request(valid2), ok_idem(r#"{"applied":1,"total":1}"#, false));
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"f","key":1}"#), ok("18446744073709551615"));

    // A missing series for batch_reset / batch_delete_range: not_found, and
    // the same key (same request) runs once the series exists.
    let reset = r#"{"v":2,"op":"counter.batch_reset","series":"later","keys":[1,2],"idempotency_key":"r"}"#;
    let delete = r#"{"v":2,"op":"counter.batch_delete_range","series":"later","keys":[1],"range":{"from":20260501,"to":20260501},"idempotency_key":"d"}"#;
    assert_eq!(server.request(reset), err("not_found", "Tree \"later\" not found"));
    assert_eq!(server.request(delete), err("not_found", "Tree \"later\" not found"));
    assert_eq!(server.request(reset), err("not_found", "Tree \"later\" not found"));
    assert_eq!(
        server.request(r#"{"v":2,"op":"series.batch_add","series":"later","items":[[1,20260501,3],[2,20260502,4]]}"#),
        ok(r#"{"applied":2,"total":7}"#)
    );
    assert_eq!(server.request(delete), ok_idem(r#"{"deleted":1,"missing":0}"#, false));
    assert_eq!(server.request(reset), ok_idem(r#"{"reset":1,"missing":1}"#, false));
    assert_eq!(server.request(reset), ok_idem(r#"{"reset":1,"missing":1}"#, true));
    // A hit is not re-validated against the current state.
    assert_eq!(server.request(r#"{"v":2,"op":"tree.drop","series":"later"}"#), ok(r#""OK""#));
    assert_eq!(server.request(reset), ok_idem(r#"{"reset":1,"missing":1}"#, true));
    assert_eq!(server.request(delete), ok_idem(r#"{"deleted":1,"missing":0}"#, true));
    assert_eq!(
        server.request(r#"{"v":2,"op":"tree.info","series":"later"}"#),
        err("not_found", "Tree \"later\" not found")
    );

    // A validation error with a key stores nothing either.
    assert_eq!(
        server
            .request(r#"{"v":2,"op":"series.batch_add","series":"f","items":[[2,20260501,0]],"idempotency_key":"z"}"#),
        validation("Batch item value must be greater than 0")
    );
    assert_eq!(
        server
            .request(r#"{"v":2,"op":"series.batch_add","series":"f","items":[[2,20260501,1]],"idempotency_key":"z"}"#),
        ok_idem(r#"{"applied":1,"total":1}"#, false)
    );
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"f","key":2}"#), ok("2"));
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_write_count", "idempotency_conflicts"]),
        expected_stats(&[
            ("idempotency_record_count", 5),
            ("idempotency_write_count", 5),
            ("idempotency_conflicts", 0)
        ])
    );
}

/// Without `bucket` an increment fingerprints today's UTC day (docs/protocol.md, Fingerprints), so
/// the same increment sent with today's date explicitly is the same
/// request, and another day is a conflict.
#[test]
fn keyed_increment_without_bucket_fingerprints_today() {
    let server = Server::start(&[]);
    for attempt in 0.. {
        let today = karma::store::Bucket::today();
        let key = format!("today-{attempt}");
        let series = format!("t{attempt}");
        let line =
            format!(r#"{{"v":2,"op":"counter.increment","series":"{series}","key":7,"idempotency_key":"{key}"}}"#);
        let first = server.request(&line);
        if karma::store::Bucket::today() != today && attempt < 3 {
            continue; // UTC midnight passed meanwhile.
        }
        assert_eq!(first, ok_idem("1", false));
        let day = today.yyyymmdd();
        let dashed = format!("{}-{:02}-{:02}", day / 10000, day / 100 % 100, day % 100);
        let expected_fp = fingerprint_of(&[
            "command:s:9:increment",
            &format!("series:s:{}:{series}", series.len()),
            "key:u:7",
            &format!("bucket:u:{day}"),
            "value:u:1",
        ]);
        for same in [
            format!(
                r#"{{"v":2,"op":"counter.increment","series":"{series}","key":7,"bucket":{day},"idempotency_key":"{key}"}}"#
            ),
            format!(
                r#"{{"v":2,"op":"counter.increment","series":"{series}","key":7,"bucket":"{dashed}","value":1,"idempotency_key":"{key}"}}"#
            ),
            format!(
                r#"{{"v":2,"op":"counter.increment","series":"{series}","key":7,"idempotency_key":"{key}","fingerprint":"{expected_fp}"}}"#
            ),
        ] {
            assert_eq!(server.request(&same), ok_idem("1", true), "{same}");
        }
        assert_eq!(
            server.request(&format!(
                r#"{{"v":2,"op":"counter.increment","series":"{series}","key":7,"bucket":20200101,"idempotency_key":"{key}"}}"#
            )),
            conflict()
        );
        assert_eq!(
            server.request(&format!(
                r#"{{"v":2,"op":"counter.sum","series":"{series}","key":7,"range":{{"from":{day},"to":{day}}}}}"#
            )),
            ok("1")
        );
        break;
    }
}

#[test]
fn retry_storm_applies_each_keyed_increment_once() {
    let server = Server::start(&["--wal-fsync=false"]);
    let addr = server.addr;
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = karma::client::Connection::connect(addr, Some(std::time::Duration::from_secs(30))).unwrap();
                for _round in 0..5 {
                    for i in 0..1000 {
                        let line = format!(
                            r#"{{"v":2,"op":"counter.increment","series":"storm","key":{},"bucket":20260501,"idempotency_key":"k{i}"}}"#,
                            i % 10
                        );
                        let reply = c.request(&line).unwrap();
                        assert!(reply.contains(r#""success":true"#), "{reply}");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        server.request(r#"{"v":2,"op":"tree.summary","series":"storm"}"#),
        ok(r#"{"tree":"storm","total":1000,"active_keys":10,"bucket_count":10}"#)
    );
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_hits", "idempotency_write_count"]),
        expected_stats(&[
            ("idempotency_record_count", 1000),
            ("idempotency_hits", 39_000),
            ("idempotency_write_count", 1000)
        ])
    );
}
