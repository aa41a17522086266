//! Streams across `kill -9`, WAL replay and snapshots.
use super::*;

#[test]
fn kill9_mid_stream_then_resume_or_abort() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    let q = |server: &Server, line: &str| server.request(line);
    let c1 = [(1, 20260501, 1), (2, 20260501, 2)];
    let c2 = [(1, 20260502, 3)];
    let c3 = [(3, 20260503, 4)];
    q(&server, r#"{"v":2,"op":"series.batch_add","series":"rep","items":[[100,20260401,100]]}"#);
    for (id, mode, series) in
        [("res", "add", "m"), ("gone", "replace_series", "rep"), ("sa", "set", "s"), ("rr", "replace_series", "rep2")]
    {
        q(&server, &begin_line(id, mode, Some("day")));
        assert_eq!(q(&server, &chunk_line(series, id, 1, &c1)), applied(id, 1, &c1));
        assert_eq!(q(&server, &chunk_line(series, id, 2, &c2)), applied(id, 2, &c2));
    }
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(stat_values(&server, &["ingest_active_streams"]), expected_stats(&[("ingest_active_streams", 4)]));
    // Resume: the status is back, retries are skipped, the next chunk runs.
    assert_eq!(
        q(&server, &begin_line("res", "add", Some("day"))),
        status("res", "add", Some("m"), Some("day"), "active", 2)
    );
    assert_eq!(q(&server, &chunk_line("m", "res", 2, &c2)), skipped("res", 2, false));
    assert_eq!(
        q(&server, &chunk_line("m", "res", 2, &c3)),
        conflict("Ingest chunk was already used with different payload")
    );
    assert_eq!(q(&server, &chunk_line("m", "res", 3, &c3)), applied("res", 3, &c3));
    assert_eq!(q(&server, &commit_line("res")), committed("res", 3));
    assert_eq!(q(&server, &summary_line("m")), ok(r#"{"tree":"m","total":10,"active_keys":3,"bucket_count":4}"#));
    // Resume a replace_series stream: the staged data came back too.
    assert_eq!(q(&server, &summary_line("rep2")), series_not_found("rep2"));
    assert_eq!(q(&server, &chunk_line("rep2", "rr", 3, &c3)), applied("rr", 3, &c3));
    assert_eq!(q(&server, &commit_line("rr")), committed("rr", 3));
    assert_eq!(q(&server, &summary_line("rep2")), ok(r#"{"tree":"rep2","total":10,"active_keys":3,"bucket_count":4}"#));
    // Abort: staged data is dropped, applied set chunks stay.
    assert_eq!(q(&server, &abort_line("gone")), aborted("gone", 2));
    assert_eq!(q(&server, &summary_line("rep")), ok(r#"{"tree":"rep","total":100,"active_keys":1,"bucket_count":1}"#));
    assert_eq!(q(&server, &abort_line("sa")), aborted("sa", 2));
    assert_eq!(q(&server, &summary_line("s")), ok(r#"{"tree":"s","total":6,"active_keys":2,"bucket_count":3}"#));
    assert_eq!(stat_values(&server, &["ingest_active_streams"]), expected_stats(&[("ingest_active_streams", 0)]));
}

#[test]
fn open_streams_survive_snapshot_and_restart() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    let c1 = [(1, 20260501, 5)];
    let c2 = [(2, 20260502, 7)];
    q_ok(&server, r#"{"v":2,"op":"series.batch_add","series":"rep","items":[[9,20260409,9]]}"#);
    for (id, mode, series) in [("open-add", "add", "a"), ("open-rep", "replace_series", "rep")] {
        q_ok(&server, &begin_line(id, mode, None));
        assert_eq!(server.request(&chunk_line(series, id, 1, &c1)), applied(id, 1, &c1));
    }
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    server.kill9();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_eq!(
        server.request(&begin_line("open-add", "add", None)),
        status("open-add", "add", Some("a"), None, "active", 1)
    );
    assert_eq!(
        server.request(&begin_line("open-rep", "replace_series", None)),
        status("open-rep", "replace_series", Some("rep"), None, "active", 1)
    );
    assert_eq!(server.request(&chunk_line("a", "open-add", 1, &c1)), skipped("open-add", 1, false));
    assert_eq!(server.request(&chunk_line("a", "open-add", 2, &c2)), applied("open-add", 2, &c2));
    assert_eq!(server.request(&chunk_line("rep", "open-rep", 2, &c2)), applied("open-rep", 2, &c2));
    assert_eq!(
        server.request(&summary_line("rep")),
        ok(r#"{"tree":"rep","total":9,"active_keys":1,"bucket_count":1}"#)
    );
    // Again: a snapshot now holds the chunk of seq 2 too.
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(&commit_line("open-add")), committed("open-add", 2));
    assert_eq!(server.request(&commit_line("open-rep")), committed("open-rep", 2));
    assert_eq!(server.request(&summary_line("a")), ok(r#"{"tree":"a","total":12,"active_keys":2,"bucket_count":2}"#));
    assert_eq!(
        server.request(&summary_line("rep")),
        ok(r#"{"tree":"rep","total":12,"active_keys":2,"bucket_count":2}"#)
    );
}

/// A committed stream is remembered through WAL replay and through the
/// idempotency snapshot, and its data is not applied twice.
#[test]
fn committed_streams_survive_replay_and_snapshot_restore() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    let c1 = [(1, 20260501, 5), (2, 20260501, 1)];
    for (id, mode, series) in [("done-add", "add", "a"), ("done-rep", "replace_series", "r")] {
        q_ok(&server, &begin_line(id, mode, Some("day")));
        assert_eq!(server.request(&chunk_line(series, id, 1, &c1)), applied(id, 1, &c1));
        assert_eq!(server.request(&commit_line(id)), committed(id, 1));
    }
    for round in ["replay", "snapshot restore", "snapshot restore and replay"] {
        if round == "snapshot restore" {
            assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
        }
        if round == "snapshot restore and replay" {
            // More WAL after the snapshot: the retries are logged too.
            assert_eq!(server.request(&chunk_line("a", "done-add", 1, &c1)), skipped("done-add", 1, true));
        }
        server.kill9();
        server = Server::start_in(temp.path(), &[]);
        for (id, mode, series) in [("done-add", "add", "a"), ("done-rep", "replace_series", "r")] {
            let already = status(id, mode, Some(series), Some("day"), "already_committed", 1);
            assert_eq!(server.request(&commit_line(id)), already, "{round}");
            assert_eq!(server.request(&begin_line(id, mode, Some("day"))), already, "{round}");
            assert_eq!(server.request(&chunk_line(series, id, 1, &c1)), skipped(id, 1, true), "{round}");
            assert_eq!(
                server.request(&chunk_line(series, id, 2, &c1)),
                conflict("Ingest stream was already committed with different chunks"),
                "{round}"
            );
            assert_eq!(
                server.request(&summary_line(series)),
                ok(&format!(r#"{{"tree":"{series}","total":6,"active_keys":2,"bucket_count":2}}"#)),
                "{round}"
            );
        }
        assert_eq!(
            stat_values(&server, &["idempotency_committed_stream_count", "ingest_active_streams"]),
            expected_stats(&[("idempotency_committed_stream_count", 2), ("ingest_active_streams", 0)])
        );
    }
}

/// After `snapshot.create` of single series (no WAL truncation), replay
/// advances the streams through the chunks the snapshots already hold
/// without applying their data twice.
#[test]
fn series_snapshots_then_kill9_apply_chunks_once() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    q_ok(&server, r#"{"v":2,"op":"series.batch_add","series":"r","items":[[9,20260401,9]]}"#);
    q_ok(&server, &begin_line("a", "add", None));
    q_ok(&server, &chunk_line("m", "a", 1, &[(1, 20260501, 5)]));
    q_ok(&server, &begin_line("rs", "replace_series", None));
    q_ok(&server, &chunk_line("r", "rs", 1, &[(1, 20260501, 5)]));
    q_ok(&server, r#"{"v":2,"op":"snapshot.create","series":"m"}"#);
    q_ok(&server, r#"{"v":2,"op":"snapshot.create","series":"r"}"#);
    q_ok(&server, &chunk_line("m", "a", 2, &[(1, 20260502, 7)]));
    q_ok(&server, &chunk_line("r", "rs", 2, &[(2, 20260502, 7)]));
    q_ok(&server, &begin_line("c", "replace_series", None));
    q_ok(&server, &chunk_line("r2", "c", 1, &[(2, 20260502, 7)]));
    q_ok(&server, &commit_line("c"));
    q_ok(&server, r#"{"v":2,"op":"snapshot.create","series":"r2"}"#);
    q_ok(&server, r#"{"v":2,"op":"series.batch_add","series":"r2","items":[[3,20260503,1]]}"#);
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(summary(&server, "m"), ok(r#"{"tree":"m","total":12,"active_keys":1,"bucket_count":2}"#));
    assert_eq!(summary(&server, "r"), ok(r#"{"tree":"r","total":9,"active_keys":1,"bucket_count":1}"#));
    assert_eq!(summary(&server, "r2"), ok(r#"{"tree":"r2","total":8,"active_keys":2,"bucket_count":2}"#));
    assert_eq!(server.request(&begin_line("a", "add", None)), status("a", "add", Some("m"), None, "active", 2));
    assert_eq!(server.request(&chunk_line("m", "a", 1, &[(1, 20260501, 5)])), skipped("a", 1, false));
    assert_eq!(server.request(&commit_line("rs")), committed("rs", 2));
    assert_eq!(summary(&server, "r"), ok(r#"{"tree":"r","total":12,"active_keys":2,"bucket_count":2}"#));
    assert_eq!(
        server.request(&commit_line("c")),
        status("c", "replace_series", Some("r2"), None, "already_committed", 1)
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
