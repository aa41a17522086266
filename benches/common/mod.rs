//! Shared plumbing of the `harness = false` benches: the `karma` binary
//! started on a temp directory with port 0 (the port is read from the
//! `server.start` log line), closed-loop client threads over real TCP, a
//! null server that answers every line with a fixed reply (our loopback
//! ceiling), request-line builders, percentiles and Markdown tables.
//!
//! Measuring rule: every client thread runs for exactly the configured
//! time after a common barrier, and only requests that complete before its
//! own deadline count, so a rate is `completed / duration` without a tail.
//! Every reply is checked to be a success envelope; a failure aborts the
//! bench with the reply, because a fast error path would flatter the table.
#![allow(dead_code)]

pub mod ingest;
pub mod load;
pub mod redis;
pub mod report;

// Each bench uses a different subset of these.
#[allow(unused_imports)]
pub use load::{serve_null_server_if_asked, start_group_fsync_server, start_null_server, Load, Workload};
#[allow(unused_imports)]
pub use report::{fmt_count, fmt_mib, fmt_ms, fmt_rate, fmt_us, preamble, verdict, Table};

use karma::client::Connection;
use karma::store::Bucket;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Start of every reply that reports success.
pub const SUCCESS_PREFIX: &str = "{\"protocol_version\":2,\"success\":true";

/// Raised so 10,000-item batches fit in one request line.
pub const BIG_REQUESTS: &str = "--max-request-bytes=4194304";

/// The bucket every single-bucket write goes to (a real UTC day).
pub const BUCKET: u32 = 20260505;

/// Whether a reply line is a success envelope.
pub fn is_success(reply: &str) -> bool {
    reply.starts_with(SUCCESS_PREFIX)
}

/// Seconds per measured row: `KARMA_BENCH_SECONDS`, else `default`.
pub fn row_duration(default: f64) -> Duration {
    let seconds = std::env::var("KARMA_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(default);
    Duration::from_secs_f64(seconds)
}

/// `KARMA_BENCH_FULL=1` (or `true`) asks for every profile.
pub fn full_run() -> bool {
    matches!(std::env::var("KARMA_BENCH_FULL").as_deref(), Ok("1") | Ok("true"))
}

/// The release `karma` binary, built by cargo next to this bench (cargo
/// builds binary targets before the benches that may run them), or
/// `KARMA_BENCH_BINARY` (to compare two builds with the same bench).
pub fn karma_binary() -> PathBuf {
    let path = std::env::var_os("KARMA_BENCH_BINARY")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_karma")), PathBuf::from);
    if !path.is_file() {
        panic!("{} is missing: run `cargo build --release --bin karma` first", path.display());
    }
    path
}

/// A temp data directory, removed on drop.
pub fn data_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("karma-bench-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temp dir under {}: {e}", std::env::temp_dir().display()))
}

/// Writes every dirty page out now (`sync(1)`), so that the kernel's
/// writeback of what earlier rows wrote (hundreds of MB of WAL with fsync
/// off) does not run during, and take CPU from, the rows that follow.
pub fn settle_writeback() {
    match Command::new("sync").status() {
        Ok(status) if status.success() => {}
        other => eprintln!("sync failed ({other:?}); later rows may overlap writeback"),
    }
}

/// The `YYYYMMDD` of the `n`-th day from 2025-01-01.
pub fn day(n: u32) -> u32 {
    let first = karma::util::calendar::days_from_civil(2025, 1, 1);
    Bucket::from_day_number(first + i64::from(n)).expect("a day within 9999").yyyymmdd()
}

// Server start-up is the tests' own, one copy for both: a bench crate
// cannot import a module of a test crate, and this is test plumbing, not
// part of the library, so the file is included by path.
#[path = "../../tests/common/server.rs"]
mod server;

// Only the replication bench starts servers from its own command.
#[allow(unused_imports)]
pub use server::{karma_command, Server};

impl Server {
    /// Starts `karma --bind=127.0.0.1 --port=0 --directory=<dir> <args>`
    /// and waits (at most 10 minutes: a big restore is slow) until it logs
    /// `server.start`.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let command = server::karma_command(karma_binary(), dir, args);
        Server::start_command(command, dir, None, args, Duration::from_secs(600))
    }

    /// The command line, with the temp directory shown as `<tmp>`.
    pub fn command(&self) -> String {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        Server::command_for(&args)
    }

    /// The command line of a server started with `args`.
    pub fn command_for(args: &[&str]) -> String {
        let mut line = String::from("target/release/karma --bind=127.0.0.1 --port=0 --directory=<tmp>");
        for arg in args {
            let _ = write!(line, " {arg}");
        }
        line
    }

    /// A new connection with a generous timeout (fsync'd writes under 128
    /// clients, big restores).
    pub fn client(&self) -> Connection {
        Connection::connect(self.addr, Some(Duration::from_secs(120)))
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.addr))
    }

    /// Resident set size of the server process, from `/proc/<pid>/statm`.
    pub fn rss_bytes(&self) -> u64 {
        let path = format!("/proc/{}/statm", self.pid());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let pages: u64 = text
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("unexpected {path}: {text:?}"));
        pages * page_size()
    }

    /// Sends SIGTERM and waits (at most 10 minutes) for the process to
    /// exit; returns how long that took.
    pub fn terminate(mut self) -> Duration {
        let started = Instant::now();
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(600));
        started.elapsed()
    }
}

fn page_size() -> u64 {
    static SIZE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        Command::new("getconf")
            .arg("PAGESIZE")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096)
    })
}

/// The first 120 bytes of a request, for messages about it.
pub fn abbreviate(line: &str) -> String {
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

/// xorshift64*: cheap, seedable key choice for client threads.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform enough in `0..bound` for picking keys.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

/// Request lines, as clients send them (no terminator).
pub mod line {
    use std::fmt::Write as _;

    pub fn increment(series: &str, key: u64) -> String {
        format!(
            "{{\"v\":2,\"op\":\"counter.increment\",\"series\":\"{series}\",\"key\":{key},\"bucket\":{}}}",
            super::BUCKET
        )
    }

    /// An increment carrying `"idempotency_key":"k<id>"`.
    pub fn keyed_increment(series: &str, key: u64, id: u64) -> String {
        format!(
            "{{\"v\":2,\"op\":\"counter.increment\",\"series\":\"{series}\",\"key\":{key},\"bucket\":{},\"idempotency_key\":\"k{id}\"}}",
            super::BUCKET
        )
    }

    pub fn sum(series: &str, key: u64) -> String {
        format!("{{\"v\":2,\"op\":\"counter.sum\",\"series\":\"{series}\",\"key\":{key}}}")
    }

    /// `series.batch_add` of `(key, bucket, value)` items.
    pub fn batch_add(series: &str, items: impl IntoIterator<Item = (u64, u32, u64)>) -> String {
        let mut line = format!("{{\"v\":2,\"op\":\"series.batch_add\",\"series\":\"{series}\",\"items\":[");
        for (i, (key, bucket, value)) in items.into_iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(line, "{comma}[{key},{bucket},{value}]");
        }
        line.push_str("]}");
        line
    }

    pub fn batch_sum(series: &str, keys: impl IntoIterator<Item = u64>) -> String {
        let mut line = format!("{{\"v\":2,\"op\":\"counter.batch_sum\",\"series\":\"{series}\",\"keys\":[");
        for (i, key) in keys.into_iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(line, "{comma}{key}");
        }
        line.push_str("]}");
        line
    }

    pub fn top(series: &str, limit: u32) -> String {
        format!("{{\"v\":2,\"op\":\"tree.top\",\"series\":\"{series}\",\"limit\":{limit}}}")
    }

    /// An op that takes only a series (`tree.summary`, `tree.info`, ...).
    pub fn on_series(op: &str, series: &str) -> String {
        format!("{{\"v\":2,\"op\":\"{op}\",\"series\":\"{series}\"}}")
    }

    /// An op without fields (`snapshot.create_all`, `system.ping`, ...).
    pub fn bare(op: &str) -> String {
        format!("{{\"v\":2,\"op\":\"{op}\"}}")
    }
}

/// Loads `keys` keys with one point each on `days` consecutive days into
/// `series` over `client`, `per_request` items per line, all keys of a day
/// before the next day. Returns the number of points.
pub fn preload(client: &mut Connection, series: &str, keys: u64, days: u32, per_request: u64) -> u64 {
    for d in 0..days {
        let bucket = day(d);
        let mut first = 0;
        while first < keys {
            let last = (first + per_request).min(keys);
            let line = line::batch_add(series, (first..last).map(|k| (k, bucket, value_of(k, d))));
            expect_ok(client, &line);
            first = last;
        }
    }
    keys * u64::from(days)
}

/// One request on `client`; panics unless the reply is a success.
pub fn expect_ok(client: &mut Connection, line: &str) -> String {
    let reply = client.request(line).unwrap_or_else(|e| panic!("no reply to {}: {e}", abbreviate(line)));
    assert!(is_success(&reply), "request {} failed: {reply}", abbreviate(line));
    reply
}

/// A deterministic, varied point value (1..=1000).
pub fn value_of(key: u64, day: u32) -> u64 {
    (key.wrapping_mul(31) + u64::from(day) * 7) % 1000 + 1
}
