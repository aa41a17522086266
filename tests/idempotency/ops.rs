//! Every eligible op (docs/protocol.md, Idempotency) run once and then answered from
//! its record, live and after `kill -9`; aliases sharing a record.
use super::*;

/// One eligible op: setup lines, the keyed line (with `{s}` for the series
/// and `{k}` for the key), its reply, and the series afterwards.
struct Case {
    name: &'static str,
    setup: &'static [&'static str],
    line: &'static str,
    reply: &'static str,
    after: &'static str,
    /// Same key, another request.
    other: &'static str,
}

const SEED: &[&str] =
    &[r#"{"v":2,"op":"series.batch_add","series":"{s}","items":[[1,20260501,10],[1,20260502,4],[2,20260501,3]]}"#];

const CASES: &[Case] = &[
    Case {
        name: "counter.increment",
        setup: &[],
        line: r#"{"v":2,"op":"counter.increment","series":"{s}","key":1,"bucket":20260501,"value":5,"idempotency_key":"{k}"}"#,
        reply: "5",
        after: r#"{"1":{"20260501":5}}"#,
        other: r#"{"v":2,"op":"counter.increment","series":"{s}","key":2,"bucket":20260501,"value":5,"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "series.increment",
        setup: &[],
        line: r#"{"v":2,"op":"series.increment","series":"{s}","key":1,"date":20260501,"idempotency_key":"{k}"}"#,
        reply: "1",
        after: r#"{"1":{"20260501":1}}"#,
        other: r#"{"v":2,"op":"series.increment","series":"{s}","key":1,"date":20260502,"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "counter.decrement",
        setup: SEED,
        line: r#"{"v":2,"op":"counter.decrement","series":"{s}","key":1,"bucket":20260501,"value":3,"idempotency_key":"{k}"}"#,
        reply: "3",
        after: r#"{"1":{"20260501":7,"20260502":4},"2":{"20260501":3}}"#,
        other: r#"{"v":2,"op":"counter.decrement","series":"{s}","key":1,"bucket":20260501,"value":4,"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "series.batch_add",
        setup: &[],
        line: r#"{"v":2,"op":"series.batch_add","series":"{s}","items":[[1,20260501,5],[2,20260501,3],[1,20260501,2]],"idempotency_key":"{k}"}"#,
        reply: r#"{"applied":3,"total":10}"#,
        after: r#"{"1":{"20260501":7},"2":{"20260501":3}}"#,
        other: r#"{"v":2,"op":"series.batch_add","series":"{s}","items":[[1,20260501,5],[2,20260501,3]],"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "counter.batch_increment",
        setup: &[],
        line: r#"{"v":2,"op":"counter.batch_increment","series":"{s}","items":[[9,20260503,1]],"idempotency_key":"{k}"}"#,
        reply: r#"{"applied":1,"total":1}"#,
        after: r#"{"9":{"20260503":1}}"#,
        other: r#"{"v":2,"op":"series.batch_set","series":"{s}","items":[[9,20260503,1]],"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "series.batch_set",
        setup: SEED,
        line: r#"{"v":2,"op":"series.batch_set","series":"{s}","items":[[1,20260501,7],[2,20260501,0],[3,20260502,1]],"idempotency_key":"{k}"}"#,
        reply: r#"{"applied":3}"#,
        after: r#"{"1":{"20260501":7,"20260502":4},"2":{},"3":{"20260502":1}}"#,
        other: r#"{"v":2,"op":"series.batch_set","series":"{s}","items":[[1,20260501,8]],"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "counter.reset",
        setup: SEED,
        line: r#"{"v":2,"op":"counter.reset","series":"{s}","key":1,"idempotency_key":"{k}"}"#,
        reply: r#""OK""#,
        after: r#"{"1":{},"2":{"20260501":3}}"#,
        // The same op on the whole series differs in its key line.
        other: r#"{"v":2,"op":"tree.reset","series":"{s}","idempotency_key":"{k}"}"#,
    },
    Case {
        name: "tree.reset",
        setup: SEED,
        line: r#"{"v":2,"op":"tree.reset","series":"{s}","idempotency_key":"{k}"}"#,
        reply: r#""OK""#,
        after: r#"{"1":{},"2":{}}"#,
        other: r#"{"v":2,"op":"counter.reset","series":"{s}","key":1,"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "counter.batch_reset",
        setup: SEED,
        line: r#"{"v":2,"op":"counter.batch_reset","series":"{s}","keys":[1,9,1],"idempotency_key":"{k}"}"#,
        reply: r#"{"reset":1,"missing":2}"#,
        after: r#"{"1":{},"2":{"20260501":3}}"#,
        other: r#"{"v":2,"op":"counter.batch_reset","series":"{s}","keys":[9,1,1],"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "counter.delete_range",
        setup: SEED,
        line: r#"{"v":2,"op":"counter.delete_range","series":"{s}","key":1,"range":{"from":20260501,"to":20260501},"idempotency_key":"{k}"}"#,
        reply: "true",
        after: r#"{"1":{"20260502":4},"2":{"20260501":3}}"#,
        other: r#"{"v":2,"op":"counter.delete_range","series":"{s}","key":1,"range":{"from":20260501,"to":20260502},"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "tree.delete_range",
        setup: SEED,
        line: r#"{"v":2,"op":"tree.delete_range","series":"{s}","range":{"from":20260501,"to":20260501},"idempotency_key":"{k}"}"#,
        reply: "true",
        after: r#"{"1":{"20260502":4},"2":{}}"#,
        other: r#"{"v":2,"op":"counter.delete_range","series":"{s}","key":1,"range":{"from":20260501,"to":20260501},"idempotency_key":"{k}"}"#,
    },
    Case {
        name: "counter.batch_delete_range",
        setup: SEED,
        line: r#"{"v":2,"op":"counter.batch_delete_range","series":"{s}","keys":[1,2,9],"range":{"from":20260502,"to":20260502},"idempotency_key":"{k}"}"#,
        reply: r#"{"deleted":1,"missing":1}"#,
        after: r#"{"1":{"20260501":10},"2":{"20260501":3}}"#,
        other: r#"{"v":2,"op":"counter.batch_delete_range","series":"{s}","keys":[1,2,9],"range":{"from":20260501,"to":20260502},"idempotency_key":"{k}"}"#,
    },
];

fn fill(template: &str, series: &str, key: &str) -> String {
    template.replace("{s}", series).replace("{k}", key)
}

/// The first run answers `"idempotent":false`; after the series has been
/// changed behind the record's back, the retry answers the stored reply
/// with `"idempotent":true`, writes no WAL line and changes nothing; the
/// same key with another payload is a conflict.
#[test]
fn every_eligible_op_runs_once() {
    let server = Server::start(&[]);
    for (i, case) in CASES.iter().enumerate() {
        let series = format!("op{i}");
        let key = format!("key-{i}");
        for setup in case.setup {
            assert!(server.request(&fill(setup, &series, &key)).contains(r#""success":true"#), "{}", case.name);
        }
        let line = fill(case.line, &series, &key);
        assert_eq!(server.request(&line), ok_idem(case.reply, false), "{}: first run", case.name);
        let after: Value = serde_json::from_str(case.after).unwrap();
        assert_eq!(series_state(&server, &series), after, "{}: effect", case.name);
        // Change the series so a second execution would show.
        let disturb = format!(
            r#"{{"v":2,"op":"series.batch_add","series":"{series}","items":[[1,20260501,100],[1,20260502,100],[2,20260501,100],[9,20260503,100]]}}"#
        );
        assert!(server.request(&disturb).contains(r#""success":true"#));
        let disturbed = series_state(&server, &series);
        let lsn = wal_lsn(&server);
        assert_eq!(server.request(&line), ok_idem(case.reply, true), "{}: retry", case.name);
        assert_eq!(server.request(&line), ok_idem(case.reply, true), "{}: second retry", case.name);
        assert_eq!(series_state(&server, &series), disturbed, "{}: retry changed the series", case.name);
        assert_eq!(wal_lsn(&server), lsn, "{}: a retry was logged", case.name);
        assert_eq!(server.request(&fill(case.other, &series, &key)), conflict(), "{}: other payload", case.name);
        // The key namespace is global: another series, another op.
        let elsewhere =
            format!(r#"{{"v":2,"op":"counter.increment","series":"elsewhere","key":1,"idempotency_key":"{key}"}}"#);
        assert_eq!(server.request(&elsewhere), conflict(), "{}: global namespace", case.name);
        assert_eq!(series_state(&server, &series), disturbed, "{}: conflict changed the series", case.name);
    }
    let n = CASES.len() as i64;
    assert_eq!(
        stat_values(&server, &["idempotency_record_count", "idempotency_hits", "idempotency_conflicts"]),
        expected_stats(&[
            ("idempotency_record_count", n),
            ("idempotency_hits", 2 * n),
            ("idempotency_conflicts", 2 * n)
        ])
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"tree.info","series":"elsewhere"}"#),
        err("not_found", "Tree \"elsewhere\" not found")
    );
}

/// Aliases share a fingerprint: one record answers both names.
#[test]
fn aliases_share_the_record() {
    let server = Server::start(&[]);
    let pairs = [
        (
            r#"{"v":2,"op":"counter.increment","series":"a","key":1,"bucket":20260501,"value":4,"idempotency_key":"i"}"#,
            r#"{"v":2,"op":"series.increment","tree":"a","key":1,"bucket":"2026-05-01","value":4,"idempotency_key":"i"}"#,
            "4",
        ),
        (
            r#"{"v":2,"op":"series.batch_add","series":"a","items":[[1,20260501,5]],"idempotency_key":"b"}"#,
            r#"{"v":2,"op":"counter.batch_increment","series":"a","granularity":"day","items":[[1,20260501,5]],"idempotency_key":"b"}"#,
            r#"{"applied":1,"total":5}"#,
        ),
    ];
    for (first, alias, reply) in pairs {
        assert_eq!(server.request(first), ok_idem(reply, false));
        assert_eq!(server.request(alias), ok_idem(reply, true));
    }
    assert_eq!(server.request(r#"{"v":2,"op":"counter.sum","series":"a","key":1}"#), ok("9"));
}

/// Every eligible op, `kill -9` right after the first send, retried on the
/// restarted process (records rebuilt from the WAL), then again after a
/// snapshot (records read from `karma.idempotency.json`).
#[test]
fn every_eligible_op_retried_across_kill9() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    let mut expected = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let (series, key) = (format!("op{i}"), format!("key-{i}"));
        for setup in case.setup {
            assert!(server.request(&fill(setup, &series, &key)).contains(r#""success":true"#));
        }
        assert_eq!(server.request(&fill(case.line, &series, &key)), ok_idem(case.reply, false), "{}", case.name);
        expected.push(serde_json::from_str::<Value>(case.after).unwrap());
    }
    for round in ["after replay", "after snapshot restore"] {
        server.kill9();
        server = Server::start_in(temp.path(), &[]);
        for (i, case) in CASES.iter().enumerate() {
            let (series, key) = (format!("op{i}"), format!("key-{i}"));
            let line = fill(case.line, &series, &key);
            assert_eq!(server.request(&line), ok_idem(case.reply, true), "{} {round}", case.name);
            assert_eq!(server.request(&fill(case.other, &series, &key)), conflict(), "{} {round}", case.name);
            assert_eq!(series_state(&server, &series), expected[i], "{} {round}", case.name);
        }
        assert_eq!(
            stat_values(&server, &["idempotency_record_count", "idempotency_hits"]),
            expected_stats(&[
                ("idempotency_record_count", CASES.len() as i64),
                ("idempotency_hits", CASES.len() as i64)
            ])
        );
        assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    }
}
