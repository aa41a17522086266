//! The catalogue of operations (docs/protocol.md, Op catalogue): every op is
//! one row of the table at the bottom of this file, with its wire name and
//! aliases, its internal name and its classes. [`op_table!`] turns the rows
//! into the [`Op`] enum, [`ALL_OPS`], the name look-ups, the class
//! look-ups and [`OpMap`], so no second list has to be kept in step.

/// What an op may do, which decides who may run it and whether it is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Changes nothing: allowed for the read-only token and on a slave.
    Read,
    /// Changes state or files but is not appended to the WAL (snapshots,
    /// reports, recovery checkpoints).
    Admin,
    /// A mutation that a successful run appends to the WAL (and so replays
    /// and replicates).
    Logged,
}

/// Whether an op deduplicates by `idempotency_key` (docs/protocol.md,
/// Idempotency). Only logged ops are eligible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    Eligible,
    Ineligible,
}

/// Generates everything about ops from one row per op:
/// `Variant = "wire.name" | "alias", "internal_name", Class, Idempotency;`.
macro_rules! op_table {
    ($(
        $(#[$doc:meta])*
        $op:ident = $name:literal $(| $alias:literal)*, $internal:literal, $class:ident, $idempotency:ident;
    )*) => {
        /// One of the distinct operations. Aliases map onto the same `Op`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Op {
            $($(#[$doc])* $op,)*
        }

        /// Every op, in catalogue order (for per-op metrics).
        pub const ALL_OPS: [Op; Op::COUNT] = [$(Op::$op),*];

        /// Every accepted wire name, aliases included, with its op.
        pub const ALL_NAMES: &[(&str, Op)] = &[$(($name, Op::$op), $(($alias, Op::$op),)*)*];

        impl Op {
            /// The number of distinct ops.
            pub const COUNT: usize = [$(Op::$op),*].len();

            /// Looks up a wire op name, aliases included.
            pub fn from_name(name: &str) -> Option<Op> {
                Some(match name {
                    $($name $(| $alias)* => Op::$op,)*
                    _ => return None,
                })
            }

            /// The canonical wire name (the one written to the WAL).
            pub fn name(self) -> &'static str {
                match self {
                    $(Op::$op => $name,)*
                }
            }

            /// The internal command name used in `forbidden` messages,
            /// idempotency records and fingerprints.
            pub fn internal_name(self) -> &'static str {
                match self {
                    $(Op::$op => $internal,)*
                }
            }

            /// What the op may do.
            pub fn class(self) -> Class {
                match self {
                    $(Op::$op => Class::$class,)*
                }
            }

            /// Whether the op deduplicates by `idempotency_key`.
            pub fn idempotency(self) -> Idempotency {
                match self {
                    $(Op::$op => Idempotency::$idempotency,)*
                }
            }
        }

        /// One `T` per op, reached through a `match` (no index that could
        /// be out of range).
        #[allow(non_snake_case)]
        pub struct OpMap<T> {
            $($op: T,)*
        }

        impl<T> OpMap<T> {
            /// A map holding `value(op)` for every op.
            pub fn from_fn(mut value: impl FnMut(Op) -> T) -> OpMap<T> {
                OpMap { $($op: value(Op::$op),)* }
            }

            /// The value of `op`.
            pub fn get(&self, op: Op) -> &T {
                match op {
                    $(Op::$op => &self.$op,)*
                }
            }
        }
    };
}

impl Op {
    /// Read-only ops: allowed for the read token and on a slave.
    pub fn is_read_only(self) -> bool {
        self.class() == Class::Read
    }

    /// Mutations that a successful run appends to the WAL.
    pub fn is_logged(self) -> bool {
        self.class() == Class::Logged
    }

    /// Ops that deduplicate by `idempotency_key` (docs/protocol.md, Idempotency).
    pub fn is_idempotent(self) -> bool {
        self.idempotency() == Idempotency::Eligible
    }
}

impl<T: Default> Default for OpMap<T> {
    fn default() -> OpMap<T> {
        OpMap::from_fn(|_| T::default())
    }
}

// The catalogue. Each op's fields are the `Command` variant of the same
// name (protocol/request.rs); docs/developing.md, Adding an op, says what
// else a new row asks for.
op_table! {
    Increment = "counter.increment" | "series.increment", "increment", Logged, Eligible;
    Decrement = "counter.decrement", "decrement", Logged, Eligible;
    Sum = "counter.sum" | "series.sum", "sum", Read, Ineligible;
    BatchSum = "counter.batch_sum" | "series.batch_sum", "batch_sum", Read, Ineligible;
    MultiSum = "counter.multi_sum", "multi_sum", Read, Ineligible;
    CounterSeries = "counter.series" | "series.points", "find", Read, Ineligible;
    CounterDeleteRange = "counter.delete_range", "delete", Logged, Eligible;
    BatchDeleteRange = "counter.batch_delete_range", "batch_delete_range", Logged, Eligible;
    CounterReset = "counter.reset", "reset", Logged, Eligible;
    BatchReset = "counter.batch_reset", "batch_reset", Logged, Eligible;
    BatchAdd = "series.batch_add" | "counter.batch_increment", "batch_add", Logged, Eligible;
    BatchSet = "series.batch_set", "batch_set", Logged, Eligible;
    DeleteBefore = "series.delete_before" | "tree.delete_before", "delete_before", Logged, Ineligible;
    SeriesCompact = "series.compact" | "tree.compact", "compact", Logged, Ineligible;
    SystemCompact = "system.compact", "compact", Logged, Ineligible;
    TreeCreate = "tree.create", "create", Logged, Ineligible;
    TreeDrop = "tree.drop", "drop", Logged, Ineligible;
    TreeList = "tree.list", "trees", Read, Ineligible;
    TreeReset = "tree.reset", "reset", Logged, Eligible;
    TreeDeleteRange = "tree.delete_range", "delete", Logged, Eligible;
    TreeSeries = "tree.series", "find", Read, Ineligible;
    TreeInfo = "tree.info", "tree_info", Read, Ineligible;
    TreeKeys = "tree.keys", "tree_keys", Read, Ineligible;
    TreeSummary = "tree.summary", "tree_summary", Read, Ineligible;
    TreeTop = "tree.top", "tree_top", Read, Ineligible;
    IngestBegin = "ingest.begin", "ingest_begin", Logged, Ineligible;
    IngestChunk = "ingest.chunk", "ingest_chunk", Logged, Ineligible;
    IngestCommit = "ingest.commit", "ingest_commit", Logged, Ineligible;
    IngestAbort = "ingest.abort", "ingest_abort", Logged, Ineligible;
    IdempotencyPrune = "idempotency.prune", "idempotency_prune", Logged, Ineligible;
    IdempotencySnapshotFetchChunk =
        "idempotency.snapshot_fetch_chunk", "idempotency_snapshot_fetch_chunk", Read, Ineligible;
    SnapshotCreate = "snapshot.create", "dump", Admin, Ineligible;
    SnapshotCreateAll = "snapshot.create_all", "dump_all", Admin, Ineligible;
    SnapshotList = "snapshot.list", "dumps", Read, Ineligible;
    SnapshotInfo = "snapshot.info", "snapshot_info", Read, Ineligible;
    SnapshotLoad = "snapshot.load", "load", Admin, Ineligible;
    SnapshotFetch = "snapshot.fetch", "snapshot_fetch", Read, Ineligible;
    SnapshotFetchChunk = "snapshot.fetch_chunk", "snapshot_fetch_chunk", Read, Ineligible;
    SnapshotVerify = "snapshot.verify", "verify", Read, Ineligible;
    Ping = "system.ping", "ping", Read, Ineligible;
    Health = "system.health", "health", Read, Ineligible;
    Stats = "system.stats", "stats", Read, Ineligible;
    Metrics = "system.metrics", "metrics", Read, Ineligible;
    ReconciliationReport = "reconciliation.report", "reconciliation_report", Admin, Ineligible;
    RecoveryCheckpoint = "recovery.checkpoint", "recovery_checkpoint", Admin, Ineligible;
    RecoveryStatus = "recovery.status", "recovery_status", Read, Ineligible;
    ReplicationStatus = "replication.status", "replication_status", Read, Ineligible;
    ReplicationEntries = "replication.entries", "replication_entries", Read, Ineligible;
}

#[cfg(test)]
mod tests;
