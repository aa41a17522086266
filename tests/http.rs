//! The optional HTTP listener: `/metrics` in the Prometheus exposition
//! format (checked by a real parser, and by `promtool` where installed),
//! `/health` for load balancers (503 once the WAL fails), and the answers
//! to everything else, over real TCP against a real server.

mod common;

use common::{ok, temp_dir, Server};
use prometheus_parse::{LineInfo, Scrape, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The HTTP address a server logged in `http.start`.
fn http_addr(log: &[String]) -> SocketAddr {
    let line = log.iter().find(|l| l.contains("\"event\":\"http.start\"")).expect("http.start logged");
    let address = line.split("address=").nth(1).unwrap().trim_end_matches("\"}");
    address.parse().unwrap_or_else(|e| panic!("{address}: {e}"))
}

fn start_with_http(args: &[&str]) -> (Server, SocketAddr) {
    let args: Vec<&str> = ["--http-port=0"].iter().chain(args).copied().collect();
    let server = Server::start(&args);
    let addr = http_addr(&server.log_lines());
    (server, addr)
}

/// A parsed HTTP response.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends `raw` as is and reads the whole response (the server closes).
fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(raw).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("read the response");
    let text = String::from_utf8(bytes).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head end: {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers = lines
        .map(|l| {
            let (name, value) = l.split_once(": ").unwrap_or_else(|| panic!("bad header {l:?}"));
            (name.to_string(), value.to_string())
        })
        .collect();
    Reply { status, headers, body: body.to_string() }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    exchange(addr, format!("GET {path} HTTP/1.1\r\nHost: karma\r\n\r\n").as_bytes())
}

fn increment(series: &str, key: u64, value: u64) -> String {
    format!(r#"{{"v":2,"op":"counter.increment","series":"{series}","key":{key},"bucket":20260505,"value":{value}}}"#)
}

#[test]
fn no_http_listener_unless_asked_for() {
    let server = Server::start(&[]);
    let find = || server.log_lines().into_iter().find(|l| l.contains("\"event\":\"server.start\""));
    assert!(common::eventually(Duration::from_secs(30), || find().is_some()), "no server.start");
    let start = find().unwrap();
    let log = server.log_lines();
    assert!(!log.iter().any(|l| l.contains("http.start")), "{log:?}");
    assert!(start.contains(" http=off "), "{start}");
}

#[test]
fn metrics_parse_as_prometheus_text_with_help_and_base_units() {
    let (server, addr) = start_with_http(&[]);
    assert_eq!(server.request(&increment("clicks", 1, 5)), ok("5"));
    assert_eq!(server.request(&increment("clicks", 2, 7)), ok("7"));
    let reply = get(addr, "/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    assert_eq!(reply.header("Content-Length"), Some(reply.body.len().to_string().as_str()));
    let text = &reply.body;

    // Every line is one the exposition format knows.
    for line in text.lines() {
        assert!(!matches!(LineInfo::parse(line), LineInfo::Ignored), "not exposition format: {line:?}");
    }
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parse");
    // Every family has HELP and TYPE, and counters end in _total.
    let mut families = 0;
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut words = line.split(' ').skip(2);
        let (name, kind) = (words.next().unwrap(), words.next().unwrap());
        families += 1;
        assert!(scrape.docs.contains_key(name), "{name} has no HELP");
        assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        if kind == "counter" {
            assert!(name.ends_with("_total"), "counter {name} without _total");
        }
        assert!(!name.contains("_ms"), "{name} is not in base units");
    }
    assert!(families > 70, "{families} families");

    let value = |metric: &str, label: Option<(&str, &str)>| -> Value {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("no sample {metric} {label:?}"))
            .value
            .clone()
    };
    assert_eq!(value("karma_keys", None), Value::Gauge(2.0));
    assert_eq!(value("karma_points", None), Value::Gauge(2.0));
    assert_eq!(value("karma_wal_current_lsn", None), Value::Gauge(2.0));
    assert_eq!(value("karma_replication_lag_entries", None), Value::Gauge(0.0));
    assert_eq!(value("karma_role", Some(("role", "master"))), Value::Gauge(1.0));
    assert_eq!(value("karma_op_commands_total", Some(("op", "counter.increment"))), Value::Counter(2.0));
    assert_eq!(value("karma_op_errors_total", Some(("op", "counter.increment"))), Value::Counter(0.0));
    match value("karma_memory_bytes", None) {
        Value::Gauge(bytes) => assert!(bytes > 1_000_000.0, "{bytes}"),
        other => panic!("{other:?}"),
    }
    // Latency per op, in seconds: bounds from 50 us to 10 s.
    match value("karma_op_latency_seconds", Some(("op", "counter.increment"))) {
        Value::Histogram(buckets) => {
            let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
            assert_eq!(bounds.first(), Some(&0.00005));
            assert!(bounds.contains(&10.0) && bounds.contains(&f64::INFINITY), "{bounds:?}");
            assert_eq!(buckets.last().unwrap().count, 2.0);
        }
        other => panic!("{other:?}"),
    }
    assert!(text.contains("\nkarma_op_latency_seconds_count{op=\"counter.increment\"} 2\n"), "{text}");
    assert!(text.contains("# TYPE karma_wal_fsync_seconds histogram\n"), "{text}");
    assert!(text.contains("# TYPE karma_replication_last_poll_success_timestamp_seconds gauge\n"), "{text}");

    // The same figures, by the reference tool when it is installed.
    match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            let report = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && report.trim().is_empty(), "promtool check metrics: {report}");
        }
        Err(e) => eprintln!("promtool not found ({e}): skipping `promtool check metrics` (Debian package prometheus)"),
    }
}

#[test]
fn the_tcp_metrics_op_keeps_karma_1_0_text_and_http_covers_all_of_it() {
    let (server, addr) = start_with_http(&[]);
    assert_eq!(server.request(&increment("clicks", 1, 5)), ok("5"));
    let reply = server.request(r#"{"v":2,"op":"system.metrics"}"#);
    let text = common::response(&reply);
    let text = text.as_str().unwrap();
    assert!(text.starts_with("# TYPE karma_uptime_seconds gauge\nkarma_uptime_seconds "), "{text}");
    assert!(!text.contains("# HELP"), "{text}");
    assert!(text.contains("# TYPE karma_command_latency_ms gauge\n"), "{text}");
    // Every TCP family is in /metrics, under its base-unit name.
    let http = get(addr, "/metrics").body;
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut words = line.split(' ').skip(2);
        let (name, kind) = (words.next().unwrap(), words.next().unwrap());
        let name = match name.strip_suffix("_unix") {
            Some(stem) => format!("{stem}_timestamp_seconds"),
            None => name.replace("_ms", "_seconds"),
        };
        assert!(http.contains(&format!("# TYPE {name} {kind}\n")), "{line} has no HTTP family {name}");
    }
}

#[test]
fn health_is_ok_and_needs_no_token() {
    let (server, addr) = start_with_http(&["--auth-token=secret"]);
    let reply = get(addr, "/health");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(reply.body, r#"{"status":"ok","role":"master","wal":"ok","replication_lag_entries":0}"#);
    // HEAD: the same head, no body.
    let head = exchange(addr, b"HEAD /health HTTP/1.1\r\n\r\n");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(head.header("Content-Length"), Some(reply.body.len().to_string().as_str()));
    // A query string does not change the path.
    assert_eq!(get(addr, "/health?probe=lb").status, 200);
    drop(server);
}

#[test]
fn health_says_when_the_wal_is_off() {
    let (_server, addr) = start_with_http(&["--wal=false"]);
    assert_eq!(get(addr, "/health").body, r#"{"status":"ok","role":"master","wal":"off","replication_lag_entries":0}"#);
}

#[test]
fn health_turns_503_when_the_wal_fails() {
    // A file-size limit makes the WAL's write fail with EFBIG, a real I/O
    // error, once it outgrows 8 KiB.
    let temp = temp_dir();
    let script = format!(
        "ulimit -f 8; exec {} --bind=127.0.0.1 --port=0 --http-port=0 --directory={}",
        env!("CARGO_BIN_EXE_karma"),
        temp.path().display()
    );
    let mut child = std::process::Command::new("bash")
        .args(["-c", &script])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn karma under bash");
    let stderr = child.stderr.take().unwrap();
    let mut log = Vec::new();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let port: u16 = loop {
        let line = lines.next().expect("server.start logged").unwrap();
        log.push(line.clone());
        if line.contains("\"event\":\"server.start\"") {
            break line.split("port=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let addr = http_addr(&log);
    assert_eq!(get(addr, "/health").status, 200);
    let mut client = karma::client::Connection::connect(("127.0.0.1", port), Some(Duration::from_secs(30))).unwrap();
    let failed = (0..1000).any(|_| client.request(&increment("f", 1, 1)).unwrap().contains("internal_error"));
    assert!(failed, "the WAL never failed");
    let reply = get(addr, "/health");
    assert_eq!(reply.status, 503);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["wal"], "failed", "{body}");
    assert!(body["wal_error"].as_str().unwrap().contains("File too large"), "{body}");
    let metrics = get(addr, "/metrics").body;
    assert!(metrics.contains("\nkarma_wal_failed 1\n"), "{metrics}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn other_paths_methods_and_bad_requests_get_proper_answers() {
    let (_server, addr) = start_with_http(&[]);
    let reply = get(addr, "/");
    assert_eq!(reply.status, 404);
    assert_eq!(get(addr, "/metrics/extra").status, 404);
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let reply = exchange(addr, format!("{method} /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").as_bytes());
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("Allow"), Some("GET, HEAD"), "{method}");
    }
    assert_eq!(exchange(addr, b"GET /health\r\n\r\n").status, 400);
    assert_eq!(exchange(addr, b"hello there\r\n\r\n").status, 400);
    assert_eq!(exchange(addr, b"GET /health HTTP/2.0\r\n\r\n").status, 400);
    // A head past 8 KiB is refused without being read to its end.
    let mut huge = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 16 * 1024));
    huge.extend_from_slice(b"\r\n\r\n");
    let reply = exchange(addr, &huge);
    assert_eq!(reply.status, 431);
    // Every answer closes the connection.
    assert_eq!(reply.header("Connection"), Some("close"));
    // And the listener still serves.
    assert_eq!(get(addr, "/health").status, 200);
}

#[test]
fn a_slow_scraper_does_not_hold_up_clients_or_other_scrapes() {
    let (server, addr) = start_with_http(&[]);
    // Clients that connect and send nothing hold the HTTP workers...
    let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // ...while TCP clients are served as usual.
    for key in 0..20 {
        assert_eq!(server.request(&increment("s", key, 1)), ok("1"));
    }
    drop(idle);
    // Once they go, scrapes are answered again.
    assert!(common::eventually(Duration::from_secs(30), || get(addr, "/health").status == 200));
}

#[test]
fn a_slave_reports_starting_until_it_has_its_master_s_snapshots() {
    // A "master" that accepts and never answers: the slave's bootstrap
    // waits on it, and /health must say the slave is not serving yet.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let master_port = silent.local_addr().unwrap().port().to_string();
    let temp = temp_dir();
    let mut child = common::spawn(
        temp.path(),
        &[
            "--http-port=0",
            "--role=slave",
            "--replication-source-host=127.0.0.1",
            &format!("--replication-source-port={master_port}"),
            "--read-timeout=60",
        ],
    );
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let line = lines.by_ref().map_while(Result::ok).find(|l| l.contains("http.start")).expect("http.start logged");
    let addr = http_addr(&[line]);
    std::thread::spawn(move || for _ in lines {});
    let reply = get(addr, "/health");
    assert_eq!((reply.status, reply.body.as_str()), (503, r#"{"status":"starting","role":"slave"}"#));
    assert_eq!(get(addr, "/metrics").status, 503);
    let _ = child.kill();
    let _ = child.wait();
    drop(silent);
}
