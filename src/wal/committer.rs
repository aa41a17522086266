//! Who commits the WAL queue, and how a write learns that it is durable
//! without a thread waiting for it.
//!
//! A session does not wait for its writes: it registers a [`Completion`](super::Completion)
//! for the highest LSN of its burst ([`super::Wal::when_durable`]) and goes
//! back to reading its socket. Whoever makes that LSN durable (or fails to)
//! calls the completion right after the batch's fsync, once it has
//! released the writer lock, and the completion sends the burst's replies
//! itself with non-blocking sends. So the thread that fsyncs a batch also
//! answers it, as one event-loop turn of Redis does, and no thread is
//! woken only to send a reply. Completions of refused writes are called by
//! the WAL thread only: they reload the durable state under the state lock
//! (see `engine::degraded`), which another committer may be holding.
//!
//! Committing: a session that finds the WAL thread idle and the writer
//! free commits what is queued at once (one take: its own record and
//! whatever else is there), so a lone writer never changes threads. What
//! is queued while someone commits is left to the WAL thread: whoever
//! releases the writer lock and sees the queue non-empty wakes it (through
//! a crossbeam channel), and it commits take after take, without sleeping,
//! until the queue is empty. Under load the WAL thread is the only
//! committer and the sessions only queue (letting sessions take turns at
//! committing while it sends replies measured slower at 32 clients).
//!
//! Gathering: with fsync on, a take first waits, at most half an average
//! commit, for as many records as the last commit took plus those queued
//! behind it (see [`gather`] for why and when it stops doing so).
//!
//! Why: the previous commit path parked every waiting session and woke it
//! after the fsync just to send its reply (about 8 us of CPU per waiter,
//! spent between one fsync and the next). Measured side by side on a
//! 2-core machine (`KARMA_BENCH_ONLY=redis cargo bench --bench tcp`, two
//! alternating runs each, other builds loading the machine), fsync on:
//! 32 clients 25.2k and 25.6k -> 34.6k and 39.0k req/s, 128 clients 22.0k
//! and 24.6k -> 37.0k and 41.5k, p99 at 32 clients 12.1 and 7.5 ms -> 4.7
//! and 4.2 ms.
//!
//! Measured and not kept (2-core machine, closed-loop clients, fsync on,
//! alternating runs): a second WAL thread, so that one fsyncs the next
//! batch while the other sends the last one's replies, fsynced more often
//! (0.066 against 0.045 fsyncs per request at 32 clients) but cost 2-3 us
//! more CPU per request, for the same throughput; running the session
//! threads at a lower priority than the WAL thread (nice 3 and 8) was
//! slower at 128 clients (66k and 62k against 73k req/s). How waiters
//! spin and park is `util::mutex`'s. Also within run-to-run noise at 32
//! and 128 clients, so not kept: session threads under `SCHED_BATCH`,
//! and the WAL thread with a 0.1 ms or a 3 ms scheduler slice
//! (`sched_setattr`). A gather that spins instead of sleeping was slower
//! at 4 clients (12.3k against 16.1k req/s): the spinning thread takes a
//! core from the writers it waits for. Sessions that look for their next
//! request up to 20 times, yielding the CPU in between, before they sleep
//! (`cargo bench --bench tcp` against Redis, two alternating runs each):
//! 32 clients 1.19-1.32 -> 1.38-1.41x Redis, 128 clients 0.83-0.85 ->
//! 0.98-1.03x, but 4 clients 1.16-1.26 -> 1.11-1.19x and a quarter more
//! CPU per request there; not kept: it buys throughput on a busy machine
//! with CPU burnt on an idle one.
//!
//! The limit at 128 clients: the group-fsync null server of `cargo bench
//! --bench tcp` (sessions read and queue, one thread writes, fsyncs and
//! answers; nothing else) runs at about Redis's rate there, so the cost
//! is the design's (a sleep and a wake-up per request on busy cores), not
//! this path's.
//!
//! Invariant: a queued record always has a committer coming. A session
//! queues before it wakes a busy WAL thread or tries the writer lock, and
//! every holder of the lock looks at the queue after releasing it, so
//! either the holder sees the record or the session gets the lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::util::mutex::{Mutex, MutexGuard};
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::file_writer::FileWriter;
use super::queue::Queue;
use super::state::WalState;
use super::WalError;

/// How a committer batches (from `--wal-batch-size`, `--wal-batch-wait-us`
/// and `--wal-fsync`).
#[derive(Clone, Copy)]
pub(super) struct Batching {
    pub(super) size: usize,
    pub(super) wait: Duration,
    /// Gather the writers of the last batch before an fsync (see
    /// [`gather`]); on with fsync and no fixed batch wait.
    pub(super) gather: bool,
    /// The longest a gather waits: [`MAX_GATHER_WAIT`].
    pub(super) gather_cap: Duration,
}

/// Commits what is queued, up to `rounds` takes. A take first waits for
/// more records when the batching asks for it ([`gather`]). Returns
/// whether anything was taken.
pub(super) fn lead(state: &WalState, writer: &mut FileWriter, batching: Batching, rounds: usize) -> bool {
    let released = ReleaseOnPanic(state);
    let mut took_any = false;
    for _ in 0..rounds {
        let mut queue = state.queue.lock();
        gather(state, batching, &mut queue);
        let records = queue.records();
        let took = writer.take(&mut queue);
        drop(queue);
        if !took {
            break;
        }
        took_any = true;
        let started = Instant::now();
        writer.commit_taken();
        state.observe_commit(started.elapsed());
        if batching.gather {
            // Who will write next: the writers this batch answers, and
            // those queued behind it.
            let queued = state.queue.lock().records();
            state.expected_records.store(records + queued, Ordering::Relaxed);
        }
    }
    std::mem::forget(released);
    took_any
}

/// Waits, holding the queue lock only while not asleep, for the queue to
/// hold a batch worth an fsync:
///
/// - with `--wal-batch-wait-us`, for `--wal-batch-size` records or that
///   long;
/// - with fsync on and no batch wait, for as many records as the last
///   commit took plus those queued behind it, at most half an average
///   commit and at most [`MAX_GATHER_WAIT`], and only while answering
///   that many writes takes less than half a commit. Without it, clients
///   that send their next write as soon as they are answered split into
///   two cohorts that take turns at the fsync (at 4 clients: 2 records a
///   batch): each cohort's writes arrive while the other's are fsynced and
///   wait for the next fsync. Waiting the few tens of microseconds it
///   takes the cohort just answered to write again puts every client in
///   one batch. A client that stops writing costs one wait, after which
///   the target drops to the writers left.
///
/// The appender that brings the queue to the target wakes the waiter
/// (`Wal::append`). Nothing waits for an empty queue.
fn gather(state: &WalState, batching: Batching, queue: &mut MutexGuard<'_, Queue>) {
    if queue.is_empty() {
        return;
    }
    let (target, wait) = if !batching.wait.is_zero() {
        (batching.size, batching.wait)
    } else if batching.gather {
        let skip = state.gather_skips.load(Ordering::Relaxed);
        if skip > 0 {
            state.gather_skips.store(skip - 1, Ordering::Relaxed);
            return;
        }
        let target = state.expected_records.load(Ordering::Relaxed).min(batching.size);
        let half_commit = state.commit_ns.load(Ordering::Relaxed) / 2;
        // Answering the batch must be quick next to the fsync it saves:
        // otherwise the committing thread, not the disk, sets the pace
        // (32 clients and more on 2 cores), and a gather only waits.
        let answering = (target as u64).saturating_mul(state.completion_ns.load(Ordering::Relaxed));
        if answering >= half_commit {
            return;
        }
        (target, Duration::from_nanos(half_commit).min(batching.gather_cap))
    } else {
        return;
    };
    if queue.records() >= target || wait.is_zero() {
        return;
    }
    // Set and cleared under the queue lock, where appenders compare.
    state.gather_target.store(target, Ordering::Relaxed);
    let deadline = Instant::now() + wait;
    while queue.records() < target {
        if state.queue_full.wait_until(queue, deadline).timed_out() {
            if batching.wait.is_zero() {
                // The writers did not come back within half a commit: the
                // sessions, not the disk, are what is slow (many clients
                // on few cores), and an fsync held back only waits.
                state.gather_skips.store(SKIPS_AFTER_MISS, Ordering::Relaxed);
            }
            break;
        }
    }
    state.gather_target.store(usize::MAX, Ordering::Relaxed);
}

/// The longest a gather waits, however slow commits have been lately (one
/// stalled fsync lifts the average for several commits): writers that
/// take longer than this to come back are not worth holding a batch for.
pub(super) const MAX_GATHER_WAIT: Duration = Duration::from_millis(1);

/// Takes made without gathering after a gather timed out.
pub(super) const SKIPS_AFTER_MISS: usize = 16;

/// Fails the WAL if a committer panics mid-commit: what it took from the
/// queue may be half written, and its waiters must not wait for ever.
pub(super) struct ReleaseOnPanic<'a>(pub(super) &'a WalState);

impl Drop for ReleaseOnPanic<'_> {
    fn drop(&mut self) {
        self.0.fail(WalError::WriterPanicked);
    }
}

/// The dedicated WAL thread.
pub(super) struct Committer {
    wake: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Set while the WAL thread works through the queue.
    busy: Arc<AtomicBool>,
}

impl Committer {
    pub(super) fn start(
        state: Arc<WalState>,
        writer: Arc<Mutex<FileWriter>>,
        batching: Batching,
    ) -> std::io::Result<Committer> {
        // One pending wake is enough: the thread empties the queue each time.
        let (wake, woken) = bounded(1);
        let busy = Arc::new(AtomicBool::new(false));
        let thread_busy = Arc::clone(&busy);
        let thread = std::thread::Builder::new()
            .name("karma-wal".into())
            .spawn(move || run(&state, &writer, batching, &woken, &thread_busy))?;
        Ok(Committer { wake: Some(wake), thread: Some(thread), busy })
    }

    /// Whether the WAL thread is committing: a session then leaves the
    /// commit to it rather than taking turns at the writer lock (measured:
    /// sessions that lead under load delay their own clients and slow the
    /// 32-client rows).
    pub(super) fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// Makes the WAL thread commit what is queued (cheap when it is awake
    /// already).
    pub(super) fn wake(&self) {
        if let Some(wake) = &self.wake {
            match wake.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
            }
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.wake = None; // disconnects: the thread ends after its turn
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(state: &WalState, writer: &Mutex<FileWriter>, batching: Batching, woken: &Receiver<()>, busy: &AtomicBool) {
    while woken.recv().is_ok() {
        busy.store(true, Ordering::Release);
        while !state.queue.lock().is_empty() {
            let mut writer = writer.lock();
            lead(state, &mut writer, batching, 1);
            drop(writer);
            state.deliver(true);
        }
        busy.store(false, Ordering::Release);
        // A record queued just before the flag cleared found it set: look
        // once more (its session woke this thread, so `recv` returns).
        state.deliver(true);
    }
}
