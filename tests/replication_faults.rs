//! Replication under faults, real processes: `kill -9` of the slave while
//! the master takes writes and of the master between polls, a master that
//! dropped WAL a stopped slave still needed (`replication_gap` ->
//! re-bootstrap), and a master that is down when the slave starts.
mod common;
mod replication_common;

use common::{eventually, temp_dir, Server};
use replication_common::{assert_converged, contents, mixed_writes, start_slave, status, status_u64, write, CONVERGE};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Writes to the master from a thread until stopped; tolerates the master
/// being down (reconnects). Returns how many writes were acknowledged.
struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    fn start(addr: std::net::SocketAddr, seed: u64) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&acked));
        let thread = std::thread::spawn(move || {
            let mut client = None;
            let mut i = seed;
            while !flag.load(Ordering::Acquire) {
                if client.is_none() {
                    client = karma::client::Connection::connect(addr, Some(Duration::from_secs(10))).ok();
                    if client.is_none() {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                }
                let line = if i.is_multiple_of(5) {
                    let items: Vec<String> =
                        (0..8).map(|k| format!("[{},{},{}]", (i + k) % 300, 20260501 + i % 20, k + 1)).collect();
                    format!(r#"{{"v":2,"op":"series.batch_add","series":"w{}","items":[{}]}}"#, i % 3, items.join(","))
                } else {
                    format!(
                        r#"{{"v":2,"op":"counter.increment","series":"w{}","key":{},"bucket":{},"value":{}}}"#,
                        i % 3,
                        i % 500,
                        20260501 + i % 20,
                        i % 7 + 1
                    )
                };
                match client.as_mut().expect("connected").request(&line) {
                    Ok(reply) if reply.contains(r#""success":true"#) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        i += 1;
                    }
                    _ => client = None,
                }
            }
        });
        Writer { stop, acked, thread: Some(thread) }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("writer");
        }
        self.acked.load(Ordering::Relaxed)
    }
}

#[test]
fn kill9_of_slave_mid_stream_and_of_master_between_polls() {
    let master_dir = temp_dir();
    let mut master = Server::start_in(master_dir.path(), &["--wal-segment-bytes=4096"]);
    let port = master.addr.port();
    mixed_writes(&master, 0);
    master.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    let slave_dir = temp_dir();
    let mut slave = start_slave(slave_dir.path(), port, &["--replication-batch-size=50"]);
    let writer = Writer::start(master.addr, 0);
    for cycle in 0..4 {
        std::thread::sleep(Duration::from_millis(150 + 50 * cycle));
        slave.kill9();
        std::thread::sleep(Duration::from_millis(50));
        slave = start_slave(slave_dir.path(), port, &["--replication-batch-size=50"]);
        // Restarted from its own snapshots and WAL: no bootstrap.
        assert_eq!(status_u64(&slave, "replication_bootstrap_attempt_count"), 0, "cycle {cycle}");
    }
    let acked = writer.stop();
    assert!(acked > 50, "only {acked} writes");
    assert_converged(&master, &slave, false);

    // The master dies between polls (the slave idle and caught up), comes
    // back on the same port with everything it acknowledged.
    for _ in 0..2 {
        master.kill9();
        std::thread::sleep(Duration::from_millis(100));
        master = Server::start_in(master_dir.path(), &["--wal-segment-bytes=4096", &format!("--port={port}")]);
        let writer = Writer::start(master.addr, 1000);
        std::thread::sleep(Duration::from_millis(300));
        writer.stop();
        assert_converged(&master, &slave, false);
    }
    // And both die at once while writes flow; the slave comes back first.
    let writer = Writer::start(master.addr, 5000);
    std::thread::sleep(Duration::from_millis(300));
    slave.kill9();
    master.kill9();
    writer.stop();
    let slave = start_slave(slave_dir.path(), port, &[]);
    let master = Server::start_in(master_dir.path(), &["--wal-segment-bytes=4096", &format!("--port={port}")]);
    mixed_writes(&master, 1);
    assert_converged(&master, &slave, false);
    assert_eq!(status_u64(&slave, "replication_bootstrap_attempt_count"), 0);
    assert_eq!(status_u64(&slave, "replayed_lsn"), replication_common::current_lsn(&master));
}

fn has_event(server: &Server, event: &str) -> bool {
    server.log_lines().iter().any(|line| line.contains(&format!(r#""event":"{event}""#)))
}

/// The master truncates WAL the stopped slave had not pulled yet: on
/// restart the slave gets `replication_gap`, bootstraps again by itself
/// and converges; a later restart resumes from the new state.
#[test]
fn a_gap_makes_the_slave_bootstrap_again() {
    let master = Server::start(&[]);
    let port = master.addr.port();
    mixed_writes(&master, 0);
    master.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    let slave_dir = temp_dir();
    let mut slave = start_slave(slave_dir.path(), port, &[]);
    mixed_writes(&master, 1);
    assert_converged(&master, &slave, false);
    for (round, clean) in [(2, true), (5, false)] {
        if clean {
            slave.signal("TERM");
            assert_eq!(slave.wait_exit(Duration::from_secs(20)), Some(0));
        } else {
            slave.kill9();
        }
        let stopped_at = status_u64(&master, "wal_current_lsn");
        mixed_writes(&master, round);
        let mut c = master.client();
        write(&mut c, &format!(r#"{{"v":2,"op":"tree.drop","series":"beta{round}"}}"#));
        assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create_all"}"#), common::ok(r#""OK""#));
        let snapshot_lsn = status_u64(&master, "wal_current_lsn");
        mixed_writes(&master, round + 1);
        assert_eq!(
            master.request(&format!(r#"{{"v":2,"op":"replication.entries","after_lsn":{stopped_at}}}"#)),
            common::err(
                "replication_gap",
                &format!(
                    "Requested WAL after_lsn {stopped_at} is older than snapshot LSN {snapshot_lsn}; bootstrap from snapshot"
                )
            )
        );
        slave = start_slave(slave_dir.path(), port, &[]);
        assert_converged(&master, &slave, false);
        assert!(has_event(&slave, "replication.rebootstrap"), "clean={clean} {:?}", slave.log_lines());
        assert!(has_event(&slave, "replication.rebootstrap_complete"), "{:?}", slave.log_lines());
        let status = status(&slave);
        assert!(status["replication_bootstrap_attempt_count"].as_u64() >= Some(1), "{status}");
        assert_eq!(status["replication_bootstrap_success_count"], status["replication_bootstrap_attempt_count"]);
        assert_eq!(status["replication_last_bootstrap_error"], Value::Null);
        assert!(!contents(&slave, None).list.contains(&format!("beta{round}")));
    }
    // After a re-bootstrap, a restart resumes from the new local state.
    slave.kill9();
    mixed_writes(&master, 10);
    let slave = start_slave(slave_dir.path(), port, &[]);
    assert_converged(&master, &slave, false);
    assert_eq!(status_u64(&slave, "replication_bootstrap_attempt_count"), 0);
    assert!(!has_event(&slave, "replication.rebootstrap"));
}

/// A slave whose master had no snapshots has none either; killed, it
/// bootstraps again at restart (no `.tree` locally) from snapshots the
/// master made meanwhile, on top of its own WAL. A series the master
/// dropped must stay dropped, and later restarts must work.
#[test]
fn a_slave_without_snapshots_restarting_after_master_drop_and_create_all() {
    let master = Server::start(&[]);
    let port = master.addr.port();
    let slave_dir = temp_dir();
    let mut slave = start_slave(slave_dir.path(), port, &[]);
    mixed_writes(&master, 0);
    let mut c = master.client();
    write(&mut c, r#"{"v":2,"op":"series.batch_add","series":"gone","items":[[1,20260501,5]]}"#);
    assert_converged(&master, &slave, true);
    slave.kill9();
    write(&mut c, r#"{"v":2,"op":"tree.drop","series":"gone"}"#);
    mixed_writes(&master, 1);
    assert_eq!(master.request(r#"{"v":2,"op":"snapshot.create_all"}"#), common::ok(r#""OK""#));
    mixed_writes(&master, 2);
    for restart in 0..2 {
        slave = start_slave(slave_dir.path(), port, &[]);
        assert_converged(&master, &slave, false);
        assert!(!contents(&slave, None).list.contains(&"gone".to_string()), "restart {restart}");
        slave.kill9();
        mixed_writes(&master, 3 + restart);
    }
}

/// The master is down when the slave (already bootstrapped) restarts: the
/// slave serves what it has, counts poll errors, and catches up once the
/// master is back on the same port.
#[test]
fn master_down_at_slave_start() {
    let master_dir = temp_dir();
    let mut master = Server::start_in(master_dir.path(), &[]);
    let port = master.addr.port();
    mixed_writes(&master, 0);
    master.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    mixed_writes(&master, 1);
    let slave_dir = temp_dir();
    let mut slave = start_slave(slave_dir.path(), port, &[]);
    assert_converged(&master, &slave, false);
    let before = contents(&master, None);
    master.kill9();
    slave.signal("TERM");
    assert_eq!(slave.wait_exit(Duration::from_secs(20)), Some(0));

    let slave = start_slave(slave_dir.path(), port, &[]);
    let got = contents(&slave, Some(&before));
    assert_eq!(got.series, before.series);
    assert!(eventually(CONVERGE, || status_u64(&slave, "replication_poll_error_count") >= 3));
    let status = status(&slave);
    assert_eq!(status["replication_bootstrap_attempt_count"], 0);
    let error = status["replication_last_poll_error"].as_str().expect("an error message").to_string();
    assert!(error.contains(&format!("Cannot connect to master 127.0.0.1:{port}")), "{error}");
    assert!(has_event(&slave, "replication.poll_failed"));

    let master = Server::start_in(master_dir.path(), &[&format!("--port={port}")]);
    mixed_writes(&master, 2);
    assert_converged(&master, &slave, false);
    // The poll that brings the data clears the error only after applying it.
    assert!(eventually(CONVERGE, || replication_common::status(&slave)["replication_last_poll_error"] == Value::Null));
}

/// An empty slave cannot bootstrap from a master that answers nothing:
/// startup fails with exit code 1 and one `ERROR:` line.
#[test]
fn an_empty_slave_does_not_start_without_its_master() {
    // Reads each request line and closes without a reply (a port of our
    // own, so no other test's server can be behind it).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
        }
    });
    let slave_dir = temp_dir();
    let args = replication_common::slave_args(port, &[]);
    let mut child = common::spawn(slave_dir.path(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut log).expect("stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{log}");
    let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("ERROR: ")).collect();
    assert_eq!(errors, ["ERROR: Master closed connection without response"], "{log}");
    let snapshots = std::fs::read_dir(slave_dir.path())
        .expect("dir")
        .filter(|e| e.as_ref().expect("entry").file_name().to_string_lossy().ends_with(".tree"))
        .count();
    assert_eq!(snapshots, 0);
}
