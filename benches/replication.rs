//! Replication under load (`cargo bench --bench replication`).
//!
//! Builds the release binary, starts a master (`--wal-fsync=false`) and a
//! slave (poll every 10 ms, pages of up to 10,000 entries) as processes on
//! loopback, then for `KARMA_BENCH_SECONDS` (default 10):
//! - 4 client threads write 1000-item `series.batch_add` batches to the
//!   master;
//! - 4 client threads read `counter.batch_sum` of 1000 keys from the slave.
//!
//! When the writers stop, it measures how long the slave takes to apply
//! everything (its `replayed_lsn` reaches the master's `wal_current_lsn`
//! and `replication_lag_entries` is 0), compares both nodes'
//! `tree.summary`, and prints a Markdown table.

mod common;

use common::Server;
use karma::client::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WRITERS: u64 = 4;
const READERS: u64 = 4;
const BATCH_ITEMS: u64 = 1000;
const READ_KEYS: u64 = 1000;
const KEY_SPACE: u64 = 200_000;
const SERIES: &str = "bench";
/// Batches of 1000 items are ~22 KB lines, above the 4096-byte default.
const MAX_REQUEST_BYTES: &str = "--max-request-bytes=1048576";

/// A `karma` process and the requests this bench sends it.
struct Node {
    server: Server,
}

impl Node {
    /// Starts `binary` on `dir` and waits for it to listen.
    fn start(binary: &Path, dir: &Path, args: &[String]) -> Node {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let command = common::karma_command(binary, dir, &args);
        Node { server: Server::start_command(command, dir, None, &args, Duration::from_secs(60)) }
    }

    fn client(&self) -> Connection {
        Connection::connect(self.server.addr, Some(Duration::from_secs(30))).expect("connect")
    }

    fn request(&self, line: &str) -> String {
        self.client().request(line).expect("reply")
    }

    /// One integer field of the reply's `response` object.
    fn field(&self, line: &str, field: &str) -> u64 {
        let reply = self.request(line);
        let value: serde_json::Value = serde_json::from_str(&reply).expect("JSON reply");
        value["response"][field].as_u64().unwrap_or_else(|| panic!("no {field} in {reply}"))
    }
}

/// Builds the release binary and returns its path.
fn build() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .args(["build", "--release", "--bin", "karma"])
        .current_dir(manifest)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --release failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| manifest.join("target"), PathBuf::from);
    target.join("release").join("karma")
}

/// xorshift64*: deterministic keys without a crate.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn batch(rng: &mut u64) -> String {
    let mut line = String::with_capacity(24 * BATCH_ITEMS as usize + 64);
    line.push_str(r#"{"v":2,"op":"series.batch_add","series":""#);
    line.push_str(SERIES);
    line.push_str(r#"","items":["#);
    for i in 0..BATCH_ITEMS {
        if i > 0 {
            line.push(',');
        }
        let r = next(rng);
        line.push_str(&format!("[{},{},{}]", r % KEY_SPACE, 20260501 + (r >> 32) % 28, (r >> 40) % 9 + 1));
    }
    line.push_str("]}");
    line
}

fn read_request(rng: &mut u64) -> String {
    let keys: Vec<String> = (0..READ_KEYS).map(|_| (next(rng) % KEY_SPACE).to_string()).collect();
    format!(r#"{{"v":2,"op":"counter.batch_sum","series":"{SERIES}","keys":[{}]}}"#, keys.join(","))
}

fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if check() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

fn main() {
    let seconds: u64 = std::env::var("KARMA_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let binary = build();
    let master_dir = tempfile::Builder::new().prefix("karma-bench-master-").tempdir().expect("temp dir");
    let slave_dir = tempfile::Builder::new().prefix("karma-bench-slave-").tempdir().expect("temp dir");
    let master = Node::start(&binary, master_dir.path(), &["--wal-fsync=false".into(), MAX_REQUEST_BYTES.into()]);
    let slave = Node::start(
        &binary,
        slave_dir.path(),
        &[
            "--role=slave".into(),
            "--replication-source-host=127.0.0.1".into(),
            format!("--replication-source-port={}", master.server.addr.port()),
            "--replication-poll-interval-ms=10".into(),
            "--replication-batch-size=10000".into(),
            MAX_REQUEST_BYTES.into(),
        ],
    );
    // The series must exist on the slave before the readers start.
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    let first = master.request(&batch(&mut seed));
    assert!(first.contains(r#""success":true"#), "{first}");
    let probe = format!(r#"{{"v":2,"op":"tree.info","series":"{SERIES}"}}"#);
    wait_until(Duration::from_secs(30), || slave.request(&probe).contains(r#""success":true"#))
        .expect("the slave never received the first batch");

    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let read = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut threads = Vec::new();
    for t in 0..WRITERS {
        let (stop, written, addr) = (Arc::clone(&stop), Arc::clone(&written), master.server.addr);
        threads.push(std::thread::spawn(move || {
            let mut client = Connection::connect(addr, Some(Duration::from_secs(30))).expect("connect");
            let mut rng = 0x1234_5678 + t * 7919;
            while !stop.load(Ordering::Relaxed) {
                let reply = client.request(&batch(&mut rng)).expect("write reply");
                assert!(reply.contains(r#""success":true"#), "{reply}");
                written.fetch_add(BATCH_ITEMS, Ordering::Relaxed);
            }
        }));
    }
    for t in 0..READERS {
        let (stop, read, addr) = (Arc::clone(&stop), Arc::clone(&read), slave.server.addr);
        threads.push(std::thread::spawn(move || {
            let mut client = Connection::connect(addr, Some(Duration::from_secs(30))).expect("connect");
            let mut rng = 0x8765_4321 + t * 104_729;
            while !stop.load(Ordering::Relaxed) {
                let reply = client.request(&read_request(&mut rng)).expect("read reply");
                assert!(reply.contains(r#""success":true"#), "{reply}");
                read.fetch_add(READ_KEYS, Ordering::Relaxed);
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("client thread");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let lag_at_stop = slave.field(r#"{"v":2,"op":"replication.status"}"#, "replication_lag_entries");

    let final_lsn = master.field(r#"{"v":2,"op":"system.stats"}"#, "wal_current_lsn");
    let status = r#"{"v":2,"op":"replication.status"}"#;
    let catch_up = wait_until(Duration::from_secs(60), || {
        slave.field(status, "replayed_lsn") == final_lsn && slave.field(status, "replication_lag_entries") == 0
    });
    let final_lag = slave.field(status, "replication_lag_entries");
    let summary = format!(r#"{{"v":2,"op":"tree.summary","series":"{SERIES}"}}"#);
    let (master_summary, slave_summary) = (master.request(&summary), slave.request(&summary));
    let total = |reply: &str| {
        let value: serde_json::Value = serde_json::from_str(reply).expect("JSON");
        value["response"]["total"].as_u64().expect("total")
    };

    println!();
    println!(
        "Replication, {WRITERS} writers x {BATCH_ITEMS}-item batch_add -> master, {READERS} readers x {READ_KEYS}-key batch_sum <- slave, {seconds} s"
    );
    println!();
    println!("| metric | value |");
    println!("| --- | --- |");
    println!("| master write rate | {:.0} items/s |", written.load(Ordering::Relaxed) as f64 / elapsed);
    println!("| slave read rate | {:.0} keys/s |", read.load(Ordering::Relaxed) as f64 / elapsed);
    println!("| lag when writes stopped | {lag_at_stop} entries |");
    println!("| final lag | {final_lag} entries |");
    println!("| master LSN / slave replayed LSN | {final_lsn} / {} |", slave.field(status, "replayed_lsn"));
    println!(
        "| totals equal | {} (master {}, slave {}) |",
        if master_summary == slave_summary { "yes" } else { "no" },
        total(&master_summary),
        total(&slave_summary)
    );
    match catch_up {
        Some(time) => println!("| catch-up after writes stop | {:.1} ms |", time.as_secs_f64() * 1000.0),
        None => println!("| catch-up after writes stop | not within 60 s |"),
    }
}
