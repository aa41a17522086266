//! The TCP front end: a listener thread accepting clients into the bounded
//! session pool, and the graceful stop.
//!
//! The listener is bound before the data directory is restored (a port
//! clash fails at once, before anything is read or written) and accepts
//! once the engine is ready; clients that connect meanwhile wait in the
//! backlog.
//!
//! Stop sequence (SIGINT / SIGTERM): stop accepting, let connected clients
//! keep being served until they leave, `--shutdown-timeout` passes or the
//! operator hurries the stop (a second signal), then close whatever is left
//! (and wait up to one more second for those sessions to end). The caller
//! then snapshots and exits 0.

mod outbox;
mod pool;
mod session;

use crate::engine::Engine;
use crate::protocol::reply::write_error_parts;
use crate::protocol::ErrorCode;
use pool::{Pool, Sessions};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A listening server, not yet accepting.
pub struct Server {
    listener: TcpListener,
    address: SocketAddr,
}

/// A running server: its address, and the handle to stop it.
pub struct Running {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    sessions: Arc<Sessions>,
    acceptor: Option<JoinHandle<()>>,
    engine: Arc<Engine>,
}

impl Server {
    /// Binds `host:port` (port 0 picks a free port).
    pub fn bind(host: &str, port: u16) -> std::io::Result<Server> {
        let listener = TcpListener::bind((host, port))?;
        let address = listener.local_addr()?;
        Ok(Server { listener, address })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Starts the acceptor thread, serving `engine`.
    pub fn start(self, engine: Arc<Engine>) -> std::io::Result<Running> {
        let stopping = Arc::new(AtomicBool::new(false));
        let pool = Pool::new(Arc::clone(&engine));
        let sessions = pool.sessions();
        let acceptor = {
            let stopping = Arc::clone(&stopping);
            let engine = Arc::clone(&engine);
            let listener = self.listener;
            std::thread::Builder::new()
                .name("karma-accept".into())
                .spawn(move || accept_loop(listener, engine, pool, stopping))?
        };
        Ok(Running { address: self.address, stopping, sessions, acceptor: Some(acceptor), engine })
    }
}

fn accept_loop(listener: TcpListener, engine: Arc<Engine>, pool: Pool, stopping: Arc<AtomicBool>) {
    let config = Arc::clone(&engine.config);
    let timeout = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
    for stream in listener.incoming() {
        if stopping.load(Ordering::Acquire) {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                log::error!(target: "server.accept_failed", "{e}");
                // Out of descriptors and similar: do not spin.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let metrics = &engine.metrics;
        if metrics.connections_active.get() >= config.max_connections as u64 {
            metrics.connections_rejected.inc();
            reject(stream, config.max_connections);
            continue;
        }
        metrics.connections_accepted.inc();
        metrics.connections_active.add(1);
        let _ = stream.set_nodelay(config.nodelay);
        let _ = stream.set_read_timeout(timeout(config.read_timeout_secs));
        let _ = stream.set_write_timeout(timeout(config.write_timeout_secs));
        if let Err((stream, error)) = pool.dispatch(stream) {
            // No thread to serve it: give the slot back, or enough such
            // failures would leave every later client refused as over
            // --max-connections.
            metrics.connections_active.sub(1);
            metrics.connections_rejected.inc();
            send_error(stream, &format!("Cannot serve the connection: {error}"));
        }
    }
}

/// The client one past `--max-connections` gets an error envelope and is closed.
fn reject(stream: TcpStream, max: usize) {
    send_error(stream, &format!("Too many connections (max {max})"));
}

/// Answers a client that will not be served with one `internal_error`
/// envelope and closes it.
fn send_error(mut stream: TcpStream, message: &str) {
    let mut out = Vec::new();
    write_error_parts(&mut out, ErrorCode::InternalError, message);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(&out);
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, drains connected clients (up to `timeout`, or until
    /// `hurry` is set), then closes the rest.
    pub fn stop(&mut self, timeout: Duration, hurry: &AtomicBool) {
        log::info!(target: "server.stop_begin", "active_clients={}", self.engine.metrics.connections_active.get());
        self.stopping.store(true, Ordering::Release);
        // Wake the blocking accept with a connection of our own.
        let wake_ip = match self.address.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
            ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        let _ = TcpStream::connect_timeout(&SocketAddr::new(wake_ip, self.address.port()), Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let active = || self.engine.metrics.connections_active.get();
        if wait_until(timeout, || active() == 0 || hurry.load(Ordering::Acquire)) && active() == 0 {
            log::info!(target: "server.drain_complete", "active_clients=0");
            return;
        }
        if hurry.load(Ordering::Acquire) {
            log::info!(target: "server.drain_skipped", "active_clients={}", active());
        } else {
            log::info!(target: "server.drain_timeout", "active_clients={}", active());
        }
        let closed = self.sessions.close_all();
        wait_until(Duration::from_secs(1), || active() == 0);
        log::info!(target: "server.force_close", "closed_clients={closed} remaining_clients={}", active());
    }
}

/// Polls `done` every 10 ms for at most `timeout`; true when it became true.
fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
