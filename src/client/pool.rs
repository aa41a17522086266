//! The idle connections of a [`Client`](super::Client), reused most
//! recently used first.
//!
//! A server closes a connection that stays idle past its `--read-timeout`
//! (5 s by default) without a word. A pooled connection is therefore
//! dropped, never used, once it has been idle for the client's
//! `idle_timeout`, or when a non-blocking peek shows the peer has closed
//! it; the next call then opens a fresh one.

use super::connection::Connection;
use parking_lot::Mutex;
use std::time::{Duration, Instant};

pub(crate) struct Pool {
    idle: Mutex<Vec<(Connection, Instant)>>,
    max_idle: usize,
    idle_timeout: Duration,
}

impl Pool {
    pub(crate) fn new(max_idle: usize, idle_timeout: Duration) -> Pool {
        Pool { idle: Mutex::new(Vec::new()), max_idle, idle_timeout }
    }

    /// A pooled connection that is still usable, if any.
    pub(crate) fn take(&self) -> Option<Connection> {
        loop {
            let (connection, since) = self.idle.lock().pop()?;
            if since.elapsed() < self.idle_timeout && !connection.is_stale() {
                return Some(connection);
            }
        }
    }

    /// Returns a connection whose last reply was read completely.
    pub(crate) fn put(&self, connection: Connection) {
        let mut idle = self.idle.lock();
        if idle.len() < self.max_idle {
            idle.push((connection, Instant::now()));
        }
    }

    /// Drops every idle connection.
    pub(crate) fn clear(&self) {
        self.idle.lock().clear();
    }
}
