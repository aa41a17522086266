//! Karma: a small TCP database for hot, day-bucketed `u64` counters.
//!
//! The request path reads top-down: `server` (sockets, sessions) ->
//! `protocol` (lines into typed commands, replies out) -> `engine` (the
//! single state behind one mutex) -> `store` (series, counters, buckets),
//! with `wal` and `snapshot` for durability and `replication` for
//! master -> slave. `protocol` and `store` depend on nothing else of ours.

pub mod config;
pub mod metrics;
pub mod store;
pub mod util;
pub mod wal;
pub mod snapshot;
