//! Keys, values and every other unsigned field take the whole u64 range
//! (Karma 1.0 stops at i64::MAX), on every op family, and what is written
//! with them survives kill -9 (WAL replay), snapshots and replication; an
//! acknowledged write whose reply exceeds i64::MAX never stops a restart.
mod common;
mod replication_common;

use common::{err, ok, ok_idem, temp_dir, Server};
use replication_common::{start_slave, CONVERGE};
use serde_json::Value;
use std::path::Path;

/// u64::MAX, 2^63 (the first integer Karma 1.0 cannot read) and 10^19.
const MAX: &str = "18446744073709551615";
const HALF: &str = "9223372036854775808";
const E19: &str = "10000000000000000000";

/// Each write with its exact reply, every number above i64::MAX.
fn writes() -> Vec<(String, String)> {
    vec![
        (
            format!(r#"{{"v":2,"op":"counter.increment","series":"u","key":{MAX},"bucket":20260505,"value":{HALF}}}"#),
            ok(HALF),
        ),
        (
            r#"{"v":2,"op":"counter.increment","series":"u","key":18446744073709551615,"bucket":20260506,"value":9223372036854775807}"#.into(),
            ok("9223372036854775807"),
        ),
        (
            format!(r#"{{"v":2,"op":"counter.increment","series":"u","key":{MAX},"bucket":20260507,"value":1}}"#),
            err("validation_error", &format!("Counter overflow key={MAX} bucket=20260507")),
        ),
        (
            format!(r#"{{"v":2,"op":"counter.increment","series":"d","key":{HALF},"bucket":20260505,"value":{E19}}}"#),
            ok(E19),
        ),
        (format!(r#"{{"v":2,"op":"counter.decrement","series":"d","key":{HALF},"bucket":20260505,"value":1}}"#), ok("1")),
        (
            format!(
                r#"{{"v":2,"op":"series.batch_add","series":"b","items":[[{HALF},20260505,{E19}],[12345678901234567890,20260506,1]]}}"#
            ),
            ok(r#"{"applied":2,"total":10000000000000000001}"#),
        ),
        (
            format!(r#"{{"v":2,"op":"series.batch_set","series":"b","items":[[{MAX},20260507,8000000000000000000]]}}"#),
            ok(r#"{"applied":1}"#),
        ),
        (
            format!(
                r#"{{"v":2,"op":"counter.increment","series":"i","key":{MAX},"bucket":20260505,"value":{MAX},"idempotency_key":"k1"}}"#
            ),
            ok_idem(MAX, false),
        ),
        (section_1_request().into(), ok_idem(r#"{"applied":2,"total":18446744073709551614}"#, false)),
        (format!(r#"{{"v":2,"op":"counter.increment","series":"r","key":{MAX},"bucket":20260505,"value":7}}"#), ok("7")),
        (format!(r#"{{"v":2,"op":"counter.increment","series":"r","key":{HALF},"bucket":20260505,"value":3}}"#), ok("3")),
        (format!(r#"{{"v":2,"op":"counter.reset","series":"r","key":{MAX}}}"#), ok(r#""OK""#)),
        (
            format!(
                r#"{{"v":2,"op":"counter.delete_range","series":"r","key":{HALF},"range":{{"from":20260505,"to":20260505}}}}"#
            ),
            ok("true"),
        ),
        (format!(r#"{{"v":2,"op":"counter.increment","series":"r2","key":{MAX},"bucket":20260505}}"#), ok("1")),
        (
            format!(r#"{{"v":2,"op":"counter.batch_reset","series":"r2","keys":[{MAX},{HALF}]}}"#),
            ok(r#"{"reset":1,"missing":1}"#),
        ),
        (
            r#"{"v":2,"op":"ingest.begin","stream_id":"st","mode":"add"}"#.into(),
            ok(r#"{"stream_id":"st","mode":"add","series":null,"granularity":null,"status":"active","last_chunk_seq":0}"#),
        ),
        (
            format!(
                r#"{{"v":2,"op":"ingest.chunk","stream_id":"st","series":"ing","chunk_seq":{MAX},"items":[[{MAX},20260505,{MAX}]]}}"#
            ),
            err("validation_error", "Field chunk_seq must be the next chunk"),
        ),
        (
            format!(
                r#"{{"v":2,"op":"ingest.chunk","stream_id":"st","series":"ing","chunk_seq":1,"items":[[{MAX},20260505,{MAX}]]}}"#
            ),
            ok(&format!(r#"{{"stream_id":"st","chunk_seq":1,"skipped":false,"applied":1,"total":{MAX}}}"#)),
        ),
        (
            r#"{"v":2,"op":"ingest.commit","stream_id":"st"}"#.into(),
            ok(r#"{"stream_id":"st","status":"committed","last_chunk_seq":1}"#),
        ),
    ]
}

/// The request of the acknowledged write that used to make restarts fail:
/// every number fits an i64, its reply's total does not.
fn section_1_request() -> &'static str {
    r#"{"v":2,"op":"series.batch_add","series":"x1","items":[[1,20260505,9223372036854775807],[2,20260505,9223372036854775807]],"idempotency_key":"e1"}"#
}

/// Reads of every family over what [`writes`] left, with exact replies.
fn reads() -> Vec<(String, String)> {
    let range = r#""range":{"from":20260505,"to":20260507}"#;
    vec![
        (format!(r#"{{"v":2,"op":"counter.sum","series":"u","key":{MAX}}}"#), ok(MAX)),
        (
            format!(
                r#"{{"v":2,"op":"counter.sum","series":"u","key":{MAX},"range":{{"from":20260505,"to":20260505}}}}"#
            ),
            ok(HALF),
        ),
        (
            format!(r#"{{"v":2,"op":"counter.batch_sum","series":"u","keys":[{MAX},{HALF}]}}"#),
            ok(&format!(r#"[{{"key":{MAX},"value":{MAX}}},{{"key":{HALF},"value":0}}]"#)),
        ),
        (
            format!(
                r#"{{"v":2,"op":"counter.multi_sum","items":[{{"series":"u","key":{MAX}}},{{"series":"b","key":{HALF}}}]}}"#
            ),
            ok(&format!(r#"[{{"series":"u","key":{MAX},"value":{MAX}}},{{"series":"b","key":{HALF},"value":{E19}}}]"#)),
        ),
        (
            format!(r#"{{"v":2,"op":"counter.series","series":"u","key":{MAX},{range}}}"#),
            ok(&format!(r#"{{"20260505":{HALF},"20260506":9223372036854775807}}"#)),
        ),
        (
            format!(r#"{{"v":2,"op":"tree.keys","series":"u","cursor":{HALF}}}"#),
            ok(&format!(
                r#"{{"tree":"u","limit":100,"cursor":{HALF},"next_cursor":null,"keys":[{{"key":{MAX},"total":{MAX}}}]}}"#
            )),
        ),
        (
            r#"{"v":2,"op":"tree.keys","series":"b","limit":1}"#.into(),
            ok(&format!(
                r#"{{"tree":"b","limit":1,"cursor":null,"next_cursor":{HALF},"keys":[{{"key":{HALF},"total":{E19}}}]}}"#
            )),
        ),
        (
            r#"{"v":2,"op":"tree.top","series":"b","limit":3}"#.into(),
            ok(&format!(
                r#"{{"tree":"b","limit":3,"items":[{{"key":{HALF},"value":{E19}}},{{"key":{MAX},"value":8000000000000000000}},{{"key":12345678901234567890,"value":1}}]}}"#
            )),
        ),
        (
            r#"{"v":2,"op":"tree.info","series":"b"}"#.into(),
            ok(r#"{"tree":"b","key_count":3,"bucket_count":3,"total":18000000000000000001,"branches":9}"#),
        ),
        (
            format!(r#"{{"v":2,"op":"tree.series","series":"u",{range}}}"#),
            ok(&format!(r#"{{"{MAX}":{{"20260505":{HALF},"20260506":9223372036854775807}}}}"#)),
        ),
        (format!(r#"{{"v":2,"op":"counter.sum","series":"d","key":{HALF}}}"#), ok("9999999999999999999")),
        (r#"{"v":2,"op":"counter.sum","series":"x1","key":2}"#.into(), ok("9223372036854775807")),
        (format!(r#"{{"v":2,"op":"counter.sum","series":"i","key":{MAX}}}"#), ok(MAX)),
        (
            format!(r#"{{"v":2,"op":"counter.batch_sum","series":"r","keys":[{MAX},{HALF}]}}"#),
            ok(&format!(r#"[{{"key":{MAX},"value":0}},{{"key":{HALF},"value":0}}]"#)),
        ),
        (format!(r#"{{"v":2,"op":"counter.sum","series":"r2","key":{MAX}}}"#), ok("0")),
        (format!(r#"{{"v":2,"op":"counter.sum","series":"ing","key":{MAX}}}"#), ok(MAX)),
    ]
}

/// Retries of the idempotent writes: their saved replies, nothing applied.
fn retries() -> Vec<(String, String)> {
    vec![
        (
            format!(
                r#"{{"v":2,"op":"counter.increment","series":"i","key":{MAX},"bucket":20260505,"value":{MAX},"idempotency_key":"k1"}}"#
            ),
            ok_idem(MAX, true),
        ),
        (section_1_request().into(), ok_idem(r#"{"applied":2,"total":18446744073709551614}"#, true)),
    ]
}

fn assert_replies(server: &Server, pairs: &[(String, String)], when: &str) {
    let mut client = server.client();
    for (request, expected) in pairs {
        assert_eq!(&client.request(request).expect("reply"), expected, "{when}: {request}");
    }
}

/// Every integer in the JSON text fits an i64, so Karma 1.0 can parse it.
fn assert_karma_readable(text: &str, what: &str) {
    fn walk(value: &Value, what: &str) {
        match value {
            Value::Number(n) => assert!(n.is_i64() || n.is_f64(), "{what}: {n} is above i64::MAX"),
            Value::Array(items) => items.iter().for_each(|v| walk(v, what)),
            Value::Object(pairs) => pairs.values().for_each(|v| walk(v, what)),
            _ => {}
        }
    }
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        walk(&serde_json::from_str(line).unwrap_or_else(|e| panic!("{what} is not JSON ({e}): {line}")), what);
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

#[test]
fn every_op_family_takes_u64_values_across_kill9_and_snapshots() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_replies(&server, &writes(), "live");
    assert_replies(&server, &reads(), "live");
    assert_replies(&server, &retries(), "live");
    assert!(server.request(r#"{"v":2,"op":"snapshot.verify"}"#).contains(r#""success":true"#));

    server.kill9();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_replies(&server, &reads(), "after kill -9 (WAL replay)");
    assert_replies(&server, &retries(), "after kill -9 (WAL replay)");

    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    let idempotency = read(temp.path(), "karma.idempotency.json");
    assert!(
        idempotency.contains(r#""response_json":"{\"applied\":2,\"total\":18446744073709551614}""#),
        "{idempotency}"
    );
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_replies(&server, &reads(), "after snapshot.create_all and kill -9");
    assert_replies(&server, &retries(), "after snapshot.create_all and kill -9");
}

#[test]
fn an_acknowledged_reply_above_i64_never_stops_a_restart() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(section_1_request()), ok_idem(r#"{"applied":2,"total":18446744073709551614}"#, false));
    let wal = read(temp.path(), "karma.wal");
    assert!(wal.contains(r#""idempotency_response":{"applied":2,"total":1.8446744073709552e19}"#), "{wal}");
    assert!(wal.contains(r#""idempotency_response_json":"{\"applied\":2,\"total\":18446744073709551614}""#), "{wal}");
    assert_karma_readable(&wal, "karma.wal");
    server.kill9();

    let mut server = Server::start_in(temp.path(), &[]);
    let verify = server.request(r#"{"v":2,"op":"snapshot.verify"}"#);
    assert!(verify.contains(r#""success":true"#), "{verify}");
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"x1","key":1}"#), ok("9223372036854775807"));
    assert_eq!(server.request(section_1_request()), ok_idem(r#"{"applied":2,"total":18446744073709551614}"#, true));
    // A series snapshot alone: the record comes back from the WAL entry's
    // saved reply, as the series already holds the write.
    assert!(server.request(r#"{"v":2,"op":"snapshot.create","series":"x1"}"#).contains(r#""success":true"#));
    server.kill9();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(section_1_request()), ok_idem(r#"{"applied":2,"total":18446744073709551614}"#, true));
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"x1","key":2}"#), ok("9223372036854775807"));

    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    assert_karma_readable(&read(temp.path(), "karma.idempotency.json"), "karma.idempotency.json");
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(section_1_request()), ok_idem(r#"{"applied":2,"total":18446744073709551614}"#, true));
    assert!(server.request(r#"{"v":2,"op":"snapshot.verify"}"#).contains(r#""success":true"#));
}

#[test]
fn slaves_replicate_u64_values_through_the_wal_and_snapshots() {
    let master = Server::start(&[]);
    let wal_slave_dir = temp_dir();
    let wal_slave = start_slave(wal_slave_dir.path(), master.addr.port(), &[]);
    assert_replies(&master, &writes(), "master");
    assert_replies(&master, &reads(), "master");
    let caught_up = |slave: &Server| {
        common::eventually(CONVERGE, || reads().iter().all(|(request, expected)| &slave.request(request) == expected))
    };
    assert!(caught_up(&wal_slave), "the slave following the WAL did not converge");
    assert_replies(&wal_slave, &reads(), "slave through the WAL");

    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    let snapshot_slave_dir = temp_dir();
    let snapshot_slave = start_slave(snapshot_slave_dir.path(), master.addr.port(), &[]);
    assert!(caught_up(&snapshot_slave), "the slave bootstrapped from snapshots did not converge");
    assert_replies(&snapshot_slave, &reads(), "slave from snapshots");

    // The promoted slave keeps rejecting duplicates of u64 writes.
    let mut promoted = snapshot_slave;
    promoted.kill9();
    let promoted = Server::start_in(snapshot_slave_dir.path(), &[]);
    assert_replies(&promoted, &reads(), "promoted slave");
    assert_replies(&promoted, &retries(), "promoted slave");
}

#[test]
fn integers_above_u64_stay_invalid_json() {
    let server = Server::start(&[]);
    for (field, line) in [
        ("key", r#"{"v":2,"op":"counter.increment","series":"s","key":18446744073709551616,"value":1}"#),
        ("value", r#"{"v":2,"op":"counter.increment","series":"s","key":1,"value":18446744073709551616}"#),
        ("keys", r#"{"v":2,"op":"counter.batch_sum","series":"s","keys":[1,99999999999999999999999]}"#),
        ("cursor", r#"{"v":2,"op":"tree.keys","series":"s","cursor":18446744073709551616}"#),
    ] {
        let literal = line
            .split([':', ',', '[', ']', '}'])
            .find(|part| part.len() >= 20 && part.bytes().all(|b| b.is_ascii_digit()));
        let literal = literal.unwrap_or_else(|| panic!("no literal in {line}"));
        let column = line.find(literal).unwrap() + 1;
        assert_eq!(
            server.request(line),
            err("invalid_json", &format!("Invalid UInt64: \"{literal}\" at line 1, column {column}")),
            "{field}"
        );
    }
    // Signed and narrower fields say what their range is.
    assert_eq!(
        server.request(r#"{"v":2,"op":"tree.top","series":"s","limit":18446744073709551615}"#),
        err("validation_error", "Field limit exceeds max size")
    );
    assert_eq!(
        server.request(
            r#"{"v":2,"op":"reconciliation.report","series":"s","checked_points":9223372036854775808,"mismatch_count":0}"#
        ),
        err("validation_error", "Field checked_points must be less than or equal to 9223372036854775807")
    );
}
