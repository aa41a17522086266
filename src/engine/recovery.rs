//! Recovery checkpoints (docs/protocol.md, Recovery checkpoints and reconciliation;
//! docs/storage.md, Other files).
//!
//! An upstream producer (an export job, a queue consumer) records how far
//! it got per `source` with `recovery.checkpoint` and reads it back with
//! `recovery.status` after a crash, to resume from there. Each checkpoint
//! is replaced whole, so fields left out become `null`.
//!
//! Checkpoints live only in `recovery.json` in the data directory: they
//! are not written to the WAL, not replicated and untouched by snapshots.
//! The caller rewrites the file atomically (temp file, fsync, rename) with
//! [`RecoveryCheckpoints::file_bytes`] after every change, and loads it at
//! every startup; a file that does not parse stops startup.
//!
//! Sources are kept in a `BTreeMap`, whose `String` order is byte order:
//! exactly the order the file and `recovery.status` list them in.

use super::RestoreError;
use crate::util::json_writer::{write_i64, write_opt_str, write_str, write_u64};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;

/// The file name in the data directory.
pub const RECOVERY_FILE: &str = "recovery.json";

/// How far one source got.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Checkpoint {
    pub source: String,
    #[serde(default)]
    pub offset: Option<String>,
    #[serde(default)]
    pub event_id: Option<String>,
    pub updated_at_unix: i64,
}

/// Every source's checkpoint, by source.
///
/// Invariant: each entry's key equals its checkpoint's `source`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryCheckpoints {
    by_source: BTreeMap<String, Checkpoint>,
}

#[derive(Deserialize)]
struct RecoveryFile {
    #[serde(default)]
    checkpoints: Vec<Checkpoint>,
}

impl RecoveryCheckpoints {
    pub fn new() -> RecoveryCheckpoints {
        RecoveryCheckpoints::default()
    }

    /// Reads `dir/recovery.json`. A missing file means no checkpoints; an
    /// existing one is logged as `recovery.load` (`path=… checkpoints=N`).
    /// Unreadable or unparsable files are an error naming the file.
    pub fn load(dir: &Path) -> Result<RecoveryCheckpoints, RestoreError> {
        let path = std::path::absolute(dir.join(RECOVERY_FILE)).unwrap_or_else(|_| dir.join(RECOVERY_FILE));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(RecoveryCheckpoints::new()),
            Err(source) => return Err(RestoreError::Read { path, source }),
        };
        let checkpoints = RecoveryCheckpoints::from_file_bytes(&bytes, &path)?;
        log::info!(target: "recovery.load", "path={} checkpoints={}", path.display(), checkpoints.count());
        Ok(checkpoints)
    }

    /// Parses the contents of a recovery file; `path` is for the message.
    /// A source listed twice keeps its last checkpoint.
    pub fn from_file_bytes(bytes: &[u8], path: &Path) -> Result<RecoveryCheckpoints, RestoreError> {
        let file: RecoveryFile = serde_json::from_slice(bytes)
            .map_err(|source| RestoreError::RecoveryFile { path: path.to_path_buf(), source })?;
        let by_source = file.checkpoints.into_iter().map(|c| (c.source.clone(), c)).collect();
        Ok(RecoveryCheckpoints { by_source })
    }

    /// `recovery.checkpoint`: replaces the source's whole checkpoint and
    /// returns the reply (`{"source":…,"offset":…,"event_id":…,"updated_at_unix":N}`,
    /// nulls written). The caller then rewrites the file.
    pub fn set(&mut self, checkpoint: Checkpoint) -> Vec<u8> {
        let mut reply = Vec::with_capacity(128);
        write_checkpoint(&mut reply, &checkpoint, true);
        log::info!(target: "recovery.checkpoint", "source={}", checkpoint.source);
        self.by_source.insert(checkpoint.source.clone(), checkpoint);
        reply
    }

    /// The checkpoint of `source`.
    pub fn get(&self, source: &str) -> Option<&Checkpoint> {
        self.by_source.get(source)
    }

    /// The contents of `recovery.json`: compact JSON and `\n`, sorted by
    /// source, `offset` / `event_id` left out when null.
    pub fn file_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 96 * self.by_source.len());
        out.extend_from_slice(b"{\"checkpoints\":[");
        for (i, checkpoint) in self.by_source.values().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_checkpoint(&mut out, checkpoint, false);
        }
        out.extend_from_slice(b"]}\n");
        out
    }

    /// The `recovery.status` reply: every checkpoint, or only `source`'s
    /// (zero or one) when given; `checkpoint_count` is the number listed.
    pub fn status_json(&self, source: Option<&str>, out: &mut Vec<u8>) {
        let listed: Vec<&Checkpoint> = match source {
            Some(source) => self.by_source.get(source).into_iter().collect(),
            None => self.by_source.values().collect(),
        };
        out.extend_from_slice(b"{\"checkpoint_count\":");
        write_u64(out, listed.len() as u64);
        out.extend_from_slice(b",\"checkpoints\":[");
        for (i, checkpoint) in listed.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_checkpoint(out, checkpoint, true);
        }
        out.extend_from_slice(b"]}");
    }

    /// `recovery_checkpoint_count`: the number of sources.
    pub fn count(&self) -> usize {
        self.by_source.len()
    }

    /// `recovery_last_checkpoint_unix`: the newest `updated_at_unix`, or 0.
    pub fn last_updated_unix(&self) -> i64 {
        self.by_source.values().map(|c| c.updated_at_unix).max().unwrap_or(0)
    }
}

/// One checkpoint object; `nulls` writes absent fields as `null` (replies)
/// instead of leaving them out (the file).
fn write_checkpoint(out: &mut Vec<u8>, checkpoint: &Checkpoint, nulls: bool) {
    out.extend_from_slice(b"{\"source\":");
    write_str(out, &checkpoint.source);
    for (name, value) in [("offset", &checkpoint.offset), ("event_id", &checkpoint.event_id)] {
        if value.is_some() || nulls {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            write_opt_str(out, value.as_deref());
        }
    }
    out.extend_from_slice(b",\"updated_at_unix\":");
    write_i64(out, checkpoint.updated_at_unix);
    out.push(b'}');
}

#[cfg(test)]
mod tests;
