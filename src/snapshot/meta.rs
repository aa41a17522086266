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

use crate::protocol::write::write_str;

/// Metadata of one `.tree` snapshot (docs/storage.md, Snapshots).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnapshotMeta {
    /// The series name (the real one, also for hashed file names).
    pub tree: String,
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
        let mut out = Vec::with_capacity(96 + self.tree.len() + self.file.len());
        out.extend_from_slice(b"{\"tree\":");
        write_str(&mut out, &self.tree);
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
    pub fn from_sidecar_json(bytes: &[u8]) -> Result<SnapshotMeta, String> {
        serde_json::from_slice(bytes).map_err(|err| err.to_string())
    }

    /// Appends the reply form used by `snapshot.info` / `snapshot.fetch*`:
    /// `{"tree","file","timestamp","bytes","last_lsn","metadata_file"}`.
    pub fn write_reply_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"tree\":");
        write_str(out, &self.tree);
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
    pub fn from_sidecar_json(bytes: &[u8]) -> Result<IdempotencyMeta, String> {
        serde_json::from_slice(bytes).map_err(|err| err.to_string())
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
mod tests {
    use super::*;

    fn api_meta() -> SnapshotMeta {
        SnapshotMeta {
            tree: "api".to_string(),
            file: "1795245397_api.tree".to_string(),
            timestamp: 1795245397,
            last_lsn: 1,
            bytes: 56,
        }
    }

    #[test]
    fn sidecar_bytes_are_exact() {
        assert_eq!(
            String::from_utf8(api_meta().to_sidecar_json()).unwrap(),
            "{\"tree\":\"api\",\"file\":\"1795245397_api.tree\",\"timestamp\":1795245397,\"last_lsn\":1,\"bytes\":56}\n"
        );
    }

    #[test]
    fn reply_form_is_exact() {
        let mut out = Vec::new();
        api_meta().write_reply_json(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"tree\":\"api\",\"file\":\"1795245397_api.tree\",\"timestamp\":1795245397,\"bytes\":56,\"last_lsn\":1,\"metadata_file\":\"1795245397_api.tree.meta.json\"}"
        );
    }

    #[test]
    fn sidecar_round_trips_and_ignores_extra_fields() {
        let meta = api_meta();
        assert_eq!(SnapshotMeta::from_sidecar_json(&meta.to_sidecar_json()), Ok(meta.clone()));
        let with_extra = br#"{"bytes":56,"extra":[1,2],"last_lsn":1,"timestamp":1795245397,"file":"1795245397_api.tree","tree":"api"}"#;
        assert_eq!(SnapshotMeta::from_sidecar_json(with_extra), Ok(meta));
    }

    #[test]
    fn sidecar_requires_every_field() {
        let missing = br#"{"tree":"api","file":"1795245397_api.tree","timestamp":1795245397,"bytes":56}"#;
        assert_eq!(
            SnapshotMeta::from_sidecar_json(missing),
            Err("missing field `last_lsn` at line 1 column 77".to_string())
        );
    }

    #[test]
    fn idempotency_sidecar_and_reply_are_exact() {
        let meta = IdempotencyMeta {
            file: "karma.idempotency.json".to_string(),
            timestamp: 1795245233,
            last_lsn: 23,
            bytes: 682,
            record_count: 2,
            committed_stream_count: 1,
        };
        let sidecar = meta.to_sidecar_json();
        assert_eq!(
            String::from_utf8(sidecar.clone()).unwrap(),
            "{\"file\":\"karma.idempotency.json\",\"timestamp\":1795245233,\"last_lsn\":23,\"bytes\":682,\"record_count\":2,\"committed_stream_count\":1}\n"
        );
        assert_eq!(IdempotencyMeta::from_sidecar_json(&sidecar), Ok(meta.clone()));
        let mut out = Vec::new();
        meta.write_reply_json(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"file\":\"karma.idempotency.json\",\"timestamp\":1795245233,\"bytes\":682,\"last_lsn\":23,\"record_count\":2,\"committed_stream_count\":1}"
        );
    }

    #[test]
    fn a_series_name_with_quotes_survives_the_sidecar() {
        let meta = SnapshotMeta { tree: "we\"ird\n/name".to_string(), ..api_meta() };
        assert_eq!(SnapshotMeta::from_sidecar_json(&meta.to_sidecar_json()), Ok(meta));
    }
}
