//! Start-up and stop of the real binary: the listen address is bound before
//! anything touches the data directory, the start-up log says what is in
//! effect, and a second stop signal skips the client drain but not the
//! snapshot.

mod common;

use common::{ok, temp_dir, Server};
use std::time::Duration;

#[test]
fn a_port_clash_fails_at_once_and_leaves_nothing_behind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let temp = temp_dir();
    let dir = temp.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_karma"))
        .args(["--bind=127.0.0.1", &format!("--port={port}"), &format!("--directory={}", dir.display())])
        .output()
        .expect("run karma");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("ERROR:")).unwrap_or_default();
    assert!(error.starts_with(&format!("ERROR: Cannot listen on 127.0.0.1:{port}: ")), "{stderr}");
    assert!(!stderr.contains("server.restore"), "restore ran before the bind: {stderr}");
    assert!(!dir.exists(), "the data directory was created");
}

#[test]
fn an_http_port_clash_fails_at_once_too() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let temp = temp_dir();
    let dir = temp.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_karma"))
        .args([
            "--bind=127.0.0.1",
            "--port=0",
            &format!("--http-port={port}"),
            &format!("--directory={}", dir.display()),
        ])
        .output()
        .expect("run karma");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("ERROR: Cannot listen for HTTP on 127.0.0.1:{port}: ")), "{stderr}");
    assert!(!dir.exists(), "the data directory was created");
}

/// The message of the `server.start` log line.
fn start_message(server: &Server) -> String {
    // The port is handed over before the line joins the log: wait for it.
    let find = || server.log_lines().into_iter().find(|l| l.contains("\"event\":\"server.start\""));
    assert!(common::eventually(Duration::from_secs(30), || find().is_some()), "no server.start");
    let line = find().unwrap();
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    value["message"].as_str().unwrap().to_string()
}

#[test]
fn the_start_up_log_names_what_is_in_effect() {
    let server = Server::start(&[]);
    let port = server.addr.port();
    assert_eq!(
        start_message(&server),
        format!(
            "version={} port={port} address=127.0.0.1:{port} http=off directory={} role=master wal=true wal_fsync=true",
            env!("CARGO_PKG_VERSION"),
            server.dir.display()
        )
    );

    let server = Server::start(&["--wal-fsync=false", "--role=slave", "--http-bind=127.0.0.1", "--http-port=0"]);
    let message = start_message(&server);
    let http = message.split(" http=").nth(1).unwrap().split(' ').next().unwrap();
    assert!(http.starts_with("127.0.0.1:") && !http.ends_with(":0"), "{message}");
    assert!(message.ends_with(" role=slave wal=true wal_fsync=false"), "{message}");

    // Without a WAL nothing is fsynced either.
    let server = Server::start(&["--wal=false"]);
    assert!(start_message(&server).ends_with(" role=master wal=false wal_fsync=false"));
}

#[test]
fn a_second_stop_signal_skips_the_drain_but_still_snapshots() {
    let mut server = Server::start(&["--shutdown-timeout=600"]);
    let inc = r#"{"v":2,"op":"counter.increment","series":"s","key":1,"bucket":20260505,"value":3}"#;
    // A client that stays connected would hold the drain for 600 s.
    let mut client = server.client();
    assert_eq!(client.request(inc).unwrap(), ok("3"));
    server.signal("TERM");
    assert!(
        common::eventually(Duration::from_secs(30), || server
            .log_lines()
            .iter()
            .any(|l| l.contains("server.stop_begin"))),
        "{:?}",
        server.log_lines()
    );
    server.signal("INT");
    assert_eq!(server.wait_exit(Duration::from_secs(60)), Some(0));
    let log = server.log_lines();
    assert!(log.iter().any(|l| l.contains("server.stop_hurry")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("server.drain_skipped")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("server.stop\"")), "{log:?}");
    // The snapshot was taken: it holds the write without any WAL.
    let snapshots = std::fs::read_dir(&server.dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tree"))
        .count();
    assert_eq!(snapshots, 1);
    let restarted = Server::start_in(&server.dir, &["--wal=false"]);
    let sum = r#"{"v":2,"op":"counter.sum","series":"s","key":1}"#;
    assert_eq!(restarted.request(sum), ok("3"));
    drop(client);
}
