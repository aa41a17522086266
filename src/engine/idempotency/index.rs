//! The registry's index from `idempotency_key` to record: an
//! open-addressing table of 8-byte entries with linear probing.
//!
//! Keys are not stored here. An entry is half of the key's seeded hash
//! ([`KeyHash`], the tag) and the low 32 bits of the record's sequence
//! number (a [`Ticket`]); a tag match is confirmed by reading the key back
//! from the record. That keeps an entry at 8 bytes, saves a copy of every
//! key, and lets the table grow without reading a single key. Two keys
//! with the same tag are simply two entries on one probe run, so the index
//! stays exact.
//!
//! Why not `HashMap`: with a million records the table is far larger than
//! the caches, and a new key's lookup then insert is most of the
//! registry's cost. Here the insert writes the very cache line the failed
//! lookup just read (a `HashMap` keeps control bytes and entries apart:
//! two misses), and an entry is half the size of a `HashMap<u64, u64>`
//! one.
//!
//! Invariants: the capacity is a power of two and at most 3/4 full; an
//! entry sits at or after its home slot (`tag & mask`) with no free slot
//! in between (removal shifts the entries after it back, so there are no
//! tombstones).
//!
//! Keys come from clients, so the hash takes a random seed, one per
//! process so that a request's hash can be computed before the state lock
//! is taken.

use crate::store::FastKeyState;
use std::hash::{BuildHasher, Hasher};

/// The seeded hash of an `idempotency_key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHash(u64);

impl KeyHash {
    /// The store's seeded folded-multiply hash over the key's bytes (8-byte
    /// words, then the length, so trailing zero bytes change the hash).
    pub fn of(key: impl AsRef<[u8]>) -> KeyHash {
        let mut hasher = FastKeyState::default().build_hasher();
        hasher.write(key.as_ref());
        KeyHash(hasher.finish())
    }
}

/// A record's sequence number as the index keeps it: the low 32 bits.
/// The registry turns it back into the full number, which is exact while
/// its live sequence numbers span fewer than 2^32 values.
pub(super) type Ticket = u32;

/// A free slot. No entry equals it: an entry's tag is never `u32::MAX`.
const EMPTY: u64 = u64::MAX;

/// Smallest non-empty table.
const MIN_CAPACITY: usize = 16;

/// Key hash to ticket (see the module doc).
///
/// An entry is `tag << 32 | ticket`, where the tag is the high half of
/// the key hash (capped below `u32::MAX`). The home slot is `tag & mask`:
/// a table has at most 2^32 slots, and two keys with equal tags but
/// different homes are told apart by the home bits, so a false tag match
/// on a probe run needs the bits above the mask to agree too.
#[derive(Debug, Default)]
pub(super) struct KeyIndex {
    /// Empty, or a power-of-two number of slots.
    table: Vec<u64>,
    len: usize,
}

/// The tag of a key hash.
fn tag(hash: KeyHash) -> u64 {
    (hash.0 >> 32).min(u64::from(u32::MAX - 1))
}

fn entry(hash: KeyHash, ticket: Ticket) -> u64 {
    tag(hash) << 32 | u64::from(ticket)
}

impl KeyIndex {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Forgets every entry, keeping the table.
    pub fn clear(&mut self) {
        self.table.fill(EMPTY);
        self.len = 0;
    }

    /// The ticket of the key whose hash is `hash`, if `is_key` says the
    /// record with that ticket holds it.
    pub fn get(&self, hash: KeyHash, is_key: impl Fn(Ticket) -> bool) -> Option<Ticket> {
        let mask = self.table.len().checked_sub(1)?;
        let tag = tag(hash);
        let mut at = tag as usize & mask;
        loop {
            let entry = self.table[at];
            if entry == EMPTY {
                return None;
            }
            if entry >> 32 == tag && is_key(entry as Ticket) {
                return Some(entry as Ticket);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds an entry for a key that is not indexed yet.
    pub fn insert(&mut self, hash: KeyHash, ticket: Ticket) {
        if (self.len + 1) * 4 > self.table.len() * 3 {
            self.grow();
        }
        self.place(entry(hash, ticket));
        self.len += 1;
    }

    /// Removes the entry of the record with `ticket`, whose key has the
    /// hash `hash`.
    pub fn remove(&mut self, hash: KeyHash, ticket: Ticket) {
        let Some(mask) = self.table.len().checked_sub(1) else { return };
        let wanted = entry(hash, ticket);
        let mut at = tag(hash) as usize & mask;
        loop {
            match self.table[at] {
                EMPTY => return,
                found if found == wanted => break,
                _ => at = (at + 1) & mask,
            }
        }
        // Backward shift: pull later entries of the run into the hole when
        // their home is not between the hole and where they sit.
        let mut hole = at;
        let mut next = (hole + 1) & mask;
        while self.table[next] != EMPTY {
            let home = (self.table[next] >> 32) as usize & mask;
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                self.table[hole] = self.table[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.table[hole] = EMPTY;
        self.len -= 1;
    }

    /// Writes `entry` into the first free slot of its probe run.
    fn place(&mut self, entry: u64) {
        let mask = self.table.len() - 1;
        let mut at = (entry >> 32) as usize & mask;
        while self.table[at] != EMPTY {
            at = (at + 1) & mask;
        }
        self.table[at] = entry;
    }

    /// Doubles the table, placing every entry again by its stored tag.
    fn grow(&mut self) {
        let capacity = (self.table.len() * 2).max(MIN_CAPACITY);
        let old = std::mem::replace(&mut self.table, vec![EMPTY; capacity]);
        for entry in old.into_iter().filter(|&entry| entry != EMPTY) {
            self.place(entry);
        }
    }
}

#[cfg(test)]
mod tests;
