//! Streaming ingest over real TCP and real restarts (docs/protocol.md, Streaming ingest):
//! each mode end to end with 100,000 items, the begin and chunk decision
//! tables, abort, commit, `kill -9` in the middle of a stream, streams
//! across snapshots, atomic `replace_series` under concurrent readers,
//! and the `ingest_*` counters.
mod common;
use common::{err, expected_stats, ok, response, stat_values, temp_dir, Server};

#[path = "ingest/bulk.rs"]
mod bulk;
#[path = "ingest/restarts.rs"]
mod restarts;

const BIG: &str = "--max-request-bytes=1048576";

type Item = (u64, u64, u64);

fn begin_line(id: &str, mode: &str, granularity: Option<&str>) -> String {
    match granularity {
        Some(g) => format!(r#"{{"v":2,"op":"ingest.begin","stream_id":"{id}","mode":"{mode}","granularity":"{g}"}}"#),
        None => format!(r#"{{"v":2,"op":"ingest.begin","stream_id":"{id}","mode":"{mode}"}}"#),
    }
}

fn chunk_line(series: &str, id: &str, seq: u64, items: &[Item]) -> String {
    let items: Vec<String> = items.iter().map(|(k, b, v)| format!("[{k},{b},{v}]")).collect();
    format!(
        r#"{{"v":2,"op":"ingest.chunk","series":"{series}","stream_id":"{id}","chunk_seq":{seq},"items":[{}]}}"#,
        items.join(",")
    )
}

fn commit_line(id: &str) -> String {
    format!(r#"{{"v":2,"op":"ingest.commit","stream_id":"{id}"}}"#)
}

fn abort_line(id: &str) -> String {
    format!(r#"{{"v":2,"op":"ingest.abort","stream_id":"{id}"}}"#)
}

fn opt(value: Option<&str>) -> String {
    value.map_or("null".to_string(), |v| format!("\"{v}\""))
}

/// The status object of `ingest.begin` (docs/protocol.md, ingest.begin), in its envelope.
fn status(id: &str, mode: &str, series: Option<&str>, granularity: Option<&str>, state: &str, last: u64) -> String {
    ok(&format!(
        r#"{{"stream_id":"{id}","mode":"{mode}","series":{},"granularity":{},"status":"{state}","last_chunk_seq":{last}}}"#,
        opt(series),
        opt(granularity)
    ))
}

fn applied(id: &str, seq: u64, items: &[Item]) -> String {
    let total: u64 = items.iter().map(|i| i.2).sum();
    ok(&format!(
        r#"{{"stream_id":"{id}","chunk_seq":{seq},"skipped":false,"applied":{},"total":{total}}}"#,
        items.len()
    ))
}

fn skipped(id: &str, seq: u64, committed: bool) -> String {
    ok(&format!(
        r#"{{"stream_id":"{id}","chunk_seq":{seq},"skipped":true,"committed":{committed},"applied":0,"total":0}}"#
    ))
}

fn committed(id: &str, last: u64) -> String {
    ok(&format!(r#"{{"stream_id":"{id}","status":"committed","last_chunk_seq":{last}}}"#))
}

fn aborted(id: &str, last: u64) -> String {
    ok(&format!(r#"{{"stream_id":"{id}","status":"aborted","last_chunk_seq":{last}}}"#))
}

fn not_found(id: &str) -> String {
    err("not_found", &format!("Ingest stream \"{id}\" not found"))
}

fn validation(message: &str) -> String {
    err("validation_error", message)
}

fn conflict(message: &str) -> String {
    err("idempotency_conflict", message)
}

fn summary(server: &Server, series: &str) -> String {
    server.request(&format!(r#"{{"v":2,"op":"tree.summary","series":"{series}"}}"#))
}

fn series_not_found(series: &str) -> String {
    err("not_found", &format!("Tree \"{series}\" not found"))
}

#[test]
fn begin_decision_table() {
    let server = Server::start(&[]);
    let q = |line: &str| server.request(line);
    assert_eq!(q(&begin_line("b1", "add", Some("day"))), status("b1", "add", None, Some("day"), "active", 0));
    assert_eq!(q(&begin_line("b1", "add", Some("day"))), status("b1", "add", None, Some("day"), "active", 0));
    assert_eq!(q(&chunk_line("m", "b1", 1, &[(1, 20260501, 2)])), applied("b1", 1, &[(1, 20260501, 2)]));
    assert_eq!(q(&begin_line("b1", "add", Some("day"))), status("b1", "add", Some("m"), Some("day"), "active", 1));
    let exists = conflict("Ingest stream already exists with different parameters");
    assert_eq!(q(&begin_line("b1", "set", Some("day"))), exists);
    assert_eq!(q(&begin_line("b1", "add", Some("week"))), exists);
    assert_eq!(q(&begin_line("b1", "add", None)), exists);
    // No granularity is its own value; a non-string one counts as absent.
    assert_eq!(q(&begin_line("b2", "set", None)), status("b2", "set", None, None, "active", 0));
    assert_eq!(
        q(r#"{"v":2,"op":"ingest.begin","stream_id":"b2","mode":"set","granularity":7}"#),
        status("b2", "set", None, None, "active", 0)
    );
    assert_eq!(q(&begin_line("b2", "set", Some("day"))), exists);
    // Any string is a granularity.
    assert_eq!(
        q(&begin_line("b3", "replace_series", Some(""))),
        status("b3", "replace_series", None, Some(""), "active", 0)
    );
    // Committed.
    assert_eq!(q(&commit_line("b1")), committed("b1", 1));
    assert_eq!(
        q(&begin_line("b1", "add", Some("day"))),
        status("b1", "add", Some("m"), Some("day"), "already_committed", 1)
    );
    let was_committed = conflict("Ingest stream was already committed with different parameters");
    assert_eq!(q(&begin_line("b1", "replace_series", Some("day"))), was_committed);
    assert_eq!(q(&begin_line("b1", "add", None)), was_committed);
    assert_eq!(q(&commit_line("b2")), committed("b2", 0));
    assert_eq!(q(&begin_line("b2", "set", None)), status("b2", "set", None, None, "already_committed", 0));
    assert_eq!(q(&begin_line("b2", "set", Some("day"))), was_committed);
    // Field rules.
    assert_eq!(q(r#"{"v":2,"op":"ingest.begin","mode":"add"}"#), validation("Field stream_id is required"));
    assert_eq!(
        q(r#"{"v":2,"op":"ingest.begin","stream_id":"","mode":"add"}"#),
        validation("Field stream_id is required")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"ingest.begin","stream_id":5,"mode":"add"}"#),
        validation("Field stream_id is required")
    );
    assert_eq!(q(r#"{"v":2,"op":"ingest.begin","stream_id":"x"}"#), validation("Field mode is required"));
    assert_eq!(q(r#"{"v":2,"op":"ingest.begin","stream_id":"x","mode":""}"#), validation("Field mode is required"));
    assert_eq!(q(&begin_line("x", "merge", None)), validation("Unsupported ingest mode merge"));
    assert_eq!(q(&begin_line("x", "ADD", None)), validation("Unsupported ingest mode ADD"));
    // Ingest ops ignore idempotency keys and never carry the flag.
    assert_eq!(
        q(r#"{"v":2,"op":"ingest.begin","stream_id":"b4","mode":"add","idempotency_key":"","fingerprint":"x"}"#),
        status("b4", "add", None, None, "active", 0)
    );
    assert_eq!(
        stat_values(&server, &["ingest_active_streams", "idempotency_committed_stream_count"]),
        expected_stats(&[("ingest_active_streams", 2), ("idempotency_committed_stream_count", 2)])
    );
}

#[test]
fn chunk_decision_table() {
    let server = Server::start(&["--max-request-bytes=1048576"]);
    let q = |line: &str| server.request(line);
    let one = [(1, 20260501, 4)];
    let two = [(2, 20260502, 3), (1, 20260501, 1)];
    assert_eq!(q(&chunk_line("m", "nope", 1, &one)), not_found("nope"));
    assert_eq!(q(&begin_line("c", "add", Some("day"))), status("c", "add", None, Some("day"), "active", 0));
    assert_eq!(q(&chunk_line("m", "c", 0, &one)), validation("Field chunk_seq must be greater than 0"));
    assert_eq!(
        q(r#"{"v":2,"op":"ingest.chunk","series":"m","stream_id":"c","items":[]}"#),
        validation("Field chunk_seq is required")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"ingest.chunk","series":"","stream_id":"c","chunk_seq":1,"items":[]}"#),
        validation("Field tree_name is required")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"ingest.chunk","series":"m","stream_id":"","chunk_seq":1,"items":[]}"#),
        validation("Field stream_id is required")
    );
    assert_eq!(q(&chunk_line("m", "c", 2, &one)), validation("Field chunk_seq must be the next chunk"));
    assert_eq!(q(&chunk_line("m", "c", 1, &one)), applied("c", 1, &one));
    // A retry with the same payload is skipped, with another one refused.
    assert_eq!(q(&chunk_line("m", "c", 1, &one)), skipped("c", 1, false));
    let used = conflict("Ingest chunk was already used with different payload");
    assert_eq!(q(&chunk_line("m", "c", 1, &two)), used);
    assert_eq!(q(&chunk_line("other", "c", 1, &one)), used);
    assert_eq!(q(&chunk_line("other", "c", 2, &two)), validation("Ingest stream is already bound to series m"));
    assert_eq!(q(&chunk_line("m", "c", 3, &two)), validation("Field chunk_seq must be the next chunk"));
    assert_eq!(q(&chunk_line("m", "c", 2, &[(1, 20260501, 0)])), validation("Batch item value must be greater than 0"));
    let too_many: Vec<Item> = (0..10_001).map(|k| (k, 20260501, 1)).collect();
    assert_eq!(q(&chunk_line("m", "c", 2, &too_many)), validation("Field items exceeds max size"));
    assert_eq!(q(&chunk_line("m", "c", 2, &two)), applied("c", 2, &two));
    assert_eq!(q(&chunk_line("m", "c", 1, &one)), skipped("c", 1, false));
    assert_eq!(q(&chunk_line("m", "c", 2, &two)), skipped("c", 2, false));
    // Ingest ops ignore idempotency keys.
    assert_eq!(
        q(r#"{"v":2,"op":"ingest.chunk","series":"m","stream_id":"c","chunk_seq":3,"items":[],"idempotency_key":"k"}"#),
        ok(r#"{"stream_id":"c","chunk_seq":3,"skipped":false,"applied":0,"total":0}"#)
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"m","key":1}"#), ok("5"));
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"m","key":2}"#), ok("3"));

    // The series is bound during validation, even when the chunk then fails.
    assert_eq!(q(&begin_line("bind", "add", None)), status("bind", "add", None, None, "active", 0));
    assert_eq!(
        q(&chunk_line("x", "bind", 1, &[(1, 20260501, 0)])),
        validation("Batch item value must be greater than 0")
    );
    assert_eq!(q(&begin_line("bind", "add", None)), status("bind", "add", Some("x"), None, "active", 0));
    assert_eq!(q(&chunk_line("y", "bind", 1, &one)), validation("Ingest stream is already bound to series x"));
    assert_eq!(q(r#"{"v":2,"op":"tree.info","series":"x"}"#), series_not_found("x"));

    // set and replace_series accept 0; empty chunks count and create the
    // live series in add and set modes.
    assert_eq!(q(&begin_line("e-add", "add", None)), status("e-add", "add", None, None, "active", 0));
    assert_eq!(q(&chunk_line("empty-add", "e-add", 1, &[])), applied("e-add", 1, &[]));
    assert_eq!(q(&summary_line("empty-add")), ok(r#"{"tree":"empty-add","total":0,"active_keys":0,"bucket_count":0}"#));
    assert_eq!(q(&begin_line("e-set", "set", None)), status("e-set", "set", None, None, "active", 0));
    assert_eq!(q(&chunk_line("empty-set", "e-set", 1, &[])), applied("e-set", 1, &[]));
    assert_eq!(q(&summary_line("empty-set")), ok(r#"{"tree":"empty-set","total":0,"active_keys":0,"bucket_count":0}"#));
    let zero = [(5, 20260501, 0)];
    assert_eq!(q(&chunk_line("empty-set", "e-set", 2, &zero)), applied("e-set", 2, &zero));
    assert_eq!(q(&summary_line("empty-set")), ok(r#"{"tree":"empty-set","total":0,"active_keys":1,"bucket_count":0}"#));
    assert_eq!(
        q(&begin_line("e-rep", "replace_series", None)),
        status("e-rep", "replace_series", None, None, "active", 0)
    );
    assert_eq!(q(&chunk_line("empty-rep", "e-rep", 1, &zero)), applied("e-rep", 1, &zero));
    assert_eq!(q(&summary_line("empty-rep")), series_not_found("empty-rep"));

    // Committed streams.
    assert_eq!(q(&commit_line("c")), committed("c", 3));
    assert_eq!(q(&chunk_line("m", "c", 1, &one)), skipped("c", 1, true));
    assert_eq!(q(&chunk_line("m", "c", 2, &two)), skipped("c", 2, true));
    assert_eq!(q(&chunk_line("m", "c", 3, &[])), skipped("c", 3, true));
    let different = conflict("Ingest stream was already committed with different chunks");
    assert_eq!(q(&chunk_line("m", "c", 1, &two)), different);
    assert_eq!(q(&chunk_line("other", "c", 1, &one)), different);
    assert_eq!(q(&chunk_line("m", "c", 4, &[])), different);
    assert_eq!(q(&chunk_line("m", "c", 0, &one)), validation("Field chunk_seq must be greater than 0"));
    // A committed stream's chunk may carry 0 values (it is never applied).
    assert_eq!(q(&chunk_line("m", "c", 1, &[(1, 20260501, 0)])), different);
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"m","key":1}"#), ok("5"));
}

fn summary_line(series: &str) -> String {
    format!(r#"{{"v":2,"op":"tree.summary","series":"{series}"}}"#)
}

#[test]
fn abort_and_commit_rules() {
    let server = Server::start(&[]);
    let q = |line: &str| server.request(line);
    let items = [(1, 20260501, 5), (2, 20260501, 6)];
    // add: applied chunks stay after an abort; the id can be begun again.
    q(&begin_line("a", "add", Some("day")));
    assert_eq!(q(&chunk_line("live", "a", 1, &items)), applied("a", 1, &items));
    assert_eq!(q(&abort_line("a")), aborted("a", 1));
    assert_eq!(q(&summary_line("live")), ok(r#"{"tree":"live","total":11,"active_keys":2,"bucket_count":2}"#));
    assert_eq!(q(&commit_line("a")), not_found("a"));
    assert_eq!(q(&abort_line("a")), not_found("a"));
    assert_eq!(q(&chunk_line("live", "a", 2, &items)), not_found("a"));
    assert_eq!(q(&begin_line("a", "set", None)), status("a", "set", None, None, "active", 0));
    assert_eq!(q(&chunk_line("live", "a", 1, &[(1, 20260501, 1)])), applied("a", 1, &[(1, 20260501, 1)]));
    assert_eq!(q(&summary_line("live")), ok(r#"{"tree":"live","total":7,"active_keys":2,"bucket_count":2}"#));
    // replace_series: the staged data goes with the abort.
    q(&begin_line("r", "replace_series", Some("day")));
    assert_eq!(q(&chunk_line("live", "r", 1, &[(9, 20260509, 9)])), applied("r", 1, &[(9, 20260509, 9)]));
    assert_eq!(q(&abort_line("r")), aborted("r", 1));
    assert_eq!(q(&summary_line("live")), ok(r#"{"tree":"live","total":7,"active_keys":2,"bucket_count":2}"#));
    q(&begin_line("r", "replace_series", Some("day")));
    assert_eq!(q(&commit_line("r")), validation("Cannot commit empty replace_series stream"));
    assert_eq!(q(&chunk_line("live", "r", 1, &[(3, 20260503, 3)])), applied("r", 1, &[(3, 20260503, 3)]));
    assert_eq!(q(&commit_line("r")), committed("r", 1));
    assert_eq!(q(&summary_line("live")), ok(r#"{"tree":"live","total":3,"active_keys":1,"bucket_count":1}"#));
    assert_eq!(q(&abort_line("r")), not_found("r"));
    assert_eq!(q(&commit_line("r")), status("r", "replace_series", Some("live"), Some("day"), "already_committed", 1));
    assert_eq!(q(&abort_line("never")), not_found("never"));
    assert_eq!(q(&commit_line("never")), not_found("never"));
    assert_eq!(q(r#"{"v":2,"op":"ingest.commit","stream_id":""}"#), validation("Field stream_id is required"));
    assert_eq!(q(r#"{"v":2,"op":"ingest.abort"}"#), validation("Field stream_id is required"));
    // An empty replace_series chunk binds the series; the commit then
    // replaces it with an empty one (and creates a missing one).
    q(&begin_line("r0", "replace_series", None));
    assert_eq!(q(&chunk_line("live", "r0", 1, &[])), applied("r0", 1, &[]));
    assert_eq!(q(&commit_line("r0")), committed("r0", 1));
    assert_eq!(q(&summary_line("live")), ok(r#"{"tree":"live","total":0,"active_keys":0,"bucket_count":0}"#));
    q(&begin_line("r1", "replace_series", None));
    assert_eq!(q(&chunk_line("fresh", "r1", 1, &[(4, 20260504, 4)])), applied("r1", 1, &[(4, 20260504, 4)]));
    assert_eq!(q(&summary_line("fresh")), series_not_found("fresh"));
    assert_eq!(q(&commit_line("r1")), committed("r1", 1));
    assert_eq!(q(&summary_line("fresh")), ok(r#"{"tree":"fresh","total":4,"active_keys":1,"bucket_count":1}"#));
    // An add stream without chunks commits with last_chunk_seq 0.
    q(&begin_line("nothing", "add", None));
    assert_eq!(q(&commit_line("nothing")), committed("nothing", 0));
    assert_eq!(q(&commit_line("nothing")), status("nothing", "add", None, None, "already_committed", 0));
}

fn q_ok(server: &Server, line: &str) {
    let reply = server.request(line);
    assert!(reply.contains(r#""success":true"#), "{line}: {reply}");
}

/// `ingest_*` counters after a known sequence (docs/protocol.md, System ops).
#[test]
fn ingest_counters_are_exact() {
    let server = Server::start(&[]);
    let q = |line: &str| server.request(line);
    let a1 = [(1, 20260501, 1), (2, 20260501, 2), (3, 20260501, 3)];
    let a2 = [(1, 20260502, 1), (2, 20260502, 1)];
    let b1 = [(1, 20260501, 0), (2, 20260501, 2), (3, 20260501, 3), (4, 20260501, 4)];
    q_ok(&server, &begin_line("a", "add", None));
    assert_eq!(q(&chunk_line("m", "a", 1, &a1)), applied("a", 1, &a1)); // applied 1
    assert_eq!(q(&chunk_line("m", "a", 1, &a1)), skipped("a", 1, false)); // skipped 1
    assert!(q(&chunk_line("m", "a", 3, &a2)).contains("must be the next chunk")); // rejected 1
    assert!(q(&chunk_line("m", "a", 1, &a2)).contains("different payload")); // rejected 2
    assert_eq!(q(&chunk_line("m", "none", 1, &a2)), not_found("none")); // rejected 3
    assert!(q(&chunk_line("m", "a", 0, &a2)).contains("greater than 0")); // rejected 4
    assert!(q(&chunk_line("n", "a", 2, &a2)).contains("already bound")); // rejected 5
    assert!(q(&chunk_line("m", "a", 2, &[(1, 20260501, 0)])).contains("Batch item value")); // not counted
    assert_eq!(q(&chunk_line("m", "a", 2, &a2)), applied("a", 2, &a2)); // applied 2
    q_ok(&server, &begin_line("b", "replace_series", None));
    assert_eq!(q(&chunk_line("r", "b", 1, &b1)), applied("b", 1, &b1)); // applied 3
    q_ok(&server, &begin_line("c", "set", None));
    assert_eq!(
        stat_values(&server, &["ingest_active_streams", "idempotency_committed_stream_count"]),
        expected_stats(&[("ingest_active_streams", 3), ("idempotency_committed_stream_count", 0)])
    );
    assert_eq!(q(&commit_line("a")), committed("a", 2));
    assert_eq!(q(&abort_line("c")), aborted("c", 0));
    assert_eq!(q(&chunk_line("m", "a", 2, &a2)), skipped("a", 2, true)); // skipped 2
    assert!(q(&chunk_line("m", "a", 3, &a2)).contains("already committed")); // rejected 6
    let names = [
        "ingest_active_streams",
        "ingest_chunks_applied",
        "ingest_chunks_skipped",
        "ingest_chunks_rejected",
        "ingest_items_applied",
        "idempotency_committed_stream_count",
        "idempotency_record_count",
    ];
    assert_eq!(
        stat_values(&server, &names),
        expected_stats(&[
            ("ingest_active_streams", 1),
            ("ingest_chunks_applied", 3),
            ("ingest_chunks_skipped", 2),
            ("ingest_chunks_rejected", 6),
            ("ingest_items_applied", 9),
            ("idempotency_committed_stream_count", 1),
            ("idempotency_record_count", 0),
        ])
    );
    let stats = common::stats(&server);
    assert!(stats["ingest_latency_ms_last"].as_f64().is_some_and(|ms| ms >= 0.0), "{stats}");
    assert!(stats["ingest_latency_ms_avg"].as_f64().is_some_and(|ms| ms > 0.0), "{stats}");
    let metrics = response(&q(r#"{"v":2,"op":"system.metrics"}"#));
    let text = metrics.as_str().expect("metrics text");
    for line in [
        "# TYPE karma_ingest_active_streams gauge\nkarma_ingest_active_streams 1\n",
        "# TYPE karma_ingest_chunks_applied_total counter\nkarma_ingest_chunks_applied_total 3\n",
        "# TYPE karma_ingest_chunks_skipped_total counter\nkarma_ingest_chunks_skipped_total 2\n",
        "# TYPE karma_ingest_chunks_rejected_total counter\nkarma_ingest_chunks_rejected_total 6\n",
        "# TYPE karma_ingest_items_applied_total counter\nkarma_ingest_items_applied_total 9\n",
        "# TYPE karma_idempotency_committed_streams gauge\nkarma_idempotency_committed_streams 1\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
}
