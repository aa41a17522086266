//! What the WAL handle, the file writer and the WAL thread share: the
//! queue, the waiters' progress, the completions to deliver, the flags
//! and the counters (see `super::handle` for the protocol).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::mutex::{Condvar, Mutex};

use super::progress::{Completion, Deliveries, Progress, Waiter};
use super::queue::Queue;
use super::WalError;
use crate::metrics::Histogram;

/// What the handle, the file writer and the WAL thread share.
pub(super) struct WalState {
    pub(super) queue: Mutex<Queue>,
    /// Signalled when the queue reaches `gather_target` records (ends a
    /// committer's wait for a batch early, see `committer::gather`).
    pub(super) queue_full: Condvar,
    /// The records a committer waits for, `usize::MAX` when none waits;
    /// changed and compared under the queue lock.
    pub(super) gather_target: AtomicUsize,
    /// What the last commit took plus what queued behind it: how many
    /// records the next batch may expect.
    pub(super) expected_records: AtomicUsize,
    /// Moving average of the time one completion (sending a burst's
    /// replies) takes, in ns.
    pub(super) completion_ns: AtomicU64,
    /// Takes left to make without gathering (after a gather timed out).
    pub(super) gather_skips: AtomicUsize,
    pub(super) progress: Mutex<Progress<Waiter>>,
    /// Moving average of the time one commit (a queue take) takes, in ns.
    pub(super) commit_ns: AtomicU64,
    /// Followers spinning right now (see `Wal::spin`).
    pub(super) spinners: AtomicUsize,
    /// Completions released by the holder of the writer lock, to be called
    /// once it is released.
    pub(super) deliveries: Mutex<Deliveries<Arc<dyn Completion>>>,
    /// Mirror of `progress.durable` for lock-free reads.
    pub(super) durable: AtomicU64,
    pub(super) last_appended: AtomicU64,
    pub(super) failed: AtomicBool,
    /// Times the WAL resumed after a failure.
    pub(super) epoch: AtomicU64,
    /// Set when shutdown starts: appends are refused from then on.
    pub(super) closing: AtomicBool,
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

impl WalState {
    /// Releases waiters taken from the list (outside the progress lock, by
    /// the holder of the writer lock): a thread is woken now (it looks at
    /// the progress itself); a completion waits in `deliveries` until the
    /// writer lock is released ([`WalState::deliver`]), so that another thread
    /// can write and fsync the next batch while this one sends replies, and
    /// so that no completion runs under the writer lock (a refused write's
    /// completion takes the state lock, which is taken before the writer's).
    fn wake(&self, ready: Vec<(u64, Waiter)>, outcome: Result<(), &WalError>) {
        let mut completions = Vec::new();
        for (lsn, waiter) in ready {
            match waiter {
                Waiter::Thread(thread) => thread.unpark(),
                Waiter::Completion(completion) => completions.push((lsn, completion)),
            }
        }
        if !completions.is_empty() {
            self.deliveries.lock().add(completions, outcome);
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
            pending.take(refusals)
        };
        let count = deliveries.len() as u64;
        let started = Instant::now();
        for (lsn, completion, failure) in deliveries {
            completion.complete(lsn, failure.as_ref().map_or(Ok(()), Err));
        }
        if let Some(sample) = (started.elapsed().as_nanos() as u64).checked_div(count) {
            let sample = sample.min(u64::MAX / 8);
            let average = self.completion_ns.load(Ordering::Relaxed);
            self.completion_ns.store((average * 7 + sample) / 8, Ordering::Relaxed);
        }
        !refusals && !self.deliveries.lock().is_empty()
    }

    /// Publishes `lsn` as durable and releases its waiters.
    pub(super) fn publish(&self, lsn: u64) {
        let mut progress = self.progress.lock();
        let ready = progress.publish(lsn);
        self.durable.store(progress.durable(), Ordering::Release);
        drop(progress);
        self.wake(ready, Ok(()));
    }

    /// Sets both LSNs to `lsn` after a reset (nobody is waiting: the
    /// caller holds the state lock and has no write in flight).
    pub(super) fn reset_progress(&self, lsn: u64) {
        let mut progress = self.progress.lock();
        let ready = progress.reset(lsn);
        self.durable.store(lsn, Ordering::Release);
        self.last_appended.store(lsn, Ordering::Release);
        drop(progress);
        self.wake(ready, Err(&WalError::Reset));
    }

    /// Records the sticky failure and releases every waiter.
    pub(super) fn fail(&self, error: WalError) {
        let mut progress = self.progress.lock();
        let (ready, failure) = progress.fail(error);
        self.failed.store(true, Ordering::Release);
        drop(progress);
        self.wake(ready, Err(&failure));
    }

    /// Clears the failure once the writer has resumed: appends continue
    /// after the durable LSN, in a new epoch (set before the flag clears,
    /// so whoever sees the WAL working sees the new epoch).
    pub(super) fn recover(&self) {
        let mut progress = self.progress.lock();
        progress.recover();
        self.last_appended.store(progress.durable(), Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.failed.store(false, Ordering::Release);
    }

    pub(super) fn failure(&self) -> Option<WalError> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.progress.lock().failure().cloned()
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
    pub(super) fn mark_stopped(&self) {
        let ready = self.progress.lock().stop();
        self.wake(ready, Err(&WalError::ShutDown));
    }
}
