//! Acknowledging a pipelined burst with one durability wait.
//!
//! A session answers the requests it has read in one go (a burst) with one
//! write to the socket. Each logged write in the burst is applied and queued
//! for the WAL as it comes, but its success reply is held back: the whole
//! burst waits once, for the highest LSN it queued, before anything is sent.
//! So a client pipelining N writes costs one WAL batch (one fsync) instead
//! of N, and still never sees a reply before every write of the burst is
//! durable.
//!
//! If the WAL fails instead, each held write is judged on its own: one that
//! reached the durable LSN before the failure keeps its success (memory,
//! reloaded from the durable state, holds it), every other one gets the
//! `internal_error` a lone request would have got, after memory has dropped
//! it (see `degraded`). LSNs above the durable one are handed out again once
//! the WAL resumes, so a write's LSN counts only in the WAL epoch it was
//! given in.

//!
//! The burst waits either by blocking ([`Engine::settle`]) or, on the
//! request path, without a thread: [`Engine::defer`] takes the held replies
//! out as a [`Deferred`], the session registers a completion for its LSN
//! ([`Engine::when_durable`]) and reads on, and the completion finishes the
//! replies with [`Engine::finish`] before sending them.

use smallvec::SmallVec;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use super::{wal_refuses, Engine};
use crate::protocol::reply::write_error;
use crate::protocol::Op;
use crate::wal::{Completion, Wal, WalError};

/// Held replies kept inline: a burst of one or two writes (nearly all of
/// them) allocates nothing, and the committing thread that finishes it
/// frees nothing the session allocated.
type HeldReplies = SmallVec<[Held; 2]>;

/// The replies of the current burst that wait for the WAL.
#[derive(Default)]
pub struct Burst {
    held: HeldReplies,
}

/// One success reply already in the output buffer, not yet durable.
struct Held {
    /// The write's LSN and the WAL epoch it was given in.
    lsn: u64,
    epoch: u64,
    reply: Range<usize>,
    op: Op,
    /// A first idempotent write (timed on its own as well).
    keyed: bool,
    started: Instant,
}

/// A burst's held replies, waiting for the WAL while the session reads on.
pub struct Deferred {
    held: HeldReplies,
    /// The highest LSN of the current WAL epoch among them (0: none).
    lsn: u64,
}

impl Deferred {
    /// The LSN the replies wait for.
    pub fn lsn(&self) -> u64 {
        self.lsn
    }
}

impl Burst {
    pub(super) fn hold(&mut self, lsn: u64, epoch: u64, reply: Range<usize>, op: Op, keyed: bool, started: Instant) {
        self.held.push(Held { lsn, epoch, reply, op, keyed, started });
    }
}

/// The WAL epoch and the durable LSN within it, read together (the epoch
/// moves only when a failed WAL resumes; the durable LSN of the new epoch
/// then grows past LSNs the old one refused).
fn durable_now(wal: &Wal) -> (u64, u64) {
    loop {
        let epoch = wal.epoch();
        let durable = wal.durable_lsn();
        if wal.epoch() == epoch {
            return (epoch, durable);
        }
    }
}

impl Engine {
    /// Waits until every write of `burst` is durable, so `out` may be sent;
    /// the replies of writes the WAL refused become errors. Records the held
    /// requests' latencies, including the wait. Leaves `burst` empty.
    pub fn settle(&self, burst: &mut Burst, out: &mut Vec<u8>) {
        if burst.held.is_empty() {
            return;
        }
        let mut deferred = self.take_held(burst);
        let waited = match &self.wal {
            Some(wal) if deferred.lsn > 0 => wal.wait_durable(deferred.lsn),
            _ => Ok(()),
        };
        self.release(&mut deferred, out, waited.as_ref().map(|_| ()));
    }

    /// Without blocking: `None` when `out` may be sent now (nothing held,
    /// or every held write durable already; latencies are recorded), else
    /// the held replies, to be finished by [`Engine::finish`] once their LSN
    /// is settled. Leaves `burst` empty.
    pub fn defer(&self, burst: &mut Burst) -> Option<Deferred> {
        if burst.held.is_empty() {
            return None;
        }
        let mut deferred = self.take_held(burst);
        if let Some(wal) = &self.wal {
            if wal.durable_lsn() < deferred.lsn || wal.has_failed() || self.any_refused(wal, &deferred) {
                return Some(deferred);
            }
        }
        self.release(&mut deferred, &mut Vec::new(), Ok(()));
        None
    }

    /// Calls `completion` once `lsn` is durable or never will be, and gets
    /// it committed (see `Wal::when_durable`).
    pub fn when_durable(&self, lsn: u64, completion: Arc<dyn Completion>) {
        match &self.wal {
            Some(wal) => wal.when_durable(lsn, completion),
            None => completion.complete(lsn, Ok(())),
        }
    }

    /// The replies of `deferred`, in `out` (the burst's output as it was
    /// when deferred), once their LSN is settled: the replies of writes the
    /// WAL refused become errors. Takes the state lock when some were
    /// refused (see `degraded`): call it without the WAL's locks.
    pub fn finish(&self, mut deferred: Deferred, out: &mut Vec<u8>, outcome: Result<(), &WalError>) {
        self.release(&mut deferred, out, outcome);
    }

    fn take_held(&self, burst: &mut Burst) -> Deferred {
        let held = std::mem::take(&mut burst.held);
        let lsn = self.wal.as_ref().map_or(0, |wal| {
            let epoch = wal.epoch();
            held.iter().filter(|h| h.epoch == epoch).map(|h| h.lsn).max().unwrap_or(0)
        });
        Deferred { held, lsn }
    }

    /// Whether the WAL refused `held` (judged in its own epoch), given the
    /// WAL's current epoch and durable LSN ([`durable_now`]).
    fn refused(&self, held: &Held, (epoch, durable): (u64, u64)) -> bool {
        match held.epoch == epoch {
            true => held.lsn > durable,
            false => self.epoch_end(held.epoch).is_none_or(|end| held.lsn > end),
        }
    }

    fn any_refused(&self, wal: &Wal, deferred: &Deferred) -> bool {
        let now = durable_now(wal);
        deferred.held.iter().any(|held| self.refused(held, now))
    }

    fn release(&self, deferred: &mut Deferred, out: &mut Vec<u8>, waited: Result<(), &WalError>) {
        if let Some(wal) = &self.wal {
            let now = durable_now(wal);
            // Judged once, before the failure handling below moves anything.
            let refused: SmallVec<[bool; 2]> = deferred.held.iter().map(|held| self.refused(held, now)).collect();
            if refused.contains(&true) {
                // Memory drops the refused writes before anyone is answered.
                self.after_wal_failure();
                let reason = match (waited, wal.failure()) {
                    (Err(error), _) => error.to_string(),
                    (Ok(()), Some(error)) => error.to_string(),
                    (Ok(()), None) => "the WAL failed before these writes were durable".to_string(),
                };
                let error = wal_refuses(&reason);
                let mut rewritten = Vec::with_capacity(out.len());
                let mut copied = 0;
                for (held, _) in deferred.held.iter().zip(&refused).filter(|(_, refused)| **refused) {
                    rewritten.extend_from_slice(&out[copied..held.reply.start]);
                    write_error(&mut rewritten, &error);
                    copied = held.reply.end;
                    self.count_error(Some(held.op));
                }
                rewritten.extend_from_slice(&out[copied..]);
                *out = rewritten;
            }
        }
        for held in deferred.held.drain(..) {
            self.record_latency(Some(held.op), held.started, held.keyed);
        }
    }
}
