//! The group commit's bookkeeping, kept apart from threads, locks and
//! files: the durable LSN, the sticky failure, who waits for which LSN
//! ([`Progress`]), and the outcomes released to completions but not yet
//! delivered ([`Deliveries`]).
//!
//! The WAL keeps one `Progress` under its progress lock and one
//! `Deliveries` under its delivery lock (see `super::state`); every change
//! to them is one call here. `progress/tests.rs` drives the same two types
//! through every interleaving of a small workload (appenders, a leading
//! session, the WAL thread, a failing write) and checks that nothing is
//! reported durable before it is written, that no waiter is forgotten, and
//! that a failure reaches every waiter.

use std::sync::Arc;

use super::WalError;

/// Told once whether an LSN became durable: `Ok` when it is (written, and
/// fsynced when fsync is on), `Err` when it never will be (the WAL failed
/// or shut down first). Called by the committing thread right after the
/// batch, so it must not block.
pub trait Completion: Send + Sync {
    fn complete(&self, lsn: u64, outcome: Result<(), &WalError>);
}

/// A caller blocked in `wait_durable`, or a completion to call.
pub(super) enum Waiter {
    Thread(std::thread::Thread),
    Completion(Arc<dyn Completion>),
}

/// What the WAL's waiters wait on. `W` is what waits (a [`Waiter`] in the
/// WAL, a plain token in the model test).
///
/// Invariants: `durable` only grows (but for a reset); once `failure` is
/// set no LSN above `durable` is reported durable until `recover`; every
/// waiter is released exactly once, by the call that decides its outcome.
#[derive(Clone)]
pub(super) struct Progress<W> {
    durable: u64,
    failure: Option<WalError>,
    stopped: bool,
    /// What waits for an LSN. A batch releases only those it made
    /// durable (a condvar would wake every waiter on every batch, and most
    /// would go back to sleep: on a busy node that doubled the context
    /// switches per write).
    waiters: Vec<(u64, W)>,
}

/// Waiters taken from a [`Progress`], each with the LSN it waited for.
pub(super) type Released<W> = Vec<(u64, W)>;

impl<W> Progress<W> {
    /// Nothing waits yet; everything up to `durable` is durable.
    pub(super) fn new(durable: u64) -> Progress<W> {
        Progress { durable, failure: None, stopped: false, waiters: Vec::new() }
    }

    pub(super) fn durable(&self) -> u64 {
        self.durable
    }

    pub(super) fn failure(&self) -> Option<&WalError> {
        self.failure.as_ref()
    }

    /// How `lsn` ended, once that is known: durable, or never going to be
    /// (failed, shut down).
    pub(super) fn outcome(&self, lsn: u64) -> Option<Result<(), WalError>> {
        if self.durable >= lsn {
            Some(Ok(()))
        } else if let Some(failure) = &self.failure {
            Some(Err(failure.clone()))
        } else if self.stopped {
            Some(Err(WalError::ShutDown))
        } else {
            None
        }
    }

    /// `waiter` waits for `lsn` from now on; the call that decides its
    /// outcome releases it.
    pub(super) fn register(&mut self, lsn: u64, waiter: W) {
        self.waiters.push((lsn, waiter));
    }

    /// The outcome of `lsn` if it is known, else `waiter` is registered
    /// for it (`None`): one step, so no outcome can be decided between the
    /// look and the registration. `last_appended` catches a wait for an
    /// LSN that was never appended.
    pub(super) fn wait(&mut self, lsn: u64, last_appended: u64, waiter: W) -> Option<Result<(), WalError>> {
        let known = self.outcome(lsn);
        if known.is_some() {
            return known;
        }
        if lsn > last_appended {
            return Some(Err(WalError::NeverAppended { lsn, last_appended: None }));
        }
        self.register(lsn, waiter);
        None
    }

    /// Everything up to `lsn` is durable: releases its waiters (with `Ok`).
    pub(super) fn publish(&mut self, lsn: u64) -> Released<W> {
        self.durable = self.durable.max(lsn);
        self.take_ready(false)
    }

    /// The sticky failure (the first one stays): releases every waiter,
    /// with the returned error.
    pub(super) fn fail(&mut self, error: WalError) -> (Released<W>, WalError) {
        let failure = self.failure.get_or_insert(error).clone();
        (self.take_ready(true), failure)
    }

    /// Shut down: nothing more becomes durable; releases every waiter
    /// (with [`WalError::ShutDown`]).
    pub(super) fn stop(&mut self) -> Released<W> {
        self.stopped = true;
        self.take_ready(true)
    }

    /// Everything is durable up to `lsn` and nothing beyond (the WAL was
    /// reset): releases every waiter (with [`WalError::Reset`]).
    pub(super) fn reset(&mut self, lsn: u64) -> Released<W> {
        self.durable = lsn;
        self.take_ready(true)
    }

    /// The WAL writes again after a failure.
    pub(super) fn recover(&mut self) {
        self.failure = None;
    }

    /// Takes the waiters whose LSN is durable (all of them when `all`).
    fn take_ready(&mut self, all: bool) -> Released<W> {
        let durable = self.durable;
        if !all && self.waiters.iter().all(|(lsn, _)| *lsn > durable) {
            return Vec::new();
        }
        let (ready, waiting) =
            std::mem::take(&mut self.waiters).into_iter().partition(|(lsn, _)| all || *lsn <= durable);
        self.waiters = waiting;
        ready
    }
}

/// Completions released with their outcome (`Some` error: never durable)
/// and not called yet.
#[derive(Clone)]
pub(super) struct Deliveries<C> {
    pending: Vec<Delivery<C>>,
}

/// A completion to call, for an LSN, with its outcome.
pub(super) type Delivery<C> = (u64, C, Option<WalError>);

impl<C> Default for Deliveries<C> {
    fn default() -> Deliveries<C> {
        Deliveries { pending: Vec::new() }
    }
}

impl<C> Deliveries<C> {
    pub(super) fn add(&mut self, released: impl IntoIterator<Item = (u64, C)>, outcome: Result<(), &WalError>) {
        let failure = outcome.err();
        self.pending.extend(released.into_iter().map(|(lsn, completion)| (lsn, completion, failure.cloned())));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Takes what is to be called now: everything when `refusals`, else
    /// only the durable ones (refusals are left for the WAL thread).
    pub(super) fn take(&mut self, refusals: bool) -> Vec<Delivery<C>> {
        if refusals {
            return std::mem::take(&mut self.pending);
        }
        let (ok, refused) = std::mem::take(&mut self.pending).into_iter().partition(|d| d.2.is_none());
        self.pending = refused;
        ok
    }
}

#[cfg(test)]
mod tests;
