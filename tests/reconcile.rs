//! Recovery checkpoints (docs/protocol.md, Recovery checkpoints and
//! reconciliation; docs/storage.md, Other files), `reconciliation.report`
//! (docs/protocol.md, reconciliation.report) and the `reconcile-csv` tool
//! against a real server seeded with known drift.
mod common;
use common::{err, expected_stats, ok, response, stat_values, temp_dir, unix_now, Server};
use std::process::Command;

fn validation(message: &str) -> String {
    err("validation_error", message)
}

/// Sends a checkpoint and checks the reply exactly, its time within the
/// call; returns `updated_at_unix`.
fn checkpoint(server: &Server, fields: &str, expected_head: &str) -> i64 {
    let before = unix_now();
    let reply = server.request(&format!(r#"{{"v":2,"op":"recovery.checkpoint",{fields}}}"#));
    let after = unix_now();
    let at = response(&reply)["updated_at_unix"].as_i64().unwrap_or_else(|| panic!("{fields}: {reply}"));
    assert!((before..=after).contains(&at), "{at} not in {before}..={after}");
    assert_eq!(reply, ok(&format!(r#"{{{expected_head},"updated_at_unix":{at}}}"#)), "{fields}");
    at
}

fn status(server: &Server, fields: &str) -> String {
    server.request(&format!(r#"{{"v":2,"op":"recovery.status"{fields}}}"#))
}

#[test]
fn checkpoints_replace_whole_entries_and_persist() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_eq!(status(&server, ""), ok(r#"{"checkpoint_count":0,"checkpoints":[]}"#));
    checkpoint(
        &server,
        r#""source":"usage-export","offset":"export-1","event_id":42"#,
        r#""source":"usage-export","offset":"export-1","event_id":"42""#,
    );
    // Replaced whole: the event id given before is gone.
    let usage = checkpoint(
        &server,
        r#""source":"usage-export","source_offset":17,"offset":"ignored""#,
        r#""source":"usage-export","offset":"17","event_id":null"#,
    );
    let b = checkpoint(&server, r#""source":"b","event_id":"e1""#, r#""source":"b","offset":null,"event_id":"e1""#);
    let a = checkpoint(&server, r#""source":"a","offset":"0""#, r#""source":"a","offset":"0","event_id":null"#);
    let upper = checkpoint(&server, r#""source":"B","event_id":-3"#, r#""source":"B","offset":null,"event_id":"-3""#);
    let umlaut = checkpoint(
        &server,
        r#""source":"ä","offset":"x","event_id":"y""#,
        r#""source":"ä","offset":"x","event_id":"y""#,
    );
    // Sorted by source in byte order.
    let all = format!(
        concat!(
            r#"{{"checkpoint_count":5,"checkpoints":["#,
            r#"{{"source":"B","offset":null,"event_id":"-3","updated_at_unix":{upper}}},"#,
            r#"{{"source":"a","offset":"0","event_id":null,"updated_at_unix":{a}}},"#,
            r#"{{"source":"b","offset":null,"event_id":"e1","updated_at_unix":{b}}},"#,
            r#"{{"source":"usage-export","offset":"17","event_id":null,"updated_at_unix":{usage}}},"#,
            r#"{{"source":"ä","offset":"x","event_id":"y","updated_at_unix":{umlaut}}}]}}"#
        ),
        upper = upper,
        a = a,
        b = b,
        usage = usage,
        umlaut = umlaut
    );
    assert_eq!(status(&server, ""), ok(&all));
    // A non-string source means all sources.
    assert_eq!(status(&server, r#","source":7"#), ok(&all));
    assert_eq!(
        status(&server, r#","source":"b""#),
        ok(&format!(
            r#"{{"checkpoint_count":1,"checkpoints":[{{"source":"b","offset":null,"event_id":"e1","updated_at_unix":{b}}}]}}"#
        ))
    );
    assert_eq!(status(&server, r#","source":"zzz""#), ok(r#"{"checkpoint_count":0,"checkpoints":[]}"#));
    // Not in the WAL; counted in the stats.
    let newest = [a, b, upper, usage, umlaut].into_iter().max().unwrap();
    assert_eq!(
        stat_values(&server, &["wal_current_lsn", "recovery_checkpoint_count", "recovery_last_checkpoint_unix"]),
        expected_stats(&[
            ("wal_current_lsn", 0),
            ("recovery_checkpoint_count", 5),
            ("recovery_last_checkpoint_unix", newest)
        ])
    );
    // The file: compact JSON, sorted, nulls left out.
    let file = format!(
        concat!(
            r#"{{"checkpoints":[{{"source":"B","event_id":"-3","updated_at_unix":{upper}}},"#,
            r#"{{"source":"a","offset":"0","updated_at_unix":{a}}},{{"source":"b","event_id":"e1","updated_at_unix":{b}}},"#,
            r#"{{"source":"usage-export","offset":"17","updated_at_unix":{usage}}},"#,
            r#"{{"source":"ä","offset":"x","event_id":"y","updated_at_unix":{umlaut}}}]}}"#,
            "\n"
        ),
        upper = upper,
        a = a,
        b = b,
        usage = usage,
        umlaut = umlaut
    );
    assert_eq!(std::fs::read_to_string(temp.path().join("recovery.json")).unwrap(), file);
    // Snapshots leave it alone.
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    assert_eq!(std::fs::read_to_string(temp.path().join("recovery.json")).unwrap(), file);
    // Read at every startup, whatever --restore says.
    server.kill9();
    let mut server = Server::start_in(temp.path(), &["--restore=false"]);
    assert_eq!(status(&server, ""), ok(&all));
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(status(&server, ""), ok(&all));
    assert_eq!(
        stat_values(&server, &["recovery_checkpoint_count", "recovery_last_checkpoint_unix"]),
        expected_stats(&[("recovery_checkpoint_count", 5), ("recovery_last_checkpoint_unix", newest)])
    );
}

#[test]
fn checkpoints_written_by_karma_1_0_are_read() {
    let temp = temp_dir();
    std::fs::write(
        temp.path().join("recovery.json"),
        concat!(
            r#"{"checkpoints":[{"source":"abc","event_id":"e1","updated_at_unix":1795245230},"#,
            r#"{"source":"usage","offset":"42","updated_at_unix":1795245231}]}"#,
            "\n"
        ),
    )
    .unwrap();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(
        status(&server, ""),
        ok(concat!(
            r#"{"checkpoint_count":2,"checkpoints":[{"source":"abc","offset":null,"event_id":"e1","updated_at_unix":1795245230},"#,
            r#"{"source":"usage","offset":"42","event_id":null,"updated_at_unix":1795245231}]}"#
        ))
    );
    assert_eq!(
        stat_values(&server, &["recovery_checkpoint_count", "recovery_last_checkpoint_unix"]),
        expected_stats(&[("recovery_checkpoint_count", 2), ("recovery_last_checkpoint_unix", 1795245231)])
    );
}

#[test]
fn checkpoint_errors_and_refusals() {
    let server = Server::start(&["--auth-token=W", "--read-auth-token=R"]);
    let cp = |fields: &str| server.request(&format!(r#"{{"v":2,"op":"recovery.checkpoint","token":"W",{fields}}}"#));
    for (fields, message) in [
        (r#""offset":"1""#, "Field source is required"),
        (r#""source":"","offset":"1""#, "Field source is required"),
        (r#""source":5,"offset":"1""#, "Field source is required"),
        (r#""source":"s""#, "Field offset or event_id is required"),
        (r#""source":"s","offset":"""#, "Field offset must not be empty"),
        (r#""source":"s","source_offset":"","offset":"1""#, "Field offset must not be empty"),
        (r#""source":"s","offset":"","event_id":"""#, "Field offset must not be empty"),
        (r#""source":"s","offset":"1","event_id":"""#, "Field event_id must not be empty"),
        (r#""source":"s","event_id":"""#, "Field event_id must not be empty"),
        (r#""source":"s","offset":1.5"#, "Field offset must be a string or integer"),
        (r#""source":"s","offset":null,"event_id":"e""#, "Field offset must be a string or integer"),
        (r#""source":"s","source_offset":null,"offset":"1""#, "Field source_offset must be a string or integer"),
        (r#""source":"s","event_id":[]"#, "Field event_id must be a string or integer"),
    ] {
        assert_eq!(cp(fields), validation(message), "{fields}");
    }
    assert_eq!(
        server.request(r#"{"v":2,"op":"recovery.checkpoint","token":"R","source":"s","offset":"1"}"#),
        err("forbidden", "Read-only token cannot execute command recovery_checkpoint")
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"recovery.checkpoint","source":"s","offset":"1"}"#),
        err("unauthorized", "Unauthorized")
    );
    // The read token may look.
    assert_eq!(
        server.request(r#"{"v":2,"op":"recovery.status","token":"R"}"#),
        ok(r#"{"checkpoint_count":0,"checkpoints":[]}"#)
    );
    let slave = Server::start(&["--role=slave"]);
    assert_eq!(
        slave.request(r#"{"v":2,"op":"recovery.checkpoint","source":"s","offset":"1"}"#),
        err("forbidden", "Slave role cannot execute command recovery_checkpoint")
    );
    // Validation comes before the role check.
    assert_eq!(
        slave.request(r#"{"v":2,"op":"recovery.checkpoint","source":"s"}"#),
        validation("Field offset or event_id is required")
    );
    assert_eq!(slave.request(r#"{"v":2,"op":"recovery.status"}"#), ok(r#"{"checkpoint_count":0,"checkpoints":[]}"#));
    assert!(!slave.dir.join("recovery.json").exists());
}

const RECONCILIATION: [&str; 9] = [
    "reconciliation_run_count",
    "reconciliation_checked_points",
    "reconciliation_mismatch_count",
    "reconciliation_absolute_drift",
    "reconciliation_last_checked_points",
    "reconciliation_last_mismatch_count",
    "reconciliation_last_absolute_drift",
    "reconciliation_last_max_abs_delta",
    "reconciliation_last_run_unix",
];

/// The nine reconciliation figures: totals, then the last run's, then its
/// time.
fn reconciliation(totals: [i64; 4], last: [i64; 4], at: i64) -> Vec<(String, serde_json::Value)> {
    let values = [totals[0], totals[1], totals[2], totals[3], last[0], last[1], last[2], last[3], at];
    let pairs: Vec<(&str, i64)> = RECONCILIATION.iter().copied().zip(values).collect();
    expected_stats(&pairs)
}

fn last_run_unix(server: &Server) -> i64 {
    common::stats(server)["reconciliation_last_run_unix"].as_i64().expect("reconciliation_last_run_unix")
}

#[test]
fn reconciliation_report_op() {
    let server = Server::start(&[]);
    let report = |fields: &str| server.request(&format!(r#"{{"v":2,"op":"reconciliation.report",{fields}}}"#));
    assert_eq!(stat_values(&server, &RECONCILIATION), reconciliation([0; 4], [0; 4], 0));
    let before = unix_now();
    assert_eq!(report(r#""checked_points":10,"mismatch_count":3,"absolute_drift":7,"max_abs_delta":4"#), ok(r#""OK""#));
    assert_eq!(report(r#""checked_points":5,"mismatch_count":0"#), ok(r#""OK""#));
    let at = last_run_unix(&server);
    assert!((before..=unix_now()).contains(&at));
    assert_eq!(stat_values(&server, &RECONCILIATION), reconciliation([2, 15, 3, 7], [5, 0, 0, 0], at));
    for (fields, message) in [
        (r#""mismatch_count":0"#, "Field checked_points is required"),
        (r#""checked_points":1"#, "Field mismatch_count is required"),
        (r#""checked_points":-1,"mismatch_count":0"#, "Field checked_points must be greater than or equal to 0"),
        (r#""checked_points":1,"mismatch_count":-1"#, "Field mismatch_count must be greater than or equal to 0"),
        (
            r#""checked_points":1,"mismatch_count":2"#,
            "Field mismatch_count must be less than or equal to checked_points",
        ),
        (
            r#""checked_points":1,"mismatch_count":1,"absolute_drift":-1"#,
            "Field absolute_drift must be greater than or equal to 0",
        ),
        (
            r#""checked_points":1,"mismatch_count":1,"max_abs_delta":-1"#,
            "Field max_abs_delta must be greater than or equal to 0",
        ),
    ] {
        assert_eq!(report(fields), validation(message), "{fields}");
    }
    assert_eq!(stat_values(&server, &RECONCILIATION), reconciliation([2, 15, 3, 7], [5, 0, 0, 0], at));
    // In memory only, not in the WAL.
    assert_eq!(stat_values(&server, &["wal_current_lsn"]), expected_stats(&[("wal_current_lsn", 0)]));
    let slave = Server::start(&["--role=slave"]);
    assert_eq!(
        slave.request(r#"{"v":2,"op":"reconciliation.report","checked_points":1,"mismatch_count":0}"#),
        err("forbidden", "Slave role cannot execute command reconciliation_report")
    );
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn reconcile(server: &Server, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_reconcile-csv"))
        .args(["--host", "127.0.0.1", "--port", &server.addr.port().to_string()])
        .args(args)
        .output()
        .expect("run reconcile-csv");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// Series `usage`: key 1 {0501: 5, 0502: 3}, key 2 {0501: 10},
/// key 4 {0501: 3, 0502: 1}, key 7 {0503: 9}.
fn seed(server: &Server, token: &str) {
    let reply = server.request(&format!(
        r#"{{"v":2,"op":"series.batch_add","series":"usage","items":[[1,20260501,5],[1,20260502,3],[2,20260501,10],[4,20260501,3],[4,20260502,1],[7,20260503,9]]{token}}}"#
    ));
    assert_eq!(reply, ok(r#"{"applied":6,"total":31}"#));
}

/// Against `usage`: (1,0501) and (1,0502) match, (2,0501) +6, (3,0501)
/// matches at 0, (4,0501) +1, (4,0502) -1 (key 4's total matches), (5,0503)
/// -7; line 10 is bad.
const DRIFTING_CSV: &str = "key,bucket,value\n1,20260501,5\n1,20260502,2\n1,20260502,1\n2,2026-05-01,4\n\
                            3,20260501,0\n4,20260501,2\n4,20260502,2\n5,20260503,7\nx,20260501,1\n\n";

const DRIFT_REPORT: &str = "series: usage\nrows: 8 (bad lines skipped: 1)\nkeys: 5\nchecked points: 7\nmismatches: 4\n\
                            absolute drift: 15\nmax abs delta: 7\nkeys with drift: 2\n\
                            first mismatches (key bucket expected actual delta):\n\
                            2 20260501 4 10 6\n4 20260501 2 3 1\n4 20260502 2 1 -1\n5 20260503 7 0 -7\n";

const MATCHING_CSV: &str = "1,20260501,5\n1,20260502,3\n\"2\",\"20260501\",\"10\"\n";

const MATCH_REPORT: &str = "series: usage\nrows: 3 (bad lines skipped: 0)\nkeys: 2\nchecked points: 3\nmismatches: 0\n\
                            absolute drift: 0\nmax abs delta: 0\nkeys with drift: 0\n";

#[test]
fn reconcile_csv_reports_drift() {
    let server = Server::start(&[]);
    seed(&server, "");
    let temp = temp_dir();
    let drifting = temp.path().join("drifting.csv");
    let matching = temp.path().join("matching.csv");
    std::fs::write(&drifting, DRIFTING_CSV).unwrap();
    std::fs::write(&matching, MATCHING_CSV).unwrap();
    let (drifting, matching) = (drifting.to_str().unwrap(), matching.to_str().unwrap());
    let bad_line = format!("{drifting}:10: skipped: key \"x\" is not an unsigned integer\n");

    // Without --report nothing reaches the server's figures; batching by
    // one key per request gives the same answer.
    for batch in ["1000", "1"] {
        let run = reconcile(&server, &["--series", "usage", "--csv", drifting, "--batch", batch]);
        assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(2), DRIFT_REPORT, bad_line.as_str()));
    }
    assert_eq!(stat_values(&server, &RECONCILIATION), reconciliation([0; 4], [0; 4], 0));

    let before = unix_now();
    let run = reconcile(&server, &["--series", "usage", "--csv", drifting, "--report"]);
    let reported = format!("{DRIFT_REPORT}reported to 127.0.0.1:{}\n", server.addr.port());
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(2), reported.as_str(), bad_line.as_str()));
    let at = last_run_unix(&server);
    assert!((before..=unix_now()).contains(&at));
    assert_eq!(stat_values(&server, &RECONCILIATION), reconciliation([1, 7, 4, 15], [7, 4, 15, 7], at));

    // A matching export: exit 0; reported, the last figures are its own.
    let run = reconcile(&server, &["--series", "usage", "--csv", matching]);
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(0), MATCH_REPORT, ""));
    let run = reconcile(&server, &["--series", "usage", "--csv", matching, "--report"]);
    let reported = format!("{MATCH_REPORT}reported to 127.0.0.1:{}\n", server.addr.port());
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(0), reported.as_str(), ""));
    let at = last_run_unix(&server);
    assert_eq!(stat_values(&server, &RECONCILIATION), reconciliation([2, 10, 4, 15], [3, 0, 0, 0], at));
    let metrics = response(&server.request(r#"{"v":2,"op":"system.metrics"}"#));
    for line in [
        "karma_reconciliation_runs_total 2\n",
        "karma_reconciliation_checked_points_total 10\n",
        "karma_reconciliation_mismatches_total 4\n",
        "karma_reconciliation_absolute_drift_total 15\n",
        "karma_reconciliation_last_checked_points 3\n",
        "karma_reconciliation_last_max_abs_delta 0\n",
    ] {
        assert!(metrics.as_str().unwrap().contains(line), "{line:?} missing");
    }

    // A missing series holds 0 everywhere.
    let run = reconcile(&server, &["--series", "nothing", "--csv", matching]);
    let expected = "series: nothing\nrows: 3 (bad lines skipped: 0)\nkeys: 2\nchecked points: 3\nmismatches: 3\n\
                    absolute drift: 18\nmax abs delta: 10\nkeys with drift: 2\n\
                    first mismatches (key bucket expected actual delta):\n\
                    1 20260501 5 0 -5\n1 20260502 3 0 -3\n2 20260501 10 0 -10\n";
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(2), expected, ""));
    assert_eq!(
        server.request(r#"{"v":2,"op":"tree.info","series":"nothing"}"#),
        err("not_found", "Tree \"nothing\" not found")
    );

    // Errors exit 1.
    let run = reconcile(&server, &["--series", "usage", "--csv", "/nonexistent/export.csv"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.starts_with("ERROR: Cannot read /nonexistent/export.csv: "), "{}", run.stderr);
    let run = reconcile(&server, &["--csv", matching]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.starts_with("ERROR: --series is required\n"), "{}", run.stderr);
}

/// Against `usage`, quoted the RFC 4180 way, with a BOM and CRLF line ends:
/// a quoted header; line 4's quoted value holds a comma and line 6's
/// bucket a line break (both bad rows); (4,0502) is 2 where `usage` has 1.
const QUOTED_CSV: &str = "\u{feff}\"key\",\"bucket\",\"value\"\r\n\"1\",\"2026-05-01\",\"5\"\r\n1,20260502,\"3\"\r\n\
                          \"2\",20260501,\"1,0\"\r\n2,20260501,\"10\"\r\n\"7\",\"2026\n0503\",9\r\n\
                          7,20260503,\"9\"\r\n\"4\",20260501,3\r\n\"4\",\"20260502\",\"2\"\r\n";

const QUOTED_REPORT: &str =
    "series: usage\nrows: 6 (bad lines skipped: 2)\nkeys: 4\nchecked points: 6\nmismatches: 1\n\
                             absolute drift: 1\nmax abs delta: 1\nkeys with drift: 1\n\
                             first mismatches (key bucket expected actual delta):\n4 20260502 2 1 -1\n";

#[test]
fn reconcile_csv_reads_quoted_fields_and_a_bom() {
    let server = Server::start(&[]);
    seed(&server, "");
    let temp = temp_dir();
    let quoted = temp.path().join("quoted.csv");
    std::fs::write(&quoted, QUOTED_CSV).unwrap();
    let quoted = quoted.to_str().unwrap();
    let run = reconcile(&server, &["--series", "usage", "--csv", quoted]);
    let bad_lines = format!(
        "{quoted}:4: skipped: value \"1,0\" is not an unsigned integer\n\
         {quoted}:6: skipped: bucket \"2026\\n0503\" is not a date YYYYMMDD\n"
    );
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(2), QUOTED_REPORT, bad_lines.as_str()));

    // A BOM before the first data row (no header) is not part of its key.
    let bom = temp.path().join("bom.csv");
    std::fs::write(&bom, format!("\u{feff}{MATCHING_CSV}")).unwrap();
    let run = reconcile(&server, &["--series", "usage", "--csv", bom.to_str().unwrap()]);
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(0), MATCH_REPORT, ""));
}

#[test]
fn reconcile_csv_with_tokens() {
    let server = Server::start(&["--auth-token=W", "--read-auth-token=R"]);
    seed(&server, r#","token":"W""#);
    let temp = temp_dir();
    let csv = temp.path().join("export.csv");
    std::fs::write(&csv, MATCHING_CSV).unwrap();
    let csv = csv.to_str().unwrap();
    let run = reconcile(&server, &["--series", "usage", "--csv", csv]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (Some(1), "", "ERROR: counter.batch_sum failed: unauthorized: Unauthorized\n")
    );
    // The read token can check but not report.
    let run = reconcile(&server, &["--series", "usage", "--csv", csv, "--token", "R", "--report"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            Some(1),
            MATCH_REPORT,
            "ERROR: reconciliation.report failed: forbidden: Read-only token cannot execute command reconciliation_report\n"
        )
    );
    let run = reconcile(&server, &["--series", "usage", "--csv", csv, "--token", "W", "--report"]);
    let reported = format!("{MATCH_REPORT}reported to 127.0.0.1:{}\n", server.addr.port());
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(0), reported.as_str(), ""));
    let stats = response(&server.request(r#"{"v":2,"op":"system.stats","token":"R"}"#));
    assert_eq!(stats["reconciliation_run_count"], serde_json::json!(1));
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
