//! Request throughput and latency of a real `karma` process over loopback
//! TCP, with 1, 4 and 32 client threads (one connection each):
//!
//! 1. single ops, batches of 1000 and 32-deep pipelines (`--wal-fsync=false`);
//! 2. single ops as a share of a null server's rate (the loopback ceiling of
//!    this machine and these client threads; target >= 80% at 4 and 32
//!    clients; the 1-client pair shows the ping-pong wake-up cost);
//! 3. `counter.increment` under each WAL mode up to 128 clients, and the
//!    group-commit gain with fsync on (32 clients / 1 client; target >= 15x).
//!
//! `KARMA_BENCH_SECONDS` sets the time per row (default 2).

mod common;

use common::{fmt_rate, fmt_us, line, Load, Server, Table, Workload, BIG_REQUESTS, BUCKET};
use std::net::SocketAddr;
use std::time::Duration;

const CLIENTS: [usize; 3] = [1, 4, 32];
const WAL_CLIENTS: [usize; 4] = [1, 4, 32, 128];
/// Keys of the preloaded series that the reads pick from.
const KEYS: u64 = 100_000;
const BATCH: u64 = 1000;
const DEPTH: usize = 32;
/// Preloaded by `main`; reads only.
const READ: &str = "read";

/// A key for client `c`'s `i`-th pick, spread over `0..KEYS`.
fn pick(c: usize, i: u64) -> u64 {
    common::Rng::new(((c as u64) << 40) ^ i).below(KEYS)
}

fn increment(c: usize, i: u64) -> String {
    line::increment("inc", pick(c, i))
}

fn sum(c: usize, i: u64) -> String {
    line::sum(READ, pick(c, i))
}

fn batch_add(c: usize, i: u64) -> String {
    line::batch_add("batch", (0..BATCH).map(|j| (pick(c, i * BATCH + j), BUCKET, 1)))
}

fn batch_sum(c: usize, i: u64) -> String {
    line::batch_sum(READ, (0..BATCH).map(|j| pick(c, i * BATCH + j)))
}

type LineFn = fn(usize, u64) -> String;

/// `(label, line, depth, items per line)` of the main table.
const OPS: [(&str, LineFn, usize, u64); 5] = [
    ("counter.increment", increment, 1, 1),
    ("counter.sum", sum, 1, 1),
    ("series.batch_add (1000 items)", batch_add, 1, BATCH),
    ("counter.batch_sum (1000 keys)", batch_sum, 1, BATCH),
    ("counter.increment pipelined x32", increment, DEPTH, 1),
];

fn measure(addr: SocketAddr, line: LineFn, clients: usize, depth: usize, items: u64, secs: Duration) -> Load {
    common::load::run(addr, &Workload { clients, depth, items_per_line: items, line: &line }, secs)
}

fn latency_cells(load: &Load) -> [String; 3] {
    [fmt_us(load.percentile(50.0)), fmt_us(load.percentile(95.0)), fmt_us(load.percentile(99.0))]
}

fn main() {
    let secs = common::row_duration(2.0);
    common::preamble("tcp", "throughput and latency over loopback TCP");
    println!("{:.1} s per row, one connection per client thread, every reply checked.", secs.as_secs_f64());
    println!("Latency is per request; for pipelined rows, per burst of {DEPTH} lines.\n");

    let dir = common::data_dir();
    let server = Server::start(dir.path(), &["--wal-fsync=false", BIG_REQUESTS]);
    println!("### Ops (`{}`)\n", server.command());
    common::preload(&mut server.client(), READ, KEYS, 1, 10_000);
    let mut table = Table::new(&["op", "clients", "requests/s", "items/s", "p50 µs", "p95 µs", "p99 µs"]);
    for (label, line, depth, items) in OPS {
        for clients in CLIENTS {
            let load = measure(server.addr, line, clients, depth, items, secs);
            let [p50, p95, p99] = latency_cells(&load);
            let (requests, items) = (fmt_rate(load.lines_per_sec()), fmt_rate(load.items_per_sec()));
            table.row(vec![label.into(), clients.to_string(), requests, items, p50, p95, p99]);
        }
    }
    table.print();

    println!("### Share of the loopback ceiling (target >= 80% at 4 and 32 clients)\n");
    println!("The null server runs in the bench process; each pair of rates is measured back to back.\n");
    let null = common::start_null_server();
    let mut table = Table::new(&["op", "clients", "Karma requests/s", "null requests/s", "Karma / null", "target"]);
    for (label, line) in [("counter.increment", increment as LineFn), ("counter.sum", sum)] {
        for clients in CLIENTS {
            let karma = measure(server.addr, line, clients, 1, 1, secs).lines_per_sec();
            let ceiling = measure(null, line, clients, 1, 1, secs).lines_per_sec();
            let share = 100.0 * karma / ceiling;
            let target = if clients == 1 { "-".into() } else { common::verdict(">= 80%", share >= 80.0) };
            let cells = [fmt_rate(karma), fmt_rate(ceiling), format!("{share:.0}%"), target];
            table.row([vec![label.into(), clients.to_string()], cells.to_vec()].concat());
        }
    }
    table.print();
    drop(server);

    println!("### `counter.increment` by WAL mode\n");
    let mut table = Table::new(&["server flags", "clients", "requests/s", "p50 µs", "p95 µs", "p99 µs"]);
    let mut fsync_rates = Vec::new();
    for flag in ["--wal=false", "--wal-fsync=false", "--wal-fsync=true"] {
        let dir = common::data_dir();
        let server = Server::start(dir.path(), &[flag]);
        for clients in WAL_CLIENTS {
            let load = measure(server.addr, increment, clients, 1, 1, secs);
            let [p50, p95, p99] = latency_cells(&load);
            table.row(vec![format!("`{flag}`"), clients.to_string(), fmt_rate(load.lines_per_sec()), p50, p95, p99]);
            if flag == "--wal-fsync=true" {
                fsync_rates.push((clients, load.lines_per_sec()));
            }
        }
    }
    table.print();
    let rate_at = |n: usize| fsync_rates.iter().find(|(c, _)| *c == n).map_or(0.0, |(_, r)| *r);
    let gain = rate_at(32) / rate_at(1);
    println!(
        "Group commit with `--wal-fsync=true`: 32 clients / 1 client = {gain:.1}x ({})",
        common::verdict(">= 15x", gain >= 15.0)
    );
}
