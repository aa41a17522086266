//! The snapshots of a data directory: listing, metadata, restore LSN,
//! retention, and writing / reading whole snapshot files.
//!
//! Order is always by the `<unix>` in the file name, newest first, never by
//! mtime or LSN (docs/storage.md, Snapshots); ties are broken by file name so that
//! every listing is deterministic. A `*.tree` whose name does not parse is
//! skipped with a `backup.invalid_name` warning: Karma 1.0 refused to start
//! over one stray `foo.tree`.
//!
//! Writing one snapshot (docs/storage.md, What is durable when; docs/protocol.md, Snapshot ops):
//! 1. the `.tree` is streamed into a temporary file, fsynced, renamed;
//! 2. its sidecar (with the byte count of step 1) likewise;
//! 3. the directory is fsynced, making both renames durable.
//!
//! A crash between 1 and 2 leaves a `.tree` without sidecar; it reads with
//! `last_lsn` 0, and, for a hashed name (whose series is known only from
//! the sidecar), it is skipped as unattributable, which leaves that series'
//! previous snapshot in charge. (A plain name with a `%` written by an older
//! version, `50%25` for `50%`, then reads verbatim, as Karma 1.0 reads it.) Files are only ever replaced whole, so a
//! reader sees an old file or a complete new one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::meta::{IdempotencyMeta, SnapshotMeta};
use super::names::{self, parse_snapshot_file_name, sidecar_file_name, snapshot_file_name};
use super::series_codec;
use super::{MetaError, SnapshotError};
use crate::store::Series;
use crate::util::fs::{fsync_dir, write_atomic, write_atomic_with, Fsync};

/// The idempotency snapshot's file name (docs/storage.md, Idempotency and ingest snapshot).
pub const IDEMPOTENCY_FILE: &str = "karma.idempotency.json";

/// One `.tree` file of the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    /// Absolute path (when the data directory is absolute, as the engine
    /// makes it at startup).
    pub path: PathBuf,
    /// Basename.
    pub file: String,
    /// The `<unix>` of the name.
    pub timestamp: i64,
    /// The series (decoded from the name, or from the sidecar for a hashed
    /// name).
    pub series: String,
    /// File size.
    pub bytes: u64,
}

impl SnapshotFile {
    /// Path of this snapshot's sidecar.
    pub fn sidecar_path(&self) -> PathBuf {
        self.path.with_file_name(sidecar_file_name(&self.file))
    }
}

fn io_error<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> SnapshotError + 'p {
    move |source| SnapshotError::Io { action, path: path.to_path_buf(), source }
}

/// Every `*.tree` regular file directly in `dir`, newest `<unix>` first,
/// ties by name. A missing directory is empty. Names that do not parse,
/// and hashed names whose sidecar is missing or does not match, are
/// skipped with a `backup.invalid_name` warning.
pub fn list_snapshots(dir: &Path) -> io::Result<Vec<SnapshotFile>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let raw_name = entry.file_name();
        let path = entry.path();
        let Some(file) = raw_name.to_str() else {
            if raw_name.as_encoded_bytes().ends_with(names::SNAPSHOT_SUFFIX.as_bytes()) {
                log::warn!(target: "backup.invalid_name", "path={} reason=name is not UTF-8", path.display());
            }
            continue;
        };
        if !file.ends_with(names::SNAPSHOT_SUFFIX) {
            continue;
        }
        // Follows symlinks, as Karma 1.0's `File.file?` did.
        let metadata = match fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => metadata,
            Ok(_) => continue,
            // Removed between readdir and stat (a concurrent prune).
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        match snapshot_file_at(dir, file, metadata.len()) {
            Ok(snapshot) => files.push(snapshot),
            Err(reason) => {
                log::warn!(target: "backup.invalid_name", "path={} reason={reason}", path.display());
            }
        }
    }
    sort_newest_first(&mut files);
    Ok(files)
}

fn sort_newest_first(files: &mut [SnapshotFile]) {
    files.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| a.file.cmp(&b.file)));
}

/// Builds the `SnapshotFile` for `dir/file`, settling through its sidecar
/// a hashed name's series, and whether a plain name with a `%` is an older
/// version's escaped name (see `names`).
fn snapshot_file_at(dir: &Path, file: &str, bytes: u64) -> Result<SnapshotFile, MetaError> {
    let parsed = parse_snapshot_file_name(file)?;
    let path = dir.join(file);
    let series = match (parsed.series, parsed.sidecar_decides) {
        (Some(series), false) => series,
        (spelled, _) => {
            let sidecar = path.with_file_name(sidecar_file_name(file));
            let named = match read_sidecar(&sidecar) {
                Ok(meta) => {
                    meta.map(|meta| meta.series).filter(|named| names::names_series(file, parsed.timestamp, named))
                }
                // A verbatim name stands on its own; the broken sidecar is
                // reported where metadata is read.
                Err(_) if spelled.is_some() => None,
                Err(err) => return Err(MetaError::Sidecar(Box::new(err))),
            };
            match (named, spelled) {
                (Some(named), _) => named,
                (None, Some(verbatim)) => verbatim,
                (None, None) => return Err(MetaError::UnnamedHash),
            }
        }
    };
    Ok(SnapshotFile { path, file: file.to_string(), timestamp: parsed.timestamp, series, bytes })
}

/// The snapshot `file` (a basename already checked with
/// `check_requested_file`) in `dir`, or `None` when it does not exist.
/// For `snapshot.load` / `snapshot.fetch*`: a name that does not parse is
/// `InvalidName`, checked before existence as Karma 1.0 does.
pub fn stat_snapshot(dir: &Path, file: &str) -> Result<Option<SnapshotFile>, SnapshotError> {
    let invalid = |reason| SnapshotError::InvalidName { file: file.to_string(), reason };
    parse_snapshot_file_name(file).map_err(invalid)?;
    let path = dir.join(file);
    let bytes = match fs::metadata(&path) {
        Ok(metadata) if metadata.is_file() => metadata.len(),
        Ok(_) => return Ok(None),
        // A name the file system cannot hold (too long, or with a NUL)
        // names no file: the client's mistake, not a fault of the disk.
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::InvalidFilename | io::ErrorKind::InvalidInput
            ) =>
        {
            return Ok(None)
        }
        Err(err) => return Err(io_error("read", &path)(err)),
    };
    snapshot_file_at(dir, file, bytes)
        .map(Some)
        .map_err(|reason| SnapshotError::InvalidMeta { path: path.with_file_name(sidecar_file_name(file)), reason })
}

/// Reads a `.tree` sidecar; `Ok(None)` when it does not exist.
fn read_sidecar(path: &Path) -> Result<Option<SnapshotMeta>, SnapshotError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error("read", path)(err)),
    };
    SnapshotMeta::from_sidecar_json(&bytes)
        .map(Some)
        .map_err(|err| SnapshotError::InvalidMeta { path: path.to_path_buf(), reason: err.into() })
}

/// The metadata of `snapshot`: its sidecar, or, when that is missing,
/// synthesised as `{series, file, timestamp from the name, last_lsn 0, file
/// size}` (docs/storage.md, Snapshots). A sidecar that does not parse is an error.
pub fn load_meta(snapshot: &SnapshotFile) -> Result<SnapshotMeta, SnapshotError> {
    Ok(read_sidecar(&snapshot.sidecar_path())?.unwrap_or_else(|| SnapshotMeta {
        series: snapshot.series.clone(),
        file: snapshot.file.clone(),
        timestamp: snapshot.timestamp,
        last_lsn: 0,
        bytes: snapshot.bytes,
    }))
}

/// The newest snapshot of each series, the series with the newest snapshot
/// first (`snapshot.info`'s `latest_by_tree`, restore's choice).
pub fn latest_per_series(files: &[SnapshotFile]) -> Vec<&SnapshotFile> {
    let mut sorted: Vec<&SnapshotFile> = files.iter().collect();
    sorted.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| a.file.cmp(&b.file)));
    let mut seen = std::collections::HashSet::new();
    sorted.retain(|file| seen.insert(file.series.as_str()));
    sorted
}

/// The restore LSN of `dir` (docs/storage.md, Snapshots): the smallest `last_lsn`
/// among the newest snapshot of each series; with no snapshot at all, the
/// idempotency sidecar's `last_lsn` (0 when it is missing).
pub fn restore_lsn(dir: &Path) -> Result<u64, SnapshotError> {
    let files = list_snapshots(dir).map_err(io_error("list", dir))?;
    let mut lowest: Option<u64> = None;
    for snapshot in latest_per_series(&files) {
        let lsn = load_meta(snapshot)?.last_lsn;
        lowest = Some(lowest.map_or(lsn, |low| low.min(lsn)));
    }
    match lowest {
        Some(lsn) => Ok(lsn),
        None => Ok(read_idempotency_meta(dir, (0, 0))?.map_or(0, |meta| meta.last_lsn)),
    }
}

/// `snapshot.info`'s `last_snapshot_lsn`: the largest `last_lsn` among the
/// newest snapshot of each series, 0 without snapshots.
pub fn last_snapshot_lsn(dir: &Path) -> Result<u64, SnapshotError> {
    let files = list_snapshots(dir).map_err(io_error("list", dir))?;
    let mut highest = 0;
    for snapshot in latest_per_series(&files) {
        highest = highest.max(load_meta(snapshot)?.last_lsn);
    }
    Ok(highest)
}

/// Retention (docs/protocol.md, Snapshot ops: `snapshot.create_all`): keeps the `keep_per_series`
/// newest snapshots of every series name found in `dir` and removes the
/// others with their sidecars; 0 keeps everything. Returns how many
/// `.tree` files were removed and logs `backup.prune` `removed=<n>` when
/// that is more than 0.
pub fn prune(dir: &Path, keep_per_series: usize) -> io::Result<usize> {
    if keep_per_series == 0 {
        return Ok(0);
    }
    let files = list_snapshots(dir)?;
    let mut kept: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let doomed = files.iter().filter(|file| {
        let count = kept.entry(file.series.as_str()).or_insert(0);
        *count += 1;
        *count > keep_per_series
    });
    let removed = remove_all(dir, doomed)?;
    if removed > 0 {
        log::info!(target: "backup.prune", "removed={removed}");
    }
    Ok(removed)
}

/// Removes every snapshot of `series` (and their sidecars), so that a
/// dropped series stays dropped after a restart (defect D13). Returns how
/// many `.tree` files were removed.
pub fn remove_series_snapshots(dir: &Path, series: &str) -> io::Result<usize> {
    let files = list_snapshots(dir)?;
    remove_all(dir, files.iter().filter(|file| file.series == series))
}

/// Removes each `.tree` and then its sidecar (so no `.tree` is ever left
/// with a missing sidecar by us), then fsyncs the directory once.
fn remove_all<'a>(dir: &Path, doomed: impl Iterator<Item = &'a SnapshotFile>) -> io::Result<usize> {
    let mut removed = 0;
    for file in doomed {
        remove_if_present(&file.path)?;
        remove_if_present(&file.sidecar_path())?;
        removed += 1;
    }
    if removed > 0 {
        fsync_dir(dir)?;
    }
    Ok(removed)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Writes the snapshot of `series_name` taken at `unix` seconds, holding
/// every WAL entry up to `last_lsn`: the `.tree` (streamed, fsynced,
/// renamed), then its sidecar, then a directory fsync. Creates `dir` if
/// needed. Logs `backup.dump` `tree=<name> path=<path>`.
pub fn write_snapshot(
    dir: &Path,
    series_name: &str,
    series: &Series,
    last_lsn: u64,
    unix: i64,
) -> Result<SnapshotMeta, SnapshotError> {
    fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    let file = snapshot_file_name(unix, series_name);
    let path = dir.join(&file);
    let bytes = write_atomic_with(dir, &file, Fsync::File, |out| series_codec::encode_series_into(series, out))
        .map_err(io_error("write", &path))?;
    let meta = SnapshotMeta { series: series_name.to_string(), file, timestamp: unix, last_lsn, bytes };
    let sidecar = meta.sidecar_file_name();
    write_atomic(dir, &sidecar, &meta.to_sidecar_json(), true).map_err(io_error("write", &dir.join(&sidecar)))?;
    log::info!(target: "backup.dump", "tree={series_name} path={}", path.display());
    Ok(meta)
}

/// Reads and decodes a `.tree` file; the error names the file
/// (`Corrupt snapshot <path>: <reason>`).
pub fn read_snapshot(path: &Path) -> Result<Series, SnapshotError> {
    let bytes = fs::read(path).map_err(io_error("read", path))?;
    series_codec::decode_series(&bytes).map_err(|reason| SnapshotError::Corrupt { path: path.to_path_buf(), reason })
}

/// Writes the idempotency snapshot (docs/storage.md, Idempotency and ingest snapshot):
/// `json_payload` (already rendered, ending in `\n`) as `karma.idempotency.json`, then its
/// sidecar with the clock as `timestamp`, then a directory fsync.
pub fn write_idempotency_snapshot(
    dir: &Path,
    json_payload: &[u8],
    last_lsn: u64,
    record_count: u64,
    committed_stream_count: u64,
) -> Result<IdempotencyMeta, SnapshotError> {
    fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    write_atomic_with(dir, IDEMPOTENCY_FILE, Fsync::File, |out| out.write_all(json_payload))
        .map_err(io_error("write", &dir.join(IDEMPOTENCY_FILE)))?;
    let meta = IdempotencyMeta {
        file: IDEMPOTENCY_FILE.to_string(),
        timestamp: unix_now(),
        last_lsn,
        bytes: json_payload.len() as u64,
        record_count,
        committed_stream_count,
    };
    let sidecar = sidecar_file_name(IDEMPOTENCY_FILE);
    write_atomic(dir, &sidecar, &meta.to_sidecar_json(), true).map_err(io_error("write", &dir.join(&sidecar)))?;
    Ok(meta)
}

/// The idempotency snapshot's metadata, `None` when the payload does not
/// exist. Without a sidecar it is synthesised: the payload's mtime as
/// `timestamp`, `last_lsn` 0, its size, and `in_memory_counts` (records,
/// committed streams).
pub fn read_idempotency_meta(
    dir: &Path,
    in_memory_counts: (u64, u64),
) -> Result<Option<IdempotencyMeta>, SnapshotError> {
    let payload = dir.join(IDEMPOTENCY_FILE);
    let metadata = match fs::metadata(&payload) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error("read", &payload)(err)),
    };
    let sidecar = dir.join(sidecar_file_name(IDEMPOTENCY_FILE));
    match fs::read(&sidecar) {
        Ok(bytes) => IdempotencyMeta::from_sidecar_json(&bytes)
            .map(Some)
            .map_err(|err| SnapshotError::InvalidMeta { path: sidecar, reason: err.into() }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let mtime = metadata
                .modified()
                .ok()
                .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX));
            Ok(Some(IdempotencyMeta {
                file: IDEMPOTENCY_FILE.to_string(),
                timestamp: mtime,
                last_lsn: 0,
                bytes: metadata.len(),
                record_count: in_memory_counts.0,
                committed_stream_count: in_memory_counts.1,
            }))
        }
        Err(err) => Err(io_error("read", &sidecar)(err)),
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
