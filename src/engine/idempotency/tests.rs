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
    for wrong in [hex::encode(sha256(b"abd")), hex_fp.to_uppercase(), hex_fp[..63].to_string(), format!("{hex_fp}0")] {
        let mismatch = error(fields("k", Some(&wrong)));
        assert_eq!(mismatch.code, ErrorCode::IdempotencyConflict);
        assert_eq!(mismatch.message, "Field fingerprint does not match request fingerprint");
    }
    assert_eq!(check_fields(&fields("k", Some(&hex_fp)), &computed), Ok(()));
}
