//! Snapshot ops (docs/protocol.md, Snapshot ops) and the
//! `snapshot.create_all` sequence behind SIGUSR1 and shutdown.
//!
//! `create_all`, in order: under the state lock (first resuming a failed
//! WAL, or refusing), copy every series and the current LSN and ask the WAL
//! to seal its active file there (so later writes land in a new file);
//! outside the lock wait until that LSN is durable (a snapshot never holds
//! a write the WAL may yet refuse), then write each `.tree` +
//! sidecar and the idempotency snapshot (temp file, fsync, rename, fsync
//! the directory); remove the snapshots of series that no longer exist (a
//! dropped series stays dropped); only then drop WAL segments whose entries
//! are all at or below the copied LSN; finally apply retention. Writes that
//! arrive meanwhile are in the new WAL file and are never dropped. One
//! snapshot runs at a time.

use super::Engine;
use crate::protocol::{read, write, CommandError, ErrorCode};
use crate::snapshot::{self, SnapshotError, SnapshotFile};
use crate::store::Series;
use crate::util::json_writer::{write_bool, write_str, write_u64};
use crate::util::time::unix_now;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::collections::HashSet;
use std::time::Instant;

fn snapshot_error(error: SnapshotError) -> CommandError {
    CommandError::internal(error.to_string())
}

fn io_error(error: std::io::Error) -> CommandError {
    CommandError::internal(error.to_string())
}

impl Engine {
    /// `snapshot.create`: one series, no truncation, no pruning.
    pub(super) fn snapshot_series(
        &self,
        args: &write::SnapshotCreate<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        let name: &str = &args.series;
        let (copy, lsn, epoch) = {
            let mut state = self.state.lock();
            self.durable_reads(&mut state)?;
            let series = state.store.get(name).ok_or_else(|| CommandError::series_not_found(name))?;
            (series.clone(), state.last_lsn, self.wal_epoch())
        };
        self.wait_durable_copy(lsn, epoch)?;
        snapshot::write_snapshot(&self.config.directory, name, &copy, lsn, unix_now()).map_err(snapshot_error)?;
        write_str(out, &format!("Tree \"{name}\" saved"));
        Ok(())
    }

    /// `snapshot.create_all`.
    pub(super) fn snapshot_create_all(
        &self,
        _: &write::SnapshotCreateAll<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        self.snapshot_all()?;
        out.extend_from_slice(b"\"OK\"");
        Ok(())
    }

    /// The `snapshot.create_all` sequence (see the module doc).
    pub fn snapshot_all(&self) -> Result<(), CommandError> {
        let _one_at_a_time = self.snapshot_lock.lock();
        let started = Instant::now();
        let result = self.snapshot_all_locked();
        self.metrics.snapshot_ms.0.observe(started.elapsed().as_secs_f64() * 1000.0);
        match &result {
            Ok(()) => self.metrics.snapshot_count.inc(),
            Err(error) => {
                self.metrics.snapshot_failures.inc();
                log::error!(target: "backup.failed", "{}", error.message);
            }
        }
        result
    }

    fn snapshot_all_locked(&self) -> Result<(), CommandError> {
        let dir = &self.config.directory;
        let (copies, lsn, idempotency, epoch) = {
            let mut state = self.state.lock();
            self.wal_writable(&mut state, true)?;
            let copies: Vec<(String, Series)> =
                state.store.iter().map(|(name, series)| (name.to_string(), series.clone())).collect();
            if let Some(wal) = &self.wal {
                wal.seal().map_err(|e| CommandError::internal(e.to_string()))?;
            }
            (copies, state.last_lsn, self.idempotency_payload(&state), self.wal_epoch())
        };
        self.wait_durable_copy(lsn, epoch)?;
        let now = unix_now();
        for (name, series) in &copies {
            snapshot::write_snapshot(dir, name, series, lsn, now).map_err(snapshot_error)?;
        }
        let (payload, records, streams) = idempotency;
        snapshot::write_idempotency_snapshot(dir, &payload, lsn, records, streams).map_err(snapshot_error)?;
        let live: HashSet<&str> = copies.iter().map(|(name, _)| name.as_str()).collect();
        let stale: HashSet<String> = snapshot::list_snapshots(dir)
            .map_err(io_error)?
            .into_iter()
            .filter(|file| !live.contains(file.series.as_str()))
            .map(|file| file.series)
            .collect();
        for series in stale {
            snapshot::remove_series_snapshots(dir, &series).map_err(io_error)?;
        }
        if let Some(wal) = &self.wal {
            wal.drop_through(lsn).map_err(|e| CommandError::internal(e.to_string()))?;
        }
        snapshot::prune(dir, self.config.snapshot_retention_per_series).map_err(io_error)?;
        Ok(())
    }

    /// Waits until everything a copy taken at `lsn` (in WAL epoch `epoch`)
    /// holds is durable, so no snapshot keeps a write the WAL refused.
    fn wait_durable_copy(&self, lsn: u64, epoch: u64) -> Result<(), CommandError> {
        let Some(wal) = &self.wal else {
            return Ok(());
        };
        let durable =
            wal.wait_durable(lsn).map_err(|error| error.to_string()).and_then(|()| match wal.epoch() == epoch {
                true => Ok(()),
                false => Err("the WAL failed before the copied writes were durable".to_string()),
            });
        durable.map_err(|reason| {
            self.after_wal_failure();
            super::wal_refuses(&reason)
        })
    }

    /// `snapshot.list`: absolute paths, newest first.
    pub(super) fn snapshot_list(&self, _: &read::SnapshotList<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let files = snapshot::list_snapshots(&self.config.directory).map_err(io_error)?;
        out.push(b'[');
        for (i, file) in files.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, &file.path.to_string_lossy());
        }
        out.push(b']');
        Ok(())
    }

    /// `latest_by_tree` and `last_snapshot_lsn` of `snapshot.info`.
    pub(super) fn write_latest_snapshots(&self, out: &mut Vec<u8>) -> Result<u64, CommandError> {
        let files = snapshot::list_snapshots(&self.config.directory).map_err(io_error)?;
        let mut last = 0;
        out.push(b'[');
        for (i, file) in snapshot::latest_per_series(&files).into_iter().enumerate() {
            let meta = snapshot::load_meta(file).map_err(snapshot_error)?;
            last = last.max(meta.last_lsn);
            if i > 0 {
                out.push(b',');
            }
            meta.write_reply_json(out);
        }
        out.push(b']');
        Ok(last)
    }

    /// `snapshot.info`.
    pub(super) fn snapshot_info(&self, _: &read::SnapshotInfo<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let snapshot_files = snapshot::list_snapshots(&self.config.directory).map_err(io_error)?.len();
        out.extend_from_slice(b"{\"dump_count\":");
        write_u64(out, snapshot_files as u64);
        out.extend_from_slice(b",\"latest_by_tree\":");
        let last = self.write_latest_snapshots(out)?;
        out.extend_from_slice(b",\"idempotency_snapshot\":");
        match snapshot::read_idempotency_meta(&self.config.directory, self.idempotency_counts())
            .map_err(snapshot_error)?
        {
            Some(meta) => meta.write_reply_json(out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"last_snapshot_lsn\":");
        write_u64(out, last);
        out.extend_from_slice(b",\"wal_enabled\":");
        write_bool(out, self.config.wal);
        out.extend_from_slice(b",\"wal_bytes\":");
        write_u64(out, self.wal_bytes());
        out.extend_from_slice(b",\"wal_current_lsn\":");
        write_u64(out, self.current_lsn());
        out.extend_from_slice(b",\"dump_retention_per_tree\":");
        write_u64(out, self.config.snapshot_retention_per_series as u64);
        out.push(b'}');
        Ok(())
    }

    /// Finds a requested snapshot file; the name is checked before existence.
    fn requested_snapshot(&self, file: &str) -> Result<Option<SnapshotFile>, CommandError> {
        snapshot::stat_snapshot(&self.config.directory, file).map_err(|error| match error {
            SnapshotError::InvalidName { .. } => CommandError::validation(format!("Invalid dump file name \"{file}\"")),
            other => snapshot_error(other),
        })
    }

    /// `snapshot.load`: replaces the series, then snapshots it at the
    /// current LSN so the load survives a restart (Karma 1.0 lost it).
    pub(super) fn snapshot_load(&self, args: &write::SnapshotLoad<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let file: &str = &args.file;
        let found = self.requested_snapshot(file)?;
        let parsed = snapshot::parse_snapshot_file_name(file)
            .map_err(|_| CommandError::validation(format!("Invalid dump file name \"{file}\"")))?;
        let Some(found) = found else {
            let series = parsed.series.unwrap_or_else(|| file.to_string());
            return Err(CommandError::not_found(format!("Dump \"{series}\" not found")));
        };
        let series = snapshot::read_snapshot(&found.path).map_err(snapshot_error)?;
        let (copy, lsn) = {
            let mut state = self.state.lock();
            let copy = series.clone();
            state.store.insert(&found.series, series);
            (copy, state.last_lsn)
        };
        snapshot::write_snapshot(&self.config.directory, &found.series, &copy, lsn, unix_now().max(found.timestamp))
            .map_err(snapshot_error)?;
        write_str(out, &format!("Tree \"{}\" loaded", found.series));
        Ok(())
    }

    fn existing_snapshot(&self, file: &str) -> Result<SnapshotFile, CommandError> {
        self.requested_snapshot(file)?.ok_or_else(|| CommandError::not_found(format!("Snapshot \"{file}\" not found")))
    }

    /// `snapshot.fetch`: the whole file, base64.
    pub(super) fn snapshot_fetch(&self, args: &read::SnapshotFetch<'_>, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let found = self.existing_snapshot(&args.file)?;
        let meta = snapshot::load_meta(&found).map_err(snapshot_error)?;
        let bytes = std::fs::read(&found.path).map_err(io_error)?;
        out.extend_from_slice(b"{\"metadata\":");
        meta.write_reply_json(out);
        out.extend_from_slice(b",\"data_base64\":\"");
        out.extend_from_slice(STANDARD.encode(&bytes).as_bytes());
        out.extend_from_slice(b"\"}");
        Ok(())
    }

    /// `snapshot.fetch_chunk`.
    pub(super) fn snapshot_fetch_chunk(
        &self,
        args: &read::SnapshotFetchChunk<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        let limit = args.limit.get()?;
        let found = self.existing_snapshot(&args.file)?;
        let meta = snapshot::load_meta(&found).map_err(snapshot_error)?;
        let mut head = Vec::new();
        meta.write_reply_json(&mut head);
        write_chunk(&found.path, args.offset, limit, &head, "Field offset exceeds snapshot size", out)
    }
}

impl Engine {
    /// `idempotency.snapshot_fetch_chunk` (docs/protocol.md, Snapshot ops).
    pub(super) fn idempotency_fetch_chunk(
        &self,
        args: &read::IdempotencySnapshotFetchChunk<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        let limit = args.limit.get()?;
        let dir = &self.config.directory;
        let path = dir.join(snapshot::IDEMPOTENCY_FILE);
        let meta = snapshot::read_idempotency_meta(dir, self.idempotency_counts()).map_err(snapshot_error)?;
        let Some(meta) = meta.filter(|_| path.is_file()) else {
            return Err(CommandError::not_found("Idempotency snapshot not found"));
        };
        let mut head = Vec::new();
        meta.write_reply_json(&mut head);
        write_chunk(&path, args.offset, limit, &head, "Field offset exceeds idempotency snapshot size", out)
    }
}

/// Renders a `{"metadata":…,"offset",…,"data_base64"}` chunk of `path`.
pub(super) fn write_chunk(
    path: &std::path::Path,
    offset: u64,
    limit: usize,
    metadata: &[u8],
    past_end: &str,
    out: &mut Vec<u8>,
) -> Result<(), CommandError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let total = file.metadata().map_err(io_error)?.len();
    if offset > total {
        return Err(CommandError::new(ErrorCode::ValidationError, past_end));
    }
    file.seek(SeekFrom::Start(offset)).map_err(io_error)?;
    let mut data = Vec::with_capacity(limit.min((total - offset) as usize));
    file.take(limit as u64).read_to_end(&mut data).map_err(io_error)?;
    let next = offset + data.len() as u64;
    out.extend_from_slice(b"{\"metadata\":");
    out.extend_from_slice(metadata);
    out.extend_from_slice(b",\"offset\":");
    write_u64(out, offset);
    out.extend_from_slice(b",\"limit\":");
    write_u64(out, limit as u64);
    out.extend_from_slice(b",\"bytes\":");
    write_u64(out, data.len() as u64);
    out.extend_from_slice(b",\"total_bytes\":");
    write_u64(out, total);
    out.extend_from_slice(b",\"next_offset\":");
    write_u64(out, next);
    out.extend_from_slice(b",\"done\":");
    write_bool(out, next >= total);
    out.extend_from_slice(b",\"data_base64\":\"");
    out.extend_from_slice(STANDARD.encode(&data).as_bytes());
    out.extend_from_slice(b"\"}");
    Ok(())
}
