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

use std::ops::Range;
use std::time::Instant;

use super::{wal_refuses, Engine};
use crate::protocol::reply::write_error;
use crate::protocol::Op;
use crate::wal::Wal;

/// The replies of the current burst that wait for the WAL.
#[derive(Default)]
pub struct Burst {
    held: Vec<Held>,
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
        if let Some(wal) = &self.wal {
            let epoch = wal.epoch();
            let highest = burst.held.iter().filter(|h| h.epoch == epoch).map(|h| h.lsn).max();
            let waited = highest.map_or(Ok(()), |lsn| wal.wait_durable(lsn));
            let (epoch, durable) = durable_now(wal);
            let refused: Vec<bool> = burst
                .held
                .iter()
                .map(|held| match held.epoch == epoch {
                    true => held.lsn > durable,
                    false => self.epoch_end(held.epoch).is_none_or(|end| held.lsn > end),
                })
                .collect();
            if refused.contains(&true) {
                // Memory drops the refused writes before anyone is answered.
                self.after_wal_failure();
                let reason = match (waited, wal.failure()) {
                    (Err(error), _) | (Ok(()), Some(error)) => error.0,
                    (Ok(()), None) => "the WAL failed before these writes were durable".to_string(),
                };
                let error = wal_refuses(&reason);
                let mut rewritten = Vec::with_capacity(out.len());
                let mut copied = 0;
                for (held, _) in burst.held.iter().zip(&refused).filter(|(_, refused)| **refused) {
                    rewritten.extend_from_slice(&out[copied..held.reply.start]);
                    write_error(&mut rewritten, &error);
                    copied = held.reply.end;
                    self.count_error(Some(held.op));
                }
                rewritten.extend_from_slice(&out[copied..]);
                *out = rewritten;
            }
        }
        for held in burst.held.drain(..) {
            self.record_latency(Some(held.op), held.started, held.keyed);
        }
    }
}
