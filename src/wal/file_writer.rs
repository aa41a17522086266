//! The file side of the WAL: writing committed batches, rotation into
//! sealed segments, truncation, reset, shutdown (docs/storage.md, What is durable when / The
//! write-ahead log / Other files). A [`FileWriter`] is only ever used by the thread holding the WAL's
//! writer lock (the leader of the moment, see [`super::handle`]).
//!
//! A commit takes everything queued (records already encoded as lines, in
//! LSN order, plus seal marks) and writes it in batches of at most
//! `batch_size` records: a batch first rotates if the active file has
//! reached `segment_bytes` (never in the middle of a batch, so segments hold
//! whole batches of whole lines), is written with one write call straight
//! from the queue's buffer, fsynced once (when on), then `karma.wal.lsn` is
//! rewritten in place and the durable LSN published. A seal mark ends the
//! batch before it and rotates at exactly its place in LSN order.
//!
//! With fsync on, the active file is filled ahead with spaces
//! ([`FILL_BYTES`] at a time, never past `segment_bytes`) and batches are
//! written over the fill, so a batch's `fdatasync` has only data to write:
//! an append also changes the file's size, which costs the fsync one more
//! synchronous device write (the inode) before the cache flush. Measured
//! with the server's data directory on an ext4 of its own (so that the
//! device counters see only it), `--wal-fsync=true`: block-device writes
//! per batch 3.00 -> 2.00 at 1 client and 3.00 -> 2.1 at 32 (the fill's
//! own writes included), voluntary context switches per write 3.5 -> 2.5
//! at 1 client and 1.3-1.6 -> 1.2-1.35 at 32: one wait for the device
//! fewer per batch.
//!
//! The fill is an unterminated blank line, which replay, the replication
//! reader and Karma 1.0 all skip (docs/storage.md), so a directory is
//! readable whatever moment a crash leaves it at; the fill is cut at a
//! clean stop and at open, and a torn write into it is still an
//! unterminated line that is not valid JSON, cut off at startup as before.
//!
//! The writer keeps the (LSN, offset) table of the lines it wrote to the
//! active file, so a segment's `.idx` is written without re-reading the
//! segment. A file that already had content at open is scanned once at
//! rotation instead.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use crate::util::mutex::Mutex;

use super::files;
use super::index;
use super::line::{is_blank, parse_line};
use super::queue::{Item, Queue};
use super::state::WalState;
use super::{WalError, WalOptions};
use crate::util::fs::sync_dir;

mod resume;

/// How far ahead of the last batch the active file is filled with spaces
/// when fsync is on (see the module doc): one fill per ~2,000 small
/// records, small enough that the batch whose fsync writes it stays quick
/// and the replication reader's look for the last line end stays short.
pub(super) const FILL_BYTES: u64 = 256 * 1024;

/// The WAL's files, owned by whoever holds the writer lock.
pub(super) struct FileWriter {
    state: Arc<WalState>,
    options: WalOptions,
    active_path: PathBuf,
    file: File,
    active_size: u64,
    /// Where the active file ends on disk: `active_size` plus the blank
    /// fill ahead of it.
    filled_to: u64,
    /// (LSN, offset) of every line written to the active file, when
    /// `table_complete`; otherwise the file had content we did not index.
    table: Vec<(u64, u64)>,
    table_complete: bool,
    lsn_file: File,
    lsn_path: PathBuf,
    lsn_file_warned: bool,
    /// Length of what was last written to `karma.wal.lsn` (MAX: unknown).
    lsn_file_len: u64,
    /// What the current commit took from the queue (its buffers are handed
    /// back to the queue by the next take, so neither side reallocates).
    taken: Queue,
    /// The batch being written: (LSN, offset of its line in the batch).
    pending: Vec<(u64, u64)>,
    failed: bool,
    /// Shut down: nothing is written any more.
    finished: bool,
}

impl FileWriter {
    pub(super) fn new(
        state: Arc<WalState>,
        options: WalOptions,
        file: File,
        active_size: u64,
        lsn_file: File,
    ) -> FileWriter {
        FileWriter {
            state,
            active_path: files::active_path(&options.dir),
            lsn_path: files::lsn_path(&options.dir),
            options,
            file,
            active_size,
            filled_to: active_size,
            table: Vec::new(),
            table_complete: active_size == 0,
            lsn_file,
            lsn_file_warned: false,
            lsn_file_len: u64::MAX,
            taken: Queue::default(),
            pending: Vec::new(),
            failed: false,
            finished: false,
        }
    }

    /// Takes what is queued (see [`Queue::take_into`]); returns false when
    /// there was nothing to take.
    pub(super) fn take(&mut self, queue: &mut Queue) -> bool {
        queue.take_into(&mut self.taken)
    }

    /// One take from `queue`, committed (outside the queue lock).
    pub(super) fn commit_queued(&mut self, queue: &Mutex<Queue>) {
        let took = self.take(&mut queue.lock());
        if took {
            self.commit_taken();
        }
    }

    /// Writes what [`FileWriter::take`] took, in batches, then empties it. A
    /// writer that failed or finished writes nothing (its waiters are
    /// released with the failure or the shutdown instead).
    pub(super) fn commit_taken(&mut self) {
        let taken = std::mem::take(&mut self.taken);
        let batch_size = self.options.batch_size.max(1);
        let mut batch_start = 0;
        let mut line_start = 0;
        for item in taken.items() {
            match *item {
                Item::Record { lsn, end } => {
                    self.pending.push((lsn, (line_start - batch_start) as u64));
                    line_start = end;
                    if self.pending.len() >= batch_size {
                        self.flush(&taken.lines()[batch_start..line_start]);
                        batch_start = line_start;
                    }
                }
                Item::Seal => {
                    self.flush(&taken.lines()[batch_start..line_start]);
                    batch_start = line_start;
                    self.seal();
                }
            }
        }
        self.flush(&taken.lines()[batch_start..line_start]);
        self.taken = taken;
        self.taken.clear();
    }

    /// Writes one batch (`lines`, whose records are in `pending`): rotate
    /// if due, one write, one fsync, update `karma.wal.lsn`, publish. The
    /// hint goes first so that whoever sees an LSN durable also sees the LSN
    /// file at least that far.
    fn flush(&mut self, lines: &[u8]) {
        if self.pending.is_empty() {
            return;
        }
        if self.failed || self.finished {
            self.pending.clear(); // never written, so never reported durable
            return;
        }
        let count = self.pending.len();
        let last_lsn = self.pending[count - 1].0;
        let result = self.write_batch(lines);
        self.pending.clear();
        if let Err(error) = result {
            self.fail(error);
            return;
        }
        let state = &self.state;
        state.batches.fetch_add(1, Ordering::Relaxed);
        state.records.fetch_add(count as u64, Ordering::Relaxed);
        state.batch_sizes.observe(count as f64);
        self.write_lsn_hint(last_lsn);
        self.state.publish(last_lsn);
    }

    fn write_batch(&mut self, lines: &[u8]) -> Result<(), WalError> {
        let segment_bytes = self.options.segment_bytes;
        if segment_bytes > 0 && self.active_size >= segment_bytes {
            self.rotate()?;
        }
        if let Some(message) = self.state.injected.lock().take() {
            // As the OS would report it: `Cannot write WAL file <path>: <message>`.
            return Err(WalError::io("write WAL file", &self.active_path, std::io::Error::other(message)));
        }
        let base = self.active_size;
        let end = base + lines.len() as u64;
        if self.options.fsync && end > self.filled_to {
            self.fill_ahead(end);
        }
        self.file.write_all_at(lines, base).map_err(|e| WalError::io("write WAL file", &self.active_path, e))?;
        if self.table_complete {
            self.table.extend(self.pending.iter().map(|&(lsn, at)| (lsn, base + at)));
        }
        self.active_size = end;
        self.filled_to = self.filled_to.max(end);
        self.state.active_bytes.store(self.active_size, Ordering::Relaxed);
        if self.options.fsync {
            let started = Instant::now();
            self.file.sync_data().map_err(|e| WalError::io("fsync WAL file", &self.active_path, e))?;
            self.state.fsyncs.fetch_add(1, Ordering::Relaxed);
            self.state.fsync_ms.observe(started.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(())
    }

    /// Fills the active file with spaces from where it ends on disk to
    /// [`FILL_BYTES`] past `end` (at most to `segment_bytes`). Not fsynced
    /// here: the next batch's fsync writes it, with its new size, once. A
    /// failed fill (a full disk, a file-size limit) is not an error: the
    /// batch is then written past the fill and meets the same limit itself.
    fn fill_ahead(&mut self, end: u64) {
        let mut target = end + FILL_BYTES;
        if self.options.segment_bytes > 0 {
            target = target.min(self.options.segment_bytes);
        }
        if target <= end {
            return;
        }
        let blanks = vec![b' '; (target - self.filled_to) as usize];
        match self.file.write_all_at(&blanks, self.filled_to) {
            Ok(()) => self.filled_to = target,
            Err(_) => {
                // Part of it may be there: only what the file holds counts.
                let len = self.file.metadata().map_or(self.filled_to, |m| m.len());
                self.filled_to = len.max(self.active_size);
            }
        }
    }

    /// `karma.wal.lsn` after a batch: rewritten in place, not fsynced (it is
    /// a hint; the WAL lines themselves carry the LSNs). Failures are logged
    /// once and do not fail the WAL.
    fn write_lsn_hint(&mut self, lsn: u64) {
        if let Err(error) = self.write_lsn_file(lsn, false) {
            if !self.lsn_file_warned {
                self.lsn_file_warned = true;
                log::warn!(target: "wal.lsn_file", "{error}");
            }
        }
    }

    fn write_lsn_file(&mut self, lsn: u64, sync: bool) -> Result<(), WalError> {
        let text = format!("{lsn}\n");
        let len = text.len() as u64;
        // Write first, then cut: LSNs only grow, so the new text is never
        // shorter than the old one and a crash leaves a readable number.
        // The cut is needed only when it is shorter (a reset), which saves
        // a syscall on every batch.
        self.lsn_file
            .write_at(text.as_bytes(), 0)
            .and_then(|_| if len < self.lsn_file_len { self.lsn_file.set_len(len) } else { Ok(()) })
            .and_then(|_| if sync { self.lsn_file.sync_all() } else { Ok(()) })
            .map_err(|e| WalError::io("write WAL LSN file", &self.lsn_path, e))?;
        self.lsn_file_len = len;
        Ok(())
    }

    fn fail(&mut self, error: WalError) {
        self.failed = true;
        log::error!(
            target: "wal.writer_stopped",
            "path={} error={error}; writes are refused from now on",
            self.active_path.display()
        );
        self.state.fail(error);
    }

    fn seal(&mut self) {
        if self.failed || self.finished || self.active_size == 0 {
            return;
        }
        if let Err(error) = self.rotate() {
            self.fail(error);
        }
    }

    /// Renames the active file to `karma.wal.<first LSN>.segment`, writes its
    /// `.idx`, and continues in a new empty `karma.wal`.
    fn rotate(&mut self) -> Result<(), WalError> {
        if !self.table_complete {
            self.table = self.scan_active()?;
            self.table_complete = true;
        }
        let Some(&(first_lsn, _)) = self.table.first() else {
            log::warn!(
                target: "wal.segment",
                "path={} has no line with an LSN; not rotated",
                self.active_path.display()
            );
            return Ok(());
        };
        let dir = self.options.dir.clone();
        let segment = files::segment_path(&dir, first_lsn);
        if fs::symlink_metadata(&segment).is_ok() {
            return Err(WalError::SegmentExists(segment));
        }
        fs::rename(&self.active_path, &segment).map_err(|e| WalError::io("rename WAL file to", &segment, e))?;
        self.file = open_active(&self.active_path)?;
        if self.options.fsync {
            sync_dir(&dir).map_err(|e| WalError::io("fsync WAL directory", &dir, e))?;
        }
        // The segment keeps its fill (a blank last line every reader skips):
        // cutting it could fault a replication reader that has it mapped.
        let size = self.filled_to;
        if let Err(error) = index::write(&segment, size, &self.table, self.options.fsync) {
            log::error!(
                target: "wal.segment_index_failed",
                "path={} error={error}",
                index_display(&segment)
            );
        }
        self.table.clear();
        self.active_size = 0;
        self.filled_to = 0;
        let state = &self.state;
        state.active_bytes.store(0, Ordering::Relaxed);
        state.sealed_bytes.fetch_add(size, Ordering::Relaxed);
        state.segments.fetch_add(1, Ordering::Relaxed);
        log::info!(target: "wal.segment", "path={}", segment.display());
        Ok(())
    }

    fn scan_active(&self) -> Result<Vec<(u64, u64)>, WalError> {
        let map = files::map_file(&self.file).map_err(|e| WalError::io("map WAL file", &self.active_path, e))?;
        Ok(index::scan_table(&map))
    }

    pub(super) fn drop_through(&mut self, lsn: u64) -> Result<(), WalError> {
        if let Some(failure) = self.state.failure() {
            return Err(failure);
        }
        // The truncation point first: if we crash after deleting segments,
        // the LSN must not go back.
        self.write_lsn_file(lsn.max(self.state.durable_lsn()), self.options.fsync)?;
        let dir = &self.options.dir;
        let listing = files::list(dir).map_err(|e| WalError::io("list WAL directory", dir, e))?;
        let mut deleted = 0;
        for (first_lsn, segment) in &listing.segments {
            if *first_lsn > lsn {
                break; // holds entries > lsn, and so does every later one
            }
            if !segment_is_through(segment, lsn)? {
                continue;
            }
            let size = fs::metadata(segment).map(|m| m.len()).unwrap_or(0);
            remove_segment(segment)?;
            self.state.sealed_bytes.fetch_sub(size, Ordering::Relaxed);
            self.state.segments.fetch_sub(1, Ordering::Relaxed);
            deleted += 1;
        }
        log::info!(
            target: "wal.truncate",
            "path={} lsn={lsn} segments_deleted={deleted}",
            self.active_path.display()
        );
        Ok(())
    }

    /// Discards every WAL file and continues after `lsn` (a slave that
    /// re-bootstraps: its new snapshots hold everything up to `lsn`).
    pub(super) fn reset(&mut self, lsn: u64) -> Result<(), WalError> {
        if let Some(failure) = self.state.failure() {
            return Err(failure);
        }
        self.seal();
        self.write_lsn_file(lsn, self.options.fsync)?;
        let dir = &self.options.dir;
        let listing = files::list(dir).map_err(|e| WalError::io("list WAL directory", dir, e))?;
        for (_, segment) in &listing.segments {
            remove_segment(segment)?;
        }
        self.state.sealed_bytes.store(0, Ordering::Relaxed);
        self.state.segments.store(0, Ordering::Relaxed);
        self.state.reset_progress(lsn);
        log::info!(target: "wal.reset", "path={} lsn={lsn}", self.active_path.display());
        Ok(())
    }

    /// Shutdown, after the last commit: cut the fill, so the active file
    /// ends at its last line, and fsync it (and `karma.wal.lsn` when fsync
    /// is on) unless the WAL has failed. Nothing is written after this.
    pub(super) fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) || self.failed {
            return;
        }
        if self.filled_to > self.active_size {
            match self.file.set_len(self.active_size) {
                Ok(()) => self.filled_to = self.active_size,
                Err(e) => log::error!(
                    target: "wal.writer_stopped",
                    "{}",
                    WalError::io("cut the blank fill of WAL file", &self.active_path, e)
                ),
            }
        }
        if let Err(e) = self.file.sync_data() {
            log::error!(target: "wal.writer_stopped", "{}", WalError::io("fsync WAL file", &self.active_path, e));
        }
        if let Err(error) = self.write_lsn_file(self.state.durable_lsn(), self.options.fsync) {
            log::warn!(target: "wal.lsn_file", "{error}");
        }
    }
}

/// Opened for positioned writes, not in append mode: batches are written
/// over the fill, before the end of the file.
fn open_active(path: &Path) -> Result<File, WalError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| WalError::io("open WAL file", path, e))
}

fn index_display(segment: &Path) -> String {
    files::index_path(segment).display().to_string()
}

fn remove_segment(segment: &Path) -> Result<(), WalError> {
    files::remove_segment(segment).map_err(|e| WalError::io("delete WAL segment", segment, e))
}

/// True when every entry of `segment` is `<= lsn`, judged by its last entry
/// (LSNs increase through a file). A segment whose last line cannot be read
/// is kept.
fn segment_is_through(segment: &Path, lsn: u64) -> Result<bool, WalError> {
    let file = match File::open(segment) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(WalError::io("open WAL segment", segment, e)),
    };
    let map = files::map_file(&file).map_err(|e| WalError::io("map WAL segment", segment, e))?;
    let mut end = map.len();
    while end > 0 {
        let start = map[..end].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let line = &map[start..end];
        if !is_blank(line) {
            return Ok(matches!(parse_line(line), Ok(super::line::Line::Record { lsn: last, .. }) if last <= lsn));
        }
        end = start.saturating_sub(1);
    }
    Ok(true) // no entries at all
}
