//! The WAL handle the engine and the sessions share, and group commit.
//!
//! [`Wal::append`] (called under the engine's state lock, so in LSN order)
//! only encodes the line into the state queue. A session then either
//! registers a completion for its LSN and moves on ([`Wal::when_durable`],
//! the request path; see [`super::committer`]), or blocks until it is
//! durable ([`Wal::wait_durable`]: maintenance and replication steps).
//! Whoever commits takes everything queued (the records of every session
//! appended meanwhile) and writes it in batches of at most `batch_size`,
//! with one write and at most one fsync each: while one batch is fsynced,
//! the next one gathers in the queue. That is the group commit.
//!
//! A blocked waiter that finds the writer lock free commits itself (a lone
//! caller never changes threads); otherwise it parks until the committer
//! of the moment reports its LSN durable.
//!
//! Invariants:
//!
//! - `durable <= last_appended`, and `durable` only grows;
//! - once `failure` is set, no LSN above the `durable` value at that
//!   moment is ever reported durable; only [`Wal::resume`] clears it, and
//!   then appends continue after that `durable` value in a new epoch (the
//!   refused LSNs are handed out again, so a waiter from before must
//!   compare [`Wal::epoch`]);
//! - a queued record always has a committer coming: whoever releases the
//!   writer lock and finds the queue non-empty wakes the WAL thread, and a
//!   waiter registers before its last look at the lock;
//! - after `shutdown`, nothing more is written and waiters of non-durable
//!   LSNs are released with an error.
//!
//! The bookkeeping behind these ([`super::progress`]) is model-checked over
//! every interleaving of a small workload (`progress/tests.rs`).

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::mutex::{Condvar, Mutex};

use super::committer::{lead, Batching, Committer, ReleaseOnPanic, MAX_GATHER_WAIT};
use super::file_writer::FileWriter;
use super::files;
use super::progress::{Completion, Deliveries, Progress, Waiter};
use super::queue::Queue;
use super::state::WalState;
use super::tail::repair_tail;
use super::{WalError, WalOptions};
use crate::metrics::{Histogram, HistogramSnapshot, LATENCY_MS_BOUNDS, SIZE_BOUNDS};

/// How many queue takes a blocked waiter commits before it leaves the rest
/// to the WAL thread: taking again is cheaper than waking another thread,
/// but the waiter's own caller is waiting meanwhile.
const LEADER_ROUNDS: usize = 4;

/// Followers yield instead of parking while a commit takes less than this
/// on average (see [`Wal::spin`]).
const SPIN_COMMIT_NS: u64 = 50_000;
/// The least a follower yields before it parks.
const MIN_SPIN_NS: u64 = 5_000;

/// How a follower's spin ended.
enum Spin {
    Durable,
    /// Nobody leads: the follower should lead.
    WriterFree,
    GaveUp,
}

/// The write-ahead log. `Send + Sync`; share it by reference or `Arc`.
pub struct Wal {
    pub(super) state: Arc<WalState>,
    /// The files; whoever holds this lock is the committer.
    writer: Arc<Mutex<FileWriter>>,
    batching: Batching,
    /// How many followers may spin at once: the cores.
    max_spinners: usize,
    committer: Committer,
}

impl Wal {
    /// Opens (creating the directory and file if needed) for appending after
    /// `last_lsn`. If `karma.wal` ends in a complete line without `\n`, one
    /// is appended first; an unterminated line that is not valid JSON (a
    /// torn write) is cut off and logged; an unterminated blank one (the
    /// fill a crash left) is cut off.
    pub fn open(options: WalOptions, last_lsn: u64) -> Result<Wal, WalError> {
        let dir =
            std::path::absolute(&options.dir).map_err(|e| WalError::io("resolve WAL directory", &options.dir, e))?;
        fs::create_dir_all(&dir).map_err(|e| WalError::io("create WAL directory", &dir, e))?;
        let active_path = files::active_path(&dir);
        // Not in append mode: batches are written at their offset (see
        // `file_writer`, the fill).
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&active_path)
            .map_err(|e| WalError::io("open WAL file", &active_path, e))?;
        let active_size = repair_tail(&file, &active_path, options.fsync)?;
        let lsn_path = files::lsn_path(&dir);
        let lsn_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lsn_path)
            .map_err(|e| WalError::io("open WAL LSN file", &lsn_path, e))?;
        let text = format!("{last_lsn}\n");
        lsn_file
            .write_at(text.as_bytes(), 0)
            .and_then(|_| lsn_file.set_len(text.len() as u64))
            .map_err(|e| WalError::io("write WAL LSN file", &lsn_path, e))?;
        let listing = files::list(&dir).map_err(|e| WalError::io("list WAL directory", &dir, e))?;
        let mut sealed_bytes = 0;
        for (_, segment) in &listing.segments {
            sealed_bytes += fs::metadata(segment).map(|m| m.len()).unwrap_or(0);
        }

        let state = Arc::new(WalState {
            queue: Mutex::new(Queue::default()),
            queue_full: Condvar::new(),
            gather_target: AtomicUsize::new(usize::MAX),
            expected_records: AtomicUsize::new(1),
            gather_skips: AtomicUsize::new(0),
            completion_ns: AtomicU64::new(0),
            progress: Mutex::new(Progress::new(last_lsn)),
            deliveries: Mutex::new(Deliveries::default()),
            commit_ns: AtomicU64::new(0),
            spinners: AtomicUsize::new(0),
            durable: AtomicU64::new(last_lsn),
            last_appended: AtomicU64::new(last_lsn),
            failed: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            batches: AtomicU64::new(0),
            records: AtomicU64::new(0),
            fsyncs: AtomicU64::new(0),
            sealed_bytes: AtomicU64::new(sealed_bytes),
            active_bytes: AtomicU64::new(active_size),
            segments: AtomicUsize::new(listing.segments.len()),
            batch_sizes: Histogram::new(SIZE_BOUNDS),
            fsync_ms: Histogram::new(LATENCY_MS_BOUNDS),
            injected: Mutex::new(None),
        });
        let batching = Batching {
            size: options.batch_size.max(1),
            wait: options.batch_wait,
            gather: options.fsync,
            gather_cap: MAX_GATHER_WAIT,
        };
        let writer = FileWriter::new(
            Arc::clone(&state),
            WalOptions { dir: dir.clone(), ..options },
            file,
            active_size,
            lsn_file,
        );
        let writer = Arc::new(Mutex::new(writer));
        let committer = Committer::start(Arc::clone(&state), Arc::clone(&writer), batching)
            .map_err(|e| WalError::ThreadStart(Arc::new(e)))?;
        let max_spinners = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Wal { state, writer, batching, max_spinners, committer })
    }

    /// Queues one entry; never blocks on I/O. `lsn` must be the previous
    /// appended LSN + 1 (call it under the lock that assigns LSNs). Fails at
    /// once (and queues nothing) when the WAL has failed or is shut down.
    pub fn append(&self, lsn: u64, entry: &[u8]) -> Result<(), WalError> {
        self.check_open()?;
        debug_assert_eq!(
            lsn,
            self.state.last_appended.load(Ordering::Relaxed) + 1,
            "WAL appends must arrive in LSN order"
        );
        let mut queue = self.state.queue.lock();
        queue.push_record(lsn, entry);
        let gathered = queue.records() == self.state.gather_target.load(Ordering::Relaxed);
        drop(queue);
        self.state.last_appended.store(lsn, Ordering::Release);
        if gathered {
            self.state.queue_full.notify_one();
        }
        Ok(())
    }

    /// Blocks until `lsn` is durable (written, and fsynced when fsync is
    /// on), leading commits while nobody else does. Fails when the WAL
    /// failed or shut down before that, or when `lsn` was never appended.
    pub fn wait_durable(&self, lsn: u64) -> Result<(), WalError> {
        let state = &self.state;
        if state.durable_lsn() >= lsn {
            return Ok(());
        }
        if lsn > self.last_appended_lsn() {
            return Err(WalError::NeverAppended { lsn, last_appended: Some(self.last_appended_lsn()) });
        }
        let mut registered = false;
        loop {
            if let Some(mut writer) = self.writer.try_lock() {
                lead(state, &mut writer, self.batching, LEADER_ROUNDS);
                drop(writer);
                self.after_release();
            } else {
                match self.spin(lsn) {
                    Spin::Durable => return Ok(()),
                    Spin::WriterFree => continue,
                    Spin::GaveUp => {}
                }
            }
            {
                let mut progress = state.progress.lock();
                if let Some(outcome) = progress.outcome(lsn) {
                    return outcome;
                }
                if !registered {
                    progress.register(lsn, Waiter::Thread(std::thread::current()));
                    registered = true;
                }
            }
            // Registered before this last look: the committer still holding
            // the lock will either make `lsn` durable or leave it queued for
            // the WAL thread, and an unpark that comes first makes `park`
            // return at once.
            if self.writer.is_locked() {
                std::thread::park();
            }
        }
    }

    /// While another thread leads and commits are quick (no fsync, or a
    /// very fast disk), waits by yielding rather than parking: parking and
    /// being woken again costs two context switches, more than such a
    /// commit takes.
    fn spin(&self, lsn: u64) -> Spin {
        let expected = self.state.commit_ns.load(Ordering::Relaxed);
        if expected > SPIN_COMMIT_NS {
            return Spin::GaveUp;
        }
        // More spinners than cores would only take turns at yielding, and
        // keep the leader and the parked waiters it wakes off the CPU.
        let spinners = &self.state.spinners;
        if spinners.fetch_add(1, Ordering::Relaxed) >= self.max_spinners {
            spinners.fetch_sub(1, Ordering::Relaxed);
            return Spin::GaveUp;
        }
        let outcome = self.spin_while_leading(lsn, expected);
        spinners.fetch_sub(1, Ordering::Relaxed);
        outcome
    }

    fn spin_while_leading(&self, lsn: u64, expected: u64) -> Spin {
        let deadline = Instant::now() + Duration::from_nanos(2 * expected.max(MIN_SPIN_NS));
        loop {
            if self.state.durable_lsn() >= lsn {
                return Spin::Durable;
            }
            if !self.writer.is_locked() {
                return Spin::WriterFree;
            }
            if Instant::now() >= deadline {
                return Spin::GaveUp;
            }
            std::thread::yield_now();
        }
    }

    /// Calls `completion` once `lsn` is durable, or with the error once it
    /// never will be (at once when that is already known), and makes sure
    /// it gets committed: the caller commits what is queued itself when
    /// the writer is free (one take, which includes its own record), else
    /// the committer of the moment or the WAL thread will. Never blocks on
    /// another committer.
    pub fn when_durable(&self, lsn: u64, completion: Arc<dyn Completion>) {
        let state = &self.state;
        let waiter = Waiter::Completion(Arc::clone(&completion));
        let known = state.progress.lock().wait(lsn, self.last_appended_lsn(), waiter);
        if let Some(outcome) = known {
            completion.complete(lsn, outcome.as_ref().map(|_| ()));
            return;
        }
        if self.committer.is_busy() {
            self.committer.wake();
        } else if let Some(mut writer) = self.writer.try_lock() {
            lead(state, &mut writer, self.batching, 1);
            drop(writer);
            self.after_release();
        }
    }

    /// After releasing the writer lock: records queued meanwhile go to the
    /// WAL thread, the completions released are called (refusals are left
    /// to the WAL thread too).
    fn after_release(&self) {
        // The WAL thread first, so it can write and fsync the next batch
        // while this thread sends the replies.
        if !self.state.queue.lock().is_empty() {
            self.committer.wake();
        }
        if self.state.deliver(false) {
            self.committer.wake();
        }
    }

    /// Takes the writer lock for a maintenance step, first committing what
    /// was queued before the call (one take: records that keep arriving
    /// meanwhile are left to the sessions, so a busy node cannot keep the
    /// step waiting), and hands the lead on afterwards.
    fn with_writer<T>(&self, step: impl FnOnce(&mut FileWriter) -> T) -> T {
        let mut writer = self.writer.lock();
        let released = ReleaseOnPanic(&self.state);
        writer.commit_queued(&self.state.queue);
        let result = step(&mut writer);
        std::mem::forget(released);
        drop(writer);
        self.after_release();
        result
    }

    /// The highest LSN known to be durable.
    pub fn durable_lsn(&self) -> u64 {
        self.state.durable_lsn()
    }

    /// The LSN of the last record handed to [`Wal::append`].
    pub fn last_appended_lsn(&self) -> u64 {
        self.state.last_appended.load(Ordering::Acquire)
    }

    /// The sticky failure, once the WAL has failed.
    pub fn failure(&self) -> Option<WalError> {
        self.state.failure()
    }

    /// Whether the WAL has failed (one atomic load).
    pub fn has_failed(&self) -> bool {
        self.state.failed.load(Ordering::Acquire)
    }

    /// Changes each time the WAL resumes after a failure: a write is
    /// durable only if its epoch is still current once its LSN is.
    pub fn epoch(&self) -> u64 {
        self.state.epoch.load(Ordering::Acquire)
    }

    /// After a failure: drops the refused records (blanking what they left
    /// in the active file), checks that the disk takes writes again, and
    /// lets appends continue after the durable LSN. Call it under the lock
    /// that assigns LSNs, with memory already holding only durable records.
    /// Fails, and the WAL stays failed, while the disk still refuses.
    pub fn resume(&self) -> Result<(), WalError> {
        if self.state.closing.load(Ordering::Acquire) {
            return Err(WalError::ShutDown);
        }
        if !self.has_failed() {
            return Ok(());
        }
        self.writer.lock().resume(&self.state.queue)?;
        self.state.recover();
        Ok(())
    }

    /// Queued in LSN order like an append (call it under the state lock):
    /// once every record appended so far is written, the active file (if
    /// non-empty) is sealed into a segment, so the next record starts a new
    /// file. Does not wait; a later [`Wal::drop_through`] observes it done.
    pub fn seal(&self) -> Result<(), WalError> {
        self.check_open()?;
        self.state.queue.lock().push_seal();
        Ok(())
    }

    /// Deletes every sealed segment (and its `.idx`) whose entries are all
    /// `<= lsn` and records `lsn` as the truncation point in `karma.wal.lsn`
    /// (fsynced when fsync is on). Never touches entries `> lsn`. Blocks
    /// until done.
    pub fn drop_through(&self, lsn: u64) -> Result<(), WalError> {
        self.check_open()?;
        self.with_writer(|writer| writer.drop_through(lsn))
    }

    /// Discards every WAL file and continues after `lsn`: for a slave that
    /// re-bootstraps from snapshots holding everything up to `lsn`. The
    /// caller holds the state lock, so nothing is appended meanwhile.
    pub fn reset(&self, lsn: u64) -> Result<(), WalError> {
        self.check_open()?;
        self.with_writer(|writer| writer.reset(lsn))
    }

    /// Counters for stats and metrics.
    pub fn stats(&self) -> WalStats {
        let state = &self.state;
        WalStats {
            bytes: state.sealed_bytes.load(Ordering::Relaxed) + state.active_bytes.load(Ordering::Relaxed),
            durable_lsn: self.durable_lsn(),
            last_appended_lsn: self.last_appended_lsn(),
            batches: state.batches.load(Ordering::Relaxed),
            records: state.records.load(Ordering::Relaxed),
            fsyncs: state.fsyncs.load(Ordering::Relaxed),
            batch_sizes: state.batch_sizes.snapshot(),
            fsync_ms: state.fsync_ms.snapshot(),
            segments: state.segments.load(Ordering::Relaxed),
            failure: self.failure().map(|f| f.to_string()),
        }
    }

    /// Writes everything queued, fsyncs, and stops writing. Idempotent;
    /// later appends fail.
    pub fn shutdown(&self) {
        self.state.closing.store(true, Ordering::Release);
        self.with_writer(|writer| {
            // Appends are refused from now on; catch any that raced the flag.
            writer.commit_queued(&self.state.queue);
            writer.finish();
            self.state.mark_stopped();
        });
    }

    fn check_open(&self) -> Result<(), WalError> {
        if let Some(failure) = self.state.failure() {
            return Err(failure);
        }
        if self.state.closing.load(Ordering::Acquire) {
            return Err(WalError::ShutDown);
        }
        Ok(())
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Counters for `system.stats` / `system.metrics`.
#[derive(Debug, Clone)]
pub struct WalStats {
    /// Bytes in all WAL files (segments and `karma.wal`; not `.idx`/`.lsn`).
    pub bytes: u64,
    pub durable_lsn: u64,
    pub last_appended_lsn: u64,
    /// Writer batches written (each one write call, at most one fsync).
    pub batches: u64,
    /// Records written.
    pub records: u64,
    pub fsyncs: u64,
    /// Records per batch.
    pub batch_sizes: HistogramSnapshot,
    /// fsync latency in milliseconds.
    pub fsync_ms: HistogramSnapshot,
    /// Sealed segments currently on disk.
    pub segments: usize,
    /// The sticky failure, if the WAL has failed.
    pub failure: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests;
