use super::*;
use crate::store::Bucket;

fn b(day: u64) -> Bucket {
    Bucket::from_yyyymmdd(day).expect("valid test date")
}

fn items(raw: &[(u64, u64, u64)]) -> Vec<Item> {
    raw.iter().map(|&(key, day, value)| (key, b(day), value)).collect()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("replies are UTF-8")
}

fn err(result: Result<impl std::fmt::Debug, CommandError>) -> (ErrorCode, String) {
    let error = result.expect_err("an error");
    (error.code, error.message)
}

fn chunk_err(result: Result<ChunkDecision, ChunkError>) -> (ErrorCode, String, bool) {
    let error = result.expect_err("an error");
    (error.error.code, error.error.message, error.rejected)
}

fn value(store: &Store, series: &str, key: u64, day: u64) -> Option<u64> {
    store.get(series).map(|s| s.get(key).map_or(0, |c| c.get(b(day))))
}

const CONFLICT: ErrorCode = ErrorCode::IdempotencyConflict;
const INVALID: ErrorCode = ErrorCode::ValidationError;

#[test]
fn begin_table() {
    let mut streams = IngestRegistry::new();
    // New id.
    let status = streams.begin("st1", IngestMode::Add, Some("day"), "fb").unwrap();
    assert_eq!(
        text(&status),
        r#"{"stream_id":"st1","mode":"add","series":null,"granularity":"day","status":"active","last_chunk_seq":0}"#
    );
    // Active, same parameters: current status, no change.
    streams.check_chunk("st1", "m1", 1, &items(&[(1, 20260501, 2)]), "f1").unwrap();
    streams.record_applied_chunk("st1", 1, "f1");
    let status = streams.begin("st1", IngestMode::Add, Some("day"), "fb").unwrap();
    assert_eq!(
        text(&status),
        r#"{"stream_id":"st1","mode":"add","series":"m1","granularity":"day","status":"active","last_chunk_seq":1}"#
    );
    // Active, different mode or granularity (absent differs from "day").
    let differs = (CONFLICT, "Ingest stream already exists with different parameters".to_string());
    assert_eq!(err(streams.begin("st1", IngestMode::Set, Some("day"), "x")), differs);
    assert_eq!(err(streams.begin("st1", IngestMode::Add, None, "x")), differs);
    assert_eq!(err(streams.begin("st1", IngestMode::Add, Some("hour"), "x")), differs);
    // Committed, same parameters.
    streams.commit("st1", 1795245334).unwrap();
    let status = streams.begin("st1", IngestMode::Add, Some("day"), "fb").unwrap();
    assert_eq!(
        text(&status),
        r#"{"stream_id":"st1","mode":"add","series":"m1","granularity":"day","status":"already_committed","last_chunk_seq":1}"#
    );
    // Committed, different.
    let differs = (CONFLICT, "Ingest stream was already committed with different parameters".to_string());
    assert_eq!(err(streams.begin("st1", IngestMode::ReplaceSeries, Some("day"), "x")), differs);
    assert_eq!(err(streams.begin("st1", IngestMode::Add, None, "x")), differs);
    // No granularity is written as null.
    let status = streams.begin("st2", IngestMode::ReplaceSeries, None, "fb2").unwrap();
    assert_eq!(
        text(&status),
        r#"{"stream_id":"st2","mode":"replace_series","series":null,"granularity":null,"status":"active","last_chunk_seq":0}"#
    );
    assert_eq!((streams.active_count(), streams.committed_count()), (1, 1));
    assert_eq!(IngestMode::from_name("replace_series"), Some(IngestMode::ReplaceSeries));
    assert_eq!(IngestMode::from_name(""), None);
}

#[test]
fn chunk_of_an_active_stream() {
    let mut streams = IngestRegistry::new();
    streams.begin("s", IngestMode::Add, Some("day"), "fb").unwrap();
    let one = items(&[(1, 20260501, 5)]);
    // Step 1.
    assert_eq!(
        chunk_err(streams.check_chunk("", "m", 1, &one, "f")),
        (INVALID, "Field stream_id is required".into(), false)
    );
    assert_eq!(
        chunk_err(streams.check_chunk("s", "", 1, &one, "f")),
        (INVALID, "Field tree_name is required".into(), false)
    );
    // Unknown id, then seq 0.
    assert_eq!(
        chunk_err(streams.check_chunk("nope", "m", 1, &one, "f")),
        (ErrorCode::NotFound, "Ingest stream \"nope\" not found".into(), true)
    );
    assert_eq!(
        chunk_err(streams.check_chunk("s", "m", 0, &one, "f")),
        (INVALID, "Field chunk_seq must be greater than 0".into(), true)
    );
    // A gap.
    assert_eq!(
        chunk_err(streams.check_chunk("s", "m", 2, &one, "f")),
        (INVALID, "Field chunk_seq must be the next chunk".into(), true)
    );
    // The next chunk binds, even when step 4 then refuses it.
    let zero = items(&[(1, 20260501, 0)]);
    assert_eq!(
        chunk_err(streams.check_chunk("s", "m", 1, &zero, "fz")),
        (INVALID, "Batch item value must be greater than 0".into(), false)
    );
    assert_eq!(streams.active_stream("s").and_then(|s| s.series.as_deref()), Some("m"));
    assert_eq!(
        chunk_err(streams.check_chunk("s", "other", 1, &one, "f1")),
        (INVALID, "Ingest stream is already bound to series m".into(), true)
    );
    let too_many: Vec<Item> = (0..10_001).map(|k| (k, b(20260501), 1)).collect();
    assert_eq!(
        chunk_err(streams.check_chunk("s", "m", 1, &too_many, "fx")),
        (INVALID, "Field items exceeds max size".into(), false)
    );
    assert_eq!(
        streams.check_chunk("s", "m", 1, &one, "f1"),
        Ok(ChunkDecision::Apply { mode: IngestMode::Add, staged: false })
    );
    streams.record_applied_chunk("s", 1, "f1");
    // Retries: same fingerprint skipped, another one a conflict.
    assert_eq!(streams.check_chunk("s", "m", 1, &one, "f1"), Ok(ChunkDecision::SkipActive));
    assert_eq!(
        chunk_err(streams.check_chunk("s", "m", 1, &one, "f1b")),
        (CONFLICT, "Ingest chunk was already used with different payload".into(), true)
    );
    // Stream checks come before the items checks.
    assert_eq!(
        chunk_err(streams.check_chunk("s", "m", 3, &zero, "f3")),
        (INVALID, "Field chunk_seq must be the next chunk".into(), true)
    );
    assert_eq!(
        streams.check_chunk("s", "m", 2, &one, "f2"),
        Ok(ChunkDecision::Apply { mode: IngestMode::Add, staged: false })
    );
}

#[test]
fn zero_values_are_allowed_outside_add_mode() {
    let mut streams = IngestRegistry::new();
    let zero = items(&[(1, 20260501, 0)]);
    streams.begin("set", IngestMode::Set, None, "fb").unwrap();
    streams.begin("rep", IngestMode::ReplaceSeries, None, "fb").unwrap();
    assert_eq!(
        streams.check_chunk("set", "m", 1, &zero, "f"),
        Ok(ChunkDecision::Apply { mode: IngestMode::Set, staged: false })
    );
    assert_eq!(
        streams.check_chunk("rep", "m", 1, &zero, "f"),
        Ok(ChunkDecision::Apply { mode: IngestMode::ReplaceSeries, staged: true })
    );
}

#[test]
fn chunk_of_a_committed_stream() {
    let mut streams = IngestRegistry::new();
    streams.begin("s", IngestMode::Add, None, "fb").unwrap();
    let one = items(&[(1, 20260501, 5)]);
    streams.check_chunk("s", "m", 1, &one, "f1").unwrap();
    streams.record_applied_chunk("s", 1, "f1");
    streams.check_chunk("s", "m", 2, &one, "f2").unwrap();
    streams.record_applied_chunk("s", 2, "f2");
    streams.commit("s", 7).unwrap();
    assert_eq!(streams.check_chunk("s", "m", 2, &one, "f2"), Ok(ChunkDecision::SkipCommitted));
    assert_eq!(streams.check_chunk("s", "m", 1, &one, "f1"), Ok(ChunkDecision::SkipCommitted));
    assert_eq!(
        chunk_err(streams.check_chunk("s", "m", 0, &one, "f1")),
        (INVALID, "Field chunk_seq must be greater than 0".into(), true)
    );
    let different = (CONFLICT, "Ingest stream was already committed with different chunks".to_string(), true);
    assert_eq!(chunk_err(streams.check_chunk("s", "m", 3, &one, "f3")), different);
    assert_eq!(chunk_err(streams.check_chunk("s", "other", 1, &one, "f1")), different);
    assert_eq!(chunk_err(streams.check_chunk("s", "m", 1, &one, "f2")), different);
    // Zero values are allowed for committed chunks; the size cap is not.
    let zero = items(&[(1, 20260501, 0)]);
    assert_eq!(chunk_err(streams.check_chunk("s", "m", 1, &zero, "f9")), different);
    let mut zero_streams = IngestRegistry::new();
    zero_streams.begin("z", IngestMode::Set, None, "fb").unwrap();
    zero_streams.check_chunk("z", "m", 1, &zero, "fz").unwrap();
    zero_streams.record_applied_chunk("z", 1, "fz");
    zero_streams.commit("z", 7).unwrap();
    assert_eq!(zero_streams.check_chunk("z", "m", 1, &zero, "fz"), Ok(ChunkDecision::SkipCommitted));
    // A committed stream with no chunk bound no series: any series matches,
    // but there is no chunk to match.
    streams.begin("empty", IngestMode::Add, None, "fb").unwrap();
    streams.commit("empty", 8).unwrap();
    assert_eq!(chunk_err(streams.check_chunk("empty", "x", 1, &one, "f")), different);
}

#[test]
fn run_chunk_add_and_set_on_the_live_series() {
    let mut streams = IngestRegistry::new();
    let mut store = Store::new();
    let mut out = Vec::new();
    streams.begin("a", IngestMode::Add, Some("day"), "fb").unwrap();
    let chunk = items(&[(1, 20260501, 5), (2, 20260501, 4)]);
    let decision = streams.run_chunk(&mut store, "a", "m", 1, &chunk, "f1", &mut out).unwrap();
    assert_eq!(decision, ChunkDecision::Apply { mode: IngestMode::Add, staged: false });
    assert_eq!(text(&out), r#"{"stream_id":"a","chunk_seq":1,"skipped":false,"applied":2,"total":9}"#);
    out.clear();
    let decision = streams.run_chunk(&mut store, "a", "m", 1, &chunk, "f1", &mut out).unwrap();
    assert_eq!(decision, ChunkDecision::SkipActive);
    assert_eq!(text(&out), r#"{"stream_id":"a","chunk_seq":1,"skipped":true,"committed":false,"applied":0,"total":0}"#);
    assert_eq!(value(&store, "m", 1, 20260501), Some(5));
    // An overflow changes nothing and records nothing.
    out.clear();
    let overflow = items(&[(1, 20260501, u64::MAX)]);
    let error = streams.run_chunk(&mut store, "a", "m", 2, &overflow, "f2", &mut out).unwrap_err();
    assert_eq!(
        (error.error.code, error.error.message.as_str(), error.rejected),
        (INVALID, "Counter overflow in batch item key=1 bucket=20260501", false)
    );
    assert_eq!(streams.active_stream("a").map(|s| s.last_chunk_seq), Some(1));
    assert!(out.is_empty());
    // An empty chunk still counts and creates the series.
    streams.begin("s", IngestMode::Set, None, "fb").unwrap();
    streams.run_chunk(&mut store, "s", "fresh", 1, &[], "e1", &mut out).unwrap();
    assert_eq!(text(&out), r#"{"stream_id":"s","chunk_seq":1,"skipped":false,"applied":0,"total":0}"#);
    assert!(store.contains("fresh"));
    out.clear();
    let set = items(&[(1, 20260501, 7), (1, 20260501, 0), (3, 20260502, 2)]);
    streams.run_chunk(&mut store, "s", "fresh", 2, &set, "e2", &mut out).unwrap();
    assert_eq!(text(&out), r#"{"stream_id":"s","chunk_seq":2,"skipped":false,"applied":3,"total":9}"#);
    assert_eq!(value(&store, "fresh", 1, 20260501), Some(0));
    assert_eq!(store.get("fresh").map(|s| s.key_count()), Some(2));
    assert_eq!(streams.active_stream("s").map(|s| s.last_chunk_seq), Some(2));
    // A committed stream's retry.
    streams.run_commit(&mut store, "s", 9, &mut Vec::new()).unwrap();
    out.clear();
    let decision = streams.run_chunk(&mut store, "s", "fresh", 2, &set, "e2", &mut out).unwrap();
    assert_eq!(decision, ChunkDecision::SkipCommitted);
    assert_eq!(text(&out), r#"{"stream_id":"s","chunk_seq":2,"skipped":true,"committed":true,"applied":0,"total":0}"#);
}

#[test]
fn replace_series_stages_then_swaps_in() {
    let mut streams = IngestRegistry::new();
    let mut store = Store::new();
    store.get_or_create("api").counter_mut(9).add(b(20260501), 1).unwrap();
    store.get_or_create("later");
    streams.begin("r", IngestMode::ReplaceSeries, Some("day"), "fb").unwrap();
    let mut out = Vec::new();
    let chunk = items(&[(1, 20260501, 3), (2, 20260502, 0)]);
    let decision = streams.run_chunk(&mut store, "r", "api", 1, &chunk, "f1", &mut out).unwrap();
    assert_eq!(decision, ChunkDecision::Apply { mode: IngestMode::ReplaceSeries, staged: true });
    assert_eq!(text(&out), r#"{"stream_id":"r","chunk_seq":1,"skipped":false,"applied":2,"total":3}"#);
    // The live series is untouched until commit.
    assert_eq!(value(&store, "api", 9, 20260501), Some(1));
    assert_eq!(value(&store, "api", 1, 20260501), Some(0));
    assert_eq!(streams.staged_mut("r").map(|s| s.key_count()), Some(2));
    assert!(streams.staged_bytes() > 0);
    out.clear();
    streams.run_commit(&mut store, "r", 1795245230, &mut out).unwrap();
    assert_eq!(text(&out), r#"{"stream_id":"r","status":"committed","last_chunk_seq":1}"#);
    assert_eq!(value(&store, "api", 9, 20260501), Some(0));
    assert_eq!(value(&store, "api", 1, 20260501), Some(3));
    assert_eq!(store.names().collect::<Vec<_>>(), ["api", "later"]);
    assert_eq!(streams.staged_bytes(), 0);
    let committed = streams.committed_stream("r").unwrap();
    assert_eq!(
        (committed.series_name.as_deref(), committed.last_chunk_seq, committed.committed_at_unix),
        (Some("api"), 1, 1795245230)
    );
    assert_eq!(committed.chunk_fingerprints.get(&1).map(String::as_str), Some("f1"));
    assert_eq!(committed.begin_fingerprint, "fb");
    // Commit again: already committed, nothing changes.
    out.clear();
    streams.run_commit(&mut store, "r", 1, &mut out).unwrap();
    assert_eq!(
        text(&out),
        r#"{"stream_id":"r","mode":"replace_series","series":"api","granularity":"day","status":"already_committed","last_chunk_seq":1}"#
    );
    assert_eq!(streams.committed_stream("r").map(|s| s.committed_at_unix), Some(1795245230));
}

#[test]
fn commit_errors_and_add_mode_commit() {
    let mut streams = IngestRegistry::new();
    assert_eq!(err(streams.commit("x", 1)), (ErrorCode::NotFound, "Ingest stream \"x\" not found".into()));
    streams.begin("r", IngestMode::ReplaceSeries, None, "fb").unwrap();
    assert_eq!(err(streams.commit("r", 1)), (INVALID, "Cannot commit empty replace_series stream".into()));
    assert_eq!(streams.active_count(), 1);
    // An add stream with no chunk commits fine, with no replacement.
    streams.begin("a", IngestMode::Add, None, "fb").unwrap();
    match streams.commit("a", 5).unwrap() {
        CommitOutcome::Committed { reply, replacement } => {
            assert_eq!(text(&reply), r#"{"stream_id":"a","status":"committed","last_chunk_seq":0}"#);
            assert!(replacement.is_none());
        }
        other => panic!("{other:?}"),
    }
    let again = streams.commit("a", 6).unwrap();
    assert!(matches!(again, CommitOutcome::AlreadyCommitted { .. }));
    assert_eq!(
        text(again.reply()),
        r#"{"stream_id":"a","mode":"add","series":null,"granularity":null,"status":"already_committed","last_chunk_seq":0}"#
    );
}

#[test]
fn abort_drops_an_active_stream_only() {
    let mut streams = IngestRegistry::new();
    let mut store = Store::new();
    streams.begin("r2", IngestMode::Set, None, "fb").unwrap();
    streams.run_chunk(&mut store, "r2", "m", 1, &items(&[(1, 20260501, 4)]), "f1", &mut Vec::new()).unwrap();
    assert_eq!(text(&streams.abort("r2").unwrap()), r#"{"stream_id":"r2","status":"aborted","last_chunk_seq":1}"#);
    // Applied set/add chunks stay; the id can be begun again.
    assert_eq!(value(&store, "m", 1, 20260501), Some(4));
    assert_eq!(err(streams.abort("r2")), (ErrorCode::NotFound, "Ingest stream \"r2\" not found".into()));
    streams.begin("r2", IngestMode::Add, None, "fb").unwrap();
    assert_eq!(streams.active_stream("r2").map(|s| s.last_chunk_seq), Some(0));
    streams.commit("r2", 1).unwrap();
    assert_eq!(err(streams.abort("r2")), (ErrorCode::NotFound, "Ingest stream \"r2\" not found".into()));
    streams.clear();
    assert_eq!((streams.active_count(), streams.committed_count()), (0, 0));
}

#[test]
fn reply_escaping() {
    let mut out = Vec::new();
    write_chunk_applied(&mut out, "a\"b", 18446744073709551615, 10_000, u64::MAX);
    assert_eq!(
        text(&out),
        r#"{"stream_id":"a\"b","chunk_seq":18446744073709551615,"skipped":false,"applied":10000,"total":18446744073709551615}"#
    );
}
