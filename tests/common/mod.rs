//! A real `karma` process per test: its own temp data directory, port 0,
//! real TCP. Helpers render the exact reply lines the tests expect.
#![allow(dead_code)]

mod server;

pub use server::Server;

use karma::client::Connection;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a test server may take to log `server.start`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh temporary data directory (removed when the last holder drops it).
pub fn temp_dir() -> Arc<tempfile::TempDir> {
    Arc::new(tempfile::Builder::new().prefix("karma-test-").tempdir().expect("temp dir"))
}

impl Server {
    /// Starts a server on a new temp directory.
    pub fn start(args: &[&str]) -> Server {
        let temp = temp_dir();
        let dir = temp.path().to_path_buf();
        Server::start_command(command(&dir, args), &dir, Some(temp), args, START_TIMEOUT)
    }

    /// Starts a server on `dir` (kept by the caller).
    pub fn start_in(dir: &Path, args: &[&str]) -> Server {
        Server::start_command(command(dir, args), dir, None, args, START_TIMEOUT)
    }

    /// Starts a server on `dir` (kept by the caller) from a command that
    /// `configure` adjusts first (user, limits set before exec).
    pub fn start_configured(dir: &Path, args: &[&str], configure: impl FnOnce(&mut Command)) -> Server {
        let mut command = command(dir, args);
        configure(&mut command);
        Server::start_command(command, dir, None, args, START_TIMEOUT)
    }

    pub fn client(&self) -> Connection {
        Connection::connect(self.addr, Some(Duration::from_secs(30))).expect("connect")
    }

    /// One request on a fresh connection.
    pub fn request(&self, line: &str) -> String {
        self.client().request(line).expect("reply")
    }
}

/// Spawns the binary on `dir` with port 0 on loopback.
pub fn spawn(dir: &Path, args: &[&str]) -> Child {
    command(dir, args).spawn().expect("spawn karma")
}

/// The command [`spawn`] runs.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    server::karma_command(env!("CARGO_BIN_EXE_karma"), dir, args)
}

/// The success envelope with `response` = `json`.
pub fn ok(json: &str) -> String {
    format!("{{\"protocol_version\":2,\"success\":true,\"response\":{json},\"error_code\":null}}")
}

/// The success envelope of an idempotent-eligible op sent with a key.
pub fn ok_idem(json: &str, replayed: bool) -> String {
    format!(
        "{{\"protocol_version\":2,\"success\":true,\"response\":{json},\"idempotent\":{replayed},\"error_code\":null}}"
    )
}

/// The error envelope.
pub fn err(code: &str, message: &str) -> String {
    let message = message.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{{\"protocol_version\":2,\"success\":false,\"response\":\"{message}\",\"error_code\":\"{code}\"}}")
}

/// Polls `check` until it returns true or `timeout` passes.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// The `response` member of a reply line, parsed.
pub fn response(reply: &str) -> serde_json::Value {
    let envelope: serde_json::Value =
        serde_json::from_str(reply).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {reply}"));
    envelope.get("response").cloned().unwrap_or_else(|| panic!("reply without response: {reply}"))
}

/// `system.stats` of `server`, parsed.
pub fn stats(server: &Server) -> serde_json::Value {
    response(&server.request(r#"{"v":2,"op":"system.stats"}"#))
}

/// Selected `system.stats` fields of `server`, as `(name, value)` pairs,
/// so one assertion shows every figure that differs.
pub fn stat_values(server: &Server, names: &[&str]) -> Vec<(String, serde_json::Value)> {
    let all = stats(server);
    names.iter().map(|name| (name.to_string(), all.get(*name).cloned().unwrap_or(serde_json::Value::Null))).collect()
}

/// The same pairs, written out by the test.
pub fn expected_stats(pairs: &[(&str, i64)]) -> Vec<(String, serde_json::Value)> {
    pairs.iter().map(|(name, value)| (name.to_string(), serde_json::Value::from(*value))).collect()
}

/// Wall-clock Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

/// Lowercase hex SHA-256 of the canonical text made of `lines`, each
/// followed by `\n` (docs/protocol.md, Fingerprints).
pub fn fingerprint_of(lines: &[&str]) -> String {
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    hex::encode(karma::protocol::fingerprint::sha256(text.as_bytes()))
}

/// A `.tree` file (docs/storage.md, Snapshots) holding `points`
/// (`(key, bucket, value)`, at most 15 keys per branch and 15 buckets per
/// key), encoded by hand the way Karma 1.0 writes it.
pub fn snapshot_file_bytes(points: &[(u64, u64, u64)]) -> Vec<u8> {
    fn uint(out: &mut Vec<u8>, n: u64) {
        match n {
            0..=0x7f => out.push(n as u8),
            0x80..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
    }
    fn text(out: &mut Vec<u8>, s: &str) {
        out.push(0xa0 | s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
    /// A key and its `(bucket, value)` table.
    type Counter = (u64, Vec<(u64, u64)>);
    let mut branches: Vec<Vec<Counter>> = vec![Vec::new(); 9];
    for &(key, bucket, value) in points {
        let branch = &mut branches[(key % 9) as usize];
        match branch.iter_mut().find(|(k, _)| *k == key) {
            Some((_, table)) => table.push((bucket, value)),
            None => branch.push((key, vec![(bucket, value)])),
        }
    }
    let mut out = vec![0x82];
    text(&mut out, "branches_num");
    uint(&mut out, 9);
    text(&mut out, "branches");
    out.push(0x99);
    for branch in &branches {
        assert!(branch.len() <= 15, "fixmap only");
        out.push(0x80 | branch.len() as u8);
        for (key, table) in branch {
            uint(&mut out, *key);
            out.push(0x82);
            text(&mut out, "table");
            assert!(table.len() <= 15, "fixmap only");
            out.push(0x80 | table.len() as u8);
            for &(bucket, value) in table {
                uint(&mut out, bucket);
                uint(&mut out, value);
            }
            text(&mut out, "total");
            uint(&mut out, table.iter().map(|&(_, v)| v).sum());
        }
    }
    out
}
