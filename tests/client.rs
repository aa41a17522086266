//! The Rust client library against a real server: every op family through
//! its typed method, exact u64 values, error codes and tokens.
mod common;
use common::Server;
use karma::client::{
    BatchAdded, BatchDeleted, BatchReset, BatchSet, Client, Error, IngestMode, KeyTotal, KeyValue, Options, Range,
    SeriesKeyValue, ServerCode,
};
use karma::protocol::ErrorCode;
use std::collections::BTreeMap;

fn client(server: &Server) -> Client {
    Client::new(server.addr.to_string())
}

#[test]
fn counter_ops_return_typed_replies() {
    let server = Server::start(&[]);
    let client = client(&server);
    assert_eq!(client.increment("api", 42, Some(20260505), 5, None).unwrap(), 5);
    assert_eq!(client.increment("api", 42, Some(20260506), 2, None).unwrap(), 2);
    assert_eq!(client.decrement("api", 42, Some(20260506), 1, None).unwrap(), 1);
    assert_eq!(client.sum("api", 42, None).unwrap(), 6);
    assert_eq!(client.sum("api", 42, Some(Range::day(20260505))).unwrap(), 5);
    assert_eq!(
        client.batch_sum("api", &[42, 7, 42], None).unwrap(),
        vec![KeyValue { key: 42, value: 6 }, KeyValue { key: 7, value: 0 }, KeyValue { key: 42, value: 6 }]
    );
    assert_eq!(
        client.multi_sum(&[("api", 42)], Some(Range::new(20260501, 20260531))).unwrap(),
        vec![SeriesKeyValue { series: "api".into(), key: 42, value: 6 }]
    );
    assert_eq!(
        client.points("api", 42, Range::new(20260501, 20260531)).unwrap(),
        BTreeMap::from([(20260505, 5), (20260506, 1)])
    );
    client.delete_range("api", 42, Range::day(20260506), None).unwrap();
    assert_eq!(client.sum("api", 42, None).unwrap(), 5);
    assert_eq!(
        client.batch_delete_range("api", &[42, 9], Range::day(20260505), None).unwrap(),
        BatchDeleted { deleted: 1, missing: 1 }
    );
    assert_eq!(
        client.batch_add("api", &[(1, 20260501, 5), (2, 20260501, 3)], None).unwrap(),
        BatchAdded { applied: 2, total: 8 }
    );
    assert_eq!(client.batch_set("api", &[(1, 20260501, 7)], None).unwrap(), BatchSet { applied: 1 });
    client.reset("api", 2, None).unwrap();
    assert_eq!(client.batch_reset("api", &[1, 2], None).unwrap(), BatchReset { reset: 1, missing: 1 });
    client.increment("api", 3, Some(20260501), 4, None).unwrap();
    client.delete_before("api", 20260502).unwrap();
    client.compact_series("api").unwrap();
    client.compact_all().unwrap();
    assert_eq!(client.sum("api", 3, None).unwrap(), 0);
}

#[test]
fn series_ops_return_typed_replies() {
    let server = Server::start(&[]);
    let client = client(&server);
    client.create_series("s").unwrap();
    assert_eq!(client.list_series().unwrap(), vec!["s".to_string()]);
    client.batch_add("s", &[(1, 20260501, 7), (2, 20260502, 2), (10, 20260501, 5)], None).unwrap();
    let info = client.series_info("s").unwrap();
    assert_eq!((info.series.as_str(), info.key_count, info.bucket_count, info.total), ("s", 3, 3, 14));
    let page = client.series_keys("s", Some(2), None).unwrap();
    assert_eq!(page.keys, vec![KeyTotal { key: 1, total: 7 }, KeyTotal { key: 2, total: 2 }]);
    assert_eq!((page.cursor, page.next_cursor), (None, Some(2)));
    let page = client.series_keys("s", Some(2), page.next_cursor).unwrap();
    assert_eq!((page.keys, page.next_cursor), (vec![KeyTotal { key: 10, total: 5 }], None));
    let summary = client.series_summary("s", Some(Range::day(20260501))).unwrap();
    assert_eq!(
        (summary.range_from, summary.total, summary.active_keys, summary.bucket_count),
        (Some(20260501), 12, 2, 2)
    );
    let top = client.series_top("s", Some(2), None).unwrap();
    assert_eq!(top.items, vec![KeyValue { key: 1, value: 7 }, KeyValue { key: 10, value: 5 }]);
    let points = client.series_points("s", Range::day(20260502)).unwrap();
    assert_eq!(
        points,
        BTreeMap::from([(1, BTreeMap::new()), (2, BTreeMap::from([(20260502, 2)])), (10, BTreeMap::new())])
    );
    client.delete_series_range("s", Range::day(20260502), None).unwrap();
    client.reset_series("s", None).unwrap();
    assert_eq!(client.series_info("s").unwrap().total, 0);
    client.drop_series("s").unwrap();
    assert!(client.series_info("s").unwrap_err().is(ErrorCode::NotFound));
}

#[test]
fn ingest_snapshot_and_system_ops() {
    let server = Server::start(&[]);
    let client = client(&server);
    let begun = client.ingest_begin("st1", IngestMode::Add, Some("day")).unwrap();
    assert_eq!((begun.status.as_str(), begun.mode.as_deref(), begun.last_chunk_seq), ("active", Some("add"), 0));
    let chunk = client.ingest_chunk("imp", "st1", 1, &[(1, 20260501, 4), (2, 20260501, 5)]).unwrap();
    assert_eq!((chunk.skipped, chunk.applied, chunk.total, chunk.committed), (false, 2, 9, None));
    let again = client.ingest_chunk("imp", "st1", 1, &[(1, 20260501, 4), (2, 20260501, 5)]).unwrap();
    assert_eq!((again.skipped, again.committed), (true, Some(false)));
    let committed = client.ingest_commit("st1").unwrap();
    assert_eq!((committed.status.as_str(), committed.last_chunk_seq), ("committed", 1));
    client.ingest_begin("st2", IngestMode::Set, None).unwrap();
    assert_eq!(client.ingest_abort("st2").unwrap().status, "aborted");

    assert_eq!(client.snapshot_create("imp").unwrap(), "Tree \"imp\" saved");
    client.snapshot_create_all().unwrap();
    let files = client.snapshot_list().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files[0].rsplit('/').next().unwrap().to_string();
    let info = client.snapshot_info().unwrap();
    assert_eq!(info["dump_count"], 1);
    let chunk = client.snapshot_fetch_chunk(&file, 0, Some(1 << 19)).unwrap();
    assert!(chunk.done && chunk.bytes == chunk.total_bytes && chunk.next_offset == chunk.bytes, "{chunk:?}");
    assert_eq!(client.snapshot_fetch(&file).unwrap().data_base64, chunk.data_base64);
    assert_eq!(client.snapshot_load(&file).unwrap(), "Tree \"imp\" loaded");
    assert_eq!(client.snapshot_verify().unwrap()["status"], "ok");
    let idempotency = client.idempotency_snapshot_fetch_chunk(0, None).unwrap();
    assert!(idempotency.done, "{idempotency:?}");
    assert_eq!(client.idempotency_prune(0, Some(10)).unwrap(), 0);

    assert_eq!(client.ping().unwrap(), "pong");
    let health = client.health().unwrap();
    assert_eq!((health.status.as_str(), health.role.as_str(), health.wal_enabled), ("ok", "master", true));
    assert_eq!(client.stats().unwrap()["trees"], 1);
    assert!(client.metrics().unwrap().contains("karma_trees 1\n"));
    client.reconciliation_report(10, 1, 2, 2).unwrap();
    let checkpoint = client.recovery_checkpoint("export", Some("17"), None).unwrap();
    assert_eq!((checkpoint.offset.as_deref(), checkpoint.event_id), (Some("17"), None));
    assert_eq!(client.recovery_status(Some("export")).unwrap()["checkpoint_count"], 1);
    assert_eq!(client.replication_status().unwrap()["role"], "master");
    client.increment("imp", 1, Some(20260501), 1, None).unwrap();
    let after = info["last_snapshot_lsn"].as_u64().unwrap();
    let page = client.replication_entries(after, Some(10)).unwrap();
    // idempotency.prune is logged too.
    let ops: Vec<&str> = page.entries.iter().map(|e| e.entry["op"].as_str().unwrap()).collect();
    assert_eq!((page.after_lsn, ops), (after, vec!["idempotency.prune", "counter.increment"]));
}

#[test]
fn sums_above_i64_max_are_exact() {
    let server = Server::start(&[]);
    let client = client(&server);
    let big = i64::MAX as u64;
    client.increment("u", 1, Some(20260501), big, None).unwrap();
    client.increment("u", 1, Some(20260502), big, None).unwrap();
    // 18446744073709551614: neither an i64 nor exactly an f64.
    assert_eq!(client.sum("u", 1, None).unwrap(), u64::MAX - 1);
    assert_eq!(client.batch_sum("u", &[1], None).unwrap(), vec![KeyValue { key: 1, value: u64::MAX - 1 }]);
    let added = client.batch_add("v", &[(1, 20260501, big), (2, 20260501, big)], Some("big-1")).unwrap();
    assert_eq!(added, BatchAdded { applied: 2, total: u64::MAX - 1 });
    // Keys and values above i64::MAX go out exactly too.
    assert_eq!(client.increment("w", u64::MAX, Some(20260501), u64::MAX, None).unwrap(), u64::MAX);
    assert_eq!(client.batch_sum("w", &[u64::MAX], None).unwrap(), vec![KeyValue { key: u64::MAX, value: u64::MAX }]);
}

#[test]
fn idempotent_writes_are_replayed_once() {
    let server = Server::start(&[]);
    let client = client(&server);
    assert_eq!(client.increment("i", 1, Some(20260501), 5, Some("k1")).unwrap(), 5);
    assert_eq!(client.increment("i", 1, Some(20260501), 5, Some("k1")).unwrap(), 5);
    assert_eq!(client.sum("i", 1, None).unwrap(), 5);
    let reply = client
        .call(serde_json::json!({"op": "counter.increment", "series": "i", "key": 1, "bucket": 20260501, "value": 5, "idempotency_key": "k1"}))
        .unwrap();
    assert_eq!((reply.response, reply.idempotent), (serde_json::json!(5), Some(true)));
    let conflict = client.increment("i", 1, Some(20260501), 6, Some("k1")).unwrap_err();
    assert!(conflict.is(ErrorCode::IdempotencyConflict), "{conflict}");
}

#[test]
fn error_replies_carry_their_code() {
    let server = Server::start(&[]);
    let client = client(&server);
    match client.sum("missing", 1, None).unwrap_err() {
        Error::Server { code, message } => {
            assert_eq!(code, ServerCode::Known(ErrorCode::NotFound));
            assert_eq!(message, "Tree \"missing\" not found");
        }
        other => panic!("{other:?}"),
    }
    let unknown = client.call(serde_json::json!({"op": "nope"})).unwrap_err();
    assert_eq!(unknown.to_string(), "unknown_command: Unknown op nope");
    assert_eq!(
        client.request_line(r#"{"v":2,"op":"nope"}"#).unwrap(),
        r#"{"protocol_version":2,"success":false,"response":"Unknown op nope","error_code":"unknown_command"}"#
    );
}

#[test]
fn tokens_are_sent_with_every_request() {
    let server = Server::start(&["--auth-token=W", "--read-auth-token=R"]);
    let anonymous = client(&server);
    assert!(anonymous.ping().unwrap_err().is(ErrorCode::Unauthorized));
    let with = |token: &str| {
        Client::with_options(server.addr.to_string(), Options { token: Some(token.into()), ..Options::default() })
    };
    let reader = with("R");
    assert_eq!(reader.ping().unwrap(), "pong");
    let refused = reader.increment("t", 1, Some(20260501), 1, None).unwrap_err();
    assert_eq!(refused.to_string(), "forbidden: Read-only token cannot execute command increment");
    assert_eq!(with("W").increment("t", 1, Some(20260501), 1, None).unwrap(), 1);
}

#[test]
fn one_client_is_shared_by_threads() {
    let server = Server::start(&[]);
    let client = client(&server);
    std::thread::scope(|scope| {
        for thread in 0..8u64 {
            let client = &client;
            scope.spawn(move || {
                for _ in 0..100 {
                    assert_eq!(client.increment("shared", thread, Some(20260501), 1, None).unwrap(), 1);
                }
            });
        }
    });
    let sums = client.batch_sum("shared", &(0..8).collect::<Vec<u64>>(), None).unwrap();
    assert_eq!(sums, (0..8).map(|key| KeyValue { key, value: 100 }).collect::<Vec<_>>());
    assert!(client.stats().unwrap()["connections_active"].as_u64().unwrap() <= 8);
}
