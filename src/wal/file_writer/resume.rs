//! The way back after a WAL failure: make the files hold exactly the durable
//! records again, check that the disk takes writes, and let the writer go
//! on after the durable LSN.
//!
//! What a failed batch can leave at the end of the active file: nothing, a
//! partial line (the write ran out of space), or whole lines whose fsync
//! failed. None of them was acknowledged (their writers got
//! `internal_error`), so none may come back: everything after the last
//! durable line is overwritten with spaces (a blank line, which replay, the
//! replication reader and Karma 1.0 all skip). The file is overwritten
//! rather than cut because replication readers may have it mapped, and a
//! map of a shortened file faults when read past the new end.
//!
//! Then a probe line of blanks is appended and fsynced: a disk that is still
//! full (or a file at its size limit) fails it, and the WAL stays failed.
//! Sealed segments hold only whole batches that were durable before the
//! failure (rotation happens between batches), so they are left alone.

use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

use crate::util::mutex::Mutex;

use super::{open_active, FileWriter};
use crate::util::fs::sync_dir;
use crate::wal::files;
use crate::wal::line::{parse_line, Line};
use crate::wal::queue::Queue;
use crate::wal::WalError;

/// Bytes of the probe line (one page, so a disk with less room refuses it).
const PROBE_BYTES: usize = 4096;

impl FileWriter {
    /// Makes the active file end at the durable LSN again and proves it can
    /// grow; on success the writer writes again, appending after it. Records
    /// still queued were refused and are dropped. Call only while the WAL
    /// has failed and nothing is appended (the caller holds the lock that
    /// assigns LSNs).
    pub(in crate::wal) fn resume(&mut self, queue: &Mutex<Queue>) -> Result<(), WalError> {
        queue.lock().clear();
        self.taken.clear();
        self.pending.clear();
        let durable = self.state.durable_lsn();
        // Opened by name: a rotation that failed half way may have left the
        // writer's handle on the renamed segment.
        let file = open_active(&self.active_path)?;
        let path = &self.active_path.clone();
        let size = file.metadata().map_err(|e| WalError::io("stat WAL file", path, e))?.len();
        let cut = {
            let map = files::map_file(&file).map_err(|e| WalError::io("map WAL file", path, e))?;
            end_of_durable(&map, durable)
        };
        if cut < size {
            let mut blanks = vec![b' '; (size - cut) as usize];
            *blanks.last_mut().expect("non-empty") = b'\n';
            file.write_all_at(&blanks, cut).map_err(|e| WalError::io("blank refused WAL records in", path, e))?;
        }
        let mut probe = vec![b' '; PROBE_BYTES];
        probe[PROBE_BYTES - 1] = b'\n';
        file.write_all_at(&probe, size).map_err(|e| WalError::io("write WAL file", path, e))?;
        file.sync_all().map_err(|e| WalError::io("fsync WAL file", path, e))?;
        let dir = &self.options.dir;
        sync_dir(dir).map_err(|e| WalError::io("fsync WAL directory", dir, e))?;
        self.write_lsn_file(durable, true)?;
        self.file = file;
        self.active_size = size + PROBE_BYTES as u64;
        self.filled_to = self.active_size;
        self.state.active_bytes.store(self.active_size, Ordering::Relaxed);
        // The (LSN, offset) table is rebuilt from the file at the next
        // rotation.
        self.table.clear();
        self.table_complete = false;
        self.failed = false;
        log::info!(target: "wal.resumed", "path={} lsn={durable} blanked_bytes={}", path.display(), size - cut);
        Ok(())
    }
}

/// The offset just past the last line of `data` that is durable: the start
/// of the first record above `durable`, of a line that cannot be read, or of
/// an unterminated last line, whichever comes first.
fn end_of_durable(data: &[u8], durable: u64) -> u64 {
    let mut start = 0;
    while start < data.len() {
        let Some(newline) = data[start..].iter().position(|&b| b == b'\n') else {
            break; // a partial line
        };
        let end = start + newline;
        match parse_line(&data[start..end]) {
            Ok(Line::Record { lsn, .. }) if lsn <= durable => {}
            // Lines without an LSN (Karma 1.0's v1 lines) were there at start.
            Ok(Line::Blank) | Ok(Line::NoEnvelope(_)) => {}
            _ => break,
        }
        start = end + 1;
    }
    start as u64
}

#[cfg(test)]
mod tests;
