//! Sidecar metadata: `<file>.meta.json` next to every `.tree`, and
//! `karma.idempotency.json.meta.json` next to the idempotency snapshot.
//!
//! Both are one line of compact JSON plus `\n`, keys in the order of the
//! examples in docs/storage.md (Snapshots; Idempotency and ingest
//! snapshot), because a Karma 1.0 peer reads them and tests compare bytes.
//! Readers require every field and ignore extra ones.
//! Protocol replies render the same data in another key order
//! (`write_reply_json`), which is why rendering is written by hand here
//! rather than derived.

use std::io::Write as _;

use serde::Deserialize;

use crate::util::json_writer::write_str;

/// Metadata of one series snapshot (a `.tree` file) (docs/storage.md, Snapshots).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnapshotMeta {
    /// The series name (the real one, also for hashed file names); the
    /// sidecar's `tree` field.
    #[serde(rename = "tree")]
    pub series: String,
    /// Basename of the `.tree` file.
    pub file: String,
    /// The `<unix>` of the file name (not the clock).
    pub timestamp: i64,
    /// The snapshot holds the effect of every WAL entry with LSN <= this.
    pub last_lsn: u64,
    /// Size of the `.tree` file in bytes.
    pub bytes: u64,
}

impl SnapshotMeta {
    /// The sidecar's basename: `<file>.meta.json`.
    pub fn sidecar_file_name(&self) -> String {
        super::names::sidecar_file_name(&self.file)
    }

    /// The sidecar's bytes: compact JSON, keys
    /// `tree,file,timestamp,last_lsn,bytes`, then `\n`.
    pub fn to_sidecar_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.series.len() + self.file.len());
        out.extend_from_slice(b"{\"tree\":");
        write_str(&mut out, &self.series);
        out.extend_from_slice(b",\"file\":");
        write_str(&mut out, &self.file);
        push_fmt(
            &mut out,
            format_args!(
                ",\"timestamp\":{},\"last_lsn\":{},\"bytes\":{}}}\n",
                self.timestamp, self.last_lsn, self.bytes
            ),
        );
        out
    }

    /// Parses a sidecar. The error is serde_json's message.
    pub fn from_sidecar_json(bytes: &[u8]) -> Result<SnapshotMeta, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Appends the reply form used by `snapshot.info` / `snapshot.fetch*`:
    /// `{"tree","file","timestamp","bytes","last_lsn","metadata_file"}`.
    pub fn write_reply_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"tree\":");
        write_str(out, &self.series);
        out.extend_from_slice(b",\"file\":");
        write_str(out, &self.file);
        push_fmt(
            out,
            format_args!(
                ",\"timestamp\":{},\"bytes\":{},\"last_lsn\":{},\"metadata_file\":",
                self.timestamp, self.bytes, self.last_lsn
            ),
        );
        write_str(out, &self.sidecar_file_name());
        out.push(b'}');
    }
}

/// Metadata of the idempotency snapshot (docs/storage.md, Idempotency and ingest snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdempotencyMeta {
    /// Always `karma.idempotency.json`.
    pub file: String,
    /// Clock (Unix seconds) when written; the payload's mtime when
    /// synthesised.
    pub timestamp: i64,
    /// As for `.tree` sidecars.
    pub last_lsn: u64,
    /// Size of the payload in bytes.
    pub bytes: u64,
    /// In-memory record count when the sidecar was written.
    pub record_count: u64,
    /// In-memory committed-stream count when the sidecar was written.
    pub committed_stream_count: u64,
}

impl IdempotencyMeta {
    /// The sidecar's bytes: compact JSON, keys
    /// `file,timestamp,last_lsn,bytes,record_count,committed_stream_count`,
    /// then `\n`.
    pub fn to_sidecar_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"{\"file\":");
        write_str(&mut out, &self.file);
        push_fmt(
            &mut out,
            format_args!(
                ",\"timestamp\":{},\"last_lsn\":{},\"bytes\":{},\"record_count\":{},\"committed_stream_count\":{}}}\n",
                self.timestamp, self.last_lsn, self.bytes, self.record_count, self.committed_stream_count
            ),
        );
        out
    }

    /// Parses a sidecar. The error is serde_json's message.
    pub fn from_sidecar_json(bytes: &[u8]) -> Result<IdempotencyMeta, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Appends the reply form used by `snapshot.info` and
    /// `idempotency.snapshot_fetch_chunk`: `{"file","timestamp","bytes",
    /// "last_lsn","record_count","committed_stream_count"}`.
    pub fn write_reply_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"file\":");
        write_str(out, &self.file);
        push_fmt(
            out,
            format_args!(
                ",\"timestamp\":{},\"bytes\":{},\"last_lsn\":{},\"record_count\":{},\"committed_stream_count\":{}}}",
                self.timestamp, self.bytes, self.last_lsn, self.record_count, self.committed_stream_count
            ),
        );
    }
}

/// Appends formatted text (numbers) to a byte buffer.
fn push_fmt(out: &mut Vec<u8>, args: std::fmt::Arguments<'_>) {
    // Writing into a Vec cannot fail.
    let _ = out.write_fmt(args);
}

#[cfg(test)]
mod tests;
