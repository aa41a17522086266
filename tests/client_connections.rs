//! The client library's connection handling: reconnecting after the
//! server closed an idle connection, which calls are retried when a
//! connection breaks, bounded reply lines. Fake peers on a local listener
//! play servers that misbehave.
mod common;
use common::Server;
use karma::client::{Client, Connection, Error, Options, ServerCode};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A listener whose every connection is handed to `serve` on its thread.
fn fake_server(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let serve = Arc::clone(&serve);
            std::thread::spawn(move || serve(stream));
        }
    });
    address
}

/// Reads one request line, counts it, and closes without a reply: the
/// client cannot know whether the request was applied.
fn closing_after_request(seen: Arc<AtomicUsize>) -> String {
    fake_server(move |stream| {
        let mut line = String::new();
        if BufReader::new(&stream).read_line(&mut line).unwrap_or(0) > 0 {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    })
}

/// Sends a reply line that never ends, until the client goes away.
fn endless_reply(stream: TcpStream) {
    let mut stream = stream;
    let mut line = String::new();
    let _ = BufReader::new(&stream).read_line(&mut line);
    let chunk = vec![b'x'; 65536];
    while stream.write_all(&chunk).is_ok() {}
}

#[test]
fn a_call_after_the_server_closed_an_idle_connection_reconnects() {
    let server = Server::start(&["--read-timeout=1"]);
    // Kept idle well past the server's timeout, so only the closed-socket
    // check stands between the next call and a dead connection.
    let options = Options { idle_timeout: Duration::from_secs(3600), ..Options::default() };
    let client = Client::with_options(server.addr.to_string(), options);
    assert_eq!(client.increment("idle", 1, Some(20260501), 1, None).unwrap(), 1);
    std::thread::sleep(Duration::from_millis(2500));
    // Not idempotent: it would fail as OutcomeUnknown on a dead socket.
    assert_eq!(client.increment("idle", 1, Some(20260501), 1, None).unwrap(), 1);
    assert_eq!(client.sum("idle", 1, None).unwrap(), 2);
}

#[test]
fn a_write_without_key_whose_connection_broke_has_an_unknown_outcome() {
    let seen = Arc::new(AtomicUsize::new(0));
    let client = Client::new(closing_after_request(Arc::clone(&seen)));
    let error = client.increment("s", 1, Some(20260501), 1, None).unwrap_err();
    assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 1, "sent once, never repeated");
}

#[test]
fn reads_and_keyed_writes_are_retried_on_a_new_connection() {
    let seen = Arc::new(AtomicUsize::new(0));
    let client = Client::new(closing_after_request(Arc::clone(&seen)));
    let error = client.increment("s", 1, Some(20260501), 1, Some("k1")).unwrap_err();
    assert!(matches!(&error, Error::Io(e) if e.kind() == ErrorKind::UnexpectedEof), "{error:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    let error = client.sum("s", 1, None).unwrap_err();
    assert!(matches!(error, Error::Io(_)), "{error:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 6);
    // A raw line is classified the same way.
    let error = client.request_line(r#"{"v":2,"op":"series.batch_set","series":"s","items":[]}"#).unwrap_err();
    assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 7);
}

#[test]
fn a_reply_line_over_the_limit_fails_without_growing() {
    let address = fake_server(endless_reply);
    let options = Options { max_reply_bytes: 1 << 20, ..Options::default() };
    let error = Client::with_options(address.clone(), options).ping().unwrap_err();
    assert_eq!(error.to_string(), "connection failed: reply line exceeds 1048576 bytes");

    let mut connection = Connection::connect(address.as_str(), Some(Duration::from_secs(30))).unwrap();
    connection.set_max_reply_bytes(4096);
    let error = connection.request(r#"{"v":2,"op":"system.ping"}"#).unwrap_err();
    assert_eq!((error.kind(), error.to_string()), (ErrorKind::InvalidData, "reply line exceeds 4096 bytes".into()));
}

#[test]
fn a_reply_line_at_the_limit_is_accepted() {
    let address = fake_server(|mut stream| {
        let mut line = String::new();
        let _ = BufReader::new(&stream).read_line(&mut line);
        let _ = stream.write_all(format!("{}\r\n", "y".repeat(100)).as_bytes());
    });
    let mut connection = Connection::connect(address.as_str(), Some(Duration::from_secs(30))).unwrap();
    connection.set_max_reply_bytes(100);
    assert_eq!(connection.request("{}").unwrap(), "y".repeat(100));
}

#[test]
fn an_unknown_error_code_is_kept() {
    let address = fake_server(|mut stream| {
        let mut line = String::new();
        let _ = BufReader::new(&stream).read_line(&mut line);
        let reply = "{\"protocol_version\":2,\"success\":false,\"response\":\"later\",\"error_code\":\"brand_new\"}\n";
        let _ = stream.write_all(reply.as_bytes());
    });
    match Client::new(address).ping().unwrap_err() {
        Error::Server { code, message } => {
            assert_eq!((code, message.as_str()), (ServerCode::Unknown("brand_new".into()), "later"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refused_connection_is_a_connect_error() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let error = Client::new(free.clone()).ping().unwrap_err();
    assert!(matches!(&error, Error::Connect { address, .. } if *address == free), "{error:?}");
}

#[test]
fn a_slave_refuses_an_endless_reply_line_from_its_master() {
    let master = fake_server(endless_reply);
    let port = master.rsplit(':').next().unwrap();
    let temp = common::temp_dir();
    let mut slave = common::spawn(
        temp.path(),
        &["--role=slave", "--replication-source-host=127.0.0.1", &format!("--replication-source-port={port}")],
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(slave.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let status = slave.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("reply line exceeds 67108864 bytes"), "{stderr}");
}
