//! A small, fast, seeded hasher for the integer keys of a series, and (over
//! bytes) for the idempotency index's keys: the one copy of this hash.
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

/// Builds `FastKeyHasher` states sharing the process seed.
#[derive(Clone, Copy, Debug)]
pub struct FastKeyState {
    seed: u64,
}

impl Default for FastKeyState {
    fn default() -> FastKeyState {
        FastKeyState { seed: process_seed() }
    }
}

impl BuildHasher for FastKeyState {
    type Hasher = FastKeyHasher;

    fn build_hasher(&self) -> FastKeyHasher {
        FastKeyHasher { state: self.seed }
    }
}

/// The running state of one hash computation.
#[derive(Clone, Copy, Debug)]
pub struct FastKeyHasher {
    state: u64,
}

impl FastKeyHasher {
    fn mix(&mut self, word: u64) {
        self.state = fold_multiply(self.state ^ word);
    }
}

/// One round of folded multiplication: every input bit reaches every output
/// bit. The fixed XOR first keeps an input of zero (a state equal to the
/// word) from sticking at zero.
fn fold_multiply(x: u64) -> u64 {
    let product = u128::from(x ^ 0x2D35_8DCC_AA6C_78A5) * u128::from(MULTIPLIER);
    (product as u64) ^ ((product >> 64) as u64)
}

impl Hasher for FastKeyHasher {
    fn finish(&self) -> u64 {
        self.state
    }

    /// The general path, for types that hash as bytes (idempotency keys);
    /// integer keys never take it.
    fn write(&mut self, bytes: &[u8]) {
        // Whole words by `chunks_exact` (a fixed-size copy), then the padded
        // rest: about a third faster on 27-byte keys than `chunks(8)`.
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut le = [0u8; 8];
            le.copy_from_slice(word);
            self.mix(u64::from_le_bytes(le));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut le = [0u8; 8];
            le[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(le));
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
mod tests;
