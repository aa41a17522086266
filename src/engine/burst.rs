//! Acknowledging a pipelined burst with one durability wait.
//!
//! A session answers the requests it has read in one go (a burst) with one
//! write to the socket. Each logged write in the burst is applied and queued
//! for the WAL as it comes, but its success reply is held back: the whole
//! burst waits once, for the highest LSN it queued, before anything is sent.
//! So a client pipelining N writes costs one WAL batch (one fsync) instead
//! of N, and still never sees a reply before every write of the burst is
//! durable. If the WAL fails instead, each held-back success is replaced by
//! the `internal_error` a lone request would have got, after memory has
//! dropped the refused writes (see `degraded`); so is a write whose LSN
//! became durable only in a later WAL epoch (handed out again after the WAL
//! resumed from a failure: that LSN is another write).

use std::ops::Range;
use std::time::Instant;

use super::{wal_refuses, Engine};
use crate::protocol::reply::write_error;
use crate::protocol::Op;
use crate::wal::WalError;

/// The replies of the current burst that wait for the WAL.
#[derive(Default)]
pub struct Burst {
    held: Vec<Held>,
    /// The highest LSN the held replies wait for.
    lsn: u64,
    /// The WAL epoch of the first held reply, and whether another held
    /// reply had a different one.
    epoch: Option<u64>,
    mixed_epochs: bool,
}

/// One success reply already in the output buffer, not yet durable.
struct Held {
    reply: Range<usize>,
    op: Op,
    /// A first idempotent write (timed on its own as well).
    keyed: bool,
    started: Instant,
}

impl Burst {
    pub(super) fn hold(&mut self, lsn: u64, epoch: u64, reply: Range<usize>, op: Op, keyed: bool, started: Instant) {
        self.lsn = self.lsn.max(lsn);
        self.mixed_epochs |= *self.epoch.get_or_insert(epoch) != epoch;
        self.held.push(Held { reply, op, keyed, started });
    }
}

impl Engine {
    /// Waits until every write of `burst` is durable, so `out` may be sent;
    /// if the WAL failed, their replies in `out` become errors. Records the
    /// held requests' latencies, including the wait. Leaves `burst` empty.
    pub fn settle(&self, burst: &mut Burst, out: &mut Vec<u8>) {
        if burst.held.is_empty() {
            return;
        }
        let failure = match &self.wal {
            Some(wal) => wal.wait_durable(burst.lsn).err().or_else(|| {
                let resumed = burst.mixed_epochs || burst.epoch != Some(wal.epoch());
                resumed.then(|| WalError("the WAL failed before these writes were durable".to_string()))
            }),
            None => None,
        };
        if let Some(failure) = failure {
            self.after_wal_failure();
            let error = wal_refuses(&failure.0);
            let mut rewritten = Vec::with_capacity(out.len());
            let mut copied = 0;
            for held in &burst.held {
                rewritten.extend_from_slice(&out[copied..held.reply.start]);
                write_error(&mut rewritten, &error);
                copied = held.reply.end;
                self.count_error(Some(held.op));
            }
            rewritten.extend_from_slice(&out[copied..]);
            *out = rewritten;
        }
        for held in burst.held.drain(..) {
            self.record_latency(Some(held.op), held.started, held.keyed);
        }
        burst.lsn = 0;
        burst.epoch = None;
        burst.mixed_epochs = false;
    }
}
