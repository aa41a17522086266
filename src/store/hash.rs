//! A small, fast, seeded hasher for the integer keys of a series.
//!
//! std's SipHash is built for arbitrary byte strings; our keys are single
//! `u64`s (and `(u64, Bucket)` pairs in batch checks), hashed on every
//! request. A folded multiply (the 128-bit product of the input and an odd
//! constant, high half XOR low half) mixes all input bits into both the low
//! bits (the table index) and the high bits (the control tag) in a couple of
//! cycles. The state starts from a per-process random seed drawn from std's
//! `RandomState`, so a client cannot precompute a set of colliding keys.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// An odd 64-bit constant with well-spread bits (from the golden ratio).
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// Builds [`FastKeyHash`] states sharing the process seed.
#[derive(Clone, Copy, Debug)]
pub struct FastKeyHasher {
    seed: u64,
}

impl Default for FastKeyHasher {
    fn default() -> FastKeyHasher {
        FastKeyHasher { seed: process_seed() }
    }
}

impl BuildHasher for FastKeyHasher {
    type Hasher = FastKeyHash;

    fn build_hasher(&self) -> FastKeyHash {
        FastKeyHash { state: self.seed }
    }
}

/// The running state of one hash computation.
#[derive(Clone, Copy, Debug)]
pub struct FastKeyHash {
    state: u64,
}

impl FastKeyHash {
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.state ^ word) * u128::from(MULTIPLIER);
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for FastKeyHash {
    fn finish(&self) -> u64 {
        self.state
    }

    /// The general path, for types that hash as bytes; keys never take it.
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        // Distinguishes inputs that differ only in trailing zero bytes.
        self.mix(bytes.len() as u64);
    }

    fn write_u64(&mut self, value: u64) {
        self.mix(value);
    }

    fn write_u32(&mut self, value: u32) {
        self.mix(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.mix(value as u64);
    }
}

/// One random seed per process, taken from std's randomly keyed hasher.
fn process_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x006B_6172_6D61); // any fixed input
        hasher.finish()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn hash(value: u64) -> u64 {
        FastKeyHasher::default().hash_one(value)
    }

    #[test]
    fn same_key_same_hash_within_a_process() {
        assert_eq!(hash(42), hash(42));
        assert_ne!(hash(42), hash(43));
    }

    #[test]
    fn sequential_keys_spread_over_low_and_high_bits() {
        let count = 4096u64;
        let low: HashSet<u64> = (0..count).map(|key| hash(key) & 0xFFF).collect();
        let high: HashSet<u64> = (0..count).map(|key| hash(key) >> 57).collect();
        // A uniform hash fills about 63% of 4096 slots and all 128 tags.
        assert!(low.len() > 2300, "low bits: {}", low.len());
        assert_eq!(high.len(), 128);
    }
}
