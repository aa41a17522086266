//! A real `karma` process on loopback, port 0: started, its port read from
//! the `server.start` log line, its stderr drained into a log for the whole
//! of its life (a full pipe would stall the server's logging), and killed
//! when dropped.
//!
//! The one copy of server start-up for the tests and the benches: the
//! tests include it as `common::server`, the benches (another crate, which
//! cannot import a test's module) by path from `benches/common/mod.rs`. Each
//! adds its own constructors and timeouts in its own `impl Server`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    /// The flags after `--directory`.
    pub args: Vec<String>,
    /// From spawn to the `server.start` log line.
    pub startup: Duration,
    /// The temp directory `dir` is in, when the server owns it.
    _temp: Option<Arc<tempfile::TempDir>>,
    log: Arc<Mutex<Vec<String>>>,
    /// Reads stderr into `log` until the process closes it.
    log_reader: Option<JoinHandle<()>>,
}

/// `binary --bind=127.0.0.1 --port=0 --directory=<dir> <args>`, stderr
/// piped, for [`Server::start_command`] (or a caller that wants the bare
/// process).
pub fn karma_command(binary: impl AsRef<OsStr>, dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("--bind=127.0.0.1")
        .arg("--port=0")
        .arg(format!("--directory={}", dir.display()))
        .args(args)
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

impl Server {
    /// Runs `command` (see [`karma_command`]; `dir` and `args` are what it
    /// was given) and waits up to `timeout` for `server.start`. Panics with
    /// the log if the process exits or stays silent first.
    pub fn start_command(
        mut command: Command,
        dir: &Path,
        temp: Option<Arc<tempfile::TempDir>>,
        args: &[&str],
        timeout: Duration,
    ) -> Server {
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot spawn {command:?}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let log_reader = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("\"event\":\"server.start\"") {
                        let _ = port_tx.send(port_of(&line));
                    }
                    log.lock().expect("log").push(line);
                }
            })
        };
        let port = match port_rx.recv_timeout(timeout) {
            Ok(Some(port)) => port,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("karma did not start on {}; log: {:?}", dir.display(), log.lock().expect("log"));
            }
        };
        Server {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: dir.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            startup: started.elapsed(),
            _temp: temp,
            log,
            log_reader: Some(log_reader),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `kill -9`, then wait for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (e.g. "INT", "TERM", "USR1") with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status().expect("kill");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Waits for the process to exit and returns its exit code; after
    /// `timeout`, kills it and panics.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                // The last log lines may still be in the pipe: read them all
                // (the reader ends at EOF, which exit brings) before anyone
                // looks at the log.
                if let Some(reader) = self.log_reader.take() {
                    let _ = reader.join();
                }
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not exit in {timeout:?}; log: {:?}", self.log.lock().expect("log"));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Every line logged so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The port in a `server.start` line (`... port=NNNN ...`).
fn port_of(line: &str) -> Option<u16> {
    let rest = line.split("port=").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}
