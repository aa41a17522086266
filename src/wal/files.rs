//! Names of the WAL files in the data directory and their order
//! (docs/storage.md, Files / The write-ahead log), plus the small file helpers every part of the
//! WAL shares.
//!
//! The WAL is the sealed segments `karma.wal.<first LSN>.segment`, ordered by
//! the numeric value of `<first LSN>` (any run of digits is accepted; we write
//! 20 zero-padded digits), followed by the active `karma.wal`. Sidecars
//! (`.idx`), `karma.wal.lsn` and names whose middle is not a u64 are not WAL
//! files.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::util::fs::sync_dir;

/// The active file every append goes to.
pub const ACTIVE_NAME: &str = "karma.wal";
/// The LSN hint file (docs/storage.md, Other files).
pub const LSN_NAME: &str = "karma.wal.lsn";

const SEGMENT_PREFIX: &str = "karma.wal.";
const SEGMENT_SUFFIX: &str = ".segment";

/// Path of the active WAL file in `dir`.
pub fn active_path(dir: &Path) -> PathBuf {
    dir.join(ACTIVE_NAME)
}

/// Path of `karma.wal.lsn` in `dir`.
pub fn lsn_path(dir: &Path) -> PathBuf {
    dir.join(LSN_NAME)
}

/// Path of the sealed segment whose first entry is `first_lsn`.
pub fn segment_path(dir: &Path, first_lsn: u64) -> PathBuf {
    dir.join(format!("{SEGMENT_PREFIX}{first_lsn:020}{SEGMENT_SUFFIX}"))
}

/// Path of a segment's offset index: the segment path plus `.idx`.
pub fn index_path(segment: &Path) -> PathBuf {
    let mut name = segment.as_os_str().to_owned();
    name.push(".idx");
    PathBuf::from(name)
}

/// The first LSN encoded in a segment file name, or `None` when `name` is
/// not a segment name (sidecars, `karma.wal.lsn`, non-numeric middles).
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let middle = name.strip_prefix(SEGMENT_PREFIX)?.strip_suffix(SEGMENT_SUFFIX)?;
    if middle.is_empty() || !middle.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    middle.parse().ok()
}

/// The WAL files of a directory, split the way readers need them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Listing {
    /// Sealed segments as (first LSN from the name, path), in WAL order.
    pub segments: Vec<(u64, PathBuf)>,
    /// `karma.wal`, when it exists.
    pub active: Option<PathBuf>,
}

impl Listing {
    /// All files in WAL order (segments, then the active file).
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.segments.iter().map(|(_, p)| p.clone()).collect();
        paths.extend(self.active.iter().cloned());
        paths
    }
}

/// Lists the WAL files of `dir`. A missing directory is an empty WAL.
pub fn list(dir: &Path) -> io::Result<Listing> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Listing::default()),
        Err(err) => return Err(err),
    };
    let mut listing = Listing::default();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_active = name == ACTIVE_NAME;
        let first = parse_segment_name(name);
        if !is_active && first.is_none() {
            continue;
        }
        // A file can vanish between readdir and stat (rotation, truncation);
        // it is then simply not part of this listing.
        match entry.file_type() {
            Ok(kind) if kind.is_file() => {}
            Ok(_) => continue,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        }
        match first {
            Some(first) => listing.segments.push((first, entry.path())),
            None => listing.active = Some(entry.path()),
        }
    }
    // Ties (e.g. `1` and `0001`) cannot come from our writer; order them by
    // name so every reader sees the same sequence.
    listing.segments.sort();
    Ok(listing)
}

/// Lists WAL files in order (docs/storage.md, The write-ahead log): segments by numeric first
/// LSN, then `karma.wal`. `.idx`, `.lsn` and non-u64 middles are excluded.
pub fn wal_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(list(dir)?.paths())
}

/// Deletes every WAL file of `dir` (segments with their `.idx`, the active
/// file, `karma.wal.lsn`): for a slave whose state was just replaced by a
/// bootstrap, so an older local log is never replayed over it. Only called
/// before the WAL is opened.
pub fn remove_all(dir: &Path) -> io::Result<()> {
    let listing = list(dir)?;
    for (_, segment) in &listing.segments {
        remove_segment(segment)?;
    }
    for path in listing.active.iter().cloned().chain([lsn_path(dir)]) {
        remove_if_present(&path)?;
    }
    sync_dir(dir)
}

/// Deletes a sealed segment: its `.idx` first, so no sidecar outlives it.
/// Files already gone are fine.
pub fn remove_segment(segment: &Path) -> io::Result<()> {
    remove_if_present(&index_path(segment))?;
    remove_if_present(segment)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Maps a whole file read-only. Empty files give an empty map.
///
/// Safety of the map: WAL files are only ever appended to while this
/// process runs (the torn-tail cut happens at startup, before any reader;
/// after a WAL failure refused records are overwritten in place, never cut),
/// and deleting or renaming a mapped file leaves the mapping valid.
pub fn map_file(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: see above; no file we map is truncated while mapped.
    unsafe { memmap2::Mmap::map(file) }
}

/// Appends the decimal digits of a `u64` to a buffer without formatting
/// machinery (this runs once per WAL line).
pub use crate::util::json_writer::write_u64 as push_u64;

/// Number of decimal digits of `value`.
pub fn decimal_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 10 {
        value /= 10;
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests;
