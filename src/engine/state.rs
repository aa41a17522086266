//! The single mutable state of a node, guarded by one mutex in [`Engine`],
//! and [`Apply`]: that state with what a logged op's handler needs besides.
//!
//! [`Engine`]: super::Engine

use super::idempotency::IdempotencyRegistry;
use super::ingest::IngestRegistry;
use super::recovery::RecoveryCheckpoints;
use crate::metrics::Metrics;
use crate::protocol::fingerprint::Fingerprint;
use crate::store::Store;
use std::collections::HashMap;

/// Everything a command may read or change.
///
/// Invariant: `last_lsn` is the LSN of the last logged write applied to
/// `store` (on a master) — assigned under the same lock that applied it, so
/// WAL order = LSN order = apply order.
pub struct State {
    pub store: Store,
    pub last_lsn: u64,
    /// Idempotency records (docs/protocol.md, Idempotency), persisted through the WAL and
    /// `karma.idempotency.json`.
    pub idempotency: IdempotencyRegistry,
    /// Streaming ingest streams (docs/protocol.md, Streaming ingest), same persistence.
    pub ingest: IngestRegistry,
    /// Recovery checkpoints (docs/protocol.md, Recovery checkpoints and reconciliation), in
    /// `recovery.json`.
    pub recovery: RecoveryCheckpoints,
    /// What the loaded snapshots already hold: a logged entry at or below
    /// these LSNs is not applied again (WAL replay, replication).
    pub covered: Covered,
}

impl State {
    /// An empty state whose idempotency registry keeps at most
    /// `max_records` records for at most `max_age_secs` (0 = no age limit).
    pub fn new(max_records: usize, max_age_secs: u64) -> State {
        State {
            store: Store::default(),
            last_lsn: 0,
            idempotency: IdempotencyRegistry::new(max_records, max_age_secs),
            ingest: IngestRegistry::new(),
            recovery: RecoveryCheckpoints::new(),
            covered: Covered::default(),
        }
    }
}

impl Default for State {
    /// With the default retention of `--idempotency-max-records` and
    /// `--idempotency-max-age-seconds`.
    fn default() -> State {
        State::new(1_000_000, 604_800)
    }
}

/// LSN thresholds from the snapshots a node was restored or bootstrapped
/// from: per series (its newest snapshot's `last_lsn`), and for entries
/// that belong to no series (the idempotency snapshot's).
#[derive(Default, Clone, Debug)]
pub struct Covered {
    pub per_series: HashMap<String, u64>,
    pub global: u64,
}

impl Covered {
    /// The LSN up to which series `name`'s snapshot holds every entry
    /// (0 when it has none).
    pub fn series_lsn(&self, name: &str) -> u64 {
        self.per_series.get(name).copied().unwrap_or(0)
    }

    /// The restore LSN (docs/storage.md, Snapshots): everything at or below it is in
    /// every loaded snapshot; with no series snapshot, the global one.
    pub fn lowest(&self) -> u64 {
        self.per_series.values().copied().min().unwrap_or(self.global)
    }

    /// The highest LSN any snapshot holds.
    pub fn highest(&self) -> u64 {
        self.per_series.values().copied().fold(self.global, u64::max)
    }
}

/// What a logged op's handler (`apply`) may use besides its own fields:
/// the state it changes, the same way live, on replay and on a slave.
/// (`'c` is the command's: a command's lifetime cannot be shortened.)
pub(super) struct Apply<'a, 'c> {
    pub state: &'a mut State,
    pub metrics: &'a Metrics,
    /// The command's fingerprint (ingest streams keep it to recognise a
    /// resent request).
    pub fingerprint: &'a Fingerprint<'a, 'c>,
    /// Which series a `system.compact` touches (all, outside WAL replay).
    pub applies_to: &'a dyn Fn(&str) -> bool,
}
