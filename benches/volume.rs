//! Memory and whole-dataset costs at realistic sizes. For each profile
//! (keys x daily buckets) a fresh server is started and warmed up with one
//! full-size batch into a scratch series that is then dropped (so request
//! buffers and allocator arenas are not charged to the data), its empty
//! RSS taken, then the data is loaded with `series.batch_add` (10,000 items per
//! request, day by day in ascending order, as live traffic would build
//! it), and the table shows the RSS growth per data point (targets: <= 24
//! bytes at 7 buckets per key, <= 16 at 356), the `counter.batch_sum` rate
//! and the `tree.summary` time. Then the persistence costs: time and file
//! size of `snapshot.create_all`, SIGTERM, and the restart (restore) time
//! until `server.start`, checked against `tree.info` after the restart.
//!
//! By default a quick subset of profiles runs; `KARMA_BENCH_FULL=1` runs all.
//! `KARMA_BENCH_SECONDS` sets the `batch_sum` measuring time (default 1).

mod common;

use common::{fmt_count, fmt_mib, fmt_ms, fmt_rate, fmt_us, line, Server, Table, Workload, BIG_REQUESTS};
use std::path::Path;
use std::time::{Duration, Instant};

/// `(keys, buckets per key, in the default subset)`.
const PROFILES: [(u64, u32, bool); 6] = [
    (10_000, 7, true),
    (50_000, 7, false),
    (100_000, 7, true),
    (10_000, 356, true),
    (25_000, 356, false),
    (50_000, 356, true),
];
const SERIES: &str = "volume";
const LOAD_ITEMS: u64 = 10_000;
const SUM_KEYS: u64 = 1000;
const SUM_CLIENTS: usize = 4;
const FLAGS: [&str; 2] = ["--wal-fsync=false", BIG_REQUESTS];

struct Outcome {
    label: String,
    memory: Vec<String>,
    persistence: Vec<String>,
}

fn main() {
    let secs = common::row_duration(1.0);
    common::preamble("volume", "memory per point, whole-series reads, snapshot and restore");
    let full = common::full_run();
    println!(
        "Server per profile: `target/release/karma --bind=127.0.0.1 --port=0 --directory=<tmp> {}`  ",
        FLAGS.join(" ")
    );
    println!(
        "Load: `series.batch_add`, {} items per request, day by day; `counter.batch_sum`: {SUM_KEYS} random keys \
         per request, {SUM_CLIENTS} clients, {:.1} s; RSS from `/proc/<pid>/statm`: \
         fresh = just started, empty = after one {}-item batch into a scratch series that is then dropped \
         (request buffers and allocator arenas in place), bytes/point = (loaded - empty) / points.{}\n",
        fmt_count(LOAD_ITEMS),
        secs.as_secs_f64(),
        fmt_count(LOAD_ITEMS),
        if full { "" } else { " Quick subset (`KARMA_BENCH_FULL=1` runs every profile)." }
    );
    let outcomes: Vec<Outcome> =
        PROFILES.iter().filter(|p| full || p.2).map(|&(keys, days, _)| profile(keys, days, secs)).collect();

    println!("### Memory and reads\n");
    let mut table = Table::new(&[
        "keys x buckets",
        "points",
        "load ms",
        "load points/s",
        "RSS fresh MiB",
        "RSS empty MiB",
        "RSS loaded MiB",
        "bytes/point",
        "target",
        "batch_sum keys/s",
        "tree.summary µs",
    ]);
    for o in &outcomes {
        table.row([vec![o.label.clone()], o.memory.clone()].concat());
    }
    table.print();

    println!("### Snapshot and restore\n");
    let mut table = Table::new(&[
        "keys x buckets",
        "snapshot.create_all ms",
        ".tree MiB",
        "snapshot points/s",
        "SIGTERM stop ms",
        "restart ms",
        "restore points/s",
    ]);
    for o in &outcomes {
        table.row([vec![o.label.clone()], o.persistence.clone()].concat());
    }
    table.print();
}

fn profile(keys: u64, days: u32, secs: Duration) -> Outcome {
    let dir = common::data_dir();
    let server = Server::start(dir.path(), &FLAGS);
    let rss_fresh = server.rss_bytes();
    let mut client = server.client();
    warm_up(&mut client);
    let rss_empty = server.rss_bytes();
    let started = Instant::now();
    let points = common::preload(&mut client, SERIES, keys, days, LOAD_ITEMS);
    let load = started.elapsed();
    let rss_loaded = server.rss_bytes();
    let per_point = rss_loaded.saturating_sub(rss_empty) as f64 / points as f64;
    let target = if days >= 356 { 16.0 } else { 24.0 };

    let pick = move |c: usize, i: u64| {
        let mut rng = common::Rng::new(((c as u64) << 40) ^ i);
        line::batch_sum(SERIES, (0..SUM_KEYS).map(|_| rng.below(keys)))
    };
    let workload = Workload { clients: SUM_CLIENTS, depth: 1, items_per_line: SUM_KEYS, line: &pick };
    let sums = common::load::run(server.addr, &workload, secs);

    let summary = line::on_series("tree.summary", SERIES);
    let summary_time = (0..3)
        .map(|_| {
            let sent = Instant::now();
            common::expect_ok(&mut client, &summary);
            sent.elapsed()
        })
        .min()
        .unwrap_or_default();

    let sent = Instant::now();
    let reply =
        client.request(&line::bare("snapshot.create_all")).unwrap_or_else(|e| panic!("snapshot.create_all: {e}"));
    let snapshot = sent.elapsed();
    let snapshot_cells = if common::is_success(&reply) {
        let bytes = snapshot_bytes(dir.path());
        vec![fmt_ms(snapshot), fmt_mib(bytes), fmt_rate(points as f64 / snapshot.as_secs_f64())]
    } else {
        vec![format!("n/a ({})", error_code(&reply)), "n/a".into(), "n/a".into()]
    };
    drop(client);

    let stop = server.terminate();
    let restarted = Server::start(dir.path(), &FLAGS);
    // A missing series (`not_found`) also means nothing was restored.
    let info = restarted.client().request(&line::on_series("tree.info", SERIES)).unwrap_or_default();
    let counts = format!("\"key_count\":{keys},\"bucket_count\":{points},");
    let restore_rate = if common::is_success(&info) && info.contains(&counts) {
        fmt_rate(points as f64 / restarted.startup.as_secs_f64())
    } else {
        "n/a (data not restored)".into()
    };
    Outcome {
        label: format!("{} x {days}", fmt_count(keys)),
        memory: vec![
            fmt_count(points),
            fmt_ms(load),
            fmt_rate(points as f64 / load.as_secs_f64()),
            fmt_mib(rss_fresh),
            fmt_mib(rss_empty),
            fmt_mib(rss_loaded),
            format!("{per_point:.1}"),
            common::verdict(&format!("<= {target:.0}"), per_point <= target),
            fmt_rate(sums.items_per_sec()),
            fmt_us(summary_time),
        ],
        persistence: [snapshot_cells, vec![fmt_ms(stop), fmt_ms(restarted.startup), restore_rate]].concat(),
    }
}

/// Puts the load connection's buffers and allocator arenas in place with
/// one full-size batch into a scratch series, then drops that series, so
/// the empty baseline holds what any loaded server holds besides its data.
fn warm_up(client: &mut karma::client::Connection) {
    let bucket = common::day(0);
    common::expect_ok(client, &line::batch_add("warm-up", (0..LOAD_ITEMS).map(|k| (k, bucket, 1))));
    common::expect_ok(client, &line::on_series("tree.drop", "warm-up"));
}

/// Total size of the `*.tree` files in `dir`.
fn snapshot_bytes(dir: &Path) -> u64 {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "tree"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// The `error_code` of an error reply (or the reply when it has none).
fn error_code(reply: &str) -> String {
    reply
        .split("\"error_code\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map_or_else(|| common::abbreviate(reply), str::to_string)
}
