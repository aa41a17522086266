//! Shared by the `replication*` test files: starting slaves against a
//! master, reading reply fields, a mixed write workload, and the
//! convergence check (every series read back from both nodes and compared
//! exactly).
#![allow(dead_code)]

use crate::common::{eventually, Server};
use karma::client::Connection;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// How long convergence may take before a test fails.
pub const CONVERGE: Duration = Duration::from_secs(30);

/// The arguments of a slave polling `master_port` every 20 ms.
pub fn slave_args(master_port: u16, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--role=slave".to_string(),
        "--replication-source-host=127.0.0.1".to_string(),
        format!("--replication-source-port={master_port}"),
        "--replication-poll-interval-ms=20".to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// Starts a slave of the master listening on `master_port`, on `dir`.
pub fn start_slave(dir: &Path, master_port: u16, extra: &[&str]) -> Server {
    let args = slave_args(master_port, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_in(dir, &args)
}

/// The `response` of a success reply; panics with the reply otherwise.
pub fn response(reply: &str) -> Value {
    let envelope: Value = serde_json::from_str(reply).unwrap_or_else(|e| panic!("not JSON ({e}): {reply}"));
    assert_eq!(envelope["success"], Value::Bool(true), "request failed: {reply}");
    envelope["response"].clone()
}

/// Sends `line` to `server` and returns the success `response`.
pub fn call(server: &Server, line: &str) -> Value {
    response(&server.request(line))
}

/// Sends `line` on `client` and asserts it succeeded.
pub fn write(client: &mut Connection, line: &str) {
    let reply = client.request(line).expect("reply");
    let shown: String = line.chars().take(300).collect();
    assert!(reply.contains(r#""success":true"#), "write failed: {shown} -> {reply}");
}

/// One integer field of `replication.status`.
pub fn status_u64(server: &Server, field: &str) -> u64 {
    let status = call(server, r#"{"v":2,"op":"replication.status"}"#);
    status[field].as_u64().unwrap_or_else(|| panic!("no integer {field} in {status}"))
}

/// `replication.status` as JSON.
pub fn status(server: &Server) -> Value {
    call(server, r#"{"v":2,"op":"replication.status"}"#)
}

/// `wal_current_lsn` of `system.stats`.
pub fn current_lsn(server: &Server) -> u64 {
    let stats = call(server, r#"{"v":2,"op":"system.stats"}"#);
    stats["wal_current_lsn"].as_u64().unwrap_or_else(|| panic!("no wal_current_lsn in {stats}"))
}

/// Everything a node holds, as read through the protocol: `tree.list`, and
/// per series `tree.summary`, `tree.info`, every key with its total
/// (`tree.keys`), `tree.series` over two years of buckets and
/// `counter.batch_sum` of every key.
#[derive(Debug, PartialEq)]
pub struct Contents {
    pub list: Vec<String>,
    pub series: Vec<SeriesContents>,
}

#[derive(Debug, PartialEq)]
pub struct SeriesContents {
    pub name: String,
    pub summary: String,
    pub info: String,
    pub keys: Vec<Value>,
    pub points: Vec<Value>,
    pub batch_sum: String,
}

/// Reads `server`'s data; `keys_from` decides which keys `counter.batch_sum`
/// asks for (pass the master's contents so both nodes get the same
/// requests; `None` uses `server`'s own keys).
pub fn contents(server: &Server, keys_from: Option<&Contents>) -> Contents {
    let list: Vec<String> = serde_json::from_value(call(server, r#"{"v":2,"op":"tree.list"}"#)).expect("names");
    let mut sorted = list.clone();
    sorted.sort();
    let mut series = Vec::new();
    for name in &sorted {
        let quoted = serde_json::to_string(name).expect("name");
        let summary = server.request(&format!(r#"{{"v":2,"op":"tree.summary","series":{quoted}}}"#));
        let info = server.request(&format!(r#"{{"v":2,"op":"tree.info","series":{quoted}}}"#));
        let mut keys = Vec::new();
        let mut cursor = "null".to_string();
        loop {
            let page = call(
                server,
                &format!(r#"{{"v":2,"op":"tree.keys","series":{quoted},"limit":10000,"cursor":{cursor}}}"#),
            );
            keys.extend(page["keys"].as_array().expect("keys").iter().cloned());
            match page["next_cursor"].as_u64() {
                Some(next) => cursor = next.to_string(),
                None => break,
            }
        }
        let points = [(20250101, 20260101), (20260102, 20270102)]
            .iter()
            .map(|(from, to)| {
                let reply = server.request(&format!(
                    r#"{{"v":2,"op":"tree.series","series":{quoted},"range":{{"from":{from},"to":{to}}}}}"#
                ));
                // Too big for --max-response-bytes: the error line itself
                // must then match (the other reads still cover the data).
                if reply.contains(r#""error_code":"response_too_large""#) {
                    Value::String(reply)
                } else {
                    response(&reply)
                }
            })
            .collect();
        let source = keys_from.and_then(|c| c.series.iter().find(|s| &s.name == name)).map_or(&keys, |s| &s.keys);
        let mut wanted: Vec<u64> = source.iter().map(|k| k["key"].as_u64().expect("key")).collect();
        // Plus a key nobody wrote, which must read 0 on both.
        wanted.push(999_999_999);
        let mut batch_sum = String::new();
        // Chunks that fit the default 4096-byte request limit.
        for chunk in wanted.chunks(300) {
            let keys = serde_json::to_string(chunk).expect("keys");
            batch_sum.push_str(
                &server.request(&format!(r#"{{"v":2,"op":"counter.batch_sum","series":{quoted},"keys":{keys}}}"#)),
            );
        }
        series.push(SeriesContents { name: name.clone(), summary, info, keys, points, batch_sum });
    }
    Contents { list, series }
}

/// Waits until `slave` holds exactly what `master` holds and has applied
/// every entry the master logged; then asserts it (for a readable diff).
/// With `same_list_order`, `tree.list` must also be in the same order
/// (true when the slave saw every series created through the WAL).
pub fn assert_converged(master: &Server, slave: &Server, same_list_order: bool) {
    let matches = |m: &Contents, s: &Contents| {
        let mut ml = m.list.clone();
        let mut sl = s.list.clone();
        if !same_list_order {
            ml.sort();
            sl.sort();
        }
        ml == sl && m.series == s.series
    };
    let ok = eventually(CONVERGE, || {
        let lsn = current_lsn(master);
        if status_u64(slave, "replayed_lsn") != lsn {
            return false;
        }
        let m = contents(master, None);
        matches(&m, &contents(slave, Some(&m)))
    });
    let lsn = current_lsn(master);
    let m = contents(master, None);
    let s = contents(slave, Some(&m));
    if !ok {
        let mut ml = m.list.clone();
        let mut sl = s.list.clone();
        if !same_list_order {
            ml.sort();
            sl.sort();
        }
        assert_eq!(sl, ml, "tree.list differs");
        for (ms, ss) in m.series.iter().zip(&s.series) {
            let fields: [(&str, String, String); 5] = [
                ("tree.summary", ms.summary.clone(), ss.summary.clone()),
                ("tree.info", ms.info.clone(), ss.info.clone()),
                ("tree.keys", format!("{:?}", ms.keys), format!("{:?}", ss.keys)),
                ("tree.series", format!("{:?}", ms.points), format!("{:?}", ss.points)),
                ("counter.batch_sum", ms.batch_sum.clone(), ss.batch_sum.clone()),
            ];
            for (what, master_side, slave_side) in fields {
                if master_side != slave_side {
                    let at = master_side.bytes().zip(slave_side.bytes()).take_while(|(a, b)| a == b).count();
                    let from = at.saturating_sub(100);
                    panic!(
                        "series {}: {what} differs at byte {at}:\n master ...{}\n slave  ...{}",
                        ms.name,
                        master_side.get(from..(at + 200).min(master_side.len())).unwrap_or(""),
                        slave_side.get(from..(at + 200).min(slave_side.len())).unwrap_or("")
                    );
                }
            }
        }
        assert_eq!(s.series.len(), m.series.len());
        let status = status(slave);
        panic!("slave did not reach master LSN {lsn}: {status}");
    }
    assert_eq!(status_u64(slave, "replayed_lsn"), lsn, "replayed_lsn");
    assert_eq!(status_u64(slave, "replication_lag_entries"), 0, "lag");
}

/// A mixed write workload on `master` touching every kind of logged
/// mutation; `round` varies keys, buckets and series names so repeated
/// calls add new data. Every request must succeed.
pub fn mixed_writes(master: &Server, round: u64) {
    let mut c = master.client();
    let day = 20260501 + round;
    let s = |name: &str| format!("{name}{round}");
    let (a, b, d, x) = (s("alpha"), s("beta"), s("delta"), s("doomed"));
    for key in 0..20 {
        write(
            &mut c,
            &format!(
                r#"{{"v":2,"op":"counter.increment","series":"{a}","key":{key},"bucket":{day},"value":{}}}"#,
                key + 1
            ),
        );
        write(&mut c, &format!(r#"{{"v":2,"op":"series.increment","series":"shared","key":{key},"bucket":{day}}}"#));
    }
    write(&mut c, &format!(r#"{{"v":2,"op":"counter.decrement","series":"{a}","key":3,"bucket":{day},"value":2}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"counter.decrement","series":"{a}","key":500,"bucket":{day}}}"#));
    write(
        &mut c,
        &format!(
            r#"{{"v":2,"op":"series.batch_add","series":"{b}","items":[[1,{day},5],[2,{day},3],[1,{day},2],[3,20260401,9],[4,20260301,1]]}}"#
        ),
    );
    write(
        &mut c,
        &format!(r#"{{"v":2,"op":"counter.batch_increment","series":"shared","items":[[100,{day},7],[101,{day},8]]}}"#),
    );
    write(
        &mut c,
        &format!(
            r#"{{"v":2,"op":"series.batch_set","series":"{b}","items":[[1,{day},42],[2,{day},0],[7,{day},0],[5,{day},6]]}}"#
        ),
    );
    write(
        &mut c,
        &format!(r#"{{"v":2,"op":"counter.delete_range","series":"{a}","key":5,"range":{{"from":{day},"to":{day}}}}}"#),
    );
    write(
        &mut c,
        &format!(
            r#"{{"v":2,"op":"counter.batch_delete_range","series":"{a}","keys":[6,7,7,12345],"range":{{"from":20250601,"to":{day}}}}}"#
        ),
    );
    write(&mut c, &format!(r#"{{"v":2,"op":"counter.reset","series":"{a}","key":8}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"counter.batch_reset","series":"{a}","keys":[9,10,10]}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"series.batch_add","series":"{d}","items":[[1,20260101,4],[2,{day},4]]}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"series.delete_before","series":"{d}","before":20260201}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"tree.reset","series":"{d}"}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"series.batch_add","series":"{d}","items":[[3,{day},1],[4,20250101,2]]}}"#));
    write(
        &mut c,
        &format!(r#"{{"v":2,"op":"tree.delete_range","series":"{d}","range":{{"from":20250101,"to":20250101}}}}"#),
    );
    write(&mut c, &format!(r#"{{"v":2,"op":"series.compact","series":"{a}"}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"tree.create","series":"{x}"}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"counter.increment","series":"{x}","key":1,"bucket":{day}}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"tree.drop","series":"{x}"}}"#));
    write(&mut c, &format!(r#"{{"v":2,"op":"tree.create","series":"{}"}}"#, s("empty")));
    write(
        &mut c,
        &format!(
            r#"{{"v":2,"op":"counter.increment","series":"{a}","key":19,"bucket":{day},"value":3,"idempotency_key":"idem-{round}"}}"#
        ),
    );
    write(&mut c, r#"{"v":2,"op":"system.compact"}"#);
    // After the compaction: an empty counter must exist on both sides.
    write(&mut c, &format!(r#"{{"v":2,"op":"counter.decrement","series":"{a}","key":77,"bucket":{day}}}"#));
}
