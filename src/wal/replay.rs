//! Reading the WAL at startup: every entry in order for replay, the torn-tail
//! repair, and LSN recovery (docs/storage.md, Startup).
//!
//! Files are visited in WAL order (segments, then `karma.wal`) through
//! read-only maps, so entries are handed to the visitor without copying.
//! A crash in the middle of a write can only damage the end of the last
//! file: an unterminated last line that is not valid JSON is cut off there
//! (logged as `wal.torn_tail`). Anything unreadable elsewhere is corruption
//! and stops startup with the file and line named.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::files;
pub use super::files::wal_files;
use super::line::{parse_line, parse_line_strict, Line};
use super::WalError;

/// One WAL entry as replay sees it.
#[derive(Debug, Clone, Copy)]
pub struct WalRecord<'a> {
    pub lsn: u64,
    /// The raw entry object's JSON text (compact; key order as written).
    pub entry: &'a str,
    /// The file holding it.
    pub file: &'a Path,
    /// 1-based line number within `file`.
    pub line: usize,
}

/// What a replay went through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplaySummary {
    /// Entries handed to the visitor.
    pub records: u64,
    /// LSN of the first entry (0 when there was none).
    pub first_lsn: u64,
    /// LSN of the last entry (0 when there was none).
    pub last_lsn: u64,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// Whether a torn last line was cut off.
    pub torn_tail_cut: bool,
}

fn corrupt(path: &Path, line: usize, reason: &str) -> WalError {
    WalError::CorruptLine { path: path.to_path_buf(), line, reason: reason.to_string() }
}

/// Visits every entry in order (blank lines skipped). A torn tail (the last
/// line of the last file, without `\n`, not valid JSON) is cut off, the file
/// fsynced, and `wal.torn_tail` logged. Any other unparsable line, or a line
/// without `lsn`/`entry`, fails with `Corrupt WAL line at <path>:<line>:
/// <reason>`. An error returned by `visit` stops the replay and is returned
/// as is; the caller's error type takes the WAL's own failures too.
pub fn for_each_record<E: From<WalError>>(
    dir: &Path,
    visit: impl FnMut(WalRecord<'_>) -> Result<(), E>,
) -> Result<ReplaySummary, E> {
    visit_records(dir, true, visit)
}

/// Like [`for_each_record`] but never writes: an unterminated, unparsable
/// last line (a write in flight, or a torn tail) is left alone and not
/// visited. For `snapshot.verify` on a live node.
pub fn scan_records<E: From<WalError>>(
    dir: &Path,
    visit: impl FnMut(WalRecord<'_>) -> Result<(), E>,
) -> Result<ReplaySummary, E> {
    visit_records(dir, false, visit)
}

fn visit_records<E: From<WalError>>(
    dir: &Path,
    repair: bool,
    mut visit: impl FnMut(WalRecord<'_>) -> Result<(), E>,
) -> Result<ReplaySummary, E> {
    let paths = wal_files(dir).map_err(|e| WalError::io("list WAL directory", dir, e))?;
    let mut summary = ReplaySummary::default();
    for (number, path) in paths.iter().enumerate() {
        let is_last = number + 1 == paths.len();
        let file = File::open(path).map_err(|e| WalError::io("open WAL file", path, e))?;
        let map = files::map_file(&file).map_err(|e| WalError::io("map WAL file", path, e))?;
        let mut torn = None;
        let mut start = 0;
        let mut line_no = 0;
        while start < map.len() {
            line_no += 1;
            let newline = map[start..].iter().position(|&b| b == b'\n');
            let end = newline.map_or(map.len(), |p| start + p);
            let line = &map[start..end];
            // Only an unterminated line can be torn; validate it fully.
            let parsed = if newline.is_some() { parse_line(line) } else { parse_line_strict(line) };
            match parsed {
                Ok(Line::Blank) => {}
                Ok(Line::Record { lsn, entry }) => {
                    let entry =
                        std::str::from_utf8(&entry).map_err(|_| corrupt(path, line_no, "entry is not valid UTF-8"))?;
                    visit(WalRecord { lsn, entry, file: path, line: line_no })?;
                    if summary.records == 0 {
                        summary.first_lsn = lsn;
                    }
                    summary.records += 1;
                    summary.last_lsn = lsn;
                }
                Ok(Line::NoEnvelope(reason)) => return Err(corrupt(path, line_no, reason).into()),
                Err(_) if newline.is_none() && is_last => torn = Some((start, line_no, line.len())),
                Err(error) => return Err(corrupt(path, line_no, &error.to_string()).into()),
            }
            start = end + 1;
        }
        // The map must be gone before the file shrinks under it.
        drop(map);
        if let Some((keep, line, bytes)) = torn.filter(|_| repair) {
            cut_torn_tail(path, keep as u64)?;
            log::warn!(target: "wal.torn_tail", "path={} line={line} bytes={bytes}", path.display());
            summary.torn_tail_cut = true;
        }
        if repair {
            log::info!(target: "wal.replay", "path={}", path.display());
        }
        summary.files.push(path.clone());
    }
    Ok(summary)
}

fn cut_torn_tail(path: &Path, keep: u64) -> Result<(), WalError> {
    let file = OpenOptions::new().write(true).open(path).map_err(|e| WalError::io("open WAL file", path, e))?;
    file.set_len(keep).map_err(|e| WalError::io("truncate WAL file", path, e))?;
    file.sync_all().map_err(|e| WalError::io("fsync WAL file", path, e))
}

/// The current LSN at startup (docs/storage.md, Startup, with the fix that the
/// lsn file is current): max(`karma.wal.lsn`, last LSN in the WAL files).
/// Normally reads only the last entry of the last non-empty file; falls back
/// to scanning every line when that entry cannot be read. A torn last line
/// is ignored here (replay or [`super::Wal::open`] cuts it).
pub fn recover_lsn(dir: &Path) -> Result<u64, WalError> {
    let hint = read_lsn_file(dir)?.unwrap_or(0);
    let paths = wal_files(dir).map_err(|e| WalError::io("list WAL directory", dir, e))?;
    for (number, path) in paths.iter().enumerate().rev() {
        let is_last = number + 1 == paths.len();
        match last_entry_lsn(path, is_last)? {
            Tail::Lsn(lsn) => return Ok(hint.max(lsn)),
            Tail::NoEntries => continue,
            Tail::Unreadable => return Ok(hint.max(scan_max_lsn(&paths)?)),
        }
    }
    Ok(hint)
}

enum Tail {
    Lsn(u64),
    NoEntries,
    Unreadable,
}

fn last_entry_lsn(path: &Path, is_last: bool) -> Result<Tail, WalError> {
    let file = File::open(path).map_err(|e| WalError::io("open WAL file", path, e))?;
    let map = files::map_file(&file).map_err(|e| WalError::io("map WAL file", path, e))?;
    let mut end = map.len();
    let mut terminated = map.last() == Some(&b'\n');
    while end > 0 {
        if map[end - 1] == b'\n' {
            end -= 1;
        }
        let start = map[..end].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let line = &map[start..end];
        let parsed = if terminated { parse_line(line) } else { parse_line_strict(line) };
        match parsed {
            Ok(Line::Blank) => {}
            Ok(Line::Record { lsn, .. }) => return Ok(Tail::Lsn(lsn)),
            Err(_) if !terminated && is_last => {} // torn tail: look before it
            Ok(Line::NoEnvelope(_)) | Err(_) => return Ok(Tail::Unreadable),
        }
        terminated = true;
        end = start;
    }
    Ok(Tail::NoEntries)
}

/// Largest LSN on any line of any file (lines without an LSN count as 0).
fn scan_max_lsn(paths: &[PathBuf]) -> Result<u64, WalError> {
    let mut max = 0;
    for (number, path) in paths.iter().enumerate() {
        let is_last = number + 1 == paths.len();
        let file = File::open(path).map_err(|e| WalError::io("open WAL file", path, e))?;
        let map = files::map_file(&file).map_err(|e| WalError::io("map WAL file", path, e))?;
        let mut start = 0;
        let mut line_no = 0;
        while start < map.len() {
            line_no += 1;
            let newline = map[start..].iter().position(|&b| b == b'\n');
            let end = newline.map_or(map.len(), |p| start + p);
            let line = &map[start..end];
            let parsed = if newline.is_some() { parse_line(line) } else { parse_line_strict(line) };
            match parsed {
                Ok(Line::Record { lsn, .. }) => max = max.max(lsn),
                Ok(Line::Blank) | Ok(Line::NoEnvelope(_)) => {}
                Err(_) if newline.is_none() && is_last => {}
                Err(error) => return Err(corrupt(path, line_no, &error.to_string())),
            }
            start = end + 1;
        }
    }
    Ok(max)
}

/// Reads `karma.wal.lsn` (docs/storage.md, Other files): `None` when missing, 0 when
/// empty; anything but a u64 (after trimming ASCII whitespace) is
/// `Invalid WAL LSN file <path>`.
pub fn read_lsn_file(dir: &Path) -> Result<Option<u64>, WalError> {
    let path = files::lsn_path(dir);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WalError::io("read WAL LSN file", &path, e)),
    };
    let invalid = || WalError::InvalidLsnFile(path.clone());
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() {
        return Ok(Some(0));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    text.parse().map(Some).map_err(|_| invalid())
}

#[cfg(test)]
mod tests;
