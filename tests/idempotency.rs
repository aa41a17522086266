//! Idempotency keys over real TCP and real restarts (COMMANDS.md 11, 15.4).
mod common;
use common::{err, ok, ok_idem, temp_dir, Server};

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
        err("idempotency_conflict", "Idempotency key was already used with a different request")
    );
    assert_eq!(
        q(
            r#"{"v":2,"op":"series.batch_add","series":"usage","items":[[1,20260501,5]],"idempotency_key":"ba","fingerprint":"abc"}"#
        ),
        err("idempotency_conflict", "Field fingerprint does not match request fingerprint")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"series.batch_add","series":"usage","items":[[1,20260501,5]],"idempotency_key":""}"#),
        err("validation_error", "Field idempotency_key must not be empty")
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

#[test]
fn retry_storm_applies_each_keyed_increment_once() {
    let server = Server::start(&["--wal-fsync=false"]);
    let addr = server.addr;
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = karma::client::Client::connect(addr, Some(std::time::Duration::from_secs(30))).unwrap();
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
}

#[test]
fn ingest_add_stream_end_to_end_with_retry_and_restart() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_eq!(
        server.request(r#"{"v":2,"op":"ingest.begin","stream_id":"st1","mode":"add","granularity":"day"}"#),
        ok(
            r#"{"stream_id":"st1","mode":"add","series":null,"granularity":"day","status":"active","last_chunk_seq":0}"#
        )
    );
    let chunk1 = r#"{"v":2,"op":"ingest.chunk","series":"m","stream_id":"st1","chunk_seq":1,"items":[[1,20260501,4],[2,20260501,5]]}"#;
    assert_eq!(
        server.request(chunk1),
        ok(r#"{"stream_id":"st1","chunk_seq":1,"skipped":false,"applied":2,"total":9}"#)
    );
    assert_eq!(
        server.request(chunk1),
        ok(r#"{"stream_id":"st1","chunk_seq":1,"skipped":true,"committed":false,"applied":0,"total":0}"#)
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"ingest.chunk","series":"m","stream_id":"st1","chunk_seq":3,"items":[]}"#),
        err("validation_error", "Field chunk_seq must be the next chunk")
    );
    server.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(
        server.request(
            r#"{"v":2,"op":"ingest.chunk","series":"m","stream_id":"st1","chunk_seq":2,"items":[[1,20260502,1]]}"#
        ),
        ok(r#"{"stream_id":"st1","chunk_seq":2,"skipped":false,"applied":1,"total":1}"#)
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"ingest.commit","stream_id":"st1"}"#),
        ok(r#"{"stream_id":"st1","status":"committed","last_chunk_seq":2}"#)
    );
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"m","key":1}"#), ok("5"));
    assert_eq!(
        server.request(r#"{"v":2,"op":"ingest.commit","stream_id":"st1"}"#),
        ok(
            r#"{"stream_id":"st1","mode":"add","series":"m","granularity":"day","status":"already_committed","last_chunk_seq":2}"#
        )
    );
}

#[test]
fn recovery_checkpoints_persist() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    let reply = server
        .request(r#"{"v":2,"op":"recovery.checkpoint","source":"usage-export","offset":"export-1","event_id":42}"#);
    assert!(
        reply.contains(r#""source":"usage-export","offset":"export-1","event_id":"42","updated_at_unix":"#),
        "{reply}"
    );
    server.kill9();
    let server = Server::start_in(temp.path(), &["--restore=false"]);
    let status = server.request(r#"{"v":2,"op":"recovery.status","source":"usage-export"}"#);
    assert!(
        status.contains(
            r#"{"checkpoint_count":1,"checkpoints":[{"source":"usage-export","offset":"export-1","event_id":"42","#
        ),
        "{status}"
    );
}
