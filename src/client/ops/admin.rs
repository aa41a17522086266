//! Ingest streams, idempotency, snapshots, system, recovery,
//! reconciliation and replication ops (docs/protocol.md sections 10 to 12).

use super::{Fields, IngestMode};
use crate::client::{
    Checkpoint, ChunkResult, Client, EntriesPage, FileChunk, Health, Object, Result, SnapshotFile, StreamStatus,
};
use crate::protocol::Op;

impl Client {
    /// `ingest.begin`: opens (or returns) stream `stream_id`.
    pub fn ingest_begin(&self, stream_id: &str, mode: IngestMode, granularity: Option<&str>) -> Result<StreamStatus> {
        let fields = Fields::new()
            .with("stream_id", stream_id)
            .with("mode", mode.as_str())
            .with_some("granularity", granularity);
        self.typed(Op::IngestBegin, fields.into_map())
    }

    /// `ingest.chunk`: applies chunk `chunk_seq` (1, 2, ...) of `(key,
    /// bucket, value)` items; a chunk sent again is skipped, so chunks may
    /// be retried.
    pub fn ingest_chunk(
        &self,
        series: &str,
        stream_id: &str,
        chunk_seq: u64,
        items: &[(u64, u64, u64)],
    ) -> Result<ChunkResult> {
        let fields = Fields::series(series).with("stream_id", stream_id).with("chunk_seq", chunk_seq).items(items);
        self.typed(Op::IngestChunk, fields.into_map())
    }

    /// `ingest.commit`: commits the stream (a `replace_series` stream
    /// replaces its series now).
    pub fn ingest_commit(&self, stream_id: &str) -> Result<StreamStatus> {
        self.typed(Op::IngestCommit, Fields::new().with("stream_id", stream_id).into_map())
    }

    /// `ingest.abort`: drops an active stream (chunks applied in `add` or
    /// `set` mode stay applied).
    pub fn ingest_abort(&self, stream_id: &str) -> Result<StreamStatus> {
        self.typed(Op::IngestAbort, Fields::new().with("stream_id", stream_id).into_map())
    }

    /// `idempotency.prune`: deletes idempotency records created before
    /// `before_unix`, at most `limit`; returns how many went.
    pub fn idempotency_prune(&self, before_unix: u64, limit: Option<u32>) -> Result<u64> {
        let fields = Fields::new().with("before", before_unix).with_some("limit", limit);
        let reply: Object = self.typed(Op::IdempotencyPrune, fields.into_map())?;
        object_u64(&reply, "deleted")
    }

    /// `idempotency.snapshot_fetch_chunk`: a chunk of the idempotency
    /// snapshot file.
    pub fn idempotency_snapshot_fetch_chunk(&self, offset: u64, limit: Option<u32>) -> Result<FileChunk> {
        let fields = Fields::new().with("offset", offset).with_some("limit", limit);
        self.typed(Op::IdempotencySnapshotFetchChunk, fields.into_map())
    }

    /// `snapshot.create`: writes a snapshot of one series.
    pub fn snapshot_create(&self, series: &str) -> Result<String> {
        self.typed(Op::SnapshotCreate, Fields::series(series).into_map())
    }

    /// `snapshot.create_all`: snapshots every series and truncates the WAL.
    pub fn snapshot_create_all(&self) -> Result<()> {
        self.acknowledged(Op::SnapshotCreateAll, Fields::new())
    }

    /// `snapshot.list`: absolute paths of every snapshot, newest first.
    pub fn snapshot_list(&self) -> Result<Vec<String>> {
        self.typed(Op::SnapshotList, Fields::new().into_map())
    }

    /// `snapshot.info`: the newest snapshot per series and the WAL position.
    pub fn snapshot_info(&self) -> Result<Object> {
        self.typed(Op::SnapshotInfo, Fields::new().into_map())
    }

    /// `snapshot.load`: replaces a series in memory by a snapshot file
    /// (not logged, not replicated).
    pub fn snapshot_load(&self, file: &str) -> Result<String> {
        self.typed(Op::SnapshotLoad, Fields::new().with("file", file).into_map())
    }

    /// `snapshot.fetch`: a whole snapshot file, base64-encoded.
    pub fn snapshot_fetch(&self, file: &str) -> Result<SnapshotFile> {
        self.typed(Op::SnapshotFetch, Fields::new().with("file", file).into_map())
    }

    /// `snapshot.fetch_chunk`: `limit` bytes (1..=524,288, 262,144 when
    /// `None`) of a snapshot file from `offset`.
    pub fn snapshot_fetch_chunk(&self, file: &str, offset: u64, limit: Option<u32>) -> Result<FileChunk> {
        let fields = Fields::new().with("file", file).with("offset", offset).with_some("limit", limit);
        self.typed(Op::SnapshotFetchChunk, fields.into_map())
    }

    /// `snapshot.verify`: checks the data directory (snapshots, sidecars,
    /// WAL) without changing anything; failures are `validation_error`.
    pub fn snapshot_verify(&self) -> Result<Object> {
        self.typed(Op::SnapshotVerify, Fields::new().into_map())
    }

    /// `system.ping`: `"pong"`.
    pub fn ping(&self) -> Result<String> {
        self.typed(Op::Ping, Fields::new().into_map())
    }

    /// `system.health`.
    pub fn health(&self) -> Result<Health> {
        self.typed(Op::Health, Fields::new().into_map())
    }

    /// `system.stats`: counters and gauges of the node (docs/protocol.md, System ops).
    pub fn stats(&self) -> Result<Object> {
        self.typed(Op::Stats, Fields::new().into_map())
    }

    /// `system.metrics`: Prometheus text exposition.
    pub fn metrics(&self) -> Result<String> {
        self.typed(Op::Metrics, Fields::new().into_map())
    }

    /// `reconciliation.report`: records the outcome of a reconciliation run
    /// in the node's metrics.
    pub fn reconciliation_report(
        &self,
        checked_points: u64,
        mismatch_count: u64,
        absolute_drift: u64,
        max_abs_delta: u64,
    ) -> Result<()> {
        let fields = Fields::new()
            .with("checked_points", checked_points)
            .with("mismatch_count", mismatch_count)
            .with("absolute_drift", absolute_drift)
            .with("max_abs_delta", max_abs_delta);
        self.acknowledged(Op::ReconciliationReport, fields)
    }

    /// `recovery.checkpoint`: replaces the checkpoint of `source` (at least
    /// one of `offset` and `event_id`).
    pub fn recovery_checkpoint(
        &self,
        source: &str,
        offset: Option<&str>,
        event_id: Option<&str>,
    ) -> Result<Checkpoint> {
        let fields = Fields::new().with("source", source).with_some("offset", offset).with_some("event_id", event_id);
        self.typed(Op::RecoveryCheckpoint, fields.into_map())
    }

    /// `recovery.status`: the checkpoints of every source, or of one.
    pub fn recovery_status(&self, source: Option<&str>) -> Result<Object> {
        self.typed(Op::RecoveryStatus, Fields::new().with_some("source", source).into_map())
    }

    /// `replication.status`.
    pub fn replication_status(&self) -> Result<Object> {
        self.typed(Op::ReplicationStatus, Fields::new().into_map())
    }

    /// `replication.entries`: WAL records after `after_lsn` (at most
    /// `limit`, 1..=10,000, 1000 when `None`).
    pub fn replication_entries(&self, after_lsn: u64, limit: Option<u32>) -> Result<EntriesPage> {
        let fields = Fields::new().with("after_lsn", after_lsn).with_some("limit", limit);
        self.typed(Op::ReplicationEntries, fields.into_map())
    }
}

fn object_u64(object: &Object, name: &str) -> Result<u64> {
    object.get(name).and_then(serde_json::Value::as_u64).ok_or_else(|| crate::client::Error::InvalidReply {
        reason: format!("no unsigned integer {name}"),
        reply: serde_json::Value::Object(object.clone()).to_string(),
    })
}
