//! The typed `response` values of the ops (docs/protocol.md sections 7 to 12).
//! Large status objects whose fields grow with the server (`system.stats`,
//! `snapshot.info`, ...) come back as JSON objects instead.

use serde::Deserialize;
use serde_json::{Map, Value};

/// A JSON object reply, numbers kept exact (`u64` where they fit).
pub type Object = Map<String, Value>;

/// One `{key, value}` of `counter.batch_sum` and `tree.top`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct KeyValue {
    pub key: u64,
    pub value: u64,
}

/// One `{series, key, value}` of `counter.multi_sum`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SeriesKeyValue {
    pub series: String,
    pub key: u64,
    pub value: u64,
}

/// `counter.batch_delete_range`: keys whose in-range buckets were deleted,
/// and keys that had no buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct BatchDeleted {
    pub deleted: u64,
    pub missing: u64,
}

/// `counter.batch_reset`: keys emptied, and keys that had no buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct BatchReset {
    pub reset: u64,
    pub missing: u64,
}

/// `series.batch_add`: items applied and the sum of their values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct BatchAdded {
    pub applied: u64,
    pub total: u64,
}

/// `series.batch_set`: items applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct BatchSet {
    pub applied: u64,
}

/// `tree.info`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SeriesInfo {
    #[serde(rename = "tree")]
    pub series: String,
    /// Every key, empty counters included.
    pub key_count: u64,
    pub bucket_count: u64,
    pub total: u64,
}

/// One `{key, total}` of `tree.keys`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct KeyTotal {
    pub key: u64,
    pub total: u64,
}

/// One page of `tree.keys`: pass `next_cursor` back as the cursor of the
/// next page; `None` means this was the last page.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct KeysPage {
    #[serde(rename = "tree")]
    pub series: String,
    pub limit: u64,
    pub cursor: Option<u64>,
    pub next_cursor: Option<u64>,
    pub keys: Vec<KeyTotal>,
}

/// `tree.summary`; `range_from`/`range_to` are set when a range was given.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SeriesSummary {
    #[serde(rename = "tree")]
    pub series: String,
    #[serde(default)]
    pub range_from: Option<u64>,
    #[serde(default)]
    pub range_to: Option<u64>,
    pub total: u64,
    pub active_keys: u64,
    pub bucket_count: u64,
}

/// `tree.top`: keys by value, highest first.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Top {
    #[serde(rename = "tree")]
    pub series: String,
    pub limit: u64,
    pub items: Vec<KeyValue>,
}

/// The state of an ingest stream (`ingest.begin`, `ingest.commit`,
/// `ingest.abort`). `mode`, `series` and `granularity` are present in the
/// full status object (`ingest.begin`, or a commit of a committed stream).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct StreamStatus {
    pub stream_id: String,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub series: Option<String>,
    #[serde(default)]
    pub granularity: Option<String>,
    /// `active`, `already_committed`, `committed` or `aborted`.
    pub status: String,
    pub last_chunk_seq: u64,
}

/// `ingest.chunk`: `skipped` for a chunk already applied (then
/// `committed` says whether its stream was committed).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ChunkResult {
    pub stream_id: String,
    pub chunk_seq: u64,
    pub skipped: bool,
    #[serde(default)]
    pub committed: Option<bool>,
    pub applied: u64,
    pub total: u64,
}

/// `recovery.checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Checkpoint {
    pub source: String,
    pub offset: Option<String>,
    pub event_id: Option<String>,
    pub updated_at_unix: u64,
}

/// `system.health`; fields beyond the protocol's four are kept in `other`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Health {
    pub status: String,
    pub uptime_seconds: f64,
    pub role: String,
    pub wal_enabled: bool,
    #[serde(flatten)]
    pub other: Object,
}

/// One chunk of a file (`snapshot.fetch_chunk`,
/// `idempotency.snapshot_fetch_chunk`): `data_base64` holds `bytes` bytes
/// from `offset`; fetch again from `next_offset` until `done`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FileChunk {
    pub metadata: Object,
    pub offset: u64,
    pub limit: u64,
    pub bytes: u64,
    pub total_bytes: u64,
    pub next_offset: u64,
    pub done: bool,
    pub data_base64: String,
}

/// A whole snapshot file (`snapshot.fetch`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SnapshotFile {
    pub metadata: Object,
    pub data_base64: String,
}

/// One page of `replication.entries`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EntriesPage {
    pub after_lsn: u64,
    pub limit: u64,
    pub byte_limit: Option<u64>,
    pub entries_bytes: u64,
    pub truncated_by_bytes: bool,
    pub count: u64,
    pub source_lsn: u64,
    pub entries: Vec<WalEntry>,
    pub next_lsn: u64,
}

/// One WAL record of a replication page.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct WalEntry {
    pub lsn: u64,
    pub entry: Object,
}
