//! The slave's poller thread (docs/operations.md, Replication and failover): ask the master for the
//! entries after the last applied LSN, apply them in order, record the
//! position, repeat.
//!
//! Differences from Karma 1.0, all for robustness: a full page is followed
//! by the next poll at once (catch-up at network speed, not one page per
//! interval); a failing master is retried with exponential backoff (up to
//! 30 s); a `replication_gap` makes the slave bootstrap again from the
//! master's snapshots instead of failing for ever.
//!
//! The poller drives the node's engine, which sits above this module: it
//! sees the engine only as a [`Replica`] (implemented in
//! `engine::log_shipping`), so replication depends on nothing above it.

use super::bootstrap::{envelope, Source};
use super::{now_unix, ReplicationError, ReplicationStats};
use crate::config::Config;
use crate::protocol::ErrorCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
struct Page<'a> {
    source_lsn: Option<u64>,
    next_lsn: u64,
    count: usize,
    truncated_by_bytes: bool,
    #[serde(borrow)]
    entries: Vec<PageEntry<'a>>,
}

#[derive(Deserialize)]
struct PageEntry<'a> {
    lsn: u64,
    #[serde(borrow)]
    entry: &'a RawValue,
}

/// What one poll did.
enum Polled {
    /// Entries applied; `more` when the page was full (poll again now).
    Applied { more: bool },
    /// The master no longer has the WAL we need (its error envelope said
    /// `replication_gap`): bootstrap again.
    Gap(ReplicationError),
}

/// Why a poll failed: the master, or applying what it sent.
#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Master(#[from] ReplicationError),
    #[error(transparent)]
    Replica(ReplicaFailure),
}

/// What went wrong in the node the poller feeds, kept whole with its
/// sources (the node's own error type lives above this module); the poller
/// only logs it and records it in `last_poll_error`.
pub type ReplicaFailure = Box<dyn std::error::Error + Send + Sync>;

/// What the poller needs from the node it feeds.
pub trait Replica: Send + Sync {
    /// The last LSN applied: the next poll asks for the entries after it.
    fn current_lsn(&self) -> u64;
    /// Applies one pulled entry at the master's `lsn` and logs it locally
    /// under the same LSN; an entry already applied is ignored.
    fn apply_replicated(&self, lsn: u64, entry: &str) -> Result<(), ReplicaFailure>;
    /// After a page: waits until it is durable, then records the position.
    fn replication_checkpoint(&self) -> Result<(), ReplicaFailure>;
    /// Bootstraps again from the master's snapshots after a gap; returns
    /// the LSN polling resumes after.
    fn rebootstrap(&self, source: &Source) -> Result<u64, ReplicaFailure>;
    fn replication_stats(&self) -> &ReplicationStats;
}

/// How often and how much to poll (`--replication-poll-interval-ms`,
/// `--replication-batch-size`).
#[derive(Clone, Copy)]
struct Pace {
    interval: Duration,
    limit: usize,
}

/// A running poller; stops when dropped or on [`Poller::stop`].
pub struct Poller {
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Poller {
    pub fn start(replica: Arc<impl Replica + 'static>, source: Source, config: &Config) -> std::io::Result<Poller> {
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stopping);
        let pace = Pace {
            interval: Duration::from_millis(config.replication_poll_interval_ms.max(1)),
            limit: config.replication_batch_size,
        };
        log::info!(target: "replication.poller_start", "source={}:{} limit={}", source.host, source.port, pace.limit);
        let thread = std::thread::Builder::new()
            .name("karma-replication".into())
            .spawn(move || run(&*replica, &source, pace, &flag))?;
        Ok(Poller { stopping, thread: Some(thread) })
    }

    /// Stops after the current poll.
    pub fn stop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        log::info!(target: "replication.poller_stop", "");
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop();
        }
    }
}

fn run(replica: &dyn Replica, source: &Source, pace: Pace, stopping: &AtomicBool) {
    let interval = pace.interval;
    let mut backoff = interval;
    while !stopping.load(Ordering::Acquire) {
        let stats = replica.replication_stats();
        let wait = match poll_once(replica, source, pace.limit, stats) {
            Ok(Polled::Applied { more }) => {
                backoff = interval;
                if more {
                    continue;
                }
                interval
            }
            Ok(Polled::Gap(gap)) => {
                log::warn!(target: "replication.rebootstrap", "{gap}");
                match replica.rebootstrap(source) {
                    Ok(lsn) => {
                        log::info!(target: "replication.rebootstrap_complete", "last_lsn={lsn}");
                        backoff = interval;
                        continue;
                    }
                    Err(error) => {
                        log::error!(target: "replication.rebootstrap_failed", "{error}");
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        backoff
                    }
                }
            }
            Err(error) => {
                let message = error.to_string();
                stats.poll_errors.inc();
                stats.last_poll_error_unix.set(now_unix());
                log::error!(target: "replication.poll_failed", "{message}");
                *stats.last_poll_error.lock() = Some(message);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                backoff
            }
        };
        sleep_unless_stopping(wait, stopping);
    }
}

fn sleep_unless_stopping(duration: Duration, stopping: &AtomicBool) {
    let deadline = Instant::now() + duration;
    while !stopping.load(Ordering::Acquire) {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
    }
}

fn poll_once(
    replica: &dyn Replica,
    source: &Source,
    limit: usize,
    stats: &ReplicationStats,
) -> Result<Polled, PollError> {
    stats.poll_attempts.inc();
    stats.last_poll_attempt_unix.set(now_unix());
    let after = replica.current_lsn();
    let reply =
        source.request(&format!(r#"{{"v":2,"op":"replication.entries","after_lsn":{after},"limit":{limit}}}"#))?;
    let envelope = match envelope(&reply, "replication") {
        Ok(envelope) => envelope,
        Err(gap) if gap.master_code() == Some(ErrorCode::ReplicationGap) => return Ok(Polled::Gap(gap)),
        Err(error) => return Err(error.into()),
    };
    let page: Page<'_> = serde_json::from_str(envelope.response.get())
        .map_err(|source| ReplicationError::InvalidResponse { what: "replication page", source })?;
    let source_lsn = page.source_lsn.unwrap_or(page.next_lsn);
    stats.source_lsn.set(stats.source_lsn.get().max(source_lsn));
    for entry in &page.entries {
        replica.apply_replicated(entry.lsn, entry.entry.get()).map_err(PollError::Replica)?;
        stats.entries_applied.inc();
    }
    if !page.entries.is_empty() {
        stats.last_received_unix.set(now_unix());
        replica.replication_checkpoint().map_err(PollError::Replica)?;
    }
    stats.poll_successes.inc();
    stats.last_poll_success_unix.set(now_unix());
    *stats.last_poll_error.lock() = None;
    Ok(Polled::Applied { more: page.count >= limit || page.truncated_by_bytes })
}
