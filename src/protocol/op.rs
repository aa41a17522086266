//! The catalogue of operations (docs/protocol.md, Op catalogue): every accepted op
//! name, its alias, its internal name and its classes.

/// One of the 48 distinct operations. Aliases map onto the same `Op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Increment,
    Decrement,
    Sum,
    BatchSum,
    MultiSum,
    CounterSeries,
    CounterDeleteRange,
    BatchDeleteRange,
    CounterReset,
    BatchReset,
    BatchAdd,
    BatchSet,
    DeleteBefore,
    SeriesCompact,
    SystemCompact,
    TreeCreate,
    TreeDrop,
    TreeList,
    TreeReset,
    TreeDeleteRange,
    TreeSeries,
    TreeInfo,
    TreeKeys,
    TreeSummary,
    TreeTop,
    IngestBegin,
    IngestChunk,
    IngestCommit,
    IngestAbort,
    IdempotencyPrune,
    IdempotencySnapshotFetchChunk,
    SnapshotCreate,
    SnapshotCreateAll,
    SnapshotList,
    SnapshotInfo,
    SnapshotLoad,
    SnapshotFetch,
    SnapshotFetchChunk,
    SnapshotVerify,
    Ping,
    Health,
    Stats,
    Metrics,
    ReconciliationReport,
    RecoveryCheckpoint,
    RecoveryStatus,
    ReplicationStatus,
    ReplicationEntries,
}

/// Every op, in catalogue order (for per-op metrics).
pub const ALL_OPS: [Op; 48] = [
    Op::Increment,
    Op::Decrement,
    Op::Sum,
    Op::BatchSum,
    Op::MultiSum,
    Op::CounterSeries,
    Op::CounterDeleteRange,
    Op::BatchDeleteRange,
    Op::CounterReset,
    Op::BatchReset,
    Op::BatchAdd,
    Op::BatchSet,
    Op::DeleteBefore,
    Op::SeriesCompact,
    Op::SystemCompact,
    Op::TreeCreate,
    Op::TreeDrop,
    Op::TreeList,
    Op::TreeReset,
    Op::TreeDeleteRange,
    Op::TreeSeries,
    Op::TreeInfo,
    Op::TreeKeys,
    Op::TreeSummary,
    Op::TreeTop,
    Op::IngestBegin,
    Op::IngestChunk,
    Op::IngestCommit,
    Op::IngestAbort,
    Op::IdempotencyPrune,
    Op::IdempotencySnapshotFetchChunk,
    Op::SnapshotCreate,
    Op::SnapshotCreateAll,
    Op::SnapshotList,
    Op::SnapshotInfo,
    Op::SnapshotLoad,
    Op::SnapshotFetch,
    Op::SnapshotFetchChunk,
    Op::SnapshotVerify,
    Op::Ping,
    Op::Health,
    Op::Stats,
    Op::Metrics,
    Op::ReconciliationReport,
    Op::RecoveryCheckpoint,
    Op::RecoveryStatus,
    Op::ReplicationStatus,
    Op::ReplicationEntries,
];

impl Op {
    /// Looks up a wire op name, aliases included.
    pub fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "counter.increment" | "series.increment" => Op::Increment,
            "counter.decrement" => Op::Decrement,
            "counter.sum" | "series.sum" => Op::Sum,
            "counter.batch_sum" | "series.batch_sum" => Op::BatchSum,
            "counter.multi_sum" => Op::MultiSum,
            "counter.series" | "series.points" => Op::CounterSeries,
            "counter.delete_range" => Op::CounterDeleteRange,
            "counter.batch_delete_range" => Op::BatchDeleteRange,
            "counter.reset" => Op::CounterReset,
            "counter.batch_reset" => Op::BatchReset,
            "series.batch_add" | "counter.batch_increment" => Op::BatchAdd,
            "series.batch_set" => Op::BatchSet,
            "series.delete_before" | "tree.delete_before" => Op::DeleteBefore,
            "series.compact" | "tree.compact" => Op::SeriesCompact,
            "system.compact" => Op::SystemCompact,
            "tree.create" => Op::TreeCreate,
            "tree.drop" => Op::TreeDrop,
            "tree.list" => Op::TreeList,
            "tree.reset" => Op::TreeReset,
            "tree.delete_range" => Op::TreeDeleteRange,
            "tree.series" => Op::TreeSeries,
            "tree.info" => Op::TreeInfo,
            "tree.keys" => Op::TreeKeys,
            "tree.summary" => Op::TreeSummary,
            "tree.top" => Op::TreeTop,
            "ingest.begin" => Op::IngestBegin,
            "ingest.chunk" => Op::IngestChunk,
            "ingest.commit" => Op::IngestCommit,
            "ingest.abort" => Op::IngestAbort,
            "idempotency.prune" => Op::IdempotencyPrune,
            "idempotency.snapshot_fetch_chunk" => Op::IdempotencySnapshotFetchChunk,
            "snapshot.create" => Op::SnapshotCreate,
            "snapshot.create_all" => Op::SnapshotCreateAll,
            "snapshot.list" => Op::SnapshotList,
            "snapshot.info" => Op::SnapshotInfo,
            "snapshot.load" => Op::SnapshotLoad,
            "snapshot.fetch" => Op::SnapshotFetch,
            "snapshot.fetch_chunk" => Op::SnapshotFetchChunk,
            "snapshot.verify" => Op::SnapshotVerify,
            "system.ping" => Op::Ping,
            "system.health" => Op::Health,
            "system.stats" => Op::Stats,
            "system.metrics" => Op::Metrics,
            "reconciliation.report" => Op::ReconciliationReport,
            "recovery.checkpoint" => Op::RecoveryCheckpoint,
            "recovery.status" => Op::RecoveryStatus,
            "replication.status" => Op::ReplicationStatus,
            "replication.entries" => Op::ReplicationEntries,
            _ => return None,
        })
    }

    /// The canonical wire name (the one written to the WAL).
    pub fn name(self) -> &'static str {
        match self {
            Op::Increment => "counter.increment",
            Op::Decrement => "counter.decrement",
            Op::Sum => "counter.sum",
            Op::BatchSum => "counter.batch_sum",
            Op::MultiSum => "counter.multi_sum",
            Op::CounterSeries => "counter.series",
            Op::CounterDeleteRange => "counter.delete_range",
            Op::BatchDeleteRange => "counter.batch_delete_range",
            Op::CounterReset => "counter.reset",
            Op::BatchReset => "counter.batch_reset",
            Op::BatchAdd => "series.batch_add",
            Op::BatchSet => "series.batch_set",
            Op::DeleteBefore => "series.delete_before",
            Op::SeriesCompact => "series.compact",
            Op::SystemCompact => "system.compact",
            Op::TreeCreate => "tree.create",
            Op::TreeDrop => "tree.drop",
            Op::TreeList => "tree.list",
            Op::TreeReset => "tree.reset",
            Op::TreeDeleteRange => "tree.delete_range",
            Op::TreeSeries => "tree.series",
            Op::TreeInfo => "tree.info",
            Op::TreeKeys => "tree.keys",
            Op::TreeSummary => "tree.summary",
            Op::TreeTop => "tree.top",
            Op::IngestBegin => "ingest.begin",
            Op::IngestChunk => "ingest.chunk",
            Op::IngestCommit => "ingest.commit",
            Op::IngestAbort => "ingest.abort",
            Op::IdempotencyPrune => "idempotency.prune",
            Op::IdempotencySnapshotFetchChunk => "idempotency.snapshot_fetch_chunk",
            Op::SnapshotCreate => "snapshot.create",
            Op::SnapshotCreateAll => "snapshot.create_all",
            Op::SnapshotList => "snapshot.list",
            Op::SnapshotInfo => "snapshot.info",
            Op::SnapshotLoad => "snapshot.load",
            Op::SnapshotFetch => "snapshot.fetch",
            Op::SnapshotFetchChunk => "snapshot.fetch_chunk",
            Op::SnapshotVerify => "snapshot.verify",
            Op::Ping => "system.ping",
            Op::Health => "system.health",
            Op::Stats => "system.stats",
            Op::Metrics => "system.metrics",
            Op::ReconciliationReport => "reconciliation.report",
            Op::RecoveryCheckpoint => "recovery.checkpoint",
            Op::RecoveryStatus => "recovery.status",
            Op::ReplicationStatus => "replication.status",
            Op::ReplicationEntries => "replication.entries",
        }
    }

    /// The internal command name used in `forbidden` messages, idempotency
    /// records and fingerprints.
    pub fn internal_name(self) -> &'static str {
        match self {
            Op::Increment => "increment",
            Op::Decrement => "decrement",
            Op::Sum => "sum",
            Op::BatchSum => "batch_sum",
            Op::MultiSum => "multi_sum",
            Op::CounterSeries | Op::TreeSeries => "find",
            Op::CounterDeleteRange | Op::TreeDeleteRange => "delete",
            Op::BatchDeleteRange => "batch_delete_range",
            Op::CounterReset | Op::TreeReset => "reset",
            Op::BatchReset => "batch_reset",
            Op::BatchAdd => "batch_add",
            Op::BatchSet => "batch_set",
            Op::DeleteBefore => "delete_before",
            Op::SeriesCompact | Op::SystemCompact => "compact",
            Op::TreeCreate => "create",
            Op::TreeDrop => "drop",
            Op::TreeList => "trees",
            Op::TreeInfo => "tree_info",
            Op::TreeKeys => "tree_keys",
            Op::TreeSummary => "tree_summary",
            Op::TreeTop => "tree_top",
            Op::IngestBegin => "ingest_begin",
            Op::IngestChunk => "ingest_chunk",
            Op::IngestCommit => "ingest_commit",
            Op::IngestAbort => "ingest_abort",
            Op::IdempotencyPrune => "idempotency_prune",
            Op::IdempotencySnapshotFetchChunk => "idempotency_snapshot_fetch_chunk",
            Op::SnapshotCreate => "dump",
            Op::SnapshotCreateAll => "dump_all",
            Op::SnapshotList => "dumps",
            Op::SnapshotInfo => "snapshot_info",
            Op::SnapshotLoad => "load",
            Op::SnapshotFetch => "snapshot_fetch",
            Op::SnapshotFetchChunk => "snapshot_fetch_chunk",
            Op::SnapshotVerify => "verify",
            Op::Ping => "ping",
            Op::Health => "health",
            Op::Stats => "stats",
            Op::Metrics => "metrics",
            Op::ReconciliationReport => "reconciliation_report",
            Op::RecoveryCheckpoint => "recovery_checkpoint",
            Op::RecoveryStatus => "recovery_status",
            Op::ReplicationStatus => "replication_status",
            Op::ReplicationEntries => "replication_entries",
        }
    }

    /// Read-only ops: allowed for the read token and on a slave.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Op::Sum
                | Op::BatchSum
                | Op::MultiSum
                | Op::CounterSeries
                | Op::TreeList
                | Op::TreeSeries
                | Op::TreeInfo
                | Op::TreeKeys
                | Op::TreeSummary
                | Op::TreeTop
                | Op::IdempotencySnapshotFetchChunk
                | Op::SnapshotList
                | Op::SnapshotInfo
                | Op::SnapshotFetch
                | Op::SnapshotFetchChunk
                | Op::SnapshotVerify
                | Op::Ping
                | Op::Health
                | Op::Stats
                | Op::Metrics
                | Op::RecoveryStatus
                | Op::ReplicationStatus
                | Op::ReplicationEntries
        )
    }

    /// Mutations that a successful run appends to the WAL.
    pub fn is_logged(self) -> bool {
        !self.is_read_only()
            && !matches!(
                self,
                Op::SnapshotCreate
                    | Op::SnapshotCreateAll
                    | Op::SnapshotLoad
                    | Op::ReconciliationReport
                    | Op::RecoveryCheckpoint
            )
    }

    /// Ops that deduplicate by `idempotency_key` (docs/protocol.md, Idempotency).
    pub fn is_idempotent(self) -> bool {
        matches!(
            self,
            Op::Increment
                | Op::Decrement
                | Op::BatchAdd
                | Op::BatchSet
                | Op::CounterReset
                | Op::TreeReset
                | Op::BatchReset
                | Op::CounterDeleteRange
                | Op::TreeDeleteRange
                | Op::BatchDeleteRange
        )
    }
}

#[cfg(test)]
mod tests;
