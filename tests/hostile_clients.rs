//! Clients that try to take more than their share of a node: replies never
//! read, request lines trickled a byte at a time, bursts of connections,
//! and a node that cannot start a thread for a new client.

mod common;

use common::{eventually, ok, stats, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::time::Duration;

/// Resident memory of `pid` in bytes (`VmRSS` of /proc/<pid>/status).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmRSS value");
    kib * 1024
}

/// Threads of `pid`.
fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).expect("task dir").count()
}

fn active_connections(server: &Server) -> u64 {
    stats(server)["connections_active"].as_u64().expect("connections_active")
}

/// A ping over a new connection: `pong`, or the refusal the node answered.
fn ping_new_client(server: &Server) -> String {
    let mut client = server.client();
    client.request(r#"{"v":2,"op":"system.ping"}"#).unwrap_or_else(|e| format!("error: {e}"))
}

#[test]
fn a_client_that_never_reads_big_replies_does_not_grow_the_node() {
    let server = Server::start(&["--max-request-bytes=1048576", "--write-timeout=3"]);
    // 36,000 keys in one bucket: each tree.series reply is about 900 KB.
    let mut writer = server.client();
    for batch in 0..36 {
        let items: Vec<String> = (0..1000).map(|i| format!("[{},20260505,1]", 100_000 + batch * 1000 + i)).collect();
        let line = format!(r#"{{"v":2,"op":"series.batch_add","series":"amp","items":[{}]}}"#, items.join(","));
        let reply = writer.request(&line).expect("batch_add");
        assert!(reply.contains(r#""success":true"#), "{reply}");
    }
    let mut reader = server.client();
    let reply =
        reader.request(r#"{"v":2,"op":"tree.series","series":"amp","range":{"from":20260505,"to":20260505}}"#).unwrap();
    assert!(reply.len() > 850_000, "reply of {} bytes", reply.len());
    drop(reader);
    drop(writer);
    let before = rss_bytes(server.pid());

    // 300 replies of ~900 KB asked for in one go, none of them read.
    let request = "{\"v\":2,\"op\":\"tree.series\",\"series\":\"amp\",\"range\":{\"from\":20260505,\"to\":20260505}}\n";
    let mut hog = TcpStream::connect(server.addr).expect("connect");
    hog.write_all(request.repeat(300).as_bytes()).expect("send");

    // The hog's session blocks on its socket until the write timeout closes
    // it; the node's memory must stay bounded all along.
    let mut peak = before;
    let closed = eventually(Duration::from_secs(120), || {
        peak = peak.max(rss_bytes(server.pid()));
        active_connections(&server) == 1
    });
    peak = peak.max(rss_bytes(server.pid()));
    assert!(closed, "the hog's session was not closed");
    let grown = peak.saturating_sub(before);
    assert!(grown < 64 << 20, "RSS grew by {} MiB while the client did not read", grown >> 20);
    assert_eq!(ping_new_client(&server), ok("\"pong\""));
}

#[test]
fn clients_that_trickle_bytes_cannot_hold_the_connection_limit() {
    let server = Server::start(&["--max-connections=4", "--read-timeout=2"]);
    // Four clients each send one byte of a request line every 300 ms: a
    // per-read timeout of 2 s would never fire.
    let tricklers: Vec<_> = (0..4)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr).expect("connect");
            std::thread::spawn(move || {
                let line = br#"{"v":2,"op":"system.ping"}"#;
                for _ in 0..200 {
                    for &byte in line.iter() {
                        if stream.write_all(&[byte]).is_err() {
                            return true; // closed by the server
                        }
                        std::thread::sleep(Duration::from_millis(300));
                    }
                }
                false
            })
        })
        .collect();
    let refused = common::err("internal_error", "Too many connections (max 4)");
    assert!(
        eventually(Duration::from_secs(10), || ping_new_client(&server) == refused),
        "the tricklers never filled the limit"
    );
    // Each trickler's line is overdue 2 s after its first byte.
    assert!(
        eventually(Duration::from_secs(30), || ping_new_client(&server) == ok("\"pong\"")),
        "a new client was still refused"
    );
    for trickler in tricklers {
        assert!(trickler.join().unwrap(), "a trickler kept its connection");
    }
}

#[test]
fn a_request_line_completed_in_time_is_answered_across_many_reads() {
    let server = Server::start(&["--read-timeout=5"]);
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    for part in [&b"{\"v\":2,"[..], b"\"op\":\"system", b".ping\"}", b"\n"] {
        stream.write_all(part).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut reply = [0u8; 256];
    let n = stream.read(&mut reply).unwrap();
    assert_eq!(std::str::from_utf8(&reply[..n]).unwrap(), format!("{}\r\n", ok("\"pong\"")));
}

#[test]
fn idle_session_threads_are_released_after_the_load() {
    let server = Server::start(&["--read-timeout=1"]);
    let pid = server.pid();
    let base = thread_count(pid);
    let mut clients: Vec<_> = (0..16).map(|_| server.client()).collect();
    for client in &mut clients {
        assert_eq!(client.request(r#"{"v":2,"op":"system.ping"}"#).unwrap(), ok("\"pong\""));
    }
    assert!(thread_count(pid) >= base + 16, "{} threads for 16 clients", thread_count(pid));
    drop(clients);
    assert!(
        eventually(Duration::from_secs(30), || thread_count(pid) <= base),
        "{} threads left, {base} before the clients came",
        thread_count(pid)
    );
    assert_eq!(ping_new_client(&server), ok("\"pong\""));
}

const NOBODY: u32 = 65534;

/// Tasks `nobody` may have while the server runs as `nobody`: enough to
/// start it, and filled up by the test afterwards.
const NOBODY_TASKS: usize = 48;

#[test]
fn a_session_thread_that_cannot_start_gives_its_connection_slot_back() {
    // RLIMIT_NPROC counts every task (thread) of the server's user, and
    // root is exempt from it, so the server runs as `nobody` with a small
    // limit, and the test fills the rest of that budget with processes of
    // `nobody` of its own, which it can end to let the server spawn again.
    let temp = common::temp_dir();
    std::os::unix::fs::chown(temp.path(), Some(NOBODY), Some(NOBODY)).expect("chown");
    let server = Server::start_configured(temp.path(), &["--max-connections=2"], |command| {
        command.uid(NOBODY).gid(NOBODY);
        // SAFETY: setrlimit is async-signal-safe; it only lowers this
        // child's own limit before exec.
        unsafe {
            command.pre_exec(|| {
                let limit = NOBODY_TASKS as libc::rlim_t;
                let value = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                if libc::setrlimit(libc::RLIMIT_NPROC, &value) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let threads = thread_count(server.pid());
    assert!(threads < NOBODY_TASKS, "the server started {threads} threads");
    let mut fillers: Vec<_> = (threads..NOBODY_TASKS)
        .map(|_| std::process::Command::new("sleep").arg("120").uid(NOBODY).gid(NOBODY).spawn().expect("sleep"))
        .collect();
    let cannot = std::io::Error::from_raw_os_error(libc::EAGAIN);
    let refused = common::err("internal_error", &format!("Cannot serve the connection: {cannot}"));
    let replies: Vec<String> = (0..5).map(|_| ping_new_client(&server)).collect();
    for filler in &mut fillers {
        let _ = filler.kill();
        let _ = filler.wait();
    }
    assert_eq!(replies, vec![refused; 5]);
    assert_eq!(ping_new_client(&server), ok("\"pong\""));
    assert!(server.log_lines().iter().any(|l| l.contains("server.session_spawn_failed")));
}
