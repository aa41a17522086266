//! The durable-write path over real TCP: a session hands its writes' replies
//! to whoever commits them and reads on, so these check what that can get
//! wrong (reply order behind a write still waiting for its fsync, a client
//! that stops reading, a client that leaves with a write in flight, the
//! committing thread and the session sending on one connection), and
//! the blank fill the WAL keeps ahead of its last batch with fsync on
//! (readable as it is after `kill -9`, gone after a restart or a clean
//! stop).
//!
//! `--wal-batch-wait-us` makes the first writer's commit wait for batch
//! mates, which keeps later writes in flight long enough to send more
//! requests behind them; the assertions hold whatever the timing.
mod common;
use common::{ok, temp_dir, Server};
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

fn increment(series: &str, key: u64, value: u64) -> String {
    format!(r#"{{"v":2,"op":"counter.increment","series":"{series}","key":{key},"bucket":20260501,"value":{value}}}"#)
}

fn batch_sum(series: &str, key: u64) -> String {
    format!(r#"{{"v":2,"op":"counter.batch_sum","series":"{series}","keys":[{key}]}}"#)
}

const PING: &str = r#"{"v":2,"op":"system.ping"}"#;

#[test]
fn a_read_behind_a_write_waiting_for_its_fsync_is_answered_after_it() {
    let server = Server::start(&["--wal-fsync=true", "--wal-batch-wait-us=300000"]);
    // The first writer's commit waits for batch mates ...
    let mut first = server.client();
    first.send(&increment("order", 0, 1)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // ... so this write is queued behind it, and its session reads on.
    let mut client = server.client();
    client.send(&increment("order", 1, 5)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    client.send_raw(format!("{}\n{PING}\n", batch_sum("order", 1)).as_bytes()).unwrap();
    assert_eq!(client.receive().unwrap().as_deref(), Some(ok("5").as_str()));
    assert_eq!(client.receive().unwrap().as_deref(), Some(ok(r#"[{"key":1,"value":5}]"#).as_str()));
    assert_eq!(client.receive().unwrap().as_deref(), Some(ok(r#""pong""#).as_str()));
    assert_eq!(first.receive().unwrap().as_deref(), Some(ok("1").as_str()));
}

#[test]
fn a_client_that_stops_reading_gets_every_reply_in_order_and_holds_up_nobody() {
    let server = Server::start(&["--wal-fsync=true", "--write-timeout=60"]);
    const WRITES: u64 = 150_000;
    let stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut sender = stream.try_clone().unwrap();
    // Far more replies than the socket buffers hold, sent before reading
    // any: each write followed by a read of its counter.
    let writer = std::thread::spawn(move || {
        let pair = format!("{}\n{}\n", increment("stuck", 7, 1), batch_sum("stuck", 7));
        let chunk = pair.repeat(1000);
        for _ in 0..WRITES / 1000 {
            sender.write_all(chunk.as_bytes()).unwrap();
        }
    });
    std::thread::sleep(Duration::from_secs(1));
    // Meanwhile everybody else is served.
    let mut other = server.client();
    assert_eq!(other.request(&increment("other", 1, 3)).unwrap(), ok("3"));
    assert_eq!(other.request(&batch_sum("other", 1)).unwrap(), ok(r#"[{"key":1,"value":3}]"#));
    // In order: each write's reply, then its read's, which sees it.
    let mut replies = BufReader::new(stream);
    let mut reply = String::new();
    for expected in 1..=WRITES {
        reply.clear();
        replies.read_line(&mut reply).unwrap();
        assert_eq!(reply.trim_end(), ok("1"), "write {expected}");
        reply.clear();
        replies.read_line(&mut reply).unwrap();
        assert_eq!(reply.trim_end(), ok(&format!(r#"[{{"key":7,"value":{expected}}}]"#)), "read {expected}");
    }
    writer.join().unwrap();
}

#[test]
fn a_client_that_leaves_with_a_write_in_flight_changes_nothing_else() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &["--wal-fsync=true", "--wal-batch-wait-us=300000"]);
    let mut first = server.client();
    first.send(&increment("gone", 0, 1)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    {
        let mut leaving = server.client();
        leaving.send(&increment("gone", 9, 4)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    } // closed before its reply can come
    assert_eq!(first.receive().unwrap().as_deref(), Some(ok("1").as_str()));
    // The write was applied and committed; the server goes on.
    assert_eq!(server.request(&batch_sum("gone", 9)), ok(r#"[{"key":9,"value":4}]"#));
    assert_eq!(server.request(&increment("gone", 9, 1)), ok("1"));
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(&batch_sum("gone", 9)), ok(r#"[{"key":9,"value":5}]"#));
}

/// The lines of `karma.wal` in `dir` and what follows the last `\n`.
fn wal_lines_and_tail(dir: &std::path::Path) -> (String, String) {
    let mut text = String::from_utf8(std::fs::read(dir.join("karma.wal")).unwrap()).unwrap();
    let tail = text.split_off(text.rfind('\n').map_or(0, |p| p + 1));
    (text, tail)
}

#[test]
fn the_blank_fill_ahead_of_the_wal_survives_kill_9_and_is_gone_after_a_restart_and_a_clean_stop() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &["--wal-fsync=true"]);
    for value in 1..=20 {
        assert_eq!(server.request(&increment("fill", 1, value)), ok(&value.to_string()));
    }
    // Live: 20 lines, then spaces without a newline (a blank line to every
    // reader, Karma 1.0's included, which skips whitespace-only lines).
    let (lines, fill) = wal_lines_and_tail(temp.path());
    assert_eq!(lines.lines().count(), 20);
    assert!(lines.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{lines}");
    assert!(!fill.is_empty() && fill.bytes().all(|b| b == b' '), "a blank fill follows the last line");
    server.kill9();
    let mut server = Server::start_in(temp.path(), &["--wal-fsync=true"]);
    assert_eq!(server.request(&batch_sum("fill", 1)), ok(r#"[{"key":1,"value":210}]"#));
    assert!(!server.log_lines().iter().any(|l| l.contains("wal.torn_tail")), "a fill is not a torn write");
    assert_eq!(wal_lines_and_tail(temp.path()), (lines, String::new()), "opening cuts the fill");
    assert_eq!(server.request(&increment("fill", 1, 1)), ok("1"));
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)), Some(0));
    let (_, tail) = wal_lines_and_tail(temp.path());
    assert_eq!(tail, "", "a clean stop leaves karma.wal at its last line");
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(&batch_sum("fill", 1)), ok(r#"[{"key":1,"value":211}]"#));
}

#[test]
fn replies_keep_request_order_while_the_committing_thread_and_the_session_both_send() {
    // Each client pipelines write/read pairs and reads at the same time, so
    // a write's reply (sent by whoever committed it) and the read behind it
    // (queued by the session) meet on the connection again and again.
    let server = Server::start(&["--wal-fsync=true"]);
    const PAIRS: u64 = 3_000;
    let clients: Vec<_> = (0..8u64)
        .map(|c| {
            let stream = std::net::TcpStream::connect(server.addr).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            let mut sender = stream.try_clone().unwrap();
            let writer = std::thread::spawn(move || {
                let pair = format!("{}\n{}\n", increment("both", c, 1), batch_sum("both", c));
                for _ in 0..PAIRS / 100 {
                    sender.write_all(pair.repeat(100).as_bytes()).unwrap();
                }
            });
            std::thread::spawn(move || {
                let mut replies = BufReader::new(stream);
                let mut reply = String::new();
                for expected in 1..=PAIRS {
                    reply.clear();
                    replies.read_line(&mut reply).unwrap();
                    assert_eq!(reply.trim_end(), ok("1"), "client {c} write {expected}");
                    reply.clear();
                    replies.read_line(&mut reply).unwrap();
                    let read = ok(&format!(r#"[{{"key":{c},"value":{expected}}}]"#));
                    assert_eq!(reply.trim_end(), read, "client {c} read {expected}");
                }
                writer.join().unwrap();
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}
