//! Framing, preamble errors, pipelining and hostile input over real TCP.
mod common;
use common::{err, ok, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn preamble_errors_match_the_reference_transcript() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut q = |line: &str| c.request(line).unwrap();
    assert_eq!(q(""), err("invalid_json", "unexpected token '<EOF>' at line 1, column 1"));
    assert_eq!(
        q(r#"{"op":"system.ping"}"#),
        err("unsupported_protocol", "Karma 1.0 accepts only protocol v2 requests with field v=2")
    );
    assert_eq!(
        q(r#"{"v":"2","op":"system.ping"}"#),
        err("unsupported_protocol", "Karma 1.0 accepts only protocol v2 requests with field v=2")
    );
    assert_eq!(
        q(r#"{"v":3,"op":"system.ping"}"#),
        err("unsupported_protocol", "Karma 1.0 accepts only protocol v2 requests with field v=2")
    );
    assert_eq!(q(r#"{"v":2}"#), err("validation_error", "Field op is required"));
    assert_eq!(q(r#"{"v":2,"op":"nope"}"#), err("unknown_command", "Unknown op nope"));
    assert_eq!(
        q(r#"{"v":2,"op":"counter.increment","key":42}"#),
        err("validation_error", "Field tree or series is required")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.sum","series":"s1","key":42,"range":{"from":20260506,"to":20260505}}"#),
        err("validation_error", "Bucket range start must be less than or equal to range end")
    );
    let not_object = q("[1,2]");
    assert!(not_object.ends_with(r#""error_code":"validation_error"}"#), "{not_object}");
    let trailing = q(r#"{"v":2,"op":"system.ping"} x"#);
    assert!(trailing.ends_with(r#""error_code":"invalid_json"}"#), "{trailing}");
    let too_big = q(r#"{"v":2,"op":"counter.sum","series":"s","key":18446744073709551616}"#);
    assert!(too_big.ends_with(r#""error_code":"invalid_json"}"#), "{too_big}");
    assert_eq!(q(r#"{"v":2,"op":"system.ping"}"#), ok(r#""pong""#));
}

#[test]
fn replies_end_with_crlf_and_crlf_requests_are_accepted() {
    let server = Server::start(&[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(b"{\"v\":2,\"op\":\"system.ping\"}\r\n").unwrap();
    let expected = format!("{}\r\n", ok(r#""pong""#));
    let mut reply = vec![0u8; expected.len()];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(String::from_utf8(reply).unwrap(), expected);
}

#[test]
fn hundred_pipelined_requests_in_one_write_are_answered_in_order() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut burst = String::new();
    for key in 0..100 {
        burst.push_str(&format!("{{\"v\":2,\"op\":\"counter.increment\",\"series\":\"p\",\"key\":{key},\"bucket\":20260501,\"value\":{}}}\n", key + 1));
    }
    c.send_raw(burst.as_bytes()).unwrap();
    for key in 0..100 {
        assert_eq!(c.receive().unwrap().unwrap(), ok(&(key + 1).to_string()));
    }
    assert_eq!(
        c.request(r#"{"v":2,"op":"tree.summary","series":"p"}"#).unwrap(),
        ok(r#"{"tree":"p","total":5050,"active_keys":100,"bucket_count":100}"#)
    );
}

#[test]
fn over_long_line_gets_an_error_then_the_connection_closes() {
    let server = Server::start(&["--max-request-bytes=64"]);
    let mut c = server.client();
    // Exactly the limit with \n is fine.
    let pad = |n: usize| format!("{{\"v\":2,\"op\":\"system.ping\",\"x\":\"{}\"}}", "a".repeat(n));
    let base = pad(0).len();
    assert_eq!(c.request(&pad(64 - base)).unwrap(), ok(r#""pong""#));
    // With \r\n the usable size is one byte smaller.
    c.send_raw(format!("{}\r\n", pad(64 - base)).as_bytes()).unwrap();
    assert_eq!(c.receive().unwrap().unwrap(), err("request_too_large", "Request exceeds 64 bytes"));
    assert_eq!(c.receive().unwrap(), None);
    // A line with no terminator that runs past the limit is cut off too.
    let mut c = server.client();
    c.send_raw(&[b'x'; 200]).unwrap();
    assert_eq!(c.receive().unwrap().unwrap(), err("request_too_large", "Request exceeds 64 bytes"));
    assert_eq!(c.receive().unwrap(), None);
    // And the server goes on serving others; the rejection counted nowhere.
    let stats = server.request(r#"{"v":2,"op":"system.stats"}"#);
    assert!(stats.contains(r#""command_count":2,"#), "{stats}");
}

#[test]
fn random_bytes_and_invalid_utf8_get_invalid_json_and_the_server_lives() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..200 {
        let mut line = Vec::new();
        for _ in 0..(seed % 300) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let b = (seed & 0xff) as u8;
            if b != b'\n' {
                line.push(b);
            }
        }
        line.push(b'\n');
        c.send_raw(&line).unwrap();
        let reply = c.receive().unwrap().unwrap();
        assert!(reply.starts_with(r#"{"protocol_version":2,"success":false,"#), "{reply}");
    }
    c.send_raw(b"{\"v\":2,\"op\":\"tree.create\",\"series\":\"\xff\xfe\"}\n").unwrap();
    assert!(c.receive().unwrap().unwrap().ends_with(r#""error_code":"invalid_json"}"#));
    assert_eq!(c.request(r#"{"v":2,"op":"system.ping"}"#).unwrap(), ok(r#""pong""#));
}

#[test]
fn client_disconnecting_mid_line_leaves_no_trace_and_final_line_without_newline_is_answered() {
    let server = Server::start(&[]);
    {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.write_all(br#"{"v":2,"op":"counter.increment","series":"half","ke"#).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.ends_with("\"error_code\":\"invalid_json\"}\r\n"), "{reply}");
    }
    {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.write_all(br#"{"v":2,"op":"system.ping"}"#).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, format!("{}\r\n", ok(r#""pong""#)));
    }
    assert_eq!(server.request(r#"{"v":2,"op":"tree.list"}"#), ok("[]"));
}

#[test]
fn idle_clients_are_closed_silently_after_the_read_timeout() {
    let server = Server::start(&["--read-timeout=1"]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(stream.read(&mut buf).unwrap(), 0);
}

#[test]
fn a_client_that_never_reads_its_replies_is_closed_after_the_write_timeout() {
    let server = Server::start(&["--write-timeout=1"]);
    let mut watcher = server.client();
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    // Far more reply bytes than the loopback socket buffers hold, so the
    // server's write blocks; the client stops sending once the server stops
    // reading, and its writes fail once the server closes.
    let request = r#"{"v":2,"op":"system.metrics"}"#.to_string() + "\n";
    let writer = std::thread::spawn(move || {
        for _ in 0..200_000 {
            if stalled.write_all(request.as_bytes()).is_err() {
                return true;
            }
        }
        false
    });
    let closed = common::eventually(Duration::from_secs(20), || {
        let reply = watcher.request(r#"{"v":2,"op":"system.stats"}"#).unwrap();
        reply.contains(r#""connections_active":1,"#)
    });
    assert!(closed, "the stalled client is still connected");
    assert!(writer.join().unwrap(), "the stalled client's writes kept succeeding");
    assert_eq!(watcher.request(r#"{"v":2,"op":"system.ping"}"#).unwrap(), ok(r#""pong""#));
}

#[test]
fn sixteen_clients_times_a_thousand_increments_give_the_exact_total() {
    let server = Server::start(&["--wal-fsync=false"]);
    let addr = server.addr;
    let threads: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = karma::client::Connection::connect(addr, Some(Duration::from_secs(30))).unwrap();
                for i in 0..1000 {
                    let line = format!(
                        r#"{{"v":2,"op":"counter.increment","series":"load","key":{},"bucket":20260501}}"#,
                        (t * 1000 + i) % 7
                    );
                    assert_eq!(c.request(&line).unwrap(), ok("1"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        server.request(r#"{"v":2,"op":"tree.summary","series":"load"}"#),
        ok(r#"{"tree":"load","total":16000,"active_keys":7,"bucket_count":7}"#)
    );
}

#[test]
fn max_connections_rejects_the_next_client_and_counts_it() {
    let server = Server::start(&["--max-connections=2"]);
    let mut a = server.client();
    let mut b = server.client();
    assert_eq!(a.request(r#"{"v":2,"op":"system.ping"}"#).unwrap(), ok(r#""pong""#));
    assert_eq!(b.request(r#"{"v":2,"op":"system.ping"}"#).unwrap(), ok(r#""pong""#));
    let mut third = server.client();
    assert_eq!(third.receive().unwrap().unwrap(), err("internal_error", "Too many connections (max 2)"));
    assert_eq!(third.receive().unwrap(), None);
    drop(b);
    let stats = common::eventually(Duration::from_secs(5), || {
        let reply = a.request(r#"{"v":2,"op":"system.stats"}"#).unwrap();
        reply.contains(r#""connections_active":1,"#) && reply.contains(r#""connections_rejected":1"#)
    });
    assert!(stats);
}
