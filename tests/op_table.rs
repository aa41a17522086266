//! The op table agrees with what the server does with each op: every op,
//! sent to a real server, runs on the path its row in `protocol/op.rs`
//! says. A logged op advances the WAL's LSN by one and every other op
//! leaves it alone; a read op runs with the read-only token and every
//! other op is refused it.
mod common;
use common::{err, response, Server};
use karma::protocol::op::{Class, Op, ALL_OPS};

/// One request of every op (some twice, where a later one needs it), in an
/// order where each succeeds. `{file}` stands for the series snapshot made
/// by `snapshot.create`.
const REQUESTS: &[&str] = &[
    r#""op":"tree.create","series":"s""#,
    r#""op":"counter.increment","series":"s","key":1,"bucket":20260501,"value":5"#,
    r#""op":"counter.decrement","series":"s","key":1,"bucket":20260501,"value":1"#,
    r#""op":"counter.sum","series":"s","key":1"#,
    r#""op":"counter.batch_sum","series":"s","keys":[1,2]"#,
    r#""op":"counter.multi_sum","items":[{"series":"s","key":1}]"#,
    r#""op":"counter.series","series":"s","key":1,"range":{"from":20260501,"to":20260531}"#,
    r#""op":"series.batch_add","series":"s","items":[[1,20260501,5],[2,20260502,3]]"#,
    r#""op":"series.batch_set","series":"s","items":[[3,20260501,4]]"#,
    r#""op":"counter.delete_range","series":"s","key":2,"range":{"from":20260502,"to":20260502}"#,
    r#""op":"counter.batch_delete_range","series":"s","keys":[3],"range":{"from":20260501,"to":20260501}"#,
    r#""op":"counter.reset","series":"s","key":3"#,
    r#""op":"counter.batch_reset","series":"s","keys":[3]"#,
    r#""op":"series.delete_before","series":"s","before":20260101"#,
    r#""op":"series.compact","series":"s""#,
    r#""op":"system.compact""#,
    r#""op":"tree.list""#,
    r#""op":"tree.series","series":"s","range":{"from":20260501,"to":20260531}"#,
    r#""op":"tree.info","series":"s""#,
    r#""op":"tree.keys","series":"s","limit":2"#,
    r#""op":"tree.summary","series":"s""#,
    r#""op":"tree.top","series":"s","limit":2"#,
    r#""op":"idempotency.prune","before":"2000-01-01T00:00:00Z""#,
    r#""op":"ingest.begin","stream_id":"import-1","mode":"add""#,
    r#""op":"ingest.chunk","stream_id":"import-1","series":"imported","chunk_seq":1,"items":[[101,20260529,5]]"#,
    r#""op":"ingest.commit","stream_id":"import-1""#,
    r#""op":"ingest.begin","stream_id":"import-2","mode":"add""#,
    r#""op":"ingest.abort","stream_id":"import-2""#,
    r#""op":"system.ping""#,
    r#""op":"system.health""#,
    r#""op":"system.stats""#,
    r#""op":"system.metrics""#,
    r#""op":"recovery.checkpoint","source":"orders","offset":42"#,
    r#""op":"recovery.status","source":"orders""#,
    r#""op":"reconciliation.report","checked_points":1000,"mismatch_count":2,"absolute_drift":5,"max_abs_delta":4"#,
    r#""op":"replication.status""#,
    r#""op":"replication.entries","after_lsn":0,"limit":10"#,
    r#""op":"snapshot.create","series":"s""#,
    r#""op":"snapshot.create_all""#,
    r#""op":"snapshot.list""#,
    r#""op":"snapshot.info""#,
    r#""op":"snapshot.verify""#,
    r#""op":"idempotency.snapshot_fetch_chunk","offset":0,"limit":100"#,
    r#""op":"snapshot.fetch","file":"{file}""#,
    r#""op":"snapshot.fetch_chunk","file":"{file}","offset":0,"limit":16"#,
    r#""op":"snapshot.load","file":"{file}""#,
    r#""op":"tree.reset","series":"s""#,
    r#""op":"tree.delete_range","series":"s","range":{"from":20260101,"to":20260101}"#,
    r#""op":"tree.drop","series":"s""#,
];

fn op_of(request: &str) -> Op {
    let fields: serde_json::Value = serde_json::from_str(&format!("{{{request}}}")).expect("request JSON");
    Op::from_name(fields["op"].as_str().expect("op")).expect("a known op")
}

fn wal_lsn(server: &Server) -> u64 {
    let stats = response(&server.request(r#"{"v":2,"op":"system.stats","token":"W"}"#));
    stats["wal_current_lsn"].as_u64().expect("wal_current_lsn")
}

/// The name of the one snapshot of series `s`.
fn snapshot_of_s(server: &Server) -> String {
    let list = response(&server.request(r#"{"v":2,"op":"snapshot.list","token":"W"}"#));
    let paths = list.as_array().expect("snapshot.list is an array");
    let names: Vec<&str> = paths.iter().filter_map(|p| p.as_str()?.rsplit('/').next()).collect();
    let of_s: Vec<&&str> = names.iter().filter(|name| name.ends_with("_s.tree")).collect();
    assert_eq!(of_s.len(), 1, "{names:?}");
    of_s[0].to_string()
}

#[test]
fn every_op_runs_on_the_path_its_table_row_says() {
    let covered: Vec<Op> = REQUESTS.iter().map(|request| op_of(request)).collect();
    for op in ALL_OPS {
        assert!(covered.contains(&op), "no request of {}", op.name());
    }
    let server = Server::start(&["--auth-token=W", "--read-auth-token=R"]);
    let mut file = String::new();
    for request in REQUESTS {
        let op = op_of(request);
        let request = request.replace("{file}", &file);
        let before = wal_lsn(&server);
        let with_read_token = server.request(&format!(r#"{{"v":2,{request},"token":"R"}}"#));
        let reply = if op.class() == Class::Read {
            with_read_token
        } else {
            let forbidden = format!("Read-only token cannot execute command {}", op.internal_name());
            assert_eq!(with_read_token, err("forbidden", &forbidden), "{request}");
            server.request(&format!(r#"{{"v":2,{request},"token":"W"}}"#))
        };
        assert!(reply.contains(r#""success":true"#), "{request}: {reply}");
        let logged = wal_lsn(&server) - before;
        assert_eq!(logged, u64::from(op.is_logged()), "{request}: {reply}");
        if op == Op::SnapshotCreate {
            file = snapshot_of_s(&server);
        }
    }
}
