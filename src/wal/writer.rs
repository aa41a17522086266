//! The WAL handle the engine and the sessions share, and the state it
//! shares with the writer thread ([`super::thread`]).
//!
//! Callers only ever queue messages and wait on the published durable LSN;
//! all file I/O happens on the writer thread. Invariants:
//!
//! - `durable <= last_appended`, and `durable` only grows;
//! - once `failure` is set it is never cleared, and no LSN above the
//!   `durable` value at that moment is ever reported durable;
//! - after `shutdown`, no message is processed any more and waiters of
//!   non-durable LSNs are released with an error.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use super::files::{self, io_error};
use super::line::{is_blank, parse_line_strict};
use super::thread::{Message, Writer};
use super::{WalError, WalOptions, WalStats};
use crate::metrics::{Histogram, LATENCY_MS_BOUNDS, SIZE_BOUNDS};

/// The write-ahead log: a handle to the writer thread. `Send + Sync`;
/// share it with `Arc`.
pub struct Wal {
    pub(super) shared: Arc<Shared>,
    sender: Sender<Message>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What the handle and the writer thread share.
pub(super) struct Shared {
    progress: Mutex<Progress>,
    /// Mirror of `progress.durable` for lock-free reads.
    durable: AtomicU64,
    last_appended: AtomicU64,
    failed: AtomicBool,
    /// Set when shutdown starts: appends are refused from then on.
    closing: AtomicBool,
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

struct Progress {
    durable: u64,
    failure: Option<WalError>,
    stopped: bool,
    /// Callers blocked in `wait_durable`, with the LSN each waits for. A
    /// batch wakes only those it made durable (a condvar would wake every
    /// waiter on every batch, and most would go back to sleep: on a busy
    /// node that doubled the context switches per write).
    waiters: Vec<(u64, std::thread::Thread)>,
}

impl Progress {
    /// Takes the waiters whose LSN is durable (all of them when `all`).
    fn take_ready(&mut self, all: bool) -> Vec<std::thread::Thread> {
        let durable = self.durable;
        let mut ready = Vec::new();
        self.waiters.retain(|(lsn, thread)| {
            let done = all || *lsn <= durable;
            if done {
                ready.push(thread.clone());
            }
            !done
        });
        ready
    }
}

/// Wakes threads taken from the waiter list (outside the lock).
fn wake(threads: Vec<std::thread::Thread>) {
    for thread in threads {
        thread.unpark();
    }
}

impl Shared {
    /// Publishes `lsn` as durable and wakes every waiter.
    pub(super) fn publish(&self, lsn: u64) {
        let mut progress = self.progress.lock();
        progress.durable = progress.durable.max(lsn);
        self.durable.store(progress.durable, Ordering::Release);
        let ready = progress.take_ready(false);
        drop(progress);
        wake(ready);
    }

    /// Sets both LSNs to `lsn` after a reset (nobody is waiting: the
    /// caller holds the state lock and has no write in flight).
    pub(super) fn reset_progress(&self, lsn: u64) {
        let mut progress = self.progress.lock();
        progress.durable = lsn;
        self.durable.store(lsn, Ordering::Release);
        self.last_appended.store(lsn, Ordering::Release);
        let ready = progress.take_ready(true);
        drop(progress);
        wake(ready);
    }

    /// Records the sticky failure and releases every waiter.
    pub(super) fn fail(&self, error: WalError) {
        let mut progress = self.progress.lock();
        if progress.failure.is_none() {
            progress.failure = Some(error);
        }
        self.failed.store(true, Ordering::Release);
        let ready = progress.take_ready(true);
        drop(progress);
        wake(ready);
    }

    pub(super) fn failure(&self) -> Option<WalError> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.progress.lock().failure.clone()
    }

    pub(super) fn durable_lsn(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// The writer thread has exited: nothing more becomes durable.
    pub(super) fn mark_stopped(&self) {
        let mut progress = self.progress.lock();
        progress.stopped = true;
        let ready = progress.take_ready(true);
        drop(progress);
        wake(ready);
    }
}

fn shut_down_error() -> WalError {
    WalError("WAL is shut down".to_string())
}

impl Wal {
    /// Opens (creating the directory and file if needed) for appending after
    /// `last_lsn` and starts the writer thread. If `karma.wal` ends in a
    /// complete line without `\n`, one is appended first; an unterminated
    /// line that is not valid JSON (a torn write) is cut off and logged.
    pub fn open(options: WalOptions, last_lsn: u64) -> Result<Wal, WalError> {
        let dir = std::path::absolute(&options.dir).map_err(|e| io_error("resolve WAL directory", &options.dir, &e))?;
        fs::create_dir_all(&dir).map_err(|e| io_error("create WAL directory", &dir, &e))?;
        let active_path = files::active_path(&dir);
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&active_path)
            .map_err(|e| io_error("open WAL file", &active_path, &e))?;
        let active_size = repair_tail(&file, &active_path, options.fsync)?;
        let lsn_path = files::lsn_path(&dir);
        let lsn_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lsn_path)
            .map_err(|e| io_error("open WAL LSN file", &lsn_path, &e))?;
        let text = format!("{last_lsn}\n");
        lsn_file
            .write_at(text.as_bytes(), 0)
            .and_then(|_| lsn_file.set_len(text.len() as u64))
            .map_err(|e| io_error("write WAL LSN file", &lsn_path, &e))?;
        let listing = files::list(&dir).map_err(|e| io_error("list WAL directory", &dir, &e))?;
        let mut sealed_bytes = 0;
        for (_, segment) in &listing.segments {
            sealed_bytes += fs::metadata(segment).map(|m| m.len()).unwrap_or(0);
        }

        let shared = Arc::new(Shared {
            progress: Mutex::new(Progress { durable: last_lsn, failure: None, stopped: false, waiters: Vec::new() }),
            durable: AtomicU64::new(last_lsn),
            last_appended: AtomicU64::new(last_lsn),
            failed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            batches: AtomicU64::new(0),
            records: AtomicU64::new(0),
            fsyncs: AtomicU64::new(0),
            sealed_bytes: AtomicU64::new(sealed_bytes),
            active_bytes: AtomicU64::new(active_size),
            segments: AtomicUsize::new(listing.segments.len()),
            batch_sizes: Histogram::new(SIZE_BOUNDS),
            fsync_ms: Histogram::new(LATENCY_MS_BOUNDS),
            injected: Mutex::new(None),
        });
        let (sender, receiver): (Sender<Message>, Receiver<Message>) = crossbeam_channel::unbounded();
        let writer =
            Writer::new(Arc::clone(&shared), WalOptions { dir: dir.clone(), ..options }, file, active_size, lsn_file);
        let thread = std::thread::Builder::new()
            .name("karma-wal".to_string())
            .spawn(move || writer.run(receiver))
            .map_err(|e| io_error("start the WAL writer for", &dir, &e))?;
        Ok(Wal { shared, sender, thread: Mutex::new(Some(thread)) })
    }

    /// Hands one entry to the writer; never blocks on I/O. `lsn` must be the
    /// previous appended LSN + 1. Fails at once (and queues nothing) when the
    /// WAL has failed or is shut down.
    pub fn append(&self, lsn: u64, entry: Vec<u8>) -> Result<(), WalError> {
        self.check_open()?;
        debug_assert_eq!(
            lsn,
            self.shared.last_appended.load(Ordering::Relaxed) + 1,
            "WAL appends must arrive in LSN order"
        );
        self.shared.last_appended.store(lsn, Ordering::Release);
        self.sender.send(Message::Record { lsn, entry }).map_err(|_| shut_down_error())
    }

    /// Blocks until `lsn` is durable (written, and fsynced when fsync is
    /// on). Fails when the WAL failed or shut down before that, or when
    /// `lsn` was never appended.
    pub fn wait_durable(&self, lsn: u64) -> Result<(), WalError> {
        if self.shared.durable_lsn() >= lsn {
            return Ok(());
        }
        if lsn > self.last_appended_lsn() {
            return Err(WalError(format!(
                "WAL LSN {lsn} was never appended (last appended: {})",
                self.last_appended_lsn()
            )));
        }
        let mut progress = self.shared.progress.lock();
        loop {
            if progress.durable >= lsn {
                return Ok(());
            }
            if let Some(failure) = &progress.failure {
                return Err(failure.clone());
            }
            if progress.stopped {
                return Err(shut_down_error());
            }
            // Parked until the writer makes `lsn` durable (or fails); a
            // spurious wake-up just checks again.
            progress.waiters.push((lsn, std::thread::current()));
            drop(progress);
            std::thread::park();
            progress = self.shared.progress.lock();
        }
    }

    /// The highest LSN known to be durable.
    pub fn durable_lsn(&self) -> u64 {
        self.shared.durable_lsn()
    }

    /// The LSN of the last record handed to [`Wal::append`].
    pub fn last_appended_lsn(&self) -> u64 {
        self.shared.last_appended.load(Ordering::Acquire)
    }

    /// The sticky failure, once the WAL has failed.
    pub fn failure(&self) -> Option<WalError> {
        self.shared.failure()
    }

    /// Queued in LSN order like an append (call it under the state lock):
    /// once every record appended so far is written, the active file (if
    /// non-empty) is sealed into a segment, so the next record starts a new
    /// file. Does not wait; a later [`Wal::drop_through`] observes it done.
    pub fn seal(&self) -> Result<(), WalError> {
        self.check_open()?;
        self.sender.send(Message::Seal).map_err(|_| shut_down_error())
    }

    /// Deletes every sealed segment (and its `.idx`) whose entries are all
    /// `<= lsn` and records `lsn` as the truncation point in `karma.wal.lsn`
    /// (fsynced when fsync is on). Never touches entries `> lsn`. Blocks
    /// until done.
    /// Discards every WAL file and continues after `lsn`: for a slave that
    /// re-bootstraps from snapshots holding everything up to `lsn`. The
    /// caller holds the state lock, so nothing is appended meanwhile.
    pub fn reset(&self, lsn: u64) -> Result<(), WalError> {
        self.check_open()?;
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.sender.send(Message::Reset { lsn, reply }).map_err(|_| shut_down_error())?;
        answer.recv().map_err(|_| shut_down_error())?
    }

    pub fn drop_through(&self, lsn: u64) -> Result<(), WalError> {
        self.check_open()?;
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.sender.send(Message::DropThrough { lsn, reply }).map_err(|_| shut_down_error())?;
        answer.recv().map_err(|_| shut_down_error())?
    }

    /// Counters for stats and metrics.
    pub fn stats(&self) -> WalStats {
        let shared = &self.shared;
        WalStats {
            bytes: shared.sealed_bytes.load(Ordering::Relaxed) + shared.active_bytes.load(Ordering::Relaxed),
            durable_lsn: self.durable_lsn(),
            last_appended_lsn: self.last_appended_lsn(),
            batches: shared.batches.load(Ordering::Relaxed),
            records: shared.records.load(Ordering::Relaxed),
            fsyncs: shared.fsyncs.load(Ordering::Relaxed),
            batch_sizes: shared.batch_sizes.snapshot(),
            fsync_ms: shared.fsync_ms.snapshot(),
            segments: shared.segments.load(Ordering::Relaxed),
            failure: self.failure().map(|f| f.0),
        }
    }

    /// Writes everything queued, fsyncs, and stops the writer thread.
    /// Idempotent; later appends fail.
    pub fn shutdown(&self) {
        let Some(thread) = self.thread.lock().take() else {
            return;
        };
        self.shared.closing.store(true, Ordering::Release);
        // If the thread is already gone the send fails; joining is enough.
        let _ = self.sender.send(Message::Shutdown);
        if thread.join().is_err() {
            log::error!(target: "wal.writer_stopped", "the WAL writer thread panicked");
        }
    }

    fn check_open(&self) -> Result<(), WalError> {
        if let Some(failure) = self.shared.failure() {
            return Err(failure);
        }
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(shut_down_error());
        }
        Ok(())
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Makes `karma.wal` end with `\n` before anything is appended (PERSISTENCE.md
/// 3.14): a complete unterminated last line gets its `\n`; a torn one (not
/// valid JSON) is cut off. Returns the resulting file size.
fn repair_tail(file: &fs::File, path: &Path, fsync: bool) -> Result<u64, WalError> {
    let size = file.metadata().map_err(|e| io_error("stat WAL file", path, &e))?.len();
    if size == 0 {
        return Ok(0);
    }
    let map = files::map_file(file).map_err(|e| io_error("map WAL file", path, &e))?;
    if map.last() == Some(&b'\n') {
        return Ok(size);
    }
    let line_start = map.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let tail = &map[line_start..];
    let complete = is_blank(tail) || parse_line_strict(tail).is_ok();
    let tail_len = tail.len();
    drop(map);
    let new_size = if complete {
        let mut writer = file;
        std::io::Write::write_all(&mut writer, b"\n").map_err(|e| io_error("write WAL file", path, &e))?;
        size + 1
    } else {
        file.set_len(line_start as u64).map_err(|e| io_error("truncate WAL file", path, &e))?;
        let line = line_number_at(file, line_start);
        log::warn!(target: "wal.torn_tail", "path={} line={line} bytes={tail_len}", path.display());
        line_start as u64
    };
    if fsync {
        file.sync_data().map_err(|e| io_error("fsync WAL file", path, &e))?;
    }
    Ok(new_size)
}

/// 1-based number of the line starting at byte `at` (for the log line).
fn line_number_at(file: &fs::File, at: usize) -> usize {
    match files::map_file(file) {
        Ok(map) => map[..at.min(map.len())].iter().filter(|&&b| b == b'\n').count() + 1,
        Err(_) => 0,
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
pub(crate) mod tests;
