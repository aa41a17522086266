//! The bounded pool of session threads.
//!
//! A thread serves one client at a time. An accepted client goes to an idle
//! thread if there is one, else to a new thread; at most
//! `--max-connections` clients are served at once, so at most that many
//! threads exist. A thread left without a client for as long as a client
//! may stay idle (`--read-timeout`, a minute when that is off) exits, so a
//! burst of connections does not leave its threads (and their stacks)
//! behind once it is over.

use super::session;
use crate::engine::Engine;
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long an idle thread is kept when `--read-timeout` is off.
const IDLE_EXIT_DEFAULT: Duration = Duration::from_secs(60);

/// Live clients, kept so shutdown can close the ones that outstay the drain.
#[derive(Default)]
pub struct Sessions {
    streams: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
}

impl Sessions {
    /// Closes every live client socket; returns how many.
    pub fn close_all(&self) -> usize {
        let streams = self.streams.lock();
        for stream in streams.values() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        streams.len()
    }
}

pub struct Pool {
    engine: Arc<Engine>,
    sessions: Arc<Sessions>,
    idle: Arc<AtomicUsize>,
    sender: Sender<TcpStream>,
    receiver: Receiver<TcpStream>,
    idle_exit: Duration,
}

impl Pool {
    pub fn new(engine: Arc<Engine>) -> Pool {
        let (sender, receiver) = unbounded();
        let idle_exit = match engine.config.read_timeout_secs {
            0 => IDLE_EXIT_DEFAULT,
            secs => Duration::from_secs(secs),
        };
        Pool { engine, sessions: Arc::default(), idle: Arc::default(), sender, receiver, idle_exit }
    }

    pub fn sessions(&self) -> Arc<Sessions> {
        Arc::clone(&self.sessions)
    }

    /// Hands an accepted client to a thread. When no thread can be started
    /// for it, the client comes back with the error, still counted as
    /// active: the caller gives its slot back.
    pub fn dispatch(&self, stream: TcpStream) -> Result<(), (TcpStream, std::io::Error)> {
        let claimed_idle = self.idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok();
        if claimed_idle {
            if let Err(returned) = self.sender.send(stream) {
                drop(returned);
            }
            return Ok(());
        }
        let worker = Worker {
            engine: Arc::clone(&self.engine),
            sessions: Arc::clone(&self.sessions),
            idle: Arc::clone(&self.idle),
            receiver: self.receiver.clone(),
            idle_exit: self.idle_exit,
        };
        // The client waits in a slot the thread empties, so a failed spawn
        // (which drops the closure) can hand it back.
        let slot = Arc::new(Mutex::new(Some(stream)));
        let first = Arc::clone(&slot);
        let spawned = std::thread::Builder::new().name("karma-session".into()).spawn(move || {
            if let Some(stream) = first.lock().take() {
                worker.run(stream);
            }
        });
        match spawned {
            Ok(_) => Ok(()),
            Err(error) => {
                log::error!(target: "server.session_spawn_failed", "{error}");
                match slot.lock().take() {
                    Some(stream) => Err((stream, error)),
                    None => Ok(()),
                }
            }
        }
    }
}

struct Worker {
    engine: Arc<Engine>,
    sessions: Arc<Sessions>,
    idle: Arc<AtomicUsize>,
    receiver: Receiver<TcpStream>,
    idle_exit: Duration,
}

impl Worker {
    fn run(self, first: TcpStream) {
        let mut next = Some(first);
        while let Some(stream) = next.take() {
            self.serve(stream);
            self.idle.fetch_add(1, Ordering::AcqRel);
            loop {
                match self.receiver.recv_timeout(self.idle_exit) {
                    Ok(stream) => {
                        next = Some(stream);
                        break;
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        // Leave only if no client has claimed this idle slot.
                        let left = self.idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
                        if left.is_ok() {
                            return;
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }
    }

    fn serve(&self, stream: TcpStream) {
        let id = self.sessions.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(clone) = stream.try_clone() {
            self.sessions.streams.lock().insert(id, clone);
        }
        session::serve(stream, &self.engine);
        self.sessions.streams.lock().remove(&id);
        self.engine.metrics.connections_active.sub(1);
    }
}
