//! Why the request-line JSON reader is hand-written: its cost per line
//! against `serde_json::from_slice::<serde_json::Value>` on the same lines.
//!
//! Both read the whole line into nested values, which is what a request needs (its
//! fields are looked up by name, in each op's order). Ours borrows strings
//! that hold no escape from the line and keeps integers as integers up to
//! u64::MAX; serde_json's `Value` allocates every string and every object
//! key. The last column is `karma::protocol::parse_request`, ours plus the
//! typed fields of the op, for scale.
//!
//! `KARMA_BENCH_SECONDS` sets the time per cell (default 1).

mod common;

use common::{fmt_count, line, Table};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `parse` on `input` for `duration`; nanoseconds per call.
fn ns_per_call(duration: Duration, input: &[u8], mut parse: impl FnMut(&[u8]) -> bool) -> f64 {
    let started = Instant::now();
    let mut calls = 0u64;
    // The clock is read every 64 calls, so it costs next to nothing.
    while !calls.is_multiple_of(64) || started.elapsed() < duration {
        assert!(parse(black_box(input)), "the line must parse: {}", String::from_utf8_lossy(input));
        calls += 1;
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

fn main() {
    let secs = common::row_duration(1.0);
    common::preamble("request_parse", "the request-line JSON reader against serde_json");
    println!("{:.1} s per cell, one thread; ns per request line.\n", secs.as_secs_f64());
    let escaped_name = r#"{"v":2,"op":"counter.increment","series":"caf\u00e9 \"menu\"","key":42,"bucket":20260505}"#;
    let rows: Vec<(&str, String)> = vec![
        ("counter.increment", line::increment("api_requests", 42)),
        ("keyed increment", line::keyed_increment("api_requests", 42, 7)),
        ("counter.increment, escaped series name", escaped_name.to_string()),
        ("counter.sum", line::sum("api_requests", 18446744073709551615)),
        (
            "series.batch_add (1000 items)",
            line::batch_add("batch", (0..1000).map(|k| (k * 7919, common::BUCKET, k + 1))),
        ),
        ("counter.batch_sum (1000 keys)", line::batch_sum("read", (0..1000).map(|k| k * 7919))),
    ];
    let mut table = Table::new(&["line", "bytes", "ours ns", "serde_json ns", "serde_json / ours", "parse_request ns"]);
    for (label, text) in &rows {
        let input = text.as_bytes();
        let ours = ns_per_call(secs, input, |l| karma::protocol::json::parse(l).is_ok());
        let serde = ns_per_call(secs, input, |l| serde_json::from_slice::<serde_json::Value>(l).is_ok());
        let request = ns_per_call(secs, input, |l| karma::protocol::parse_request(l).is_ok());
        table.row(vec![
            label.to_string(),
            fmt_count(input.len() as u64),
            fmt_count(ours.round() as u64),
            fmt_count(serde.round() as u64),
            format!("{:.2}x", serde / ours),
            fmt_count(request.round() as u64),
        ]);
    }
    table.print();
}
