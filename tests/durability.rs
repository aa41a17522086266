//! Durability over real processes: restarts, kill -9 crash cycles, a
//! failing WAL, torn and corrupt WAL lines, snapshots and their restore.
mod common;
use common::{err, ok, temp_dir, Server};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn sum(server: &Server, series: &str, key: u64) -> String {
    server.request(&format!(r#"{{"v":2,"op":"counter.sum","series":"{series}","key":{key}}}"#))
}

fn increment(series: &str, key: u64, bucket: u64, value: u64) -> String {
    format!(r#"{{"v":2,"op":"counter.increment","series":"{series}","key":{key},"bucket":{bucket},"value":{value}}}"#)
}

#[test]
fn restart_after_sigint_and_sigterm_restores_everything() {
    let temp = temp_dir();
    for (round, signal) in ["INT", "TERM"].iter().enumerate() {
        let mut server = Server::start_in(temp.path(), &[]);
        let _idle_client = server.client(); // shutdown must not wait for it
        assert_eq!(server.request(&increment("s", 1, 20260501, 5)), ok("5"));
        server.request(r#"{"v":2,"op":"series.batch_add","series":"b","items":[[1,20260501,2],[2,20260502,3]]}"#);
        server.signal(signal);
        assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
        let log = server.log_lines().join("\n");
        assert!(log.contains("server.stop"), "{log}");
        let server = Server::start_in(temp.path(), &[]);
        let n = round as u64 + 1;
        assert_eq!(sum(&server, "s", 1), ok(&(5 * n).to_string()));
        assert_eq!(sum(&server, "b", 2), ok(&(3 * n).to_string()));
        drop(server);
    }
}

#[test]
fn kill9_never_loses_an_acknowledged_write() {
    let temp = temp_dir();
    let mut observed: Vec<(u64, Vec<u64>)> = Vec::new();
    for cycle in 0..20u64 {
        let mut args = vec!["--wal-fsync=true"];
        if cycle % 3 == 1 {
            args.push("--wal-segment-bytes=2048");
        }
        let mut server = Server::start_in(temp.path(), &args);
        // Everything seen after earlier crashes is still there, exactly.
        for (bucket, values) in &observed {
            for (key, value) in values.iter().enumerate() {
                let line = format!(
                    r#"{{"v":2,"op":"counter.sum","series":"crash","key":{key},"range":{{"from":{bucket},"to":{bucket}}}}}"#
                );
                assert_eq!(server.request(&line), ok(&value.to_string()), "cycle {cycle} bucket {bucket} key {key}");
            }
        }
        let bucket = 20260101 + cycle;
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Arc<Vec<AtomicU64>> = Arc::new((0..8).map(|_| AtomicU64::new(0)).collect());
        let writers: Vec<_> = (0..8u64)
            .map(|key| {
                let (stop, acked, addr) = (Arc::clone(&stop), Arc::clone(&acked), server.addr);
                std::thread::spawn(move || {
                    let Ok(mut client) = karma::client::Connection::connect(addr, Some(Duration::from_secs(10))) else {
                        return;
                    };
                    while !stop.load(Ordering::Relaxed) {
                        match client.request(&increment("crash", key, bucket, 1)) {
                            Ok(reply) if reply == ok("1") => {
                                acked[key as usize].fetch_add(1, Ordering::SeqCst);
                            }
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        if cycle % 4 == 2 {
            std::thread::sleep(Duration::from_millis(40));
            server.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
        }
        std::thread::sleep(Duration::from_millis(50 + (cycle * 37) % 150));
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
        let server = Server::start_in(temp.path(), &[]);
        let mut values = Vec::new();
        for key in 0..8u64 {
            let line = format!(
                r#"{{"v":2,"op":"counter.sum","series":"crash","key":{key},"range":{{"from":{bucket},"to":{bucket}}}}}"#
            );
            let reply = server.request(&line);
            let value: u64 = reply.split("\"response\":").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
            let acked = acked[key as usize].load(Ordering::SeqCst);
            // Every acknowledged write is there; at most the one in flight more.
            assert!(value >= acked && value <= acked + 1, "cycle {cycle} key {key}: {value} vs acked {acked}");
            values.push(value);
        }
        observed.push((bucket, values));
        drop(server);
    }
}

#[test]
fn snapshot_ops_and_restore_from_snapshots() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    server.request(&increment("api", 42, 20260505, 7));
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create","series":"api"}"#), ok(r#""Tree \"api\" saved""#));
    assert_eq!(
        server.request(r#"{"v":2,"op":"snapshot.create","series":"nope"}"#),
        err("not_found", "Tree \"nope\" not found")
    );
    let list = server.request(r#"{"v":2,"op":"snapshot.list"}"#);
    let file = list.split(".tree").next().unwrap().rsplit('/').next().unwrap().to_string() + ".tree";
    assert!(file.ends_with("_api.tree"), "{list}");
    let fetched = server.request(&format!(r#"{{"v":2,"op":"snapshot.fetch","file":"{file}"}}"#));
    assert!(
        fetched.contains(
            r#""data_base64":"gqxicmFuY2hlc19udW0JqGJyYW5jaGVzmYCAgICAgIEqgqV0YWJsZYHOATUmmQeldG90YWwHgIA=""#
        ),
        "{fetched}"
    );
    let chunk =
        server.request(&format!(r#"{{"v":2,"op":"snapshot.fetch_chunk","file":"{file}","offset":10,"limit":16}}"#));
    assert!(chunk.contains(r#""offset":10,"limit":16,"bytes":16,"total_bytes":56,"next_offset":26,"done":false,"data_base64":"X251bQmoYnJhbmNoZXOZgA==""#), "{chunk}");
    assert_eq!(
        server.request(&format!(r#"{{"v":2,"op":"snapshot.fetch_chunk","file":"{file}","offset":57}}"#)),
        err("validation_error", "Field offset exceeds snapshot size")
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"snapshot.fetch","file":"1_zz.tree"}"#),
        err("not_found", "Snapshot \"1_zz.tree\" not found")
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"snapshot.load","file":"1_zz.tree"}"#),
        err("not_found", "Dump \"zz\" not found")
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"snapshot.load","file":"abc_x.tree"}"#),
        err("validation_error", "Invalid dump file name \"abc_x.tree\"")
    );
    // A plain snapshot.create does not make a restart apply the write twice.
    server.request(&increment("api", 42, 20260505, 1));
    server.kill9();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_eq!(sum(&server, "api", 42), ok("8"));
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    let info = server.request(r#"{"v":2,"op":"snapshot.info"}"#);
    assert!(info.contains(r#""wal_bytes":0"#) && info.contains(r#""last_snapshot_lsn":2"#), "{info}");
    server.request(&increment("api", 42, 20260506, 1));
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(sum(&server, "api", 42), ok("9"));
}

#[test]
fn a_dropped_series_stays_dropped_across_snapshots_and_restarts() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    server.request(&increment("gone", 1, 20260501, 1));
    server.request(&increment("kept", 1, 20260501, 1));
    server.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    assert_eq!(server.request(r#"{"v":2,"op":"tree.drop","series":"gone"}"#), ok(r#""OK""#));
    server.kill9();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(r#"{"v":2,"op":"tree.list"}"#), ok(r#"["kept"]"#));
    server.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!(server.request(r#"{"v":2,"op":"tree.list"}"#), ok(r#"["kept"]"#));
}

#[test]
fn sigusr1_snapshots_and_the_server_keeps_serving() {
    let server = Server::start(&[]);
    server.request(&increment("u", 1, 20260501, 3));
    server.signal("USR1");
    assert!(common::eventually(Duration::from_secs(10), || std::fs::read_dir(&server.dir).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with("_u.tree"))));
    assert_eq!(sum(&server, "u", 1), ok("3"));
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let server = Server::start(&[]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_karma"))
        .args(["--port=0", "--bind=127.0.0.1", &format!("--directory={}", server.dir.display())])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ERROR: Data directory") && stderr.contains("in use by another karma process"), "{stderr}");
}

#[test]
fn torn_tail_is_cut_and_mid_file_corruption_stops_startup() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[]);
    server.request(&increment("t", 1, 20260501, 1));
    server.request(&increment("t", 1, 20260501, 2));
    server.kill9();
    let wal = temp.path().join("karma.wal");
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes.extend_from_slice(br#"{"v":2,"lsn":3,"entry":{"v":2,"op":"counter.incr"#);
    std::fs::write(&wal, &bytes).unwrap();
    let mut server = Server::start_in(temp.path(), &[]);
    assert_eq!(sum(&server, "t", 1), ok("3"));
    assert!(server.log_lines().iter().any(|l| l.contains("wal.torn_tail")));
    server.kill9();
    // Garbage in the middle: one clear line naming the file and line.
    let good = std::fs::read(&wal).unwrap();
    let mut corrupt = b"{\"v\":2,\"lsn\":1,\"entry\":{\"v\":2,\"op\":\"counter.increment\"\n".to_vec();
    corrupt.extend_from_slice(&good);
    std::fs::write(&wal, &corrupt).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_karma"))
        .args(["--port=0", "--bind=127.0.0.1", &format!("--directory={}", temp.path().display())])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr.lines().find(|l| l.starts_with("ERROR:")).unwrap_or_default().to_string();
    assert!(error.contains(&format!("{}:1", wal.display())), "{stderr}");
}

/// A server whose WAL fails once it outgrows 8 KiB: a file-size limit makes
/// its write fail with EFBIG, a real I/O error. Returns the child and a
/// connected client.
fn start_with_small_file_limit(dir: &std::path::Path) -> (std::process::Child, karma::client::Connection) {
    let script = format!(
        "ulimit -f 8; exec {} --bind=127.0.0.1 --port=0 --directory={}",
        env!("CARGO_BIN_EXE_karma"),
        dir.display()
    );
    let mut child =
        std::process::Command::new("bash").args(["-c", &script]).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let port: u16 = loop {
        let line = lines.next().unwrap().unwrap();
        if line.contains("server.start") {
            break line.split("port=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let client = karma::client::Connection::connect(("127.0.0.1", port), Some(Duration::from_secs(10))).unwrap();
    (child, client)
}

fn sum_value(server: &Server, series: &str, key: u64) -> u64 {
    let reply = sum(server, series, key);
    reply.split("\"response\":").nth(1).unwrap().split(',').next().unwrap().parse().unwrap()
}

#[test]
fn a_failing_wal_refuses_writes_and_loses_nothing_acknowledged() {
    let temp = temp_dir();
    let (mut child, mut client) = start_with_small_file_limit(temp.path());
    let mut acked = 0u64;
    let mut failure = None;
    for _ in 0..1000 {
        let reply = client.request(&increment("f", 1, 20260501, 1)).unwrap();
        if reply == ok("1") {
            acked += 1;
        } else {
            failure = Some(reply);
            break;
        }
    }
    let failure = failure.expect("the WAL never failed");
    assert!(failure.contains(r#""error_code":"internal_error""#), "{failure}");
    // Refused from now on, and said so in health and stats.
    let again = client.request(&increment("f", 1, 20260501, 1)).unwrap();
    assert!(again.contains("WAL is unavailable"), "{again}");
    let health = client.request(r#"{"v":2,"op":"system.health"}"#).unwrap();
    assert!(health.contains(r#""status":"degraded""#), "{health}");
    let _ = child.kill();
    let _ = child.wait();
    let server = Server::start_in(temp.path(), &[]);
    let value = sum_value(&server, "f", 1);
    assert!(value >= acked && value <= acked + 1, "{value} vs acked {acked}");
}

#[test]
fn a_pipelined_burst_of_writes_waits_for_one_wal_batch() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &["--wal-fsync=true"]);
    let mut client = server.client();
    let burst: String = (0..100).map(|key| increment("burst", key % 10, 20260501, 1) + "\n").collect();
    client.send_raw(burst.as_bytes()).unwrap();
    for _ in 0..100 {
        assert_eq!(client.receive().unwrap().as_deref(), Some(ok("1").as_str()));
    }
    let stats = common::stats(&server);
    assert_eq!(stats["wal_current_lsn"], 100, "{stats}");
    // One batch per burst the session read (100 short lines are one or a
    // few reads), instead of one fsync per line.
    let batches = stats["wal_batches"].as_u64().unwrap();
    assert!((1..=5).contains(&batches), "{batches} WAL batches for one burst");
    drop(client);
    server.kill9();
    let server = Server::start_in(temp.path(), &[]);
    assert_eq!((0..10).map(|key| sum_value(&server, "burst", key)).collect::<Vec<_>>(), vec![10; 10]);
}

#[test]
fn a_failing_wal_turns_every_held_reply_of_a_burst_into_an_error() {
    let temp = temp_dir();
    let (mut child, mut client) = start_with_small_file_limit(temp.path());
    let mut acked = 0u64;
    let mut refused_bursts = 0;
    for _ in 0..200 {
        let burst: String = (0..10).map(|_| increment("f", 1, 20260501, 1) + "\n").collect();
        client.send_raw(burst.as_bytes()).unwrap();
        let replies: Vec<String> = (0..10).map(|_| client.receive().unwrap().unwrap()).collect();
        let ok_count = replies.iter().filter(|reply| **reply == ok("1")).count() as u64;
        acked += ok_count;
        if ok_count < 10 {
            for reply in &replies {
                assert!(reply == &ok("1") || reply.contains(r#""error_code":"internal_error""#), "{reply}");
            }
            refused_bursts += 1;
            if refused_bursts == 2 {
                break;
            }
        }
    }
    assert_eq!(refused_bursts, 2, "the WAL never failed");
    let _ = child.kill();
    let _ = child.wait();
    let server = Server::start_in(temp.path(), &[]);
    let value = sum_value(&server, "f", 1);
    assert!(value >= acked && value <= acked + 10, "{value} vs acked {acked}");
}

fn hex(text: &str) -> Vec<u8> {
    let clean: String = text.split_whitespace().collect();
    (0..clean.len()).step_by(2).map(|i| u8::from_str_radix(&clean[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn a_karma_1_0_data_directory_restores_exactly() {
    let temp = temp_dir();
    let dir = temp.path();
    // docs/storage.md, Snapshots: series api, key 42, bucket 20260505 = 7, at LSN 1.
    let snapshot = hex("82ac6272616e636865735f6e756d09a86272616e6368657399808080808080 812a82a57461626c6581ce0135269907a5746f74616c078080");
    assert_eq!(snapshot.len(), 56);
    std::fs::write(dir.join("1795245397_api.tree"), &snapshot).unwrap();
    std::fs::write(
        dir.join("1795245397_api.tree.meta.json"),
        "{\"tree\":\"api\",\"file\":\"1795245397_api.tree\",\"timestamp\":1795245397,\"last_lsn\":1,\"bytes\":56}\n",
    )
    .unwrap();
    // An older snapshot of the same series: restore must take the newest.
    std::fs::write(
        dir.join("1700000000_api.tree"),
        hex("82ac6272616e636865735f6e756d09a86272616e636865739980808080808080808080"),
    )
    .unwrap();
    // Karma 1.0 never truncated after a single-series snapshot.create, so the
    // WAL still holds LSN 1, which the snapshot already includes; it also
    // logged a failing tree.drop before executing it (defect D2).
    let wal = [
        r#"{"v":2,"lsn":1,"entry":{"v":2,"op":"counter.increment","series":"api","key":42,"bucket":20260505,"value":7}}"#,
        r#"{"v":2,"lsn":2,"entry":{"v":2,"op":"counter.increment","series":"api","key":42,"bucket":20260505,"value":3}}"#,
        r#"{"v":2,"lsn":3,"entry":{"v":2,"op":"tree.drop","series":"nope"}}"#,
        r#"{"v":2,"lsn":4,"entry":{"v":2,"op":"series.batch_add","series":"usage","granularity":"day","items":[[1,20260501,5],[2,20260502,1]]}}"#,
        r#"{"lsn":5,"v":2,"entry":{"op":"counter.decrement","v":2,"series":"usage","key":1,"bucket":20260501,"value":2}}"#,
    ];
    std::fs::write(dir.join("karma.wal"), wal.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("karma.wal.lsn"), "0\n").unwrap();
    let server = Server::start_in(dir, &[]);
    assert_eq!(sum(&server, "api", 42), ok("10"));
    assert_eq!(sum(&server, "usage", 1), ok("3"));
    assert_eq!(sum(&server, "usage", 2), ok("1"));
    // New writes continue after the recovered LSN.
    server.request(&increment("api", 42, 20260505, 1));
    let stats = server.request(r#"{"v":2,"op":"system.stats"}"#);
    assert!(stats.contains(r#""wal_current_lsn":6,"#), "{stats}");
}

#[test]
fn snapshot_verify_is_side_effect_free_and_passes_on_a_live_master() {
    let temp = temp_dir();
    let server = Server::start_in(temp.path(), &[]);
    for key in 1..=3 {
        server.request(&increment("v", key, 20260501, 1));
    }
    assert_eq!(
        server.request(r#"{"v":2,"op":"snapshot.verify"}"#),
        ok(
            r#"{"status":"ok","dump_count":0,"trees":1,"keys":3,"snapshot_metadata_checked":0,"snapshot_missing_metadata":0,"restore_snapshot_lsn":0,"wal_entries_checked":3,"wal_first_lsn":1,"wal_last_lsn":3,"wal_lsn_file":3}"#
        )
    );
    server.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    server.request(&increment("v", 4, 20260501, 1));
    assert_eq!(
        server.request(r#"{"v":2,"op":"snapshot.verify"}"#),
        ok(
            r#"{"status":"ok","dump_count":1,"trees":1,"keys":4,"snapshot_metadata_checked":1,"snapshot_missing_metadata":0,"restore_snapshot_lsn":3,"wal_entries_checked":1,"wal_first_lsn":4,"wal_last_lsn":4,"wal_lsn_file":4}"#
        )
    );
    let files_before: Vec<_> = std::fs::read_dir(temp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    server.request(r#"{"v":2,"op":"snapshot.verify"}"#);
    let files_after: Vec<_> = std::fs::read_dir(temp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files_before.len(), files_after.len());
    assert_eq!(sum(&server, "v", 4), ok("1"));
}

#[test]
fn series_names_never_escape_the_data_directory() {
    let temp = temp_dir();
    let inner = temp.path().join("data");
    std::fs::create_dir_all(&inner).unwrap();
    let mut server = Server::start_in(&inner, &[]);
    let long = "x".repeat(300);
    for name in ["../escape", "a/b", "..", "100%", long.as_str()] {
        assert_eq!(server.request(&increment(name, 1, 20260501, 2)), ok("2"), "{name}");
    }
    assert_eq!(server.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok(r#""OK""#));
    let outside: Vec<_> = std::fs::read_dir(temp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("data")]);
    for entry in std::fs::read_dir(&inner).unwrap() {
        assert!(entry.unwrap().file_type().unwrap().is_file());
    }
    server.kill9();
    let server = Server::start_in(&inner, &[]);
    for name in ["../escape", "a/b", "..", "100%", long.as_str()] {
        assert_eq!(sum(&server, name, 1), ok("2"), "{name}");
    }
}

#[test]
fn systemd_readiness_is_notified() {
    let temp = temp_dir();
    let socket_path = temp.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let data = temp.path().join("data");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_karma"))
        .args(["--bind=127.0.0.1", "--port=0", "--log=false", &format!("--directory={}", data.display())])
        .env("NOTIFY_SOCKET", &socket_path)
        .spawn()
        .unwrap();
    let mut buf = [0u8; 64];
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_wal_failure_under_many_writers_acknowledges_nothing_it_lost() {
    let temp = temp_dir();
    let (mut child, client) = start_with_small_file_limit(temp.path());
    let addr = client.writer().unwrap().peer_addr().unwrap();
    // Eight writers share each WAL batch; the one that fails holds several
    // of them, each still waiting for its reply.
    let writers: Vec<_> = (0..8u64)
        .map(|key| {
            std::thread::spawn(move || {
                let mut client = karma::client::Connection::connect(addr, Some(Duration::from_secs(10))).unwrap();
                let mut acked = 0u64;
                loop {
                    let reply = client.request(&increment("many", key, 20260501, 1)).unwrap();
                    if reply == ok("1") {
                        acked += 1;
                    } else {
                        assert!(reply.contains(r#""error_code":"internal_error""#), "{reply}");
                        return acked;
                    }
                }
            })
        })
        .collect();
    let acked: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let mut client = client;
    let health = client.request(r#"{"v":2,"op":"system.health"}"#).unwrap();
    assert!(health.contains(r#""status":"degraded""#), "{health}");
    let again = client.request(&increment("many", 0, 20260501, 1)).unwrap();
    assert!(again.contains("WAL is unavailable"), "{again}");
    let _ = child.kill();
    let _ = child.wait();
    let server = Server::start_in(temp.path(), &[]);
    for (key, acked) in acked.into_iter().enumerate() {
        let value = sum_value(&server, "many", key as u64);
        assert!(value >= acked && value <= acked + 1, "key {key}: {value} vs acked {acked}");
    }
}
