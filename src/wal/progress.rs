//! What the WAL's waiters wait on: the durable LSN, a failure, and who is
//! waiting for which LSN.

use std::sync::Arc;

use super::WalError;

/// Told once whether an LSN became durable: `Ok` when it is (written, and
/// fsynced when fsync is on), `Err` when it never will be (the WAL failed
/// or shut down first). Called by the committing thread right after the
/// batch, so it must not block.
pub trait Completion: Send + Sync {
    fn complete(&self, lsn: u64, outcome: Result<(), &WalError>);
}

pub(super) struct Progress {
    pub(super) durable: u64,
    pub(super) failure: Option<WalError>,
    pub(super) stopped: bool,
    /// What waits for an LSN. A batch releases only those it made
    /// durable (a condvar would wake every waiter on every batch, and most
    /// would go back to sleep: on a busy node that doubled the context
    /// switches per write).
    pub(super) waiters: Vec<(u64, Waiter)>,
}

/// A caller blocked in `wait_durable`, or a completion to call.
pub(super) enum Waiter {
    Thread(std::thread::Thread),
    Completion(Arc<dyn Completion>),
}

impl Progress {
    /// Takes the waiters whose LSN is durable (all of them when `all`).
    pub(super) fn take_ready(&mut self, all: bool) -> Vec<(u64, Waiter)> {
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
