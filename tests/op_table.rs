//! The op table agrees with what the server does with each op: every op,
//! sent to a real server with the example its row in `protocol/op.rs`
//! gives, runs on the path the row says. A logged op advances the WAL's
//! LSN by one and every other op leaves it alone; a read op runs with the
//! read-only token and every other op is refused it.
mod common;
use common::{err, response, Server};
use karma::protocol::op::{Class, Op, ALL_OPS};

/// What the examples of the op table expect to find (see `Op::example`):
/// series `s`, the snapshots of `snapshot.create_all` and an open ingest
/// stream `import-2`.
const FIXTURE: &[&str] = &[
    r#""op":"counter.increment","series":"s","key":1,"bucket":20260501,"value":5"#,
    r#""op":"snapshot.create_all""#,
    r#""op":"ingest.begin","stream_id":"import-2","mode":"add""#,
];

fn wal_lsn(server: &Server) -> u64 {
    let stats = response(&server.request(r#"{"v":2,"op":"system.stats","token":"W"}"#));
    stats["wal_current_lsn"].as_u64().expect("wal_current_lsn")
}

/// The name of the newest snapshot of series `s`.
fn snapshot_of_s(server: &Server) -> String {
    let list = response(&server.request(r#"{"v":2,"op":"snapshot.list","token":"W"}"#));
    let paths = list.as_array().expect("snapshot.list is an array");
    let names: Vec<&str> = paths.iter().filter_map(|p| p.as_str()?.rsplit('/').next()).collect();
    let of_s = names.iter().find(|name| name.ends_with("_s.tree"));
    of_s.unwrap_or_else(|| panic!("no snapshot of s in {names:?}")).to_string()
}

/// `{"v":2,"op":...,<example>,"token":...}`.
fn request_line(op: Op, file: &str, token: &str) -> String {
    let fields = op.example().replace("{file}", file);
    let separator = if fields.is_empty() { "" } else { "," };
    format!(r#"{{"v":2,"op":"{}"{separator}{fields},"token":"{token}"}}"#, op.name())
}

#[test]
fn every_op_runs_on_the_path_its_table_row_says() {
    let server = Server::start(&["--auth-token=W", "--read-auth-token=R"]);
    for fields in FIXTURE {
        let reply = server.request(&format!(r#"{{"v":2,{fields},"token":"W"}}"#));
        assert!(reply.contains(r#""success":true"#), "{fields}: {reply}");
    }
    let file = snapshot_of_s(&server);
    for op in ALL_OPS {
        let before = wal_lsn(&server);
        let with_read_token = server.request(&request_line(op, &file, "R"));
        let reply = if op.class() == Class::Read {
            with_read_token
        } else {
            let forbidden = format!("Read-only token cannot execute command {}", op.internal_name());
            assert_eq!(with_read_token, err("forbidden", &forbidden), "{}", op.name());
            server.request(&request_line(op, &file, "W"))
        };
        assert!(reply.contains(r#""success":true"#), "{}: {reply}", request_line(op, &file, "W"));
        let logged = wal_lsn(&server) - before;
        assert_eq!(logged, u64::from(op.is_logged()), "{}: {reply}", op.name());
    }
}
