//! The cost of each op inside the engine, without sockets: request lines
//! go straight to `Engine::handle_line` on one thread (`wal: false`), and
//! every reply is checked to be exactly one success line.
//!
//! The "keyed increment" row sends a fresh `idempotency_key` per request;
//! keyed / plain is the price of the dedup record (target <= 2x).
//!
//! The ingest table runs whole streams (`ingest.begin`, 10 chunks of
//! 10,000 items, `ingest.commit`) per mode; `replace_series` includes the
//! swap of the staged series at commit.
//!
//! `KARMA_BENCH_SECONDS` sets the time per row (default 2).

mod common;

use common::ingest::{StreamLines, CHUNKS_PER_STREAM, CHUNK_ITEMS, MODES};
use common::{fmt_count, fmt_rate, line, Table, SUCCESS_PREFIX};
use karma::config::Config;
use karma::engine::{Engine, State};
use karma::metrics::Metrics;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keys of the preloaded series ("read").
const KEYS: u64 = 100_000;
const BATCH: u64 = 1000;
/// Pre-built lines cycled by the batch and top rows.
const RING: u64 = 64;

struct Bench {
    engine: Engine,
    out: Vec<u8>,
    body: Vec<u8>,
}

impl Bench {
    /// Runs one line; `Err` with the reply unless it is one success line.
    fn handle(&mut self, line: &[u8]) -> Result<(), String> {
        self.out.clear();
        self.engine.handle_line(line, &mut self.out, &mut self.body);
        let newlines = self.out.iter().filter(|&&b| b == b'\n').count();
        if newlines == 1 && self.out.starts_with(SUCCESS_PREFIX.as_bytes()) {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&self.out).trim_end().to_string())
        }
    }

    /// Runs `next(i, &mut line)` then the line, for `duration`; returns the
    /// op count, the time taken, or the first failing reply.
    fn run(&mut self, duration: Duration, mut next: impl FnMut(u64, &mut String)) -> Result<(u64, Duration), String> {
        let mut line = String::new();
        let started = Instant::now();
        let mut ops = 0u64;
        // The clock is read every 64 ops, so it costs next to nothing.
        while !ops.is_multiple_of(64) || started.elapsed() < duration {
            line.clear();
            next(ops, &mut line);
            self.handle(line.as_bytes())?;
            ops += 1;
        }
        Ok((ops, started.elapsed()))
    }
}

/// A key for the `i`-th op, spread over `0..KEYS`.
fn pick(i: u64) -> u64 {
    common::Rng::new(i).below(KEYS)
}

fn main() {
    let secs = common::row_duration(2.0);
    common::preamble("engine", "ops in-process, without TCP");
    println!(
        "{:.1} s per row, one thread, `Engine::handle_line` with `Config {{ wal: false, ..Default::default() }}`.\n",
        secs.as_secs_f64()
    );
    let config = Config { wal: false, ..Default::default() };
    let engine = Engine::new(Arc::new(config), Arc::new(Metrics::default()), State::default());
    let mut bench = Bench { engine, out: Vec::new(), body: Vec::new() };
    for first in (0..KEYS).step_by(BATCH as usize) {
        let items = (first..first + BATCH).map(|k| (k, common::BUCKET, common::value_of(k, 0)));
        bench.handle(line::batch_add("read", items).as_bytes()).unwrap_or_else(|e| panic!("preload failed: {e}"));
    }
    let batch_adds: Vec<String> = (0..RING)
        .map(|r| line::batch_add("batch", (0..BATCH).map(|j| (pick(r * BATCH + j), common::BUCKET, 1))))
        .collect();
    let batch_sums: Vec<String> =
        (0..RING).map(|r| line::batch_sum("read", (0..BATCH).map(|j| pick(r * BATCH + j)))).collect();
    let top = line::top("read", 100);
    let from_ring = |ring: &[String], i: u64, out: &mut String| out.push_str(&ring[(i % ring.len() as u64) as usize]);

    type Next<'a> = Box<dyn FnMut(u64, &mut String) + 'a>;
    let rows: Vec<(&str, u64, Next)> = vec![
        ("counter.increment", 1, Box::new(|i, out| out.push_str(&line::increment("inc", pick(i))))),
        (
            "keyed increment (unique idempotency keys)",
            1,
            Box::new(|i, out| out.push_str(&line::keyed_increment("inc", pick(i), i))),
        ),
        ("counter.sum", 1, Box::new(|i, out| out.push_str(&line::sum("read", pick(i))))),
        ("series.batch_add (1000 items)", BATCH, Box::new(|i, out| from_ring(&batch_adds, i, out))),
        ("counter.batch_sum (1000 keys)", BATCH, Box::new(|i, out| from_ring(&batch_sums, i, out))),
        ("tree.top limit 100 (100,000 keys)", KEYS, Box::new(|_, out| out.push_str(&top))),
    ];
    let mut table = Table::new(&["op", "ops/s", "ns/op", "items/op", "items/s"]);
    let mut per_op = Vec::new();
    for (label, items, next) in rows {
        match bench.run(secs, next) {
            Ok((ops, took)) => {
                let rate = ops as f64 / took.as_secs_f64();
                let ns = took.as_nanos() as f64 / ops as f64;
                per_op.push((label, ns));
                table.row(vec![
                    label.into(),
                    fmt_rate(rate),
                    fmt_count(ns.round() as u64),
                    fmt_count(items),
                    fmt_rate(rate * items as f64),
                ]);
            }
            Err(reply) => {
                let na = "n/a".to_string();
                table.row(vec![label.into(), na.clone(), na.clone(), fmt_count(items), format!("n/a: {reply}")]);
            }
        }
    }
    table.print();
    let ns_of = |label: &str| per_op.iter().find(|(l, _)| l.starts_with(label)).map(|(_, ns)| *ns);
    match (ns_of("keyed increment"), ns_of("counter.increment")) {
        (Some(keyed), Some(plain)) => {
            let ratio = keyed / plain;
            println!("Keyed / plain increment time: {ratio:.2}x ({})\n", common::verdict("<= 2x", ratio <= 2.0));
        }
        _ => println!("Keyed / plain increment time: n/a (a row failed)\n"),
    }

    println!(
        "### Streaming ingest: whole streams of {CHUNKS_PER_STREAM} chunks x {} items (begin, chunks, commit)\n",
        fmt_count(CHUNK_ITEMS)
    );
    let streams = StreamLines::new(common::BUCKET);
    let mut table = Table::new(&["mode", "streams", "chunks/s", "items/s", "ns/item"]);
    for mode in MODES {
        let series = format!("ingest-{mode}");
        let run = streams.run("engine", mode, &series, secs, |line| {
            bench.handle(line.as_bytes())?;
            Ok(String::from_utf8_lossy(&bench.out).into_owned())
        });
        match run {
            Ok(run) => table.row(vec![
                format!("`{mode}`"),
                fmt_count(run.streams),
                fmt_rate(run.chunks_per_sec()),
                fmt_rate(run.items_per_sec()),
                format!("{:.1}", run.ns_per_item()),
            ]),
            Err(reply) => {
                let na = "n/a".to_string();
                table.row(vec![format!("`{mode}`"), na.clone(), na.clone(), na, format!("n/a: {reply}")]);
            }
        }
    }
    table.print();
}
