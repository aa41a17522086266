//! The WAL handle the engine and the sessions share, and group commit.
//!
//! [`Wal::append`] (called under the engine's state lock, so in LSN order)
//! only encodes the line into the shared queue. A session then either
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

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::commit::{Queue, Writer};
use super::committer::{lead, Batching, Committer, Completion, ReleaseOnPanic};
use super::files;
use super::progress::{Progress, Waiter};
use super::tail::repair_tail;
use super::{WalError, WalOptions, WalStats};
use crate::metrics::{Histogram, LATENCY_MS_BOUNDS, SIZE_BOUNDS};

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
    pub(super) shared: Arc<Shared>,
    /// The files; whoever holds this lock is the committer.
    writer: Arc<Mutex<Writer>>,
    batching: Batching,
    /// How many followers may spin at once: the cores.
    max_spinners: usize,
    committer: Committer,
}

/// What the handle and the writer share.
pub(super) struct Shared {
    pub(super) queue: Mutex<Queue>,
    /// Signalled when the queue reaches `batch_size` records (ends a
    /// committer's `batch_wait` early).
    pub(super) queue_full: Condvar,
    progress: Mutex<Progress>,
    /// Moving average of the time one commit (a queue take) takes, in ns.
    commit_ns: AtomicU64,
    /// Followers spinning right now (see `Wal::spin`).
    spinners: AtomicUsize,
    /// Completions released by the holder of the writer lock, to be called
    /// once it is released.
    deliveries: Mutex<Vec<Delivery>>,
    /// Mirror of `progress.durable` for lock-free reads.
    durable: AtomicU64,
    last_appended: AtomicU64,
    failed: AtomicBool,
    /// Times the WAL resumed after a failure.
    epoch: AtomicU64,
    /// Set when shutdown starts: appends are refused from then on.
    closing: AtomicBool,
    pub(super) batches: AtomicU64,
    pub(super) records: AtomicU64,
    pub(super) fsyncs: AtomicU64,
    pub(super) sealed_bytes: AtomicU64,
    pub(super) active_bytes: AtomicU64,
    pub(super) segments: AtomicUsize,
    pub(super) batch_sizes: Histogram,
    pub(super) fsync_ms: Histogram,
    /// Test seam: the next batch write fails with this message.
    pub(super) injected: Mutex<Option<String>>,
}

/// A completion to call once the writer lock is released, with its outcome
/// (`Some` error: never durable).
type Delivery = (u64, Arc<dyn Completion>, Option<WalError>);

impl Shared {
    /// Releases waiters taken from the list (outside the progress lock, by
    /// the holder of the writer lock): a thread is woken now (it looks at
    /// the progress itself); a completion waits in `deliveries` until the
    /// writer lock is released ([`Shared::deliver`]), so that another thread
    /// can write and fsync the next batch while this one sends replies, and
    /// so that no completion runs under the writer lock (a refused write's
    /// completion takes the state lock, which is taken before the writer's).
    fn wake(&self, ready: Vec<(u64, Waiter)>, outcome: Result<(), &WalError>) {
        let mut deliveries = Vec::new();
        for (lsn, waiter) in ready {
            match waiter {
                Waiter::Thread(thread) => thread.unpark(),
                Waiter::Completion(completion) => deliveries.push((lsn, completion, outcome.err().cloned())),
            }
        }
        if !deliveries.is_empty() {
            self.deliveries.lock().append(&mut deliveries);
        }
    }

    /// Calls the completions released so far, outside every lock. Only
    /// the WAL thread, which never holds another lock here, calls those of
    /// refused writes (`refusals`): they take the state lock, which any
    /// other caller may hold. Returns whether refusals are left for it.
    pub(super) fn deliver(&self, refusals: bool) -> bool {
        let deliveries = {
            let mut pending = self.deliveries.lock();
            if pending.is_empty() {
                return false;
            }
            if refusals {
                std::mem::take(&mut *pending)
            } else {
                let (ok, refused) = std::mem::take(&mut *pending).into_iter().partition(|d| d.2.is_none());
                *pending = refused;
                ok
            }
        };
        for (lsn, completion, failure) in deliveries {
            completion.complete(lsn, failure.as_ref().map_or(Ok(()), Err));
        }
        !refusals && !self.deliveries.lock().is_empty()
    }

    /// Publishes `lsn` as durable and releases its waiters.
    pub(super) fn publish(&self, lsn: u64) {
        let mut progress = self.progress.lock();
        progress.durable = progress.durable.max(lsn);
        self.durable.store(progress.durable, Ordering::Release);
        let ready = progress.take_ready(false);
        drop(progress);
        self.wake(ready, Ok(()));
    }

    /// Sets both LSNs to `lsn` after a reset (nobody is waiting: the
    /// caller holds the state lock and has no write in flight).
    pub(super) fn reset_progress(&self, lsn: u64) {
        let mut progress = self.progress.lock();
        progress.durable = lsn;
        self.durable.store(lsn, Ordering::Release);
        self.last_appended.store(lsn, Ordering::Release);
        let ready = progress.take_ready(true);
        drop(progress);
        self.wake(ready, Err(&WalError::Reset));
    }

    /// Records the sticky failure and releases every waiter.
    pub(super) fn fail(&self, error: WalError) {
        let mut progress = self.progress.lock();
        if progress.failure.is_none() {
            progress.failure = Some(error);
        }
        self.failed.store(true, Ordering::Release);
        let ready = progress.take_ready(true);
        let failure = progress.failure.clone();
        drop(progress);
        if let Some(failure) = failure {
            self.wake(ready, Err(&failure));
        }
    }

    /// Clears the failure once the writer has resumed: appends continue
    /// after the durable LSN, in a new epoch (set before the flag clears,
    /// so whoever sees the WAL working sees the new epoch).
    fn recover(&self) {
        let mut progress = self.progress.lock();
        progress.failure = None;
        self.last_appended.store(progress.durable, Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.failed.store(false, Ordering::Release);
    }

    pub(super) fn failure(&self) -> Option<WalError> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.progress.lock().failure.clone()
    }

    pub(super) fn durable_lsn(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    pub(super) fn observe_commit(&self, took: Duration) {
        let sample = took.as_nanos().min(u128::from(u64::MAX / 8)) as u64;
        let average = self.commit_ns.load(Ordering::Relaxed);
        self.commit_ns.store((average * 7 + sample) / 8, Ordering::Relaxed);
    }

    /// Shut down: nothing more becomes durable.
    fn mark_stopped(&self) {
        let mut progress = self.progress.lock();
        progress.stopped = true;
        let ready = progress.take_ready(true);
        drop(progress);
        self.wake(ready, Err(&WalError::ShutDown));
    }
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
        // `commit`, the fill).
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

        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            queue_full: Condvar::new(),
            progress: Mutex::new(Progress { durable: last_lsn, failure: None, stopped: false, waiters: Vec::new() }),
            deliveries: Mutex::new(Vec::new()),
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
        let batching = Batching { size: options.batch_size.max(1), wait: options.batch_wait };
        let writer =
            Writer::new(Arc::clone(&shared), WalOptions { dir: dir.clone(), ..options }, file, active_size, lsn_file);
        let writer = Arc::new(Mutex::new(writer));
        let committer = Committer::start(Arc::clone(&shared), Arc::clone(&writer), batching)
            .map_err(|e| WalError::ThreadStart(Arc::new(e)))?;
        let max_spinners = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Wal { shared, writer, batching, max_spinners, committer })
    }

    /// Queues one entry; never blocks on I/O. `lsn` must be the previous
    /// appended LSN + 1 (call it under the lock that assigns LSNs). Fails at
    /// once (and queues nothing) when the WAL has failed or is shut down.
    pub fn append(&self, lsn: u64, entry: &[u8]) -> Result<(), WalError> {
        self.check_open()?;
        debug_assert_eq!(
            lsn,
            self.shared.last_appended.load(Ordering::Relaxed) + 1,
            "WAL appends must arrive in LSN order"
        );
        let mut queue = self.shared.queue.lock();
        queue.push_record(lsn, entry);
        let full = queue.records() == self.batching.size;
        drop(queue);
        self.shared.last_appended.store(lsn, Ordering::Release);
        if full && !self.batching.wait.is_zero() {
            self.shared.queue_full.notify_one();
        }
        Ok(())
    }

    /// Blocks until `lsn` is durable (written, and fsynced when fsync is
    /// on), leading commits while nobody else does. Fails when the WAL
    /// failed or shut down before that, or when `lsn` was never appended.
    pub fn wait_durable(&self, lsn: u64) -> Result<(), WalError> {
        let shared = &self.shared;
        if shared.durable_lsn() >= lsn {
            return Ok(());
        }
        if lsn > self.last_appended_lsn() {
            return Err(WalError::NeverAppended { lsn, last_appended: Some(self.last_appended_lsn()) });
        }
        let mut registered = false;
        loop {
            if let Some(mut writer) = self.writer.try_lock() {
                lead(shared, &mut writer, self.batching, LEADER_ROUNDS);
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
                let mut progress = shared.progress.lock();
                if progress.durable >= lsn {
                    return Ok(());
                }
                if let Some(failure) = &progress.failure {
                    return Err(failure.clone());
                }
                if progress.stopped {
                    return Err(WalError::ShutDown);
                }
                if !registered {
                    progress.waiters.push((lsn, Waiter::Thread(std::thread::current())));
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
        let expected = self.shared.commit_ns.load(Ordering::Relaxed);
        if expected > SPIN_COMMIT_NS {
            return Spin::GaveUp;
        }
        // More spinners than cores would only take turns at yielding, and
        // keep the leader and the parked waiters it wakes off the CPU.
        let spinners = &self.shared.spinners;
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
            if self.shared.durable_lsn() >= lsn {
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
        let shared = &self.shared;
        let mut progress = shared.progress.lock();
        let known = if progress.durable >= lsn {
            Some(Ok(()))
        } else if let Some(failure) = &progress.failure {
            Some(Err(failure.clone()))
        } else if progress.stopped {
            Some(Err(WalError::ShutDown))
        } else if lsn > self.last_appended_lsn() {
            Some(Err(WalError::NeverAppended { lsn, last_appended: None }))
        } else {
            progress.waiters.push((lsn, Waiter::Completion(completion.clone())));
            None
        };
        drop(progress);
        if let Some(outcome) = known {
            completion.complete(lsn, outcome.as_ref().map(|_| ()));
            return;
        }
        if self.committer.is_busy() {
            self.committer.wake();
        } else if let Some(mut writer) = self.writer.try_lock() {
            lead(shared, &mut writer, self.batching, 1);
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
        if !self.shared.queue.lock().is_empty() {
            self.committer.wake();
        }
        if self.shared.deliver(false) {
            self.committer.wake();
        }
    }

    /// Takes the writer lock for a maintenance step, first committing what
    /// was queued before the call (one take: records that keep arriving
    /// meanwhile are left to the sessions, so a busy node cannot keep the
    /// step waiting), and hands the lead on afterwards.
    fn with_writer<T>(&self, step: impl FnOnce(&mut Writer) -> T) -> T {
        let mut writer = self.writer.lock();
        let released = ReleaseOnPanic(&self.shared);
        writer.commit_queued(&self.shared.queue);
        let result = step(&mut writer);
        std::mem::forget(released);
        drop(writer);
        self.after_release();
        result
    }

    /// The highest LSN known to be durable.
    pub fn durable_lsn(&self) -> u64 {
        self.shared.durable_lsn()
    }

    /// The LSN of the last record handed to [`Wal::append`].
    pub fn last_appended_lsn(&self) -> u64 {
        self.shared.last_appended.load(Ordering::Acquire)
    }

    /// The sticky failure, once the WAL has failed.
    pub fn failure(&self) -> Option<WalError> {
        self.shared.failure()
    }

    /// Whether the WAL has failed (one atomic load).
    pub fn has_failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }

    /// Changes each time the WAL resumes after a failure: a write is
    /// durable only if its epoch is still current once its LSN is.
    pub fn epoch(&self) -> u64 {
        self.shared.epoch.load(Ordering::Acquire)
    }

    /// After a failure: drops the refused records (blanking what they left
    /// in the active file), checks that the disk takes writes again, and
    /// lets appends continue after the durable LSN. Call it under the lock
    /// that assigns LSNs, with memory already holding only durable records.
    /// Fails, and the WAL stays failed, while the disk still refuses.
    pub fn resume(&self) -> Result<(), WalError> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(WalError::ShutDown);
        }
        if !self.has_failed() {
            return Ok(());
        }
        self.writer.lock().resume(&self.shared.queue)?;
        self.shared.recover();
        Ok(())
    }

    /// Queued in LSN order like an append (call it under the state lock):
    /// once every record appended so far is written, the active file (if
    /// non-empty) is sealed into a segment, so the next record starts a new
    /// file. Does not wait; a later [`Wal::drop_through`] observes it done.
    pub fn seal(&self) -> Result<(), WalError> {
        self.check_open()?;
        self.shared.queue.lock().push_seal();
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
        let shared = &self.shared;
        WalStats {
            bytes: shared.sealed_bytes.load(Ordering::Relaxed) + shared.active_bytes.load(Ordering::Relaxed),
            durable_lsn: self.durable_lsn(),
            last_appended_lsn: self.last_appended_lsn(),
            batches: shared.batches.load(Ordering::Relaxed),
            records: shared.records.load(Ordering::Relaxed),
            fsyncs: shared.fsyncs.load(Ordering::Relaxed),
            batch_sizes: shared.batch_sizes.snapshot(),
            fsync_ms: shared.fsync_ms.snapshot(),
            segments: shared.segments.load(Ordering::Relaxed),
            failure: self.failure().map(|f| f.to_string()),
        }
    }

    /// Writes everything queued, fsyncs, and stops writing. Idempotent;
    /// later appends fail.
    pub fn shutdown(&self) {
        self.shared.closing.store(true, Ordering::Release);
        self.with_writer(|writer| {
            // Appends are refused from now on; catch any that raced the flag.
            writer.commit_queued(&self.shared.queue);
            writer.finish();
            self.shared.mark_stopped();
        });
    }

    fn check_open(&self) -> Result<(), WalError> {
        if let Some(failure) = self.shared.failure() {
            return Err(failure);
        }
        if self.shared.closing.load(Ordering::Acquire) {
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

#[cfg(test)]
pub(crate) mod tests;
