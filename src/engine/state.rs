//! The single mutable state of a node, guarded by one mutex in [`Engine`].
//!
//! [`Engine`]: super::Engine

use crate::store::Store;
use std::collections::HashMap;

/// Everything a command may read or change.
///
/// Invariant: `last_lsn` is the LSN of the last logged write applied to
/// `store` (on a master) — assigned under the same lock that applied it, so
/// WAL order = LSN order = apply order.
#[derive(Default)]
pub struct State {
    pub store: Store,
    pub last_lsn: u64,
    /// What the loaded snapshots already hold: a logged entry at or below
    /// these LSNs is not applied again (WAL replay, replication).
    pub covered: Covered,
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
    pub fn series(&self, name: &str) -> u64 {
        self.per_series.get(name).copied().unwrap_or(0)
    }

    /// The highest LSN any snapshot holds.
    pub fn highest(&self) -> u64 {
        self.per_series.values().copied().fold(self.global, u64::max)
    }
}
