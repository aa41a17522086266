//! The bounded pool of session threads.
//!
//! A thread serves one client at a time. An accepted client goes to an idle
//! thread if there is one, else to a new thread; at most
//! `--max-connections` clients are served at once, so at most that many
//! threads exist. Threads idle for a minute exit.

use super::session;
use crate::engine::Engine;
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const IDLE_EXIT: Duration = Duration::from_secs(60);

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
}

impl Pool {
    pub fn new(engine: Arc<Engine>) -> Pool {
        let (sender, receiver) = unbounded();
        Pool { engine, sessions: Arc::default(), idle: Arc::default(), sender, receiver }
    }

    pub fn sessions(&self) -> Arc<Sessions> {
        Arc::clone(&self.sessions)
    }

    /// Hands an accepted client to a thread.
    pub fn dispatch(&self, stream: TcpStream) {
        let claimed_idle = self.idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok();
        if claimed_idle {
            if let Err(returned) = self.sender.send(stream) {
                drop(returned);
            }
            return;
        }
        let worker = Worker {
            engine: Arc::clone(&self.engine),
            sessions: Arc::clone(&self.sessions),
            idle: Arc::clone(&self.idle),
            receiver: self.receiver.clone(),
        };
        let spawned = std::thread::Builder::new().name("karma-session".into()).spawn(move || worker.run(stream));
        if let Err(e) = spawned {
            log::error!(target: "server.session_spawn_failed", "{e}");
        }
    }
}

struct Worker {
    engine: Arc<Engine>,
    sessions: Arc<Sessions>,
    idle: Arc<AtomicUsize>,
    receiver: Receiver<TcpStream>,
}

impl Worker {
    fn run(self, first: TcpStream) {
        let mut next = Some(first);
        while let Some(stream) = next.take() {
            self.serve(stream);
            self.idle.fetch_add(1, Ordering::AcqRel);
            loop {
                match self.receiver.recv_timeout(IDLE_EXIT) {
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
