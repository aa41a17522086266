//! Master -> slave replication with real processes on port 0.
mod common;
use common::{eventually, ok, temp_dir, Server};
use std::time::Duration;

fn slave_args(master: &Server) -> Vec<String> {
    vec![
        "--role=slave".to_string(),
        "--replication-source-host=127.0.0.1".to_string(),
        format!("--replication-source-port={}", master.addr.port()),
        "--replication-poll-interval-ms=20".to_string(),
    ]
}

fn start_slave(dir: &std::path::Path, master: &Server) -> Server {
    let args = slave_args(master);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_in(dir, &args)
}

fn converged(master: &Server, slave: &Server, probes: &[&str]) -> bool {
    eventually(Duration::from_secs(15), || probes.iter().all(|p| master.request(p) == slave.request(p)))
}

#[test]
fn writes_converge_bootstrap_then_wal_and_restart_resumes() {
    let master = Server::start(&["--wal-segment-bytes=512"]);
    master.request(r#"{"v":2,"op":"series.batch_add","series":"a","items":[[1,20260501,5],[2,20260502,7]]}"#);
    master.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    for key in 0..50 {
        master.request(&format!(r#"{{"v":2,"op":"counter.increment","series":"a","key":{key},"bucket":20260503}}"#));
    }
    let slave_dir = temp_dir();
    let mut slave = start_slave(slave_dir.path(), &master);
    let probes = [
        r#"{"v":2,"op":"tree.summary","series":"a"}"#,
        r#"{"v":2,"op":"counter.batch_sum","series":"a","keys":[0,1,2,49]}"#,
    ];
    assert!(converged(&master, &slave, &probes));
    assert_eq!(
        slave.request(r#"{"v":2,"op":"counter.increment","series":"a","key":1}"#),
        common::err("forbidden", "Slave role cannot execute command increment")
    );
    // kill -9 the slave, write more, restart it: it resumes without bootstrap.
    slave.kill9();
    master.request(r#"{"v":2,"op":"counter.increment","series":"a","key":1,"bucket":20260504,"value":9}"#);
    let slave = start_slave(slave_dir.path(), &master);
    assert!(converged(&master, &slave, &probes));
    let status = slave.request(r#"{"v":2,"op":"replication.status"}"#);
    assert!(status.contains(r#""replication_bootstrap_attempt_count":0"#), "{status}");
    assert_eq!(slave.request(r#"{"v":2,"op":"counter.sum","series":"a","key":1}"#), ok("15"));
}
