//! The mutex for locks that many session threads contend for: parking_lot's
//! own algorithm (the same state bits, parking lot and eventual fairness,
//! through `parking_lot_core` and `lock_api`), except that a waiter spins
//! only on the CPU and then parks, where `parking_lot::Mutex` calls
//! `sched_yield` up to seven times first.
//!
//! Why not `parking_lot::Mutex` itself: under the Linux EEVDF scheduler
//! (6.6 and later) a yielding thread goes behind every runnable thread, so
//! with more busy threads than cores one `sched_yield` can take tens of
//! milliseconds. Measured on a 2-core machine, 32 clients sending
//! `counter.increment` to a `--wal=false` node: `perf trace` showed
//! `sched_yield` calls of 18-42 ms, all from the state lock, and the p99.9
//! latency was 14-17 ms with a 32-46 ms maximum; with this lock, 1.0-1.5 ms
//! and 5-9 ms.
//!
//! Only the spinning phase differs from `parking_lot::RawMutex`, so a lock
//! that is not contended costs the same one compare-and-swap.

use lock_api::{GuardSend, RawMutex};
use parking_lot_core::{ParkResult, UnparkResult, UnparkToken, DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Instant;

/// A mutex whose waiters spin briefly, then park (see the module doc).
pub type Mutex<T> = lock_api::Mutex<SpinThenPark, T>;
/// The guard of a [`Mutex`].
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, SpinThenPark, T>;

const LOCKED: u8 = 0b01;
/// Some thread is parked (or about to park) on the lock.
const PARKED: u8 = 0b10;

/// An unlock that hands the lock straight to the thread it wakes (the
/// parking lot asks for one now and then, so no waiter starves).
const TOKEN_HANDOFF: UnparkToken = UnparkToken(1);
const TOKEN_NORMAL: UnparkToken = UnparkToken(0);

/// How many times a waiter looks at the lock, with a CPU pause between
/// looks, before it parks: about 8 us (a pause took 8.4 ns where this was
/// measured), long enough for a holder running on another core to let
/// go, which is the wait worth not sleeping through. Measured with
/// `--wal=false` at 32 and 128 clients: 100 looks (under 1 us) and 4000
/// (34 us) were both slower than 1000.
const SPIN_LIMIT: u32 = 1000;

/// The raw lock behind [`Mutex`].
pub struct SpinThenPark {
    state: AtomicU8,
}

// SAFETY: `lock` and `try_lock` set LOCKED only when it was clear (by
// compare-and-swap with Acquire), or receive the lock by hand-off from an
// unlock that keeps LOCKED set; `unlock` (Release) clears it or hands it
// over. So at most one holder exists at a time, as `lock_api` requires.
unsafe impl RawMutex for SpinThenPark {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: SpinThenPark = SpinThenPark { state: AtomicU8::new(0) };

    type GuardMarker = GuardSend;

    #[inline]
    fn lock(&self) {
        if self.state.compare_exchange_weak(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(state, state | LOCKED, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    #[inline]
    unsafe fn unlock(&self) {
        if self.state.compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed).is_err() {
            self.unlock_slow();
        }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }
}

impl SpinThenPark {
    #[cold]
    fn lock_slow(&self) {
        let mut spins = 0;
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED == 0 {
                match self.state.compare_exchange_weak(state, state | LOCKED, Ordering::Acquire, Ordering::Relaxed) {
                    Ok(_) => return,
                    Err(now) => state = now,
                }
                continue;
            }
            // Spin only while nobody is parked: once someone is, the lock
            // is busy enough that the next unlock wakes a parked thread.
            if state & PARKED == 0 && spins < SPIN_LIMIT {
                spins += 1;
                std::hint::spin_loop();
                state = self.state.load(Ordering::Relaxed);
                continue;
            }
            if state & PARKED == 0 {
                if let Err(now) =
                    self.state.compare_exchange_weak(state, state | PARKED, Ordering::Relaxed, Ordering::Relaxed)
                {
                    state = now;
                    continue;
                }
            }
            let address = self as *const SpinThenPark as usize;
            let validate = || self.state.load(Ordering::Relaxed) == LOCKED | PARKED;
            let timed_out = |_, was_last_thread| {
                if was_last_thread {
                    self.state.fetch_and(!PARKED, Ordering::Relaxed);
                }
            };
            // SAFETY: `address` is this lock's, which outlives the call,
            // and the callbacks neither panic nor call into the parking lot.
            let parked =
                unsafe { parking_lot_core::park(address, validate, || {}, timed_out, DEFAULT_PARK_TOKEN, None) };
            if let ParkResult::Unparked(TOKEN_HANDOFF) = parked {
                return;
            }
            spins = 0;
            state = self.state.load(Ordering::Relaxed);
        }
    }

    #[cold]
    fn unlock_slow(&self) {
        let address = self as *const SpinThenPark as usize;
        let callback = |result: UnparkResult| {
            if result.unparked_threads != 0 && result.be_fair {
                // Hand the lock over without clearing LOCKED.
                if !result.have_more_threads {
                    self.state.store(LOCKED, Ordering::Relaxed);
                }
                return TOKEN_HANDOFF;
            }
            self.state.store(if result.have_more_threads { PARKED } else { 0 }, Ordering::Release);
            TOKEN_NORMAL
        };
        // SAFETY: as in `lock_slow`.
        unsafe {
            parking_lot_core::unpark_one(address, callback);
        }
    }
}

/// A condition variable for [`Mutex`], with `parking_lot::Condvar`'s
/// guarantees: no spurious wake-ups, and a notification sent after the
/// waiter released the mutex (under it or after it) is never lost.
///
/// It parks waiters on its own address: a waiter is queued in the parking
/// lot before it releases the mutex, so a notifier that takes the mutex
/// afterwards finds it queued. parking_lot's requeue-to-mutex optimisation
/// is left out: every wait here has at most a few waiters. As with any
/// condition variable, the condition must change under the mutex.
#[derive(Default)]
pub struct Condvar {
    /// Threads waiting or about to: a notification with none skips the
    /// parking lot (the outbox notifies on every reply it sends). Also
    /// gives the condition variable an address of its own to park on.
    waiters: AtomicUsize,
}

/// Whether a timed wait ended by its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    pub fn timed_out(self) -> bool {
        self.0
    }
}

impl Condvar {
    pub const fn new() -> Condvar {
        Condvar { waiters: AtomicUsize::new(0) }
    }

    /// Releases the guard's mutex, sleeps until notified, then locks it again.
    pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        self.wait_inner(guard, None);
    }

    /// Like [`Condvar::wait`], but wakes by itself at `deadline`.
    pub fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> WaitTimeoutResult {
        WaitTimeoutResult(self.wait_inner(guard, Some(deadline)))
    }

    /// Wakes one waiter; whether there was one.
    pub fn notify_one(&self) -> bool {
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return false;
        }
        // SAFETY: the key is this condition variable's address, and the
        // callback neither panics nor calls into the parking lot.
        unsafe { parking_lot_core::unpark_one(self.key(), |_| DEFAULT_UNPARK_TOKEN) }.unparked_threads != 0
    }

    /// Wakes every waiter; how many there were.
    pub fn notify_all(&self) -> usize {
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        // SAFETY: as in `notify_one`.
        unsafe { parking_lot_core::unpark_all(self.key(), DEFAULT_UNPARK_TOKEN) }
    }

    fn key(&self) -> usize {
        self as *const Condvar as usize
    }

    /// Returns whether the wait timed out.
    fn wait_inner<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Option<Instant>) -> bool {
        // SAFETY: the guard proves this thread holds the mutex; it is
        // released only once this thread is queued (`before_sleep`) and
        // locked again before the guard is used.
        let mutex = unsafe { MutexGuard::mutex(guard).raw() };
        // Counted under the mutex: a notifier that changes the condition
        // after this thread let the mutex go took it since, so it sees the
        // count (the mutex orders the two).
        self.waiters.fetch_add(1, Ordering::Relaxed);
        let before_sleep = || unsafe { mutex.unlock() };
        // SAFETY: parking on this condition variable's own address; only
        // `before_sleep` calls into the parking lot, which `park` allows.
        let parked = unsafe {
            parking_lot_core::park(self.key(), || true, before_sleep, |_, _| {}, DEFAULT_PARK_TOKEN, deadline)
        };
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        mutex.lock();
        matches!(parked, ParkResult::TimedOut)
    }
}

#[cfg(test)]
mod tests;
