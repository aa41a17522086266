//! The idempotency registry (docs/protocol.md, Idempotency; docs/storage.md, Idempotency and ingest
//! snapshot).
//!
//! An eligible write sent with an `idempotency_key` is executed once; its
//! reply's `response` value is kept as a record under that key, and a
//! retry with the same request fingerprint gets that stored response back
//! without executing again. The key namespace is global across series and
//! ops.
//!
//! Records are kept in insertion order because pruning is defined by it
//! (docs/protocol.md, Idempotency): when a record is stored, leading records older than
//! `now - max_age` are dropped oldest-first until the first one that has not
//! expired, then the oldest are dropped while more than `max_records`
//! remain. Insertion order is not creation-time order in general (replayed
//! records carry their own `created_at_unix`), which is why the walk stops
//! at the first unexpired record instead of searching.
//!
//! Layout: a `VecDeque` of slots in insertion order, numbered by a running
//! sequence number, and an index from key to sequence number (`index.rs`:
//! an open-addressing table by key hash; the key itself is read back from
//! the record). Lookup, insert and eviction of the oldest are O(1). A
//! record is 64 bytes with no allocation for a short key and reply, at
//! most one otherwise (`record.rs`); the index adds 11-21 bytes. The key
//! hash is computed before the state lock is taken (`*_hashed` methods).
//! `idempotency.prune` can remove records from the middle; their slots
//! become `None` (tombstones) so no other sequence number moves, and the
//! deque is compacted once the tombstones outnumber the live records,
//! which keeps every removal amortised O(1).

mod index;
mod record;

pub use index::KeyHash;
pub use record::IdempotencyRecord;

use crate::protocol::fingerprint::{is_hex_of, Digest};
use crate::protocol::{CommandError, ErrorCode, IdempotencyFields};
use index::{KeyIndex, Ticket};
use std::collections::VecDeque;

/// Longest accepted `idempotency_key`, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Longest accepted client `fingerprint`, in bytes.
pub const MAX_FINGERPRINT_BYTES: usize = 512;
/// The most records a registry keeps, whatever `max_records` says: the
/// index keeps sequence numbers as 32-bit tickets, exact while fewer than
/// 2^32 slots are live, and there are at most `2 * records + 64` slots.
/// (A billion records would take some 80 GB.)
pub const MAX_RECORDS: usize = 1 << 30;

/// The records, in insertion order, with lazy pruning by age and count.
///
/// Invariant: `index` maps `k` to `seq` exactly when
/// `slots[seq - first_seq]` is `Some(record)` with `record.key() == k`; the
/// first and last slots are never `None`.
#[derive(Debug)]
pub struct IdempotencyRegistry {
    slots: VecDeque<Option<IdempotencyRecord>>,
    /// Sequence number of `slots[0]`.
    first_seq: u64,
    index: KeyIndex,
    max_records: usize,
    max_age_secs: u64,
}

impl IdempotencyRegistry {
    /// An empty registry keeping at most `max_records` records (capped at
    /// [`MAX_RECORDS`]), each for at most `max_age_secs` seconds (`0`: no
    /// age pruning).
    pub fn new(max_records: usize, max_age_secs: u64) -> IdempotencyRegistry {
        IdempotencyRegistry {
            slots: VecDeque::new(),
            first_seq: 0,
            index: KeyIndex::default(),
            max_records: max_records.min(MAX_RECORDS),
            max_age_secs,
        }
    }

    /// `(max_records, max_age_secs)` this registry prunes by.
    pub fn limits(&self) -> (usize, u64) {
        (self.max_records, self.max_age_secs)
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// The record stored under `key`.
    pub fn get(&self, key: &str) -> Option<&IdempotencyRecord> {
        self.get_hashed(KeyHash::of(key), key)
    }

    /// [`get`](Self::get) with the key's hash computed beforehand.
    pub fn get_hashed(&self, hash: KeyHash, key: &str) -> Option<&IdempotencyRecord> {
        let seq = self.seq_of(hash, key.as_bytes())?;
        self.slot(seq)
    }

    /// The record lookup of docs/protocol.md, Idempotency: the stored
    /// record when `key` was used with a request of this same fingerprint
    /// `digest` (a hit), `None` when the key is unknown (execute), or
    /// `idempotency_conflict` when it was used for another request.
    pub fn lookup(&self, key: &str, digest: &Digest) -> Result<Option<&IdempotencyRecord>, CommandError> {
        self.lookup_hashed(KeyHash::of(key), key, digest)
    }

    /// [`lookup`](Self::lookup) with the key's hash computed beforehand
    /// (outside the state lock).
    pub fn lookup_hashed(
        &self,
        hash: KeyHash,
        key: &str,
        digest: &Digest,
    ) -> Result<Option<&IdempotencyRecord>, CommandError> {
        match self.get_hashed(hash, key) {
            None => Ok(None),
            Some(record) if record.fingerprint_matches(digest) => Ok(Some(record)),
            Some(_) => Err(CommandError::new(
                ErrorCode::IdempotencyConflict,
                "Idempotency key was already used with a different request",
            )),
        }
    }

    /// Stores `record` and prunes (docs/protocol.md, Idempotency) relative to
    /// `now_unix`; returns the number of records pruned, which may include
    /// `record` itself when it is already expired. A record already stored
    /// under the same key is replaced (not counted as pruned) and the new
    /// one goes to the end of the insertion order.
    pub fn insert(&mut self, record: IdempotencyRecord, now_unix: i64) -> u64 {
        self.insert_hashed(KeyHash::of(record.key_bytes()), record, now_unix)
    }

    /// [`insert`](Self::insert) with the hash of `record.key()` computed
    /// beforehand.
    pub fn insert_hashed(&mut self, hash: KeyHash, record: IdempotencyRecord, now_unix: i64) -> u64 {
        let key = record.key_bytes();
        debug_assert_eq!(hash, KeyHash::of(key));
        if let Some(seq) = self.seq_of(hash, key) {
            self.take_seq(seq);
            self.compact_if_sparse();
        }
        let seq = self.first_seq + self.slots.len() as u64;
        self.index.insert(hash, seq as Ticket);
        self.slots.push_back(Some(record));
        self.prune(now_unix)
    }

    /// Loads records read from `karma.idempotency.json` (docs/storage.md, Idempotency and ingest
    /// snapshot): sorted by `created_at_unix` (file order kept for equal times), then inserted one
    /// by one with pruning relative to `now_unix`. Returns the number pruned.
    pub fn load(&mut self, mut records: Vec<IdempotencyRecord>, now_unix: i64) -> u64 {
        records.sort_by_key(|record| record.created_at_unix);
        records.into_iter().map(|record| self.insert(record, now_unix)).sum()
    }

    /// `idempotency.prune` (docs/protocol.md, idempotency.prune): removes records created
    /// before `before_unix`, oldest first in insertion order, at most
    /// `limit` of them (no limit when `None`). Returns how many were removed.
    pub fn prune_before(&mut self, before_unix: i64, limit: Option<usize>) -> usize {
        let limit = limit.unwrap_or(usize::MAX);
        let doomed: Vec<u64> = self
            .slots
            .iter()
            .zip(self.first_seq..)
            .filter_map(|(slot, seq)| slot.as_ref().map(|record| (record, seq)))
            .filter(|(record, _)| record.created_at_unix < before_unix)
            .map(|(_, seq)| seq)
            .take(limit)
            .collect();
        // Sequence numbers stay valid until `compact_if_sparse` renumbers.
        for &seq in &doomed {
            self.take_seq(seq);
        }
        self.compact_if_sparse();
        doomed.len()
    }

    /// Every record, oldest first in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &IdempotencyRecord> + '_ {
        self.slots.iter().flatten()
    }

    /// Removes every record.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.index.clear();
        self.first_seq = 0;
    }

    /// The lazy pruning of docs/protocol.md, Idempotency.
    fn prune(&mut self, now_unix: i64) -> u64 {
        let mut pruned = 0;
        if self.max_age_secs > 0 {
            let cutoff = now_unix.saturating_sub(i64::try_from(self.max_age_secs).unwrap_or(i64::MAX));
            while self.oldest().is_some_and(|record| record.created_at_unix < cutoff) {
                self.pop_oldest();
                pruned += 1;
            }
        }
        while self.len() > self.max_records {
            self.pop_oldest();
            pruned += 1;
        }
        pruned
    }

    fn seq_of(&self, hash: KeyHash, key: &[u8]) -> Option<u64> {
        let holds_key = |ticket| self.slot(self.seq_of_ticket(ticket)).is_some_and(|r| r.key_bytes() == key);
        self.index.get(hash, holds_key).map(|ticket| self.seq_of_ticket(ticket))
    }

    /// The sequence number whose low 32 bits are `ticket`: the live ones
    /// span fewer than 2^32 values from `first_seq` (see [`MAX_RECORDS`]).
    fn seq_of_ticket(&self, ticket: Ticket) -> u64 {
        self.first_seq + u64::from(ticket.wrapping_sub(self.first_seq as Ticket))
    }

    fn slot(&self, seq: u64) -> Option<&IdempotencyRecord> {
        let at = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.slots.get(at)?.as_ref()
    }

    fn oldest(&self) -> Option<&IdempotencyRecord> {
        // The first slot is never a tombstone.
        self.slots.front()?.as_ref()
    }

    fn pop_oldest(&mut self) {
        if let Some(Some(record)) = self.slots.pop_front() {
            self.index.remove(KeyHash::of(record.key_bytes()), self.first_seq as Ticket);
            self.first_seq += 1;
        }
        self.trim();
    }

    /// Removes the record with sequence number `seq`, leaving a tombstone
    /// unless it sits at either end. Never renumbers.
    fn take_seq(&mut self, seq: u64) {
        let Some(at) = seq.checked_sub(self.first_seq).and_then(|at| usize::try_from(at).ok()) else {
            return;
        };
        if let Some(record) = self.slots.get_mut(at).and_then(Option::take) {
            self.index.remove(KeyHash::of(record.key_bytes()), seq as Ticket);
        }
        self.trim();
    }

    /// Compacts once tombstones outnumber the records (and are more than a
    /// handful), so each removal costs amortised O(1).
    fn compact_if_sparse(&mut self) {
        let tombstones = self.slots.len() - self.index.len();
        if tombstones > 64 && tombstones > self.index.len() {
            self.compact();
        }
    }

    /// Drops tombstones at both ends, restoring the invariant.
    fn trim(&mut self) {
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.first_seq += 1;
        }
        while matches!(self.slots.back(), Some(None)) {
            self.slots.pop_back();
        }
    }

    /// Removes every tombstone, renumbers the records from `first_seq` and
    /// indexes them again.
    fn compact(&mut self) {
        self.slots.retain(Option::is_some);
        self.index.clear();
        for (record, seq) in self.slots.iter().flatten().zip(self.first_seq..) {
            self.index.insert(KeyHash::of(record.key_bytes()), seq as Ticket);
        }
    }
}

/// The key and fingerprint rules of docs/protocol.md, Idempotency, for
/// eligible ops: the key must be 1..=256 bytes; a client `fingerprint` must
/// be 1..=512 bytes and equal
/// to the hex of the `computed` digest (else `idempotency_conflict`, which
/// does not count as an idempotency conflict in the metrics).
pub fn check_fields(fields: &IdempotencyFields, computed: &Digest) -> Result<(), CommandError> {
    if fields.key.is_empty() {
        return Err(CommandError::validation("Field idempotency_key must not be empty"));
    }
    if fields.key.len() > MAX_KEY_BYTES {
        return Err(CommandError::validation("Field idempotency_key exceeds max size"));
    }
    if let Some(sent) = &fields.fingerprint {
        if sent.is_empty() {
            return Err(CommandError::validation("Field fingerprint must not be empty"));
        }
        if sent.len() > MAX_FINGERPRINT_BYTES {
            return Err(CommandError::validation("Field fingerprint exceeds max size"));
        }
        if !is_hex_of(sent, computed) {
            return Err(CommandError::new(
                ErrorCode::IdempotencyConflict,
                "Field fingerprint does not match request fingerprint",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
