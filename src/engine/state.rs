//! The single mutable state of a node, guarded by one mutex in [`Engine`].
//!
//! [`Engine`]: super::Engine

use crate::store::Store;

/// Everything a command may read or change.
///
/// Invariant: `last_lsn` is the LSN of the last logged write applied to
/// `store` (on a master) — assigned under the same lock that applied it, so
/// WAL order = LSN order = apply order.
#[derive(Default)]
pub struct State {
    pub store: Store,
    pub last_lsn: u64,
}
