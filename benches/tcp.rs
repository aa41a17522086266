//! Request throughput and latency of a real `karma` process over loopback
//! TCP, with 1, 4 and 32 client threads (one connection each):
//!
//! 1. single ops, batches of 1000 and 32-deep pipelines (`--wal-fsync=false`);
//! 2. single ops as a share of a null server's rate (the loopback ceiling of
//!    this machine and these client threads; target >= 80% at 4 and 32
//!    clients for the request path: reads, and increments on a
//!    `--wal=false` server; increments with the WAL on are shown beside
//!    them; the 1-client pair shows the ping-pong wake-up cost);
//! 3. `counter.increment` under each WAL mode up to 128 clients, and the
//!    group-commit gain with fsync on (32 clients / 1 client; target >= 15x);
//! 4. keyed increments with a never-used `idempotency_key` per request
//!    against plain ones (lines formatted per request, no ring, so no key
//!    repeats), and the keyed / plain cost ratio;
//! 5. streaming ingest in items/s, one client, whole streams of 10 chunks
//!    of 10,000 items per mode, `replace_series` including the commit;
//! 6. increments against Redis (when `redis-server` is on `PATH`): fsync on
//!    against `appendfsync always`, `--wal=false` against no persistence,
//!    1 to 128 clients, in alternating rounds; the fsync rows also run the
//!    group-fsync null server in the same rounds, the ceiling of a
//!    thread-per-connection server that acknowledges fsynced writes.
//!
//! `KARMA_BENCH_SECONDS` sets the time per row (default 2);
//! `KARMA_BENCH_ONLY=redis` runs only the Redis table.

mod common;

use common::ingest::{StreamLines, CHUNKS_PER_STREAM, CHUNK_ITEMS, MODES};
use common::redis::{self, RedisServer};
use common::{fmt_count, fmt_rate, fmt_us, line, load, Load, Server, Table, Workload, BIG_REQUESTS, BUCKET};
use karma::client::Connection;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

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

/// Rounds per pair in the share table: the machine's speed drifts over
/// seconds and stalls now and then, so the pair alternates short rounds
/// and the share is the median of the rounds' ratios.
const SHARE_ROUNDS: u32 = 8;

/// One pair of the share table.
struct Share {
    karma_rate: f64,
    null_rate: f64,
    /// Median over the rounds of Karma's rate / the null server's.
    median_ratio: f64,
}

/// `karma` against `null` under the same load, in alternating rounds
/// (`secs` in all for each). Each side keeps its connections for all the
/// rounds, as real clients keep theirs: both servers then serve every round
/// with the same long-lived threads (Karma's pool would re-use its threads
/// anyway, while the null server starts one per connection).
fn share_of_null(karma: SocketAddr, null: SocketAddr, line: LineFn, clients: usize, secs: Duration) -> Share {
    let round = secs / SHARE_ROUNDS;
    let (mut karma_lines, mut null_lines) = (0, 0);
    let (mut karma_time, mut null_time) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::new();
    let workload = Workload { clients, depth: 1, items_per_line: 1, line: &line };
    let (mut karma_connections, mut null_connections) = (load::connect(karma, clients), load::connect(null, clients));
    for _ in 0..SHARE_ROUNDS {
        let karma_load = load::run_on(&mut karma_connections, &workload, round);
        let null_load = load::run_on(&mut null_connections, &workload, round);
        ratios.push(karma_load.lines_per_sec() / null_load.lines_per_sec());
        (karma_lines, karma_time) = (karma_lines + karma_load.lines, karma_time + karma_load.duration);
        (null_lines, null_time) = (null_lines + null_load.lines, null_time + null_load.duration);
    }
    let median_ratio = median(&mut ratios);
    Share {
        karma_rate: karma_lines as f64 / karma_time.as_secs_f64(),
        null_rate: null_lines as f64 / null_time.as_secs_f64(),
        median_ratio,
    }
}

/// Requests per second and the median round trip of a closed loop whose
/// lines are built per request by `line(client, i)`.
struct Fresh {
    rate: f64,
    p50: Duration,
}

fn fresh_load(addr: SocketAddr, clients: usize, secs: Duration, line: &(dyn Fn(usize, u64) -> String + Sync)) -> Fresh {
    let barrier = Barrier::new(clients);
    let results: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..clients)
            .map(|c| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut client = Connection::connect(addr, Some(Duration::from_secs(120)))
                        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
                    barrier.wait();
                    let deadline = Instant::now() + secs;
                    let mut latencies = Vec::with_capacity(1 << 16);
                    for i in 0.. {
                        let request = line(c, i);
                        let sent = Instant::now();
                        let reply = client.request(&request).unwrap_or_else(|e| panic!("no reply: {e}"));
                        let done = Instant::now();
                        assert!(common::is_success(&reply), "request {} failed: {reply}", common::abbreviate(&request));
                        if done > deadline {
                            break;
                        }
                        latencies.push((done - sent).as_nanos() as u64);
                    }
                    latencies
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("client thread")).collect()
    });
    let mut latencies: Vec<u64> = results.into_iter().flatten().collect();
    latencies.sort_unstable();
    let p50 = latencies.get(latencies.len() / 2).copied().unwrap_or(0);
    Fresh { rate: latencies.len() as f64 / secs.as_secs_f64(), p50: Duration::from_nanos(p50) }
}

/// Distinguishes the keyed runs, so no idempotency key is ever sent twice.
static KEYED_RUN: AtomicU64 = AtomicU64::new(1);

fn latency_cells(load: &Load) -> [String; 3] {
    [fmt_us(load.percentile(50.0)), fmt_us(load.percentile(95.0)), fmt_us(load.percentile(99.0))]
}

/// Alternating rounds per Karma / Redis pair (each side gets two row
/// durations in all).
const REDIS_ROUNDS: u32 = 4;

fn hincrby(c: usize, i: u64) -> String {
    redis::hincrby("inc", pick(c, i), BUCKET)
}

/// Karma against Redis, `counter.increment` against `HINCRBY` on the same
/// keys, fsync on and persistence off, on fresh servers; skipped (and
/// said so) without `redis-server`.
fn versus_redis(secs: Duration) {
    println!("### `counter.increment` against Redis `HINCRBY`\n");
    let Some(version) = redis::version() else {
        println!(
            "`redis-server` is not on PATH: the Redis rows are skipped (Debian: `apt-get install redis-server`).\n"
        );
        return;
    };
    let round = secs * 2 / REDIS_ROUNDS;
    let pairs = [("--wal-fsync=true", redis::FSYNC_ALWAYS), ("--wal=false", redis::NO_PERSISTENCE)];
    println!(
        "Redis {version}, started per mode in a temp directory. Each pair keeps its connections and runs \
         {REDIS_ROUNDS} alternating rounds of {:.2} s per side (the side that goes first alternates too); \
         rates and percentiles pool the rounds, Karma / Redis is the median of the rounds' ratios. Karma with \
         `--wal-fsync=true` acknowledges an increment once its WAL batch is fsynced, Redis with `appendfsync \
         always` once its AOF write is.\n",
        round.as_secs_f64()
    );
    println!(
        "Ceiling (fsync rows): the group-fsync null server, run in the same rounds. One thread per client \
         reads lines and queues them; one committer thread writes 100 bytes per line to a log filled ahead, \
         `fdatasync`s once and answers every line taken. It parses nothing and keeps no state, so its rate \
         bounds what any thread-per-connection server that acknowledges only fsynced writes reaches on this \
         machine once the CPU is the limit (32 clients and up; below that Karma's gathering beats it).\n"
    );
    for (flag, redis_flags) in pairs {
        println!("- `{}` beside `{}`", Server::command_for(&[flag]), format_args!("redis-server ... {redis_flags}"));
    }
    println!();
    let mut table = Table::new(&[
        "Karma flags",
        "clients",
        "Karma req/s",
        "Redis req/s",
        "Karma / Redis",
        "Karma p50 µs",
        "Redis p50 µs",
        "Karma p99 µs",
        "Redis p99 µs",
        "ceiling req/s",
        "ceiling / Redis",
        "target",
    ]);
    for (flag, redis_flags) in pairs {
        let karma_dir = common::data_dir();
        let karma = Server::start(karma_dir.path(), &[flag]);
        let redis_dir = common::data_dir();
        let redis = RedisServer::start(redis_dir.path(), redis_flags);
        let fsync = flag == "--wal-fsync=true";
        let ceiling_dir = common::data_dir();
        let ceiling = fsync.then(|| common::start_group_fsync_server(ceiling_dir.path()));
        for clients in WAL_CLIENTS {
            let karma_workload = Workload { clients, depth: 1, items_per_line: 1, line: &increment };
            let redis_workload = Workload { clients, depth: 1, items_per_line: 1, line: &hincrby };
            let mut karma_connections = load::connect(karma.addr, clients);
            let mut redis_connections = redis.connect(clients);
            let mut ceiling_connections = ceiling.as_ref().map(|c| load::connect(c.addr, clients));
            let (mut karma_rounds, mut redis_rounds, mut ceiling_rounds) = (Vec::new(), Vec::new(), Vec::new());
            let (mut ratios, mut ceiling_ratios) = (Vec::new(), Vec::new());
            for r in 0..REDIS_ROUNDS {
                let mut run_ceiling = || ceiling_connections.as_mut().map(|c| load::run_on(c, &karma_workload, round));
                let (k, d, c) = if r % 2 == 0 {
                    let k = load::run_on(&mut karma_connections, &karma_workload, round);
                    let c = run_ceiling();
                    (k, load::run_on(&mut redis_connections, &redis_workload, round), c)
                } else {
                    let d = load::run_on(&mut redis_connections, &redis_workload, round);
                    let c = run_ceiling();
                    (load::run_on(&mut karma_connections, &karma_workload, round), d, c)
                };
                ratios.push(k.lines_per_sec() / d.lines_per_sec());
                if let Some(c) = c {
                    ceiling_ratios.push(c.lines_per_sec() / d.lines_per_sec());
                    ceiling_rounds.push(c);
                }
                karma_rounds.push(k);
                redis_rounds.push(d);
            }
            let (k, d) = (Load::merge(karma_rounds), Load::merge(redis_rounds));
            let ratio = median(&mut ratios);
            let (k99, d99) = (k.percentile(99.0), d.percentile(99.0));
            let (ceiling_rate, ceiling_ratio) = if ceiling_rounds.is_empty() {
                ("-".to_string(), "-".to_string())
            } else {
                let c = Load::merge(ceiling_rounds);
                (fmt_rate(c.lines_per_sec()), format!("{:.2}", median(&mut ceiling_ratios)))
            };
            let mut targets = Vec::new();
            if fsync {
                let need = if clients == 1 { 1.0 } else { 1.2 };
                targets.push(common::verdict(&format!(">= {need:.1}x"), ratio >= need));
            }
            if clients == 32 {
                targets.push(common::verdict("p99 <= Redis", k99 <= d99));
            }
            table.row(vec![
                format!("`{flag}`"),
                clients.to_string(),
                fmt_rate(k.lines_per_sec()),
                fmt_rate(d.lines_per_sec()),
                format!("{ratio:.2}"),
                fmt_us(k.percentile(50.0)),
                fmt_us(d.percentile(50.0)),
                fmt_us(k99),
                fmt_us(d99),
                ceiling_rate,
                ceiling_ratio,
                if targets.is_empty() { "-".into() } else { targets.join(", ") },
            ]);
        }
    }
    table.print();
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

fn main() {
    common::serve_null_server_if_asked();
    let secs = common::row_duration(2.0);
    common::preamble("tcp", "throughput and latency over loopback TCP");
    println!("{:.1} s per row, one connection per client thread, every reply checked.", secs.as_secs_f64());
    println!("Latency is per request; for pipelined rows, per burst of {DEPTH} lines.\n");
    if std::env::var("KARMA_BENCH_ONLY").as_deref() == Ok("redis") {
        versus_redis(secs);
        return;
    }

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

    println!("### Keyed vs plain `counter.increment` (a fresh idempotency key per request)\n");
    let mut table = Table::new(&[
        "clients",
        "plain requests/s",
        "keyed requests/s",
        "plain p50 µs",
        "keyed p50 µs",
        "keyed / plain cost",
    ]);
    for clients in CLIENTS {
        let plain = fresh_load(server.addr, clients, secs, &|c, i| line::increment("inc", pick(c, i)));
        let run = KEYED_RUN.fetch_add(1, Ordering::Relaxed);
        let keyed = fresh_load(server.addr, clients, secs, &move |c, i| {
            line::keyed_increment("inc", pick(c, i), (run << 48) | ((c as u64) << 32) | i)
        });
        table.row(vec![
            clients.to_string(),
            fmt_rate(plain.rate),
            fmt_rate(keyed.rate),
            fmt_us(plain.p50),
            fmt_us(keyed.p50),
            format!("{:.2}x", plain.rate / keyed.rate),
        ]);
    }
    table.print();

    println!(
        "### Streaming ingest over TCP: one client, whole streams of {CHUNKS_PER_STREAM} chunks x {} items (begin, chunks, commit)\n",
        fmt_count(CHUNK_ITEMS)
    );
    let streams = StreamLines::new(BUCKET);
    let mut client = server.client();
    let mut table = Table::new(&["mode", "streams", "chunks/s", "items/s", "ns/item"]);
    for mode in MODES {
        let run = streams
            .run("tcp", mode, &format!("ingest-{mode}"), secs, |line| {
                let reply = client.request(line).map_err(|e| format!("no reply: {e}"))?;
                if common::is_success(&reply) {
                    Ok(reply)
                } else {
                    Err(reply)
                }
            })
            .unwrap_or_else(|e| panic!("ingest {mode} failed: {e}"));
        table.row(vec![
            format!("`{mode}`"),
            fmt_count(run.streams),
            fmt_rate(run.chunks_per_sec()),
            fmt_rate(run.items_per_sec()),
            format!("{:.1}", run.ns_per_item()),
        ]);
    }
    table.print();
    drop(client);

    drop(server);
    drop(dir);
    common::settle_writeback();

    println!("### Share of the loopback ceiling (target >= 80% at 4 and 32 clients)\n");
    println!(
        "The null server runs in a process of its own, like Karma; each pair is measured in {SHARE_ROUNDS} alternating \
         rounds over connections each side keeps for all its rounds, so both sides see the same drift of this \
         shared machine, and the share is the median of the rounds' ratios (the rates are the totals). Each Karma server here is fresh (reads go to {KEYS} preloaded \
         keys). The target is the request path's (parse, lock, apply, reply): reads, and increments with \
         `--wal=false`. With the WAL \
         on, each acknowledged increment also waits for its `write(2)` to the WAL (no fsync here), shown for \
         comparison.\n"
    );
    // Fresh servers: the one above carries the state of every earlier table
    // (idempotency records, ingested series), which is not the request path.
    let in_memory_dir = common::data_dir();
    let in_memory = Server::start(in_memory_dir.path(), &["--wal=false", BIG_REQUESTS]);
    common::preload(&mut in_memory.client(), READ, KEYS, 1, 10_000);
    let logged_dir = common::data_dir();
    let logged = Server::start(logged_dir.path(), &["--wal-fsync=false"]);
    let null = common::start_null_server();
    let mut table = Table::new(&[
        "op",
        "server flags",
        "clients",
        "Karma requests/s",
        "null requests/s",
        "Karma / null (median)",
        "target",
    ]);
    let rows: [(&str, LineFn, &Server, &str, bool); 3] = [
        ("counter.increment", increment, &in_memory, "--wal=false", true),
        ("counter.sum", sum, &in_memory, "--wal=false", true),
        ("counter.increment", increment, &logged, "--wal-fsync=false", false),
    ];
    for (label, line, karma_server, flags, targeted) in rows {
        for clients in CLIENTS {
            let pair = share_of_null(karma_server.addr, null.addr, line, clients, secs);
            let share = 100.0 * pair.median_ratio;
            let target = if clients == 1 || !targeted { "-".into() } else { common::verdict(">= 80%", share >= 80.0) };
            let cells = [fmt_rate(pair.karma_rate), fmt_rate(pair.null_rate), format!("{share:.0}%"), target];
            table.row([vec![label.into(), format!("`{flags}`"), clients.to_string()], cells.to_vec()].concat());
        }
    }
    table.print();
    drop(in_memory);
    drop(logged);

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
    common::settle_writeback();
    versus_redis(secs);
}
