//! The catalogue of operations (docs/protocol.md, Op catalogue): every op is
//! one row of the table in `for_each_op!`, with its wire name and
//! aliases, its internal name, its class, its handler and, for a read op,
//! its fields; every row also carries an example request. The table is
//! expanded wherever something is generated from it, with a callback macro
//! that receives the rows sorted:
//!
//! - here, `op_catalogue!`: the [`Op`] enum, [`ALL_OPS`], the name and
//!   class look-ups and [`OpMap`];
//! - `protocol/read.rs`: each read op's fields struct, its parse step and
//!   its semantic checks, and [`ReadCommand`](super::read::ReadCommand);
//! - `protocol/request.rs`: [`Command`](super::Command), one variant per
//!   admin or logged op over its fields struct (`protocol/write.rs`), and
//!   the dispatch from an op to its parse step;
//! - `engine/route.rs`: the dispatch from a read or admin command to its
//!   handler, and `engine/apply.rs`: from a logged command to its handler
//!   (the handler paths resolve there, so this layer never uses them).
//!
//! So no second list has to be kept in step, and every op's handler is
//! named in its row: one that is missing or has the wrong shape does not
//! compile (docs/developing.md, Adding an op).

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

/// Generates everything about ops that lives here from the sorted rows of
/// `for_each_op!`.
macro_rules! op_catalogue {
    (
        all [$(
            $(#[$doc:meta])*
            $op:ident = $name:literal $(| $alias:literal)*, $internal:literal, $class:ident, $idempotency:ident,
            $example:literal;
        )*]
        reads [$($read:tt)*]
        admins [$($admin:tt)*]
        logged [$($logged:tt)*]
    ) => {
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

            /// The fields of one request of this op (without `v`, `op` and
            /// `token`), as `tests/op_table.rs` sends it to a server that
            /// holds series `s`, an open ingest stream `import-2` and the
            /// snapshots of `snapshot.create_all`; `{file}` stands for a
            /// snapshot file of `s`.
            pub fn example(self) -> &'static str {
                match self {
                    $(Op::$op => $example,)*
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

/// Sorts the rows of `for_each_op!` for a callback: `all` holds every
/// row in catalogue order (a read row with class `Read` and `Ineligible`,
/// an admin row with `Ineligible`), `reads` each read op's fields and
/// handler, `admins` and `logged` each other op's handler.
macro_rules! sort_rows {
    // Every row sorted.
    ($callback:ident [$($all:tt)*] [$($reads:tt)*] [$($admins:tt)*] [$($logged:tt)*]) => {
        $callback! { all [$($all)*] reads [$($reads)*] admins [$($admins)*] logged [$($logged)*] }
    };
    // A read op: its fields, in the protocol's parse order, and its handler.
    (
        $callback:ident [$($all:tt)*] [$($reads:tt)*] [$($admins:tt)*] [$($logged:tt)*]
        $(#[$doc:meta])*
        $op:ident = $name:literal $(| $alias:literal)*, $internal:literal,
            Read { $($field:ident: $kind:ty),* $(,)? } => $handler:path,
            example $example:literal;
        $($rest:tt)*
    ) => {
        $crate::protocol::op::sort_rows! {
            $callback
            [$($all)* $(#[$doc])* $op = $name $(| $alias)*, $internal, Read, Ineligible, $example;]
            [$($reads)* $op { $($field: $kind),* } => $handler;]
            [$($admins)*]
            [$($logged)*]
            $($rest)*
        }
    };
    // An admin op: its fields are parsed by hand (`write.rs`).
    (
        $callback:ident [$($all:tt)*] [$($reads:tt)*] [$($admins:tt)*] [$($logged:tt)*]
        $(#[$doc:meta])*
        $op:ident = $name:literal $(| $alias:literal)*, $internal:literal, Admin => $handler:path,
            example $example:literal;
        $($rest:tt)*
    ) => {
        $crate::protocol::op::sort_rows! {
            $callback
            [$($all)* $(#[$doc])* $op = $name $(| $alias)*, $internal, Admin, Ineligible, $example;]
            [$($reads)*]
            [$($admins)* $op => $handler;]
            [$($logged)*]
            $($rest)*
        }
    };
    // A logged op: its fields are parsed by hand (`write.rs`).
    (
        $callback:ident [$($all:tt)*] [$($reads:tt)*] [$($admins:tt)*] [$($logged:tt)*]
        $(#[$doc:meta])*
        $op:ident = $name:literal $(| $alias:literal)*, $internal:literal, Logged, $idempotency:ident => $handler:path,
            example $example:literal;
        $($rest:tt)*
    ) => {
        $crate::protocol::op::sort_rows! {
            $callback
            [$($all)* $(#[$doc])* $op = $name $(| $alias)*, $internal, Logged, $idempotency, $example;]
            [$($reads)*]
            [$($admins)*]
            [$($logged)* $op => $handler;]
            $($rest)*
        }
    };
    // Anything else: a row without its handler, or a class that is none of these.
    (
        $callback:ident [$($all:tt)*] [$($reads:tt)*] [$($admins:tt)*] [$($logged:tt)*]
        $(#[$doc:meta])*
        $op:ident = $($row:tt)*
    ) => {
        compile_error!(concat!(
            "op ", stringify!($op), ": a row is `Read { field: Kind, ... } => handler`, ",
            "`Admin => handler` or `Logged, Eligible|Ineligible => handler`, then `example \"...\";`"
        ));
    };
}
pub(crate) use sort_rows;

/// The op table: expands
/// `$callback! { all [...] reads [...] admins [...] logged [...] }` with its
/// rows sorted by `sort_rows!`. One row per op:
///
/// - a read op (class `Read`: changes nothing, so it is allowed for the
///   read-only token and on a slave):
///   `Variant = "wire.name" | "alias", "internal_name", Read { field: Kind, ... } => handler, example "...";`
///   Its fields are listed in the protocol's parse order, each with its
///   kind from `protocol/field_kind.rs`; the handler is a path resolved in
///   `engine/route.rs`, a function
///   `fn(&Engine, &read::Variant<'_>, &mut Vec<u8>) -> Result<(), CommandError>`.
/// - an admin op (changes state or files but is not logged):
///   `Variant = "wire.name", "internal_name", Admin => handler, example "...";`
///   Its fields are the struct `write::Variant` (`protocol/write.rs`); the
///   handler is resolved in `engine/route.rs`, a function
///   `fn(&Engine, &write::Variant<'_>, &mut Vec<u8>) -> Result<(), CommandError>`.
/// - a logged op (appended to the WAL, replayed and replicated):
///   `Variant = "wire.name", "internal_name", Logged, Eligible => handler, example "...";`
///   (or `Ineligible`: only a logged op may be `Eligible` for idempotency
///   keys). Its fields are the struct `write::Variant`; the handler is
///   resolved in `engine/apply.rs`, a function
///   `fn(&mut Apply<'_, '_>, &write::Variant<'_>, &mut Vec<u8>) -> Result<(), CommandError>`.
///
/// `example` is the fields of one request that succeeds (see [`Op::example`]).
macro_rules! for_each_op {
    ($callback:ident) => {
        $crate::protocol::op::sort_rows! {
            $callback [] [] [] []
            Increment = "counter.increment" | "series.increment", "increment",
                Logged, Eligible => counters::increment,
                example r#""series":"s","key":1,"bucket":20260501,"value":5"#;
            Decrement = "counter.decrement", "decrement",
                Logged, Eligible => counters::decrement,
                example r#""series":"s","key":1,"bucket":20260501,"value":1"#;
            Sum = "counter.sum" | "series.sum", "sum",
                Read { range: OptRange, series: Series, key: Uint } => counters::sum,
                example r#""series":"s","key":1"#;
            BatchSum = "counter.batch_sum" | "series.batch_sum", "batch_sum",
                Read { range: OptRange, series: Series, keys: Keys } => counters::batch_sum,
                example r#""series":"s","keys":[1,2]"#;
            MultiSum = "counter.multi_sum", "multi_sum",
                Read { range: OptRange, items: SeriesKeys } => counters::multi_sum,
                example r#""items":[{"series":"s","key":1}]"#;
            CounterSeries = "counter.series" | "series.points", "find",
                Read { range: Range, series: Series, key: Uint } => counters::counter_series,
                example r#""series":"s","key":1,"range":{"from":20260501,"to":20260531}"#;
            CounterDeleteRange = "counter.delete_range", "delete",
                Logged, Eligible => counters::delete_range,
                example r#""series":"s","key":2,"range":{"from":20260502,"to":20260502}"#;
            BatchDeleteRange = "counter.batch_delete_range", "batch_delete_range",
                Logged, Eligible => counters::batch_delete_range,
                example r#""series":"s","keys":[3],"range":{"from":20260501,"to":20260501}"#;
            CounterReset = "counter.reset", "reset",
                Logged, Eligible => counters::reset,
                example r#""series":"s","key":3"#;
            BatchReset = "counter.batch_reset", "batch_reset",
                Logged, Eligible => counters::batch_reset,
                example r#""series":"s","keys":[3]"#;
            BatchAdd = "series.batch_add" | "counter.batch_increment", "batch_add",
                Logged, Eligible => counters::batch_add,
                example r#""series":"s","items":[[1,20260501,5],[2,20260502,3]]"#;
            BatchSet = "series.batch_set", "batch_set",
                Logged, Eligible => counters::batch_set,
                example r#""series":"s","items":[[3,20260501,4]]"#;
            DeleteBefore = "series.delete_before" | "tree.delete_before", "delete_before",
                Logged, Ineligible => maintenance::delete_before,
                example r#""series":"s","before":20260101"#;
            SeriesCompact = "series.compact" | "tree.compact", "compact",
                Logged, Ineligible => maintenance::compact_series,
                example r#""series":"s""#;
            SystemCompact = "system.compact", "compact",
                Logged, Ineligible => maintenance::compact_all,
                example "";
            TreeCreate = "tree.create", "create",
                Logged, Ineligible => maintenance::create,
                example r#""series":"t""#;
            TreeDrop = "tree.drop", "drop",
                Logged, Ineligible => maintenance::drop,
                example r#""series":"t""#;
            TreeList = "tree.list", "trees",
                Read {} => inspect::tree_list,
                example "";
            TreeReset = "tree.reset", "reset",
                Logged, Eligible => maintenance::reset,
                example r#""series":"s""#;
            TreeDeleteRange = "tree.delete_range", "delete",
                Logged, Eligible => maintenance::delete_range,
                example r#""series":"s","range":{"from":20260101,"to":20260101}"#;
            TreeSeries = "tree.series", "find",
                Read { range: Range, series: Series } => inspect::tree_series,
                example r#""series":"s","range":{"from":20260501,"to":20260531}"#;
            TreeInfo = "tree.info", "tree_info",
                Read { series: Series } => inspect::tree_info,
                example r#""series":"s""#;
            TreeKeys = "tree.keys", "tree_keys",
                Read { series: Series, limit: Limit<100, 10_000>, cursor: Cursor } => inspect::tree_keys,
                example r#""series":"s","limit":2"#;
            TreeSummary = "tree.summary", "tree_summary",
                Read { range: OptRange, series: Series } => inspect::tree_summary,
                example r#""series":"s""#;
            TreeTop = "tree.top", "tree_top",
                Read { range: OptRange, series: Series, limit: Limit<50, 1_000> } => inspect::tree_top,
                example r#""series":"s","limit":2"#;
            IngestBegin = "ingest.begin", "ingest_begin",
                Logged, Ineligible => ingest_ops::begin,
                example r#""stream_id":"import-1","mode":"add""#;
            IngestChunk = "ingest.chunk", "ingest_chunk",
                Logged, Ineligible => ingest_ops::chunk,
                example r#""stream_id":"import-1","series":"imported","chunk_seq":1,"items":[[101,20260529,5]]"#;
            IngestCommit = "ingest.commit", "ingest_commit",
                Logged, Ineligible => ingest_ops::commit,
                example r#""stream_id":"import-1""#;
            IngestAbort = "ingest.abort", "ingest_abort",
                Logged, Ineligible => ingest_ops::abort,
                example r#""stream_id":"import-2""#;
            IdempotencyPrune = "idempotency.prune", "idempotency_prune",
                Logged, Ineligible => keyed_write::prune,
                example r#""before":"2000-01-01T00:00:00Z""#;
            IdempotencySnapshotFetchChunk = "idempotency.snapshot_fetch_chunk", "idempotency_snapshot_fetch_chunk",
                Read { offset: Offset, limit: Limit<262_144, 524_288> } => Engine::idempotency_fetch_chunk,
                example r#""offset":0,"limit":100"#;
            SnapshotCreate = "snapshot.create", "dump",
                Admin => Engine::snapshot_series,
                example r#""series":"s""#;
            SnapshotCreateAll = "snapshot.create_all", "dump_all",
                Admin => Engine::snapshot_create_all,
                example "";
            SnapshotList = "snapshot.list", "dumps",
                Read {} => Engine::snapshot_list,
                example "";
            SnapshotInfo = "snapshot.info", "snapshot_info",
                Read {} => Engine::snapshot_info,
                example "";
            SnapshotLoad = "snapshot.load", "load",
                Admin => Engine::snapshot_load,
                example r#""file":"{file}""#;
            SnapshotFetch = "snapshot.fetch", "snapshot_fetch",
                Read { file: SnapshotFile } => Engine::snapshot_fetch,
                example r#""file":"{file}""#;
            SnapshotFetchChunk = "snapshot.fetch_chunk", "snapshot_fetch_chunk",
                Read { file: SnapshotFile, offset: Offset, limit: Limit<262_144, 524_288> } => Engine::snapshot_fetch_chunk,
                example r#""file":"{file}","offset":0,"limit":16"#;
            SnapshotVerify = "snapshot.verify", "verify",
                Read {} => Engine::verify,
                example "";
            Ping = "system.ping", "ping",
                Read {} => Engine::ping,
                example "";
            Health = "system.health", "health",
                Read {} => Engine::health,
                example "";
            Stats = "system.stats", "stats",
                Read {} => Engine::stats,
                example "";
            Metrics = "system.metrics", "metrics",
                Read {} => Engine::prometheus,
                example "";
            ReconciliationReport = "reconciliation.report", "reconciliation_report",
                Admin => Engine::reconciliation_report,
                example r#""checked_points":1000,"mismatch_count":2,"absolute_drift":5,"max_abs_delta":4"#;
            RecoveryCheckpoint = "recovery.checkpoint", "recovery_checkpoint",
                Admin => Engine::recovery_checkpoint,
                example r#""source":"orders","offset":42"#;
            RecoveryStatus = "recovery.status", "recovery_status",
                Read { source: OptStr } => Engine::recovery_status,
                example r#""source":"orders""#;
            ReplicationStatus = "replication.status", "replication_status",
                Read {} => Engine::replication_status,
                example "";
            // Entries up to the example snapshots' LSN are only in a snapshot.
            ReplicationEntries = "replication.entries", "replication_entries",
                Read { after_lsn: Uint, limit: Limit<1_000, 10_000> } => Engine::replication_entries,
                example r#""after_lsn":1000000,"limit":10"#;
        }
    };
}
pub(crate) use for_each_op;

for_each_op!(op_catalogue);

#[cfg(test)]
mod tests;
