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
mod tests {
    use super::*;
    use crate::protocol::fingerprint::sha256;
    use crate::protocol::Op;

    /// The fingerprint digest the test records of `key` carry.
    fn fp(key: &str) -> Digest {
        sha256(key.as_bytes())
    }

    fn record_with(key: &str, created_at_unix: i64, response: &str) -> IdempotencyRecord {
        IdempotencyRecord::new(key, Op::Increment, fp(key), response, created_at_unix)
    }

    fn record(key: &str, created_at_unix: i64) -> IdempotencyRecord {
        record_with(key, created_at_unix, "1")
    }

    fn keys(registry: &IdempotencyRegistry) -> Vec<&str> {
        registry.iter().map(|r| r.key()).collect()
    }

    #[test]
    fn get_lookup_and_replace() {
        let mut registry = IdempotencyRegistry::new(10, 0);
        assert_eq!(registry.insert(record("a", 5), 100), 0);
        assert_eq!(registry.get("a"), Some(&record("a", 5)));
        assert_eq!(registry.get("b"), None);
        assert_eq!(registry.lookup("a", &fp("a")), Ok(Some(&record("a", 5))));
        assert_eq!(registry.lookup("b", &fp("a")), Ok(None));
        let conflict = registry.lookup("a", &fp("other")).unwrap_err();
        assert_eq!(conflict.code, ErrorCode::IdempotencyConflict);
        assert_eq!(conflict.message, "Idempotency key was already used with a different request");
        registry.insert(record("b", 6), 100);
        let replaced = record_with("a", 7, "{\"applied\":1}");
        assert_eq!(registry.insert(replaced.clone(), 100), 0);
        assert_eq!(keys(&registry), ["b", "a"]);
        assert_eq!(registry.get("a"), Some(&replaced));
        assert_eq!(registry.len(), 2);
        registry.clear();
        assert!(registry.is_empty());
        assert_eq!(registry.get("b"), None);
    }

    #[test]
    fn count_pruning_drops_the_oldest() {
        let mut registry = IdempotencyRegistry::new(3, 0);
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            assert_eq!(registry.insert(record(key, i as i64), 0), 0);
        }
        assert_eq!(registry.insert(record("d", 0), 0), 1);
        assert_eq!(keys(&registry), ["b", "c", "d"]);
        assert_eq!(registry.get("a"), None);
        // A pruned key can be used again.
        assert_eq!(registry.insert(record("a", 9), 0), 1);
        assert_eq!(keys(&registry), ["c", "d", "a"]);
    }

    #[test]
    fn age_pruning_walks_leading_records_only() {
        let mut registry = IdempotencyRegistry::new(100, 10);
        registry.insert(record("old1", 80), 80);
        registry.insert(record("new", 95), 80);
        registry.insert(record("old2", 50), 80);
        assert_eq!(keys(&registry), ["old1", "new", "old2"]);
        // Cutoff 90: old1 goes, the walk stops at "new", old2 stays.
        assert_eq!(registry.insert(record("x", 100), 100), 1);
        assert_eq!(keys(&registry), ["new", "old2", "x"]);
        // Exactly at the cutoff is not expired (created_at < now - max_age).
        assert_eq!(registry.insert(record("y", 105), 105), 0);
        // Cutoff 100: new and old2 go, x stays.
        assert_eq!(registry.insert(record("z", 110), 110), 2);
        assert_eq!(keys(&registry), ["x", "y", "z"]);
        // An expired record inserted into an all-expired registry is pruned too.
        let mut registry = IdempotencyRegistry::new(100, 10);
        registry.insert(record("a", 1), 1);
        assert_eq!(registry.insert(record("b", 2), 1000), 2);
        assert!(registry.is_empty());
    }

    #[test]
    fn age_then_count() {
        let mut registry = IdempotencyRegistry::new(2, 10);
        registry.insert(record("a", 0), 0);
        registry.insert(record("b", 20), 9);
        // Cutoff -1: nothing expires, 3 records > 2 drops the oldest, "a".
        assert_eq!(registry.insert(record("c", 21), 9), 1);
        // A replayed record may be older than the ones before it.
        assert_eq!(registry.insert(record("a", 0), 9), 1);
        assert_eq!(keys(&registry), ["c", "a"]);
        // Cutoff 15: "a" is not leading, so age pruning stops at "c"; then
        // 3 records > 2 drops "c".
        assert_eq!(registry.insert(record("d", 25), 25), 1);
        assert_eq!(keys(&registry), ["a", "d"]);
        // Cutoff 16: "a" now leads and expires; 1 record is within bounds.
        assert_eq!(registry.insert(record("e", 26), 26), 1);
        assert_eq!(keys(&registry), ["d", "e"]);
    }

    #[test]
    fn load_sorts_by_creation_time_then_prunes() {
        let mut registry = IdempotencyRegistry::new(3, 100);
        let loaded = vec![record("c", 950), record("a", 800), record("b", 950), record("d", 990), record("e", 999)];
        // "a" expired (cutoff 900), then count 4 > 3 drops "c".
        assert_eq!(registry.load(loaded, 1000), 2);
        assert_eq!(keys(&registry), ["b", "d", "e"]);
    }

    #[test]
    fn prune_before_with_and_without_limit() {
        let mut registry = IdempotencyRegistry::new(100, 0);
        for (key, at) in [("a", 5), ("b", 50), ("c", 1), ("d", 7), ("e", 9)] {
            registry.insert(record(key, at), 0);
        }
        assert_eq!(registry.prune_before(8, Some(2)), 2);
        assert_eq!(keys(&registry), ["b", "d", "e"]);
        assert_eq!(registry.prune_before(0, None), 0);
        assert_eq!(registry.prune_before(10, None), 2);
        assert_eq!(keys(&registry), ["b"]);
        assert_eq!(registry.get("d"), None);
        assert_eq!(registry.get("b").map(|r| r.created_at_unix), Some(50));
        assert_eq!(registry.prune_before(i64::MAX, Some(5)), 1);
        assert!(registry.is_empty());
        registry.insert(record("z", 3), 0);
        assert_eq!(keys(&registry), ["z"]);
    }

    #[test]
    fn tombstones_are_compacted_and_lookups_survive() {
        let mut registry = IdempotencyRegistry::new(10_000, 0);
        for i in 0..1000 {
            registry.insert(record(&format!("k{i}"), i % 2), 0);
        }
        // Removes every even-numbered record, leaving 500 tombstones.
        assert_eq!(registry.prune_before(1, None), 500);
        assert_eq!(registry.len(), 500);
        assert!(registry.slots.len() <= 1000);
        for i in 0..1000 {
            let found = registry.get(&format!("k{i}")).map(|r| r.key().to_string());
            assert_eq!(found, (i % 2 == 1).then(|| format!("k{i}")));
        }
        registry.insert(record("new", 5), 0);
        assert_eq!(registry.iter().last().map(|r| r.key()), Some("new"));
        assert_eq!(registry.get("new").map(|r| r.created_at_unix), Some(5));
        assert_eq!(registry.get("k999").map(|r| r.key()), Some("k999"));
        // A full pass of removals in the middle triggers compaction.
        let mut registry = IdempotencyRegistry::new(10_000, 0);
        for i in 0..300 {
            registry.insert(record(&format!("k{i}"), if (1..299).contains(&i) { 0 } else { 9 }), 0);
        }
        assert_eq!(registry.prune_before(1, None), 298);
        assert_eq!(registry.slots.len(), 2);
        assert_eq!(keys(&registry), ["k0", "k299"]);
        assert_eq!(registry.get("k299").map(|r| r.created_at_unix), Some(9));
    }

    #[test]
    fn sequence_numbers_past_32_bits_keep_working() {
        // The index keeps the low 32 bits; start just below a wrap.
        let mut registry = IdempotencyRegistry::new(4, 0);
        registry.first_seq = (1 << 32) - 3;
        for i in 0..10 {
            registry.insert(record(&format!("k{i}"), i), 0);
        }
        assert_eq!(keys(&registry), ["k6", "k7", "k8", "k9"]);
        assert_eq!(registry.first_seq, (1 << 32) + 3);
        for i in 0..10 {
            assert_eq!(registry.get(&format!("k{i}")).map(|r| r.created_at_unix), (i >= 6).then_some(i), "k{i}");
        }
        // Replacing and removing from the middle across the wrap.
        registry.insert(record("k7", 70), 0);
        assert_eq!(keys(&registry), ["k6", "k8", "k9", "k7"]);
        assert_eq!(registry.prune_before(9, None), 2);
        assert_eq!(keys(&registry), ["k9", "k7"]);
        assert_eq!(registry.get("k7").map(|r| r.created_at_unix), Some(70));
        assert_eq!(registry.get("k6"), None);
    }

    #[test]
    fn max_records_is_capped() {
        assert_eq!(IdempotencyRegistry::new(usize::MAX, 5).limits(), (MAX_RECORDS, 5));
        assert_eq!(IdempotencyRegistry::new(1_000_000, 0).limits(), (1_000_000, 0));
    }

    #[test]
    fn request_field_checks() {
        let fields = |key: &str, fingerprint: Option<&str>| IdempotencyFields {
            key: key.to_string().into(),
            fingerprint: fingerprint.map(|f| f.to_string().into()),
            created_at_unix: None,
        };
        let computed = sha256(b"abc");
        let error = |f: IdempotencyFields| check_fields(&f, &computed).unwrap_err();
        assert_eq!(error(fields("", None)).message, "Field idempotency_key must not be empty");
        assert_eq!(error(fields(&"k".repeat(257), None)).message, "Field idempotency_key exceeds max size");
        assert_eq!(check_fields(&fields(&"k".repeat(256), None), &computed), Ok(()));
        assert_eq!(error(fields("k", Some(""))).message, "Field fingerprint must not be empty");
        assert_eq!(error(fields("k", Some(&"f".repeat(513)))).message, "Field fingerprint exceeds max size");
        let hex_fp = hex::encode(computed);
        for wrong in
            [hex::encode(sha256(b"abd")), hex_fp.to_uppercase(), hex_fp[..63].to_string(), format!("{hex_fp}0")]
        {
            let mismatch = error(fields("k", Some(&wrong)));
            assert_eq!(mismatch.code, ErrorCode::IdempotencyConflict);
            assert_eq!(mismatch.message, "Field fingerprint does not match request fingerprint");
        }
        assert_eq!(check_fields(&fields("k", Some(&hex_fp)), &computed), Ok(()));
    }
}
