//! Records across restarts and on disk: `kill -9` and replay, snapshots,
//! `karma.idempotency.json` as Karma 1.0 writes and reads it
//! (docs/storage.md, Idempotency and ingest snapshot / The write-ahead log).
use super::*;
use crate::common::{snapshot_file_bytes, unix_now};
use std::time::Duration;

#[test]
fn records_survive_kill9_and_snapshots() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    let line = r#"{"v":2,"op":"series.batch_add","series":"u","items":[[1,20260501,5]],"idempotency_key":"b1"}"#;
    assert_eq!(server.request(line), ok_idem(r#"{"applied":1,"total":5}"#, false));
    server.kill9();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(line), ok_idem(r#"{"applied":1,"total":5}"#, true));
    server.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(line), ok_idem(r#"{"applied":1,"total":5}"#, true));
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"u","key":1}"#), ok("5"));
    let stats = server.request(r#"{"v":2,"op":"system.stats"}"#);
    assert!(stats.contains(r#""idempotency_record_count":1,"#), "{stats}");
}

/// A series snapshot (`snapshot.create`, no WAL truncation, no
/// idempotency snapshot) covers the data of earlier keyed writes, but their
/// records live only in the WAL: replay must still rebuild them, or a
/// retry after the crash applies the write a second time.
#[test]
fn records_survive_a_series_snapshot_and_kill9() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    let inc =
        r#"{"v":2,"op":"counter.increment","series":"u","key":1,"bucket":20260501,"value":2,"idempotency_key":"k1"}"#;
    let add = r#"{"v":2,"op":"series.batch_add","series":"u","items":[[2,20260501,3]],"idempotency_key":"k2"}"#;
    assert_eq!(server.request(inc), ok_idem("2", false));
    assert_eq!(server.request(add), ok_idem(r#"{"applied":1,"total":3}"#, false));
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create","series":"u"}"#), ok(r#""Tree \"u\" saved""#));
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(
        server.request(r#"{"v":2,"op":"tree.summary","series":"u"}"#),
        ok(r#"{"tree":"u","total":5,"active_keys":2,"bucket_count":2}"#)
    );
    assert_eq!(server.request(inc), ok_idem("2", true));
    assert_eq!(server.request(add), ok_idem(r#"{"applied":1,"total":3}"#, true));
    assert_eq!(
        server.request(r#"{"v":2,"op":"tree.summary","series":"u"}"#),
        ok(r#"{"tree":"u","total":5,"active_keys":2,"bucket_count":2}"#)
    );
}

/// A directory written by Karma 1.0: a `.tree` and a
/// `karma.idempotency.json` with the worked example's record (and a
/// committed stream, and an expired record), no sidecars, no WAL.
#[test]
fn records_written_by_karma_1_0_are_honoured() {
    // The hand encoder reproduces docs/storage.md, Snapshots byte for byte.
    let api: Vec<u8> = (0..56)
        .map(|i| {
            let hex = "82ac6272616e636865735f6e756d09a86272616e6368657399808080808080812a82a57461626c6581ce0135269907a5746f74616c078080";
            u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()
        })
        .collect();
    assert_eq!(snapshot_file_bytes(&[(42, 20260505, 7)]), api);

    let begin_fp =
        fingerprint_of(&["command:s:12:ingest_begin", "stream_id:s:2:s1", "mode:s:3:add", "granularity:s:3:day"]);
    assert_eq!(begin_fp, "1e2a7aef87c0443538c0db22e97db18ef2faa0af3ecf31ebb8f455a783dd06de");
    let import_begin_fp =
        fingerprint_of(&["command:s:12:ingest_begin", "stream_id:s:8:import-1", "mode:s:3:add", "granularity:s:3:day"]);
    let chunk_fp = "0d8bca02e8caeb2397147b66695cab1b30a7484faa740ac3837c283aa7a15f86";

    let temp = temp_dir();
    let now = unix_now();
    // 101/20260529 holds the increment of 2 and the ingested 5.
    std::fs::write(temp.path().join("1779000000_usage.tree"), snapshot_file_bytes(&[(101, 20260529, 7)])).unwrap();
    let document = format!(
        concat!(
            r#"{{"records":[{{"key":"ancient","operation":"increment","fingerprint":"{fp}","response":2,"created_at_unix":{old}}},"#,
            r#"{{"key":"ik-1","operation":"increment","fingerprint":"{fp}","response":2,"created_at_unix":{recent}}}],"#,
            r#""committed_streams":[{{"stream_id":"import-1","mode":"add","granularity":"day","series_name":"usage","last_chunk_seq":1,"#,
            r#""begin_fingerprint":"{begin}","chunk_fingerprints":{{"1":"{chunk}"}},"committed_at_unix":{recent}}}]}}"#,
            "\n"
        ),
        fp = EXAMPLE_FP,
        old = now - 8 * 86400,
        recent = now - 60,
        begin = import_begin_fp,
        chunk = chunk_fp,
    );
    std::fs::write(temp.path().join("karma.idempotency.json"), document).unwrap();
    let server = Server::start_in(temp.path(), &[]);

    assert_eq!(server.request(&example(r#","idempotency_key":"ik-1""#)), ok_idem("2", true));
    assert_eq!(server.request(&example(r#","idempotency_key":"ik-1","fingerprint":"00efa1dcd02ad1bb399c2131de3a2ae29a340f7dc629c33809641d0a6bd46e14""#)), ok_idem("2", true));
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"usage","key":101}"#), ok("7"));
    assert_eq!(
        server.request(r#"{"v":2,"op":"counter.increment","series":"usage","key":101,"bucket":20260529,"value":3,"idempotency_key":"ik-1"}"#),
        conflict()
    );
    // The stream committed by Karma 1.0 is recognised too.
    assert_eq!(
        server.request(r#"{"v":2,"op":"ingest.begin","stream_id":"import-1","mode":"add","granularity":"day"}"#),
        ok(
            r#"{"stream_id":"import-1","mode":"add","series":"usage","granularity":"day","status":"already_committed","last_chunk_seq":1}"#
        )
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"ingest.chunk","series":"usage","stream_id":"import-1","chunk_seq":1,"items":[[101,20260529,5]]}"#),
        ok(r#"{"stream_id":"import-1","chunk_seq":1,"skipped":true,"committed":true,"applied":0,"total":0}"#)
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"ingest.chunk","series":"usage","stream_id":"import-1","chunk_seq":1,"items":[[101,20260529,6]]}"#),
        err("idempotency_conflict", "Ingest stream was already committed with different chunks")
    );
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"usage","key":101}"#), ok("7"));
    // The expired record was pruned at load, so its key is free.
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_committed_stream_count", "idempotency_hits"]),
        expected_stats(&[
            ("idempotency_record_count", 1),
            ("idempotency_committed_stream_count", 1),
            ("idempotency_hits", 2),
        ])
    );
    assert_eq!(server.request(&example(r#","idempotency_key":"ancient""#)), ok_idem("2", false));
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"usage","key":101}"#), ok("9"));
}

/// `karma.idempotency.json` as written by `snapshot.create_all`
/// (docs/storage.md, Idempotency and ingest snapshot), byte for byte, with the fingerprints of the
/// test vectors of docs/protocol.md, Fingerprints computed by the server.
#[test]
fn idempotency_snapshot_document() {
    let server = Server::start(&[]);
    let lines = [
        (EXAMPLE.to_string() + r#","idempotency_key":"ik"}"#, ok_idem("2", false)),
        (
            r#"{"v":2,"op":"series.batch_add","series":"usage","items":[[101,20260529,5],[102,20260529,1]],"idempotency_key":"ba"}"#.to_string(),
            ok_idem(r#"{"applied":2,"total":6}"#, false),
        ),
        (r#"{"v":2,"op":"tree.reset","series":"usage","idempotency_key":"tr"}"#.to_string(), ok_idem(r#""OK""#, false)),
        (
            r#"{"v":2,"op":"counter.batch_delete_range","series":"usage","keys":[1,2],"range":{"from":20260501,"to":20260531},"idempotency_key":"bd"}"#.to_string(),
            ok_idem(r#"{"deleted":0,"missing":2}"#, false),
        ),
        (r#"{"v":2,"op":"ingest.begin","stream_id":"import-1","mode":"add","granularity":"day"}"#.to_string(), String::new()),
        (
            r#"{"v":2,"op":"ingest.chunk","series":"usage","stream_id":"import-1","chunk_seq":1,"items":[[101,20260529,5]]}"#.to_string(),
            String::new(),
        ),
        (r#"{"v":2,"op":"ingest.commit","stream_id":"import-1"}"#.to_string(), String::new()),
        (r#"{"v":2,"op":"ingest.begin","stream_id":"bare","mode":"add"}"#.to_string(), String::new()),
        (r#"{"v":2,"op":"ingest.commit","stream_id":"bare"}"#.to_string(), String::new()),
        // An open stream is not part of what Karma 1.0 reads.
        (r#"{"v":2,"op":"ingest.begin","stream_id":"open","mode":"set"}"#.to_string(), String::new()),
    ];
    for (line, expected) in &lines {
        let reply = server.request(line);
        if expected.is_empty() {
            assert!(reply.contains(r#""success":true"#), "{line}: {reply}");
        } else {
            assert_eq!(&reply, expected, "{line}");
        }
    }
    assert_eq!(
        server.request(r#"{"v":2,"op":"ingest.abort","stream_id":"open"}"#),
        ok(r#"{"stream_id":"open","status":"aborted","last_chunk_seq":0}"#)
    );
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    let bytes = std::fs::read(server.dir.join("karma.idempotency.json")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    let at = |list: &str, i: usize, field: &str| document[list][i][field].as_i64().unwrap();
    let begin_fp =
        fingerprint_of(&["command:s:12:ingest_begin", "stream_id:s:8:import-1", "mode:s:3:add", "granularity:s:3:day"]);
    let bare_fp = fingerprint_of(&["command:s:12:ingest_begin", "stream_id:s:4:bare", "mode:s:3:add", "granularity:n"]);
    let expected = format!(
        concat!(
            r#"{{"records":["#,
            r#"{{"key":"ik","operation":"increment","fingerprint":"{}","response":2,"created_at_unix":{}}},"#,
            r#"{{"key":"ba","operation":"batch_add","fingerprint":"d7b24834877dd43ac3bfac544cb3ce840865e0e3f52c18b3c7b61df77b836151","response":{{"applied":2,"total":6}},"created_at_unix":{}}},"#,
            r#"{{"key":"tr","operation":"reset","fingerprint":"422e51677aebd841b23f86612755285b7200bc1c0ba822dd00463c24c6f8d205","response":"OK","created_at_unix":{}}},"#,
            r#"{{"key":"bd","operation":"batch_delete_range","fingerprint":"f2ba9c528b1ce30256ef5efca90aa37c093c82f027070e87aa1b3db1f8f12bc5","response":{{"deleted":0,"missing":2}},"created_at_unix":{}}}],"#,
            r#""committed_streams":["#,
            r#"{{"stream_id":"import-1","mode":"add","granularity":"day","series_name":"usage","last_chunk_seq":1,"begin_fingerprint":"{}","chunk_fingerprints":{{"1":"0d8bca02e8caeb2397147b66695cab1b30a7484faa740ac3837c283aa7a15f86"}},"committed_at_unix":{}}},"#,
            r#"{{"stream_id":"bare","mode":"add","last_chunk_seq":0,"begin_fingerprint":"{}","chunk_fingerprints":{{}},"committed_at_unix":{}}}]}}"#,
            "\n"
        ),
        EXAMPLE_FP,
        at("records", 0, "created_at_unix"),
        at("records", 1, "created_at_unix"),
        at("records", 2, "created_at_unix"),
        at("records", 3, "created_at_unix"),
        begin_fp,
        at("committed_streams", 0, "committed_at_unix"),
        bare_fp,
        at("committed_streams", 1, "committed_at_unix"),
    );
    assert_eq!(text, expected);
    // The sidecar, and the same file served in chunks.
    let meta = std::fs::read_to_string(server.dir.join("karma.idempotency.json.meta.json")).unwrap();
    let timestamp = serde_json::from_str::<Value>(&meta).unwrap()["timestamp"].as_i64().unwrap();
    assert_eq!(
        meta,
        format!(
            "{{\"file\":\"karma.idempotency.json\",\"timestamp\":{timestamp},\"last_lsn\":11,\"bytes\":{},\"record_count\":4,\"committed_stream_count\":2}}\n",
            bytes.len()
        )
    );
    let chunk = server.request(r#"{"v":2,"op":"idempotency.snapshot_fetch_chunk","offset":10,"limit":20}"#);
    assert_eq!(
        chunk,
        ok(&format!(
            concat!(
                r#"{{"metadata":{{"file":"karma.idempotency.json","timestamp":{},"bytes":{},"last_lsn":11,"record_count":4,"committed_stream_count":2}},"#,
                r#""offset":10,"limit":20,"bytes":20,"total_bytes":{},"next_offset":30,"done":false,"data_base64":"{}"}}"#
            ),
            timestamp,
            bytes.len(),
            bytes.len(),
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes[10..30])
        ))
    );
}

/// The record's server time goes into the WAL line, so replay recreates it
/// with the same `created_at_unix` rather than the replay time.
#[test]
fn record_time_survives_replay() {
    let temp = temp_dir();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(&example(r#","idempotency_key":"timed""#)), ok_idem("2", false));
    // A copy of the directory while only the WAL holds the record.
    let copy = temp_dir();
    for entry in std::fs::read_dir(temp.path()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
        }
    }
    let live = snapshot_records(&server);
    assert_eq!(live.len(), 1);
    let created = live[0]["created_at_unix"].as_i64().unwrap();
    drop(server);
    while unix_now() < created + 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let replayed = Server::start_in(copy.path(), &[]);
    assert_eq!(replayed.request(r#"{"v":2,"op":"counter.sum","series":"usage","key":101}"#), ok("2"));
    let records = snapshot_records(&replayed);
    assert_eq!(records, live);
    assert_eq!(records[0]["created_at_unix"], json!(created));
    assert_eq!(replayed.request(&example(r#","idempotency_key":"timed""#)), ok_idem("2", true));
}
