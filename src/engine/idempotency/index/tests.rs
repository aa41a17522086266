use super::*;

/// An index over `keys`, each numbered by its position.
fn index_of(keys: &[&str]) -> KeyIndex {
    let mut index = KeyIndex::default();
    for (seq, key) in keys.iter().enumerate() {
        index.insert(KeyHash::of(key), seq as Ticket);
    }
    index
}

fn get(index: &KeyIndex, keys: &[&str], key: &str) -> Option<Ticket> {
    index.get(KeyHash::of(key), |ticket| keys.get(ticket as usize) == Some(&key))
}

#[test]
fn get_insert_remove_clear() {
    let keys = ["a", "b", "abcdefgh", "abcdefghi", ""];
    let mut index = index_of(&keys);
    assert_eq!(index.len(), 5);
    for (seq, key) in keys.iter().enumerate() {
        assert_eq!(get(&index, &keys, key), Some(seq as Ticket));
    }
    assert_eq!(get(&index, &keys, "c"), None);
    index.remove(KeyHash::of("b"), 1);
    assert_eq!(get(&index, &keys, "b"), None);
    assert_eq!(get(&index, &keys, "abcdefghi"), Some(3));
    assert_eq!(index.len(), 4);
    // Removing what is not there changes nothing.
    index.remove(KeyHash::of("b"), 1);
    index.remove(KeyHash::of("zz"), 9);
    assert_eq!(index.len(), 4);
    index.clear();
    assert_eq!(index.len(), 0);
    assert_eq!(get(&index, &keys, "a"), None);
    assert_eq!(KeyIndex::default().get(KeyHash::of("a"), |_| true), None);
}

#[test]
fn grows_and_removes_across_runs() {
    let keys: Vec<String> = (0..5000).map(|i| format!("key-{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut index = index_of(&keys);
    assert_eq!(index.table.len(), 8192);
    // Remove every third key; the others must stay reachable (the
    // backward shift must not strand an entry behind a hole).
    for (seq, key) in keys.iter().enumerate().filter(|(seq, _)| seq % 3 == 0) {
        index.remove(KeyHash::of(key), seq as Ticket);
    }
    for (seq, key) in keys.iter().enumerate() {
        let expected = (seq % 3 != 0).then_some(seq as Ticket);
        assert_eq!(get(&index, &keys, key), expected, "{key}");
    }
    assert_eq!(index.len(), 5000 - 1667);
}

#[test]
fn equal_hashes_are_separate_entries() {
    // Two keys forced onto one hash, as a collision would: the record
    // check tells them apart, and either can go first.
    let mut index = KeyIndex::default();
    let hash = KeyHash::of("x");
    let keys = ["x", "y", "z"];
    for seq in 0..3 {
        index.insert(hash, seq);
    }
    let find = |index: &KeyIndex, key: &str| index.get(hash, |ticket| keys[ticket as usize] == key);
    assert_eq!(find(&index, "y"), Some(1));
    assert_eq!(find(&index, "z"), Some(2));
    assert_eq!(find(&index, "w"), None);
    index.remove(hash, 0);
    assert_eq!(find(&index, "x"), None);
    assert_eq!(find(&index, "z"), Some(2));
    index.remove(hash, 2);
    assert_eq!(find(&index, "y"), Some(1));
    assert_eq!(index.len(), 1);
}

#[test]
fn runs_wrap_around_the_end_of_the_table() {
    let mut index = KeyIndex::default();
    index.insert(KeyHash(0), 100);
    let last = KeyHash(((MIN_CAPACITY - 1) as u64) << 32);
    for ticket in 0..3 {
        index.insert(last, ticket);
    }
    // The run from the last slot wrapped over slot 0's entry.
    assert_eq!(index.table[0], 100);
    assert_eq!(index.table[1] as Ticket, 1);
    index.remove(last, 0);
    assert_eq!(index.get(last, |ticket| ticket == 2), Some(2));
    assert_eq!(index.get(KeyHash(0), |ticket| ticket == 100), Some(100));
    index.remove(KeyHash(0), 100);
    assert_eq!(index.get(last, |ticket| ticket == 1), Some(1));
    assert_eq!(index.get(last, |ticket| ticket == 2), Some(2));
}

#[test]
fn the_top_tag_is_capped_below_the_empty_marker() {
    let mut index = KeyIndex::default();
    index.insert(KeyHash(u64::MAX), u32::MAX);
    assert_eq!(index.len(), 1);
    assert_eq!(index.get(KeyHash(u64::MAX), |ticket| ticket == u32::MAX), Some(u32::MAX));
    index.remove(KeyHash(u64::MAX), u32::MAX);
    assert_eq!(index.len(), 0);
    assert!(index.table.iter().all(|&entry| entry == EMPTY));
}

#[test]
fn trailing_zero_bytes_change_the_hash() {
    assert_ne!(KeyHash::of("abc"), KeyHash::of("abc\0"));
    assert_ne!(KeyHash::of(""), KeyHash::of("\0"));
    assert_ne!(KeyHash::of("abcdefgh"), KeyHash::of("abcdefgh\0"));
    assert_eq!(KeyHash::of("abcdefgh"), KeyHash::of("abcdefgh"));
}
