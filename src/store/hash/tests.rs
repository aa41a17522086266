use super::*;
use std::collections::HashSet;

fn hash(value: u64) -> u64 {
    FastKeyState::default().hash_one(value)
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
