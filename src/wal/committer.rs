//! Who commits the WAL queue, and how a write learns that it is durable
//! without a thread waiting for it.
//!
//! A session does not wait for its writes: it registers a [`Completion`]
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
//! Why: the previous commit path parked every waiting session and woke it
//! after the fsync just to send its reply (about 8 us of CPU per waiter,
//! spent between one fsync and the next). Measured side by side on a
//! 2-core machine (`KARMA_BENCH_ONLY=redis cargo bench --bench tcp`, two
//! alternating runs each, other builds loading the machine), fsync on:
//! 32 clients 25.2k and 25.6k -> 34.6k and 39.0k req/s, 128 clients 22.0k
//! and 24.6k -> 37.0k and 41.5k, p99 at 32 clients 12.1 and 7.5 ms -> 4.7
//! and 4.2 ms.
//!
//! Invariant: a queued record always has a committer coming. A session
//! queues before it wakes a busy WAL thread or tries the writer lock, and
//! every holder of the lock looks at the queue after releasing it, so
//! either the holder sees the record or the session gets the lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::util::mutex::Mutex;
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::file_writer::FileWriter;
use super::state::WalState;
use super::WalError;

/// How a committer batches (from `--wal-batch-size` and
/// `--wal-batch-wait-us`).
#[derive(Clone, Copy)]
pub(super) struct Batching {
    pub(super) size: usize,
    pub(super) wait: Duration,
}

/// Commits what is queued, up to `rounds` takes. With a batch wait, a take
/// that is not a full batch first waits for more. Returns whether anything
/// was taken.
pub(super) fn lead(state: &WalState, writer: &mut FileWriter, batching: Batching, rounds: usize) -> bool {
    let released = ReleaseOnPanic(state);
    let mut took_any = false;
    for _ in 0..rounds {
        let mut queue = state.queue.lock();
        if !batching.wait.is_zero() && !queue.is_empty() && queue.records() < batching.size {
            let deadline = Instant::now() + batching.wait;
            while queue.records() < batching.size {
                if state.queue_full.wait_until(&mut queue, deadline).timed_out() {
                    break;
                }
            }
        }
        let took = writer.take(&mut queue);
        drop(queue);
        if !took {
            break;
        }
        took_any = true;
        let started = Instant::now();
        writer.commit_taken();
        state.observe_commit(started.elapsed());
    }
    std::mem::forget(released);
    took_any
}

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
