//! Redis beside Karma: what a user would otherwise pick for durable
//! counters. A `redis-server` process (Debian package `redis-server`)
//! started on a temp directory and a free loopback port, and a RESP client
//! for the same closed loop as Karma's ([`super::load::Connection`]).
//!
//! Persistence follows the Karma side of each pair: `--appendonly yes
//! --appendfsync always` (every write fsynced before its reply, as
//! `--wal-fsync=true`) or no persistence at all (as `--wal=false`); RDB
//! saves are off in both.

use super::load::Connection;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `redis-server --version` when it is on `PATH`.
pub fn version() -> Option<String> {
    let output = Command::new("redis-server").arg("--version").stderr(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace().find_map(|word| word.strip_prefix("v=")).map(str::to_string)
}

/// A running `redis-server`, killed on drop.
pub struct RedisServer {
    child: Child,
    pub addr: SocketAddr,
    /// The persistence flags, for the printed command line.
    pub flags: &'static str,
}

/// `appendfsync always`: a reply only after its write is fsynced.
pub const FSYNC_ALWAYS: &str = "--appendonly yes --appendfsync always";
/// No AOF (RDB saves are off for both).
pub const NO_PERSISTENCE: &str = "--appendonly no";

impl RedisServer {
    /// Starts `redis-server` in `dir` with `flags` (one of the constants
    /// above) and waits until it answers `PING`.
    pub fn start(dir: &Path, flags: &'static str) -> RedisServer {
        let port = free_port();
        let mut child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--daemonize", "no"])
            .args(["--dir", &dir.display().to_string(), "--logfile", ""])
            .args(flags.split_whitespace())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn redis-server: {e}"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut client) = Resp::connect(addr) {
                if client.send(b"*1\r\n$4\r\nPING\r\n").is_ok() && client.line().is_ok_and(|l| l == "+PONG") {
                    break;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("redis-server exited at start ({status}) with {flags}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server did not answer PING on {addr} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer { child, addr, flags }
    }

    /// The command line, with the temp directory and port shown as such.
    pub fn command(&self) -> String {
        format!("redis-server --bind 127.0.0.1 --port <free> --save \"\" --dir <tmp> {}", self.flags)
    }

    /// `clients` RESP connections.
    pub fn connect(&self, clients: usize) -> Vec<Resp> {
        (0..clients)
            .map(|_| Resp::connect(self.addr).unwrap_or_else(|e| panic!("cannot connect to redis: {e}")))
            .collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now (bound and released).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// `HINCRBY <series>:<key> <bucket> 1` in RESP: Karma's counter (series,
/// key) is one Redis hash, its day buckets the fields.
pub fn hincrby(series: &str, key: u64, bucket: u32) -> String {
    let hash = format!("{series}:{key}");
    let field = bucket.to_string();
    format!("*4\r\n$7\r\nHINCRBY\r\n${}\r\n{hash}\r\n${}\r\n{field}\r\n$1\r\n1\r\n", hash.len(), field.len())
}

/// A RESP connection whose requests are integer commands (`HINCRBY`).
pub struct Resp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    line: String,
}

impl Resp {
    fn connect(addr: SocketAddr) -> std::io::Result<Resp> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let writer = stream.try_clone()?;
        Ok(Resp { reader: BufReader::new(stream), writer, line: String::new() })
    }

    fn line(&mut self) -> Result<&str, String> {
        self.line.clear();
        match self.reader.read_line(&mut self.line) {
            Ok(0) => Err("connection closed".into()),
            Ok(_) => Ok(self.line.trim_end_matches(['\r', '\n'])),
            Err(e) => Err(format!("receive: {e}")),
        }
    }
}

impl Connection for Resp {
    /// RESP lines are built whole by [`hincrby`].
    fn frame(&self, line: &str, payload: &mut Vec<u8>) {
        payload.extend_from_slice(line.as_bytes());
    }

    fn send(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(payload)
    }

    fn reply(&mut self) -> Result<(), String> {
        let line = self.line()?;
        if line.starts_with(':') {
            Ok(())
        } else {
            Err(format!("redis replied {line:?}"))
        }
    }
}
