use super::*;
use crate::store::Bucket;

const NOW: i64 = 1795245300;
const WEEK: u64 = 604_800;

fn b(day: u64) -> Bucket {
    Bucket::from_yyyymmdd(day).expect("valid test date")
}

/// A stand-in for the `.tree` codec: `key:bucket:value` triples, sorted.
fn encode(series: &Series) -> Vec<u8> {
    let mut points: Vec<String> = series
        .iter()
        .flat_map(|(key, counter)| counter.points().map(move |(bucket, value)| format!("{key}:{bucket}:{value}")))
        .collect();
    points.sort();
    points.join(";").into_bytes()
}

fn decode(bytes: &[u8]) -> Result<Series, DecodeError> {
    let text = std::str::from_utf8(bytes)?;
    let mut series = Series::new();
    for point in text.split(';').filter(|p| !p.is_empty()) {
        let parts: Vec<u64> = point.split(':').map(|n| n.parse::<u64>()).collect::<Result<_, _>>()?;
        let bucket = Bucket::from_yyyymmdd(parts[1]).ok_or("bad bucket")?;
        series.counter_mut(parts[0]).add(bucket, parts[2]).map_err(|_| "overflow")?;
    }
    Ok(series)
}

fn record(key: &str, operation: &str, fingerprint: &str, response: &str, at: i64) -> IdempotencyRecord {
    IdempotencyRecord::from_file(key, operation, fingerprint, response, at)
}

fn render(records: &IdempotencyRegistry, streams: &IngestRegistry) -> String {
    let mut out = Vec::new();
    write_idempotency_json(records, streams, &encode, &mut out);
    String::from_utf8(out).expect("UTF-8")
}

fn read(text: &str) -> (IdempotencyRegistry, IngestRegistry, u64) {
    read_idempotency_json(text.as_bytes(), 1_000_000, WEEK, NOW, &decode).expect("a valid file")
}

const F1: &str = "8d2fb41c8d2fb41c8d2fb41c8d2fb41c8d2fb41c8d2fb41c8d2fb41c8d2fb41c";
const F2: &str = "5a9462775a9462775a9462775a9462775a9462775a9462775a9462775a946277";
const FB: &str = "05b105e405b105e405b105e405b105e405b105e405b105e405b105e405b105e4";
const FC: &str = "1f11252f1f11252f1f11252f1f11252f1f11252f1f11252f1f11252f1f11252f";

/// The example of docs/storage.md, Idempotency and ingest snapshot with full-length fingerprints.
fn example_file() -> String {
    format!(
        concat!(
            r#"{{"records":[{{"key":"k2","operation":"increment","fingerprint":"{f1}","response":2,"created_at_unix":1795245230}},"#,
            r#"{{"key":"k3","operation":"batch_set","fingerprint":"{f2}","response":{{"applied":1}},"created_at_unix":1795245230}}],"#,
            r#""committed_streams":[{{"stream_id":"s1","mode":"replace_series","granularity":"day","series_name":"api","#,
            r#""last_chunk_seq":1,"begin_fingerprint":"{fb}","chunk_fingerprints":{{"1":"{fc}"}},"committed_at_unix":1795245230}}]}}"#,
            "\n"
        ),
        f1 = F1,
        f2 = F2,
        fb = FB,
        fc = FC
    )
}

#[test]
fn writes_the_documented_shape() {
    let mut records = IdempotencyRegistry::new(10, 0);
    records.insert(record("k2", "increment", F1, "2", 1795245230), NOW);
    records.insert(record("k3", "batch_set", F2, r#"{"applied":1}"#, 1795245230), NOW);
    let mut streams = IngestRegistry::new();
    streams.begin("s1", IngestMode::ReplaceSeries, Some("day"), FB).unwrap();
    streams.check_chunk("s1", "api", 1, &[(1, b(20260501), 3)], FC).unwrap();
    streams.record_applied_chunk("s1", 1, FC);
    streams.commit("s1", 1795245230).unwrap();
    assert_eq!(render(&records, &streams), example_file());
    // Empty registries.
    assert_eq!(
        render(&IdempotencyRegistry::new(1, 0), &IngestRegistry::new()),
        "{\"records\":[],\"committed_streams\":[]}\n"
    );
}

#[test]
fn reads_a_karma_file_and_writes_it_back_unchanged() {
    let (records, streams, pruned) = read(&example_file());
    assert_eq!(pruned, 0);
    assert_eq!(records.get("k3"), Some(&record("k3", "batch_set", F2, r#"{"applied":1}"#, 1795245230)));
    assert_eq!(streams.committed_count(), 1);
    assert_eq!(streams.active_count(), 0);
    let committed = streams.committed_stream("s1").unwrap();
    assert_eq!(committed.mode, IngestMode::ReplaceSeries);
    assert_eq!(committed.chunk_fingerprints.get(&1).map(String::as_str), Some(FC));
    assert_eq!(render(&records, &streams), example_file());
}

#[test]
fn stored_responses_stay_byte_exact() {
    let file = concat!(
        r#"{"records":[{"key":"b","operation":"batch_reset","fingerprint":"f","response":{"reset":2,"missing":0},"created_at_unix":1795245231,"extra":[1]},"#,
        r#"{"key":"a","operation":"batch_add","fingerprint":"f","response":{"applied":2,"total":18446744073709551615},"created_at_unix":1795245230},"#,
        r#"{"key":"c","operation":"reset","fingerprint":"f","response":"OK","created_at_unix":1795245232},"#,
        r#"{"key":"d","operation":"delete","fingerprint":"f","response":true,"created_at_unix":1795245233},"#,
        r#"{"key":"e","operation":"x","fingerprint":"f","response":[null,-1,1.5,"a\"\n\u00e9",{},[]],"created_at_unix":1795245234}],"#,
        r#""committed_streams":[{"stream_id":"s","mode":"add","last_chunk_seq":2,"begin_fingerprint":"fb","chunk_fingerprints":{"10":"x","2":"y"},"committed_at_unix":5,"future":{}}],"#,
        r#""unknown_top":1}"#,
        "\n"
    );
    let (records, streams, _) = read(file);
    let responses: Vec<&str> = records.iter().map(|r| r.response()).collect();
    // Sorted by created_at_unix on load; key order and big integers kept.
    assert_eq!(
        responses,
        [
            r#"{"applied":2,"total":18446744073709551615}"#,
            r#"{"reset":2,"missing":0}"#,
            r#""OK""#,
            "true",
            "[null,-1,1.5,\"a\\\"\\né\",{},[]]"
        ]
    );
    let stream = streams.committed_stream("s").unwrap();
    assert_eq!((stream.granularity.as_deref(), stream.series_name.as_deref()), (None, None));
    assert_eq!(stream.chunk_fingerprints.keys().copied().collect::<Vec<u64>>(), [2, 10]);
    assert!(render(&records, &streams).contains(
        r#""committed_streams":[{"stream_id":"s","mode":"add","last_chunk_seq":2,"begin_fingerprint":"fb","chunk_fingerprints":{"2":"y","10":"x"},"committed_at_unix":5}]}"#
    ));
}

#[test]
fn wide_responses_are_karma_readable_and_read_back_exactly() {
    let exact = r#"{"applied":2,"total":18446744073709551614}"#;
    let mut records = IdempotencyRegistry::new(10, 0);
    records.insert(record("e1", "batch_add", F1, exact, 1795245230), NOW);
    let text = render(&records, &IngestRegistry::new());
    assert_eq!(
        text,
        format!(
            concat!(
                r#"{{"records":[{{"key":"e1","operation":"batch_add","fingerprint":"{f1}","#,
                r#""response":{{"applied":2,"total":1.8446744073709552e19}},"#,
                r#""response_json":"{{\"applied\":2,\"total\":18446744073709551614}}","#,
                r#""created_at_unix":1795245230}}],"committed_streams":[]}}"#,
                "\n"
            ),
            f1 = F1
        )
    );
    // Every integer in the file fits an i64, as Karma 1.0's parser needs.
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(value["records"][0]["response"]["total"].is_f64());
    let (read_back, _, _) = read(&text);
    assert_eq!(read_back.get("e1").unwrap().response(), exact);
    assert_eq!(render(&read_back, &IngestRegistry::new()), text);
    let broken = text.replace(r#""response_json":"{"#, r#""response_json":"{{"#);
    let error = read_idempotency_json(broken.as_bytes(), 10, 0, NOW, &decode).unwrap_err().to_string();
    assert!(error.starts_with("Cannot load karma.idempotency.json: response_json:"), "{error}");
}

#[test]
fn open_streams_survive_a_round_trip() {
    let records = IdempotencyRegistry::new(10, 0);
    let mut streams = IngestRegistry::new();
    streams.begin("add", IngestMode::Add, Some("day"), "fa").unwrap();
    streams.check_chunk("add", "m", 1, &[(1, b(20260501), 3)], "c1").unwrap();
    streams.record_applied_chunk("add", 1, "c1");
    streams.begin("rep", IngestMode::ReplaceSeries, None, "fr").unwrap();
    streams.check_chunk("rep", "api", 1, &[], "r1").unwrap();
    streams.staged_mut("rep").unwrap().batch_set(&[(7, b(20260502), 9), (8, b(20260503), 1)]).unwrap();
    streams.record_applied_chunk("rep", 1, "r1");
    streams.begin("new", IngestMode::ReplaceSeries, None, "fn").unwrap();
    let text = render(&records, &streams);
    // base64("7:20260502:9;8:20260503:1") and base64("").
    assert_eq!(
        text,
        concat!(
            r#"{"records":[],"committed_streams":[],"active_streams":["#,
            r#"{"stream_id":"add","mode":"add","granularity":"day","series_name":"m","last_chunk_seq":1,"begin_fingerprint":"fa","chunk_fingerprints":{"1":"c1"}},"#,
            r#"{"stream_id":"new","mode":"replace_series","last_chunk_seq":0,"begin_fingerprint":"fn","chunk_fingerprints":{},"staged_tree_base64":""},"#,
            r#"{"stream_id":"rep","mode":"replace_series","series_name":"api","last_chunk_seq":1,"begin_fingerprint":"fr","chunk_fingerprints":{"1":"r1"},"staged_tree_base64":"NzoyMDI2MDUwMjo5Ozg6MjAyNjA1MDM6MQ=="}"#,
            "]}\n"
        )
    );
    let (_, loaded, _) = read(&text);
    assert_eq!(loaded.active_count(), 3);
    let rep = loaded.active_stream("rep").unwrap();
    assert_eq!((rep.series.as_deref(), rep.last_chunk_seq), (Some("api"), 1));
    let staged = rep.staged.as_ref().unwrap();
    assert_eq!(staged.get(7).map(|c| c.get(b(20260502))), Some(9));
    assert_eq!(staged.key_count(), 2);
    assert!(loaded.active_stream("add").unwrap().staged.is_none());
    assert_eq!(render(&records, &loaded), text);
    // A loaded stream goes on where it stopped.
    let mut loaded = loaded;
    assert_eq!(
        loaded.check_chunk("add", "m", 1, &[(1, b(20260501), 3)], "c1"),
        Ok(super::super::ChunkDecision::SkipActive)
    );
    assert!(loaded.check_chunk("add", "m", 2, &[(1, b(20260501), 3)], "c2").is_ok());
}

#[test]
fn loading_prunes_relative_to_now() {
    let file = format!(
        r#"{{"records":[{},{},{}],"committed_streams":[]}}"#,
        r#"{"key":"new","operation":"increment","fingerprint":"f","response":1,"created_at_unix":1795245299}"#,
        r#"{"key":"old","operation":"increment","fingerprint":"f","response":1,"created_at_unix":1}"#,
        r#"{"key":"mid","operation":"increment","fingerprint":"f","response":1,"created_at_unix":1795245290}"#
    );
    let (records, _, pruned) = read_idempotency_json(file.as_bytes(), 1, WEEK, NOW, &decode).unwrap();
    assert_eq!(pruned, 2);
    assert_eq!(records.iter().map(|r| r.key()).collect::<Vec<_>>(), ["new"]);
    let (records, _, pruned) = read_idempotency_json(file.as_bytes(), 10, 0, NOW, &decode).unwrap();
    assert_eq!(pruned, 0);
    assert_eq!(records.iter().map(|r| r.key()).collect::<Vec<_>>(), ["old", "mid", "new"]);
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let error = |text: &str| read_idempotency_json(text.as_bytes(), 10, 0, NOW, &decode).unwrap_err().to_string();
    assert!(error("{").starts_with("Cannot load karma.idempotency.json: EOF while parsing"), "{}", error("{"));
    assert!(error(r#"{"records":[{"key":"k"}]}"#).contains("missing field"));
    let stream = |fields: &str| {
        format!(
            r#"{{"committed_streams":[{{"stream_id":"s","last_chunk_seq":1,"begin_fingerprint":"f","committed_at_unix":1,{fields}}}]}}"#
        )
    };
    assert_eq!(
        error(&stream(r#""mode":"merge""#)),
        "Cannot load karma.idempotency.json: stream \"s\" has unknown mode \"merge\""
    );
    assert_eq!(
        error(&stream(r#""mode":"add","chunk_fingerprints":{"one":"x"}"#)),
        "Cannot load karma.idempotency.json: stream \"s\" has chunk fingerprint key \"one\", not a chunk number"
    );
    let twice = format!(
        r#"{{"committed_streams":[{0},{0}]}}"#,
        r#"{"stream_id":"s","mode":"add","last_chunk_seq":0,"begin_fingerprint":"f","committed_at_unix":1}"#
    );
    assert_eq!(error(&twice), "Cannot load karma.idempotency.json: committed stream \"s\" appears twice");
    assert_eq!(
        error(
            r#"{"active_streams":[{"stream_id":"r","mode":"replace_series","last_chunk_seq":1,"begin_fingerprint":"f"}]}"#
        ),
        "Cannot load karma.idempotency.json: replace_series stream \"r\" has no staged_tree_base64"
    );
    assert_eq!(
        error(
            r#"{"active_streams":[{"stream_id":"r","mode":"replace_series","last_chunk_seq":1,"begin_fingerprint":"f","staged_tree_base64":"eDp5"}]}"#
        ),
        "Cannot load karma.idempotency.json: staged series of stream \"r\": invalid digit found in string"
    );
    // An empty document is a valid, empty file.
    let (records, streams, pruned) = read("{}");
    assert_eq!((records.len(), streams.committed_count(), streams.active_count(), pruned), (0, 0, 0, 0));
}
