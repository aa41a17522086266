//! The write path of a logged op: apply, log, then acknowledge. The
//! request's fingerprint is computed at most once and handed down; an
//! idempotent write is checked against its key (`keyed_write`) before it is
//! applied (`apply`), and its reply remembered after.

use super::apply::apply_command;
use super::{keyed_write, wal_refuses, Engine, Executed};
use crate::protocol::entry::write_entry;
use crate::protocol::fingerprint::Fingerprint;
use crate::protocol::{write, Command, CommandError, Request};
use crate::util::time::unix_now;
use std::cell::Cell;

thread_local! {
    /// The WAL line of the write being logged, kept by each session thread
    /// between writes: the WAL copies the line into its queue, so a fresh
    /// vector per write was an allocation and a free for nothing.
    static ENTRY_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The most an [`EntryBuffer`] keeps between writes; a big batch's line
/// is let go.
const KEEP_ENTRY_BYTES: usize = 64 << 10;

/// The thread's WAL-line buffer, empty, while a write uses it; it goes
/// back when dropped, whichever way the write ends.
struct EntryBuffer(Vec<u8>);

impl EntryBuffer {
    fn take() -> EntryBuffer {
        let mut buffer = ENTRY_BUFFER.take();
        buffer.clear();
        EntryBuffer(buffer)
    }
}

impl Drop for EntryBuffer {
    fn drop(&mut self) {
        if self.0.capacity() <= KEEP_ENTRY_BYTES {
            ENTRY_BUFFER.set(std::mem::take(&mut self.0));
        }
    }
}

impl Engine {
    /// Apply, log, then acknowledge: the write is applied and its LSN
    /// assigned and handed to the WAL under the state lock (so WAL order =
    /// apply order); the caller is answered only once it is durable. An
    /// idempotent write that was seen before answers its saved reply.
    pub(super) fn execute_logged(&self, request: &Request<'_>, body: &mut Vec<u8>) -> Result<Executed, CommandError> {
        let stamped;
        let mut request = request;
        // The commit time is decided once, here, and logged, so replay and
        // slaves record the master's time, not their own.
        if let Command::IngestCommit(write::IngestCommit { stream_id, .. }) = &request.command {
            let now = unix_now().max(0) as u64;
            let command = Command::IngestCommit(write::IngestCommit {
                stream_id: stream_id.clone(),
                committed_at_unix: Some(now),
            });
            stamped = Request { command, ..request.clone() };
            request = &stamped;
        }
        let fingerprint = Fingerprint::new(request.op, &request.command);
        let keyed = keyed_write::keyed(request, &fingerprint)?;
        let created_at = keyed.as_ref().map(|_| unix_now());
        let entry = self.wal.as_ref().map(|_| {
            let mut entry = EntryBuffer::take();
            write_entry(&mut entry.0, request, created_at.map(|t| t.max(0) as u64));
            entry
        });
        let (lsn, wal_epoch) = {
            let mut state = self.state.lock();
            self.wal_writable(&mut state, false)?;
            // Stable while the state lock is held (the WAL resumes only
            // under it).
            let wal_epoch = self.wal_epoch();
            if let Some(keyed) = &keyed {
                if keyed_write::lookup(&state, &self.metrics, keyed, body)? {
                    // The saved reply is only true once the original write
                    // (perhaps still in flight on another connection) is durable.
                    let durable_at = self.wal.as_ref().map(|_| state.last_lsn);
                    return Ok(Executed { idempotent: Some(true), durable_at, wal_epoch });
                }
            }
            apply_command(&mut state, &self.metrics, &request.command, &fingerprint, &|_| true, body)?;
            if let (Some(keyed), Some(created_at)) = (&keyed, created_at) {
                keyed_write::remember(&mut state, &self.metrics, keyed, request.op, created_at, created_at, body);
            }
            match (&self.wal, entry) {
                (Some(wal), Some(mut entry)) => {
                    if keyed.is_some() {
                        keyed_write::save_reply_in_entry(&mut entry.0, body);
                    }
                    let lsn = state.last_lsn + 1;
                    state.last_lsn = lsn;
                    if let Err(error) = wal.append(lsn, &entry.0) {
                        // The WAL failed since the check above: this write
                        // is applied in memory only, so memory goes back to
                        // the durable state (a failed reload is logged, and
                        // reads stay refused until one succeeds).
                        let _ = self.wal_writable(&mut state, false);
                        return Err(wal_refuses(&error.to_string()));
                    }
                    (Some(lsn), wal_epoch)
                }
                _ => (None, wal_epoch),
            }
        };
        Ok(Executed { idempotent: keyed.map(|_| false), durable_at: lsn, wal_epoch })
    }
}
