//! A WAL that fails for real (a full file system, a file-size limit): reads
//! never show the refused writes, and the node takes writes again by itself
//! once the disk does, without a restart.

mod common;

use common::{eventually, ok, ok_idem, response, Server};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const KEYS: u64 = 10;

fn increment(key: u64) -> String {
    format!(r#"{{"v":2,"op":"counter.increment","series":"s","key":{key},"bucket":20260505,"value":1}}"#)
}

fn sum(key: u64) -> String {
    format!(r#"{{"v":2,"op":"counter.sum","series":"s","key":{key}}}"#)
}

const KEYED: &str =
    r#"{"v":2,"op":"counter.increment","series":"s","key":1,"bucket":20260505,"value":1,"idempotency_key":"k1"}"#;

/// True for the reply of a write the failed WAL refused.
fn refused(reply: &str) -> bool {
    let envelope: serde_json::Value = serde_json::from_str(reply).expect("JSON reply");
    envelope["error_code"] == "internal_error"
        && envelope["response"].as_str().is_some_and(|m| m.starts_with("WAL is unavailable, writes are refused: "))
}

/// The sums of every key as the node reads them.
fn sums(server: &Server) -> BTreeMap<u64, u64> {
    let mut client = server.client();
    (1..=KEYS).map(|key| (key, response(&client.request(&sum(key)).unwrap()).as_u64().unwrap())).collect()
}

fn health(server: &Server) -> serde_json::Value {
    response(&server.request(r#"{"v":2,"op":"system.health"}"#))
}

/// Increments keys round robin until the WAL refuses one; returns the
/// acknowledged sums.
fn write_until_refused(server: &Server) -> BTreeMap<u64, u64> {
    let mut acked: BTreeMap<u64, u64> = (1..=KEYS).map(|key| (key, 0)).collect();
    let mut client = server.client();
    for i in 0..1_000_000u64 {
        let key = i % KEYS + 1;
        let reply = client.request(&increment(key)).unwrap();
        if refused(&reply) {
            return acked;
        }
        assert_eq!(reply, ok("1"));
        *acked.get_mut(&key).unwrap() += 1;
    }
    panic!("the WAL never failed");
}

/// While degraded: writes refused, reads exactly the acknowledged sums,
/// health says so, a keyed write leaves no record.
fn check_degraded(server: &Server, acked: &BTreeMap<u64, u64>) {
    let mut client = server.client();
    // A pipelined burst: every write refused.
    let burst: String = (1..=KEYS).map(|key| increment(key) + "\n").collect();
    client.send_raw(burst.as_bytes()).unwrap();
    for _ in 1..=KEYS {
        let reply = client.receive().unwrap().unwrap();
        assert!(refused(&reply), "{reply}");
    }
    assert!(refused(&client.request(KEYED).unwrap()));
    assert_eq!(&sums(server), acked, "reads show writes that were refused");
    let health = health(server);
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(health["wal_error"].is_string(), "{health}");
    let lsn = acked.values().sum::<u64>();
    assert_eq!(health["durable_lsn"], lsn, "{health}");
    let snapshot = server.request(r#"{"v":2,"op":"snapshot.create_all"}"#);
    assert!(refused(&snapshot), "{snapshot}");
}

/// Once the disk takes writes again: the node recovers without a restart,
/// the refused keyed write runs as new, and everything survives kill -9.
fn check_recovered(server: &mut Server, dir: &Path, args: &[&str], mut acked: BTreeMap<u64, u64>) {
    let mut client = server.client();
    let recovered = eventually(Duration::from_secs(30), || {
        let reply = client.request(&increment(1)).unwrap();
        if reply == ok("1") {
            return true;
        }
        assert!(refused(&reply), "{reply}");
        false
    });
    assert!(recovered, "the node did not take writes again; log: {:?}", server.log_lines());
    *acked.get_mut(&1).unwrap() += 1;
    let health = health(server);
    assert_eq!((health["status"].as_str(), health["wal_recoveries"].as_u64()), (Some("ok"), Some(1)), "{health}");
    assert_eq!(client.request(KEYED).unwrap(), ok_idem("1", false));
    *acked.get_mut(&1).unwrap() += 1;
    for key in 1..=KEYS {
        assert_eq!(client.request(&increment(key)).unwrap(), ok("1"));
        *acked.get_mut(&key).unwrap() += 1;
    }
    assert_eq!(sums(server), acked);
    for event in ["wal.writer_stopped", "wal.degraded", "wal.recovered"] {
        // The log is read from the server's stderr as it comes.
        let logged = eventually(Duration::from_secs(10), || {
            server.log_lines().iter().any(|line| line.contains(&format!("\"event\":\"{event}\"")))
        });
        assert!(logged, "no {event} in {:?}", server.log_lines());
    }
    drop(client);
    server.kill9();
    let restarted = Server::start_in(dir, args);
    assert_eq!(sums(&restarted), acked, "after kill -9 and restart");
    assert_eq!(restarted.request(KEYED), ok_idem("1", true));
    assert_eq!(restarted.request(r#"{"v":2,"op":"snapshot.create_all"}"#), ok("\"OK\""));
}

/// A small tmpfs mounted on a fresh directory, unmounted when dropped.
struct SmallFileSystem {
    path: PathBuf,
    _parent: std::sync::Arc<tempfile::TempDir>,
}

impl SmallFileSystem {
    /// `None` (with a message) where mounting is not permitted.
    fn mount(size: &str) -> Option<SmallFileSystem> {
        let parent = common::temp_dir();
        let path = parent.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .map(|out| out.status.success())
            .unwrap_or(false);
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(SmallFileSystem { path, _parent: parent })
    }

    /// Writes a file until the file system is full.
    fn fill(&self) -> PathBuf {
        let path = self.path.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let page = vec![0u8; 4096];
        while file.write_all(&page).is_ok() {}
        while file.write_all(&page[..1]).is_ok() {}
        path
    }
}

impl Drop for SmallFileSystem {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[test]
fn a_full_file_system_degrades_reads_to_durable_data_and_the_node_recovers_when_space_is_freed() {
    let Some(fs) = SmallFileSystem::mount("2m") else { return };
    let dir = fs.path.join("data");
    std::fs::create_dir(&dir).unwrap();
    let mut server = Server::start_in(&dir, &[]);
    // Some acknowledged writes first, then the disk fills up.
    let mut client = server.client();
    for key in 1..=KEYS {
        assert_eq!(client.request(&increment(key)).unwrap(), ok("1"));
    }
    let filler = fs.fill();
    let acked: BTreeMap<u64, u64> =
        write_until_refused(&server).into_iter().map(|(key, extra)| (key, extra + 1)).collect();
    check_degraded(&server, &acked);
    std::fs::remove_file(filler).unwrap();
    check_recovered(&mut server, &dir, &[], acked);
    drop(fs);
}

/// The hard limit stays unlimited, so the test can raise the soft one again.
const FILE_SIZE_LIMIT: libc::rlim_t = 64 << 10;

fn set_file_size_limit(pid: u32, soft: libc::rlim_t) {
    let value = libc::rlimit { rlim_cur: soft, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: prlimit reads `value` and writes nothing (old limit: null).
    let done = unsafe { libc::prlimit(pid as libc::pid_t, libc::RLIMIT_FSIZE, &value, std::ptr::null_mut()) };
    assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn a_file_size_limit_degrades_the_node_until_it_is_raised() {
    let temp = common::temp_dir();
    let dir = temp.path().to_path_buf();
    // `ulimit -f`: past the limit a write fails with EFBIG (SIGXFSZ ignored,
    // as a shell that sets the limit would leave it).
    let mut server = Server::start_configured(&dir, &[], |command| {
        // SAFETY: signal and setrlimit are async-signal-safe and only change
        // this child before exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let value = libc::rlimit { rlim_cur: FILE_SIZE_LIMIT, rlim_max: libc::RLIM_INFINITY };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &value) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let acked = write_until_refused(&server);
    check_degraded(&server, &acked);
    set_file_size_limit(server.pid(), libc::RLIM_INFINITY);
    check_recovered(&mut server, &dir, &[], acked);
}

#[test]
fn concurrent_pipelined_writers_across_two_disk_full_episodes_read_exactly_what_was_acknowledged() {
    let Some(fs) = SmallFileSystem::mount("4m") else { return };
    let dir = fs.path.join("data");
    std::fs::create_dir(&dir).unwrap();
    let mut server = Server::start_in(&dir, &[]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Each writer owns one key and pipelines bursts of 8 increments; it
    // counts only what was acknowledged.
    let writers: Vec<_> = (1..=4u64)
        .map(|key| {
            let mut client = server.client();
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut acked = 0u64;
                let mut refusals = 0u64;
                let burst: String = (0..8).map(|_| increment(key) + "\n").collect();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    client.send_raw(burst.as_bytes()).unwrap();
                    for _ in 0..8 {
                        let reply = client.receive().unwrap().unwrap();
                        if reply == ok("1") {
                            acked += 1;
                        } else {
                            assert!(refused(&reply), "{reply}");
                            refusals += 1;
                        }
                    }
                }
                (key, acked, refusals)
            })
        })
        .collect();
    let health_is = |status: &str| health(&server)["status"] == status;
    for _ in 0..2 {
        let filler = fs.fill();
        assert!(eventually(Duration::from_secs(30), || health_is("degraded")), "the WAL never failed");
        std::fs::remove_file(filler).unwrap();
        assert!(eventually(Duration::from_secs(30), || health_is("ok")), "the node did not recover");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked: BTreeMap<u64, u64> = (1..=KEYS).map(|key| (key, 0)).collect();
    let mut refusals = 0;
    for writer in writers {
        let (key, count, refused) = writer.join().unwrap();
        acked.insert(key, count);
        refusals += refused;
    }
    assert!(refusals > 0, "no write was ever refused");
    assert_eq!(sums(&server), acked);
    assert_eq!(health(&server)["wal_recoveries"], 2);
    server.kill9();
    let restarted = Server::start_in(&dir, &[]);
    assert_eq!(sums(&restarted), acked, "after kill -9 and restart");
    drop(restarted);
    drop(fs);
}
