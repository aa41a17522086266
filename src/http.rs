//! The optional HTTP listener (`--http-port`, off by default): `GET
//! /metrics` for Prometheus and `GET /health` for load balancers. Neither
//! needs a token: they reveal figures and a verdict, never data. They can
//! listen on their own address (`--http-bind`), e.g. a management network.
//!
//! Bounded by construction, so a slow or hostile scraper cannot hurt the
//! clients on the TCP port (they have threads of their own):
//! - one acceptor thread and [`WORKERS`] worker threads, each handling one
//!   connection at a time from a queue of at most [`QUEUE`]; a connection
//!   past that is answered `503` by the acceptor and closed;
//! - one request per connection (`Connection: close`), a head of at most
//!   [`MAX_HEAD_BYTES`] (else `431`) that must arrive within
//!   [`READ_DEADLINE`] in total (else `408`), a response written with a
//!   [`WRITE_TIMEOUT`];
//! - `/metrics` reads the figures the way the TCP `system.stats` op does
//!   (the state lock once, for a few counts) and renders outside the lock;
//! - any other path is `404`, any method other than `GET` and `HEAD` on
//!   the two paths `405` with `Allow: GET, HEAD`, a malformed head `400`.
//!
//! The listener is bound before the data directory is restored and serves
//! from then on: until the engine is ready `/health` answers `503`
//! `starting` (restoring, or a slave copying its master's snapshots), and
//! after a stop signal `503` `stopping`, so a load balancer sends no new
//! clients to a node that is not there yet or any more.

mod request;

use crate::config::Role;
use crate::engine::Engine;
use crate::util::json_writer::write_str;
use crossbeam_channel::{bounded, Receiver, TrySendError};
use request::{read_head, respond, Head, Response};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Threads answering requests.
pub const WORKERS: usize = 2;
/// Accepted connections waiting for a worker.
pub const QUEUE: usize = 16;
/// Largest request head (request line and headers).
pub const MAX_HEAD_BYTES: usize = 8192;
/// Time a client has to send its whole request head.
pub const READ_DEADLINE: Duration = Duration::from_secs(10);
/// Socket write timeout of a response.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time spent draining what a client sends after its response.
const LINGER: Duration = Duration::from_secs(1);

/// What the endpoints report on: the role from the start, the engine once
/// it is restored, and whether the node is stopping.
pub struct Node {
    role: Role,
    engine: OnceLock<Arc<Engine>>,
    stopping: AtomicBool,
}

impl Node {
    pub fn new(role: Role) -> Node {
        Node { role, engine: OnceLock::new(), stopping: AtomicBool::new(false) }
    }

    /// The engine is restored and serving.
    pub fn ready(&self, engine: Arc<Engine>) {
        let _ = self.engine.set(engine);
    }

    /// A stop signal arrived: `/health` turns `503`.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// `(status code, JSON body)` of `/health`.
    fn health(&self) -> (u16, Vec<u8>) {
        let status = if self.stopping.load(Ordering::Acquire) { "stopping" } else { "starting" };
        match self.engine.get() {
            Some(engine) if status != "stopping" => {
                let health = engine.health_probe();
                (if health.serving { 200 } else { 503 }, health.body)
            }
            _ => {
                let mut body = b"{\"status\":".to_vec();
                write_str(&mut body, status);
                body.extend_from_slice(b",\"role\":");
                write_str(&mut body, self.role.as_str());
                body.push(b'}');
                (503, body)
            }
        }
    }
}

/// A bound, not yet serving, HTTP listener.
pub struct Listener {
    listener: TcpListener,
    address: SocketAddr,
}

/// A serving HTTP listener.
pub struct Running {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Listener {
    /// Binds `host:port` (port 0 picks a free port).
    pub fn bind(host: &str, port: u16) -> std::io::Result<Listener> {
        let listener = TcpListener::bind((host, port))?;
        let address = listener.local_addr()?;
        Ok(Listener { listener, address })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Starts the acceptor and the workers.
    pub fn start(self, node: Arc<Node>) -> std::io::Result<Running> {
        let (sender, receiver) = bounded::<TcpStream>(QUEUE);
        for i in 0..WORKERS {
            let receiver = receiver.clone();
            let node = Arc::clone(&node);
            std::thread::Builder::new().name(format!("karma-http-{i}")).spawn(move || work(receiver, node))?;
        }
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stopping = Arc::clone(&stopping);
            let listener = self.listener;
            std::thread::Builder::new().name("karma-http-accept".into()).spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(stream) = stream else {
                        // Out of descriptors and similar: do not spin.
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    if let Err(TrySendError::Full(stream)) = sender.try_send(stream) {
                        let busy = Response::text(503, "busy: too many HTTP requests at once\n");
                        respond(stream, &busy, Duration::from_secs(1), Duration::ZERO);
                    }
                }
            })?
        };
        Ok(Running { address: self.address, stopping, acceptor: Some(acceptor) })
    }
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting; workers finish the requests they hold and exit.
    pub fn stop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        let wake_ip = match self.address.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
            ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        let wake = SocketAddr::new(wake_ip, self.address.port());
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn work(queue: Receiver<TcpStream>, node: Arc<Node>) {
    for mut stream in queue {
        let head = read_head(&mut stream, MAX_HEAD_BYTES, Instant::now() + READ_DEADLINE);
        let (method, path) = match head {
            Head::Request { method, path } => (method, path),
            Head::TooLarge => {
                let message = format!("request head larger than {MAX_HEAD_BYTES} bytes\n");
                respond(stream, &Response::text(431, &message), WRITE_TIMEOUT, LINGER);
                continue;
            }
            Head::Malformed => {
                respond(stream, &Response::text(400, "bad request\n"), WRITE_TIMEOUT, LINGER);
                continue;
            }
            Head::TimedOut => {
                respond(stream, &Response::text(408, "request timeout\n"), WRITE_TIMEOUT, Duration::ZERO);
                continue;
            }
            Head::Gone => continue,
        };
        if path != "/metrics" && path != "/health" {
            respond(
                stream,
                &Response::text(404, "not found: the paths are /metrics and /health\n"),
                WRITE_TIMEOUT,
                LINGER,
            );
            continue;
        }
        let head_only = match method.as_str() {
            "GET" => false,
            "HEAD" => true,
            _ => {
                let response =
                    Response { headers: "Allow: GET, HEAD\r\n", ..Response::text(405, "method not allowed\n") };
                respond(stream, &response, WRITE_TIMEOUT, LINGER);
                continue;
            }
        };
        let (status, content_type, body) = if path == "/health" {
            let (status, body) = node.health();
            (status, "application/json", body)
        } else {
            match node.engine.get() {
                Some(engine) => (200, "text/plain; version=0.0.4; charset=utf-8", engine.exposition().into_bytes()),
                None => {
                    (503, "text/plain; charset=utf-8", b"starting: the data directory is being restored\n".to_vec())
                }
            }
        };
        let response = Response { status, content_type, headers: "", body: &body, head_only };
        respond(stream, &response, WRITE_TIMEOUT, LINGER);
    }
}
