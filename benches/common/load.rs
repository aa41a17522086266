//! Closed-loop load: `clients` threads, one connection each, every thread
//! sending a burst of `depth` lines and reading `depth` replies, again and
//! again, for a fixed time. Lines are built before the clock starts (a
//! ring per thread), so client-side formatting stays out of the numbers.
//!
//! Also the null server: the cheapest possible server speaking the same
//! framing, so the table can show how close Karma gets to what loopback
//! TCP and these client threads allow at all.

use super::is_success;
use karma::client::Connection as KarmaConnection;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The null server's answer to every line.
const PONG: &[u8] = b"{\"protocol_version\":2,\"success\":true,\"response\":\"pong\",\"error_code\":null}\r\n";

/// A ring stops growing at this many lines or bytes, whichever comes first.
const RING_LINES: usize = 1024;
const RING_BYTES: usize = 1 << 20;

/// What the client threads send.
pub struct Workload<'a> {
    pub clients: usize,
    /// Lines written back to back before reading their replies (1 = one
    /// request in flight per connection).
    pub depth: usize,
    /// What one line counts for (keys or items of a batch; 1 otherwise).
    pub items_per_line: u64,
    /// Line number `i` of client `c` (no terminator).
    pub line: &'a (dyn Fn(usize, u64) -> String + Sync),
}

/// The outcome of one measured run.
pub struct Load {
    pub lines: u64,
    pub items: u64,
    pub duration: Duration,
    /// Round-trip time of each burst, in nanoseconds, sorted.
    latencies: Vec<u64>,
}

impl Load {
    pub fn lines_per_sec(&self) -> f64 {
        self.lines as f64 / self.duration.as_secs_f64()
    }

    pub fn items_per_sec(&self) -> f64 {
        self.items as f64 / self.duration.as_secs_f64()
    }

    /// Nearest-rank percentile `q` (0..=100) of the burst round trips.
    pub fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q / 100.0) * self.latencies.len() as f64).ceil() as usize;
        Duration::from_nanos(self.latencies[rank.clamp(1, self.latencies.len()) - 1])
    }
}

/// Runs `workload` against `addr` for `duration`, on connections of its
/// own; panics with the reply if any request fails.
pub fn run(addr: SocketAddr, workload: &Workload<'_>, duration: Duration) -> Load {
    let mut connections = connect(addr, workload.clients);
    run_on(&mut connections, workload, duration)
}

/// `clients` connections to `addr`, for [`run_on`].
pub fn connect(addr: SocketAddr, clients: usize) -> Vec<KarmaConnection> {
    (0..clients)
        .map(|_| {
            KarmaConnection::connect(addr, Some(Duration::from_secs(120)))
                .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"))
        })
        .collect()
}

/// One connection of the closed loop: how a line is framed on the wire and
/// how one reply is read and checked. Karma's NDJSON client, and the RESP
/// client of the Redis comparison.
pub trait Connection: Send {
    /// Appends `line` as the server expects one request.
    fn frame(&self, line: &str, payload: &mut Vec<u8>);
    fn send(&mut self, payload: &[u8]) -> std::io::Result<()>;
    /// Reads one reply; an error reply or a closed connection is an `Err`.
    fn reply(&mut self) -> Result<(), String>;
}

impl Connection for KarmaConnection {
    fn frame(&self, line: &str, payload: &mut Vec<u8>) {
        payload.extend_from_slice(line.as_bytes());
        payload.push(b'\n');
    }

    fn send(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.send_raw(payload)
    }

    fn reply(&mut self) -> Result<(), String> {
        match self.receive() {
            Ok(Some(reply)) if is_success(&reply) => Ok(()),
            Ok(Some(reply)) => Err(format!("error reply: {reply}")),
            Ok(None) => Err("connection closed".into()),
            Err(e) => Err(format!("receive: {e}")),
        }
    }
}

impl Load {
    /// The rounds of one side of an alternating pair as one run: their
    /// lines and times added, their latencies pooled.
    pub fn merge(rounds: Vec<Load>) -> Load {
        let mut merged = Load { lines: 0, items: 0, duration: Duration::ZERO, latencies: Vec::new() };
        for mut round in rounds {
            merged.lines += round.lines;
            merged.items += round.items;
            merged.duration += round.duration;
            merged.latencies.append(&mut round.latencies);
        }
        merged.latencies.sort_unstable();
        merged
    }
}

/// Runs `workload` on `connections` (one client thread each, so
/// `workload.clients` is ignored) for `duration`; panics with the reply if
/// any request fails. The connections stay open for the next run.
pub fn run_on<C: Connection>(connections: &mut [C], workload: &Workload<'_>, duration: Duration) -> Load {
    let barrier = Barrier::new(connections.len());
    let results: Vec<Result<(u64, Vec<u64>), String>> = std::thread::scope(|scope| {
        let threads: Vec<_> = connections
            .iter_mut()
            .enumerate()
            .map(|(c, client)| {
                let barrier = &barrier;
                scope.spawn(move || client_thread(client, workload, c, barrier, duration))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap_or_else(|_| Err("client thread panicked".into()))).collect()
    });
    let mut bursts = 0;
    let mut latencies = Vec::new();
    for result in results {
        let (count, mut lat) = result.unwrap_or_else(|e| panic!("load failed: {e}"));
        bursts += count;
        latencies.append(&mut lat);
    }
    latencies.sort_unstable();
    let lines = bursts * workload.depth as u64;
    Load { lines, items: lines * workload.items_per_line, duration, latencies }
}

fn client_thread<C: Connection>(
    client: &mut C,
    workload: &Workload<'_>,
    c: usize,
    barrier: &Barrier,
    duration: Duration,
) -> Result<(u64, Vec<u64>), String> {
    let ring = build_ring(&*client, workload, c);
    let depth = workload.depth;
    // Prime the connection (and fail early) before the common start.
    let primed = burst(client, &ring[0], depth);
    // Every thread reaches the barrier, even a failed one, or the others
    // would wait forever.
    barrier.wait();
    primed?;
    let deadline = Instant::now() + duration;
    let mut latencies = Vec::with_capacity(1 << 16);
    for payload in ring.iter().cycle().skip(1) {
        let sent = Instant::now();
        burst(client, payload, depth)?;
        let done = Instant::now();
        if done > deadline {
            break;
        }
        latencies.push((done - sent).as_nanos() as u64);
    }
    Ok((latencies.len() as u64, latencies))
}

/// Bursts of `depth` framed lines.
fn build_ring<C: Connection>(client: &C, workload: &Workload<'_>, c: usize) -> Vec<Vec<u8>> {
    let mut ring = Vec::new();
    let (mut lines, mut bytes) = (0usize, 0usize);
    while lines < RING_LINES && bytes < RING_BYTES {
        let mut payload = Vec::new();
        for _ in 0..workload.depth {
            client.frame(&(workload.line)(c, lines as u64), &mut payload);
            lines += 1;
        }
        bytes += payload.len();
        ring.push(payload);
    }
    ring
}

fn burst<C: Connection>(client: &mut C, payload: &[u8], depth: usize) -> Result<(), String> {
    client.send(payload).map_err(|e| format!("send: {e}"))?;
    for _ in 0..depth {
        client.reply()?;
    }
    Ok(())
}

/// Set in the environment of the null server's own process: `1` for the
/// plain null server, `fsync:<dir>` for the group-fsync one.
const NULL_SERVER_ENV: &str = "KARMA_BENCH_NULL_SERVER";

/// The null server, running in a process of its own like Karma: threads of
/// one process switch to each other more cheaply than threads of two, so a
/// null server inside the bench process would set the ceiling by a saving
/// no server process can have. Killed on drop.
pub struct NullServer {
    pub addr: SocketAddr,
    child: Child,
}

impl Drop for NullServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the null server: this bench binary again, which
/// [`serve_null_server_if_asked`] turns into the server.
pub fn start_null_server() -> NullServer {
    spawn_null_server("1")
}

/// Starts the group-fsync null server, its log file in `dir`: the least a
/// thread-per-connection server must do to acknowledge a write only once
/// it is fsynced (see [`serve_group_fsync`]).
pub fn start_group_fsync_server(dir: &Path) -> NullServer {
    spawn_null_server(&format!("fsync:{}", dir.display()))
}

fn spawn_null_server(kind: &str) -> NullServer {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let mut child = Command::new(exe)
        .env(NULL_SERVER_ENV, kind)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the null server process");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut first_line = String::new();
    BufReader::new(stdout).read_line(&mut first_line).expect("read the null server's address");
    let addr = first_line.trim().parse().unwrap_or_else(|_| panic!("null server printed {first_line:?}"));
    NullServer { addr, child }
}

/// Call first thing in a bench's `main`. In the null server's process it
/// binds `127.0.0.1:0`, prints the address, serves (one thread per client)
/// until the bench closes its stdin or exits, and never returns; anywhere
/// else it does nothing. The plain null server answers every line with
/// [`PONG`], writing once per burst of lines read, as Karma does; the
/// group-fsync one is [`serve_group_fsync`].
pub fn serve_null_server_if_asked() {
    let Some(kind) = std::env::var_os(NULL_SERVER_ENV) else {
        return;
    };
    let log_dir = kind.to_str().and_then(|k| k.strip_prefix("fsync:")).map(PathBuf::from);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the null server");
    println!("{}", listener.local_addr().expect("null server address"));
    std::io::stdout().flush().expect("flush the null server's address");
    match log_dir {
        None => {
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    std::thread::spawn(move || null_session(stream));
                }
            });
        }
        Some(dir) => serve_group_fsync(listener, &dir),
    }
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    std::process::exit(0);
}

fn null_session(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(4096);
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for _ in chunk[..n].iter().filter(|&&b| b == b'\n') {
            out.extend_from_slice(PONG);
        }
        if !out.is_empty() {
            if stream.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
    }
}

/// Bytes the group-fsync server logs per line: about a Karma WAL line.
const LOGGED_LINE_BYTES: usize = 100;
/// The group-fsync server's log: written with zeros and fsynced before it
/// serves, then overwritten round and round, so its fsyncs write data only
/// (the cheapest fsync this disk has; Karma's fill ahead does the same).
const LOG_BYTES: u64 = 16 << 20;

/// Lines read and not yet answered: the connection and how many.
type Waiting = Mutex<Vec<(Arc<TcpStream>, usize)>>;

/// The group-fsync null server: one thread per client reads lines and
/// queues them, and goes back to reading; one committer thread takes
/// everything queued, writes [`LOGGED_LINE_BYTES`] per line to its log,
/// `fdatasync`s once, then answers every line taken with [`PONG`]. No
/// parsing, no state, no gathering: what is left is the hand-offs and the
/// fsync that any thread-per-connection server acknowledging only durable
/// writes pays, so its rate is a ceiling for such a server on this
/// machine where the CPU, not the disk, is the limit (32 clients and up).
fn serve_group_fsync(listener: TcpListener, dir: &Path) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(dir.join("group-fsync.log"))
        .expect("create the group-fsync log");
    log.write_all_at(&vec![0u8; LOG_BYTES as usize], 0).expect("fill the group-fsync log");
    log.sync_all().expect("fsync the group-fsync log");
    let waiting: Arc<(Waiting, Condvar)> = Arc::default();
    let committer = Arc::clone(&waiting);
    std::thread::spawn(move || commit_forever(&log, &committer));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let waiting = Arc::clone(&waiting);
            std::thread::spawn(move || group_fsync_session(stream, &waiting));
        }
    });
}

fn group_fsync_session(stream: TcpStream, waiting: &(Waiting, Condvar)) {
    let _ = stream.set_nodelay(true);
    let stream = Arc::new(stream);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match (&*stream).read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let lines = chunk[..n].iter().filter(|&&b| b == b'\n').count();
        if lines > 0 {
            waiting.0.lock().expect("waiting lock").push((Arc::clone(&stream), lines));
            waiting.1.notify_one();
        }
    }
}

fn commit_forever(log: &std::fs::File, waiting: &(Waiting, Condvar)) {
    let mut offset = 0u64;
    let mut record = Vec::new();
    let mut replies = Vec::new();
    loop {
        let taken = {
            let mut queue = waiting.0.lock().expect("waiting lock");
            while queue.is_empty() {
                queue = waiting.1.wait(queue).expect("waiting lock");
            }
            std::mem::take(&mut *queue)
        };
        let lines: usize = taken.iter().map(|(_, n)| n).sum();
        record.clear();
        record.resize(lines * LOGGED_LINE_BYTES, b'x');
        if offset + record.len() as u64 > LOG_BYTES {
            offset = 0;
        }
        log.write_all_at(&record, offset).expect("write the group-fsync log");
        log.sync_data().expect("fsync the group-fsync log");
        offset += record.len() as u64;
        for (stream, n) in taken {
            // A client that is gone only loses its own replies.
            replies.clear();
            (0..n).for_each(|_| replies.extend_from_slice(PONG));
            let _ = (&*stream).write_all(&replies);
        }
    }
}
