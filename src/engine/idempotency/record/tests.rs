use super::*;
use crate::protocol::fingerprint::sha256;

fn fingerprint_json(record: &IdempotencyRecord) -> String {
    let mut out = Vec::new();
    record.write_fingerprint(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn fields_come_back_exactly_inline_or_boxed() {
    let digest = sha256(b"x");
    for (key, response) in [
        ("k-é", "{\"applied\":1,\"total\":2}"),
        ("k1", "1"),
        ("", ""),
        ("k".repeat(19).as_str(), "1"),
        ("k".repeat(20).as_str(), "1"),
        ("k".repeat(256).as_str(), "\"OK\""),
    ] {
        let record = IdempotencyRecord::new(key, Op::BatchAdd, digest, response, -5);
        assert_eq!(record.key(), key);
        assert_eq!(record.response(), response);
        assert_eq!(record.operation(), "batch_add");
        assert_eq!(record.created_at_unix, -5);
        assert!(record.fingerprint_matches(&digest));
        assert!(!record.fingerprint_matches(&sha256(b"y")));
        assert_eq!(fingerprint_json(&record), format!("\"{}\"", hex::encode(digest)));
        let inline = matches!(record.text, Text::Inline { .. });
        assert_eq!(record.key_bytes(), key.as_bytes());
        assert_eq!(inline, key.len() + response.len() <= INLINE, "{key}");
    }
}

#[test]
fn a_record_stays_small() {
    assert_eq!(std::mem::size_of::<IdempotencyRecord>(), 64);
    assert_eq!(std::mem::size_of::<Option<IdempotencyRecord>>(), 64);
}

#[test]
fn file_fields_are_kept_verbatim() {
    let hex_fp = hex::encode(sha256(b"x"));
    let known = IdempotencyRecord::from_file("k", "reset", &hex_fp, "\"OK\"", 7);
    assert_eq!(known, IdempotencyRecord::new("k", Op::CounterReset, sha256(b"x"), "\"OK\"", 7));
    assert_eq!(known.operation(), "reset");
    assert!(known.fingerprint_matches(&sha256(b"x")));

    let odd = IdempotencyRecord::from_file("k", "custom_op", "FP\"1", "1", 7);
    assert_eq!(odd.operation(), "custom_op");
    assert_eq!(fingerprint_json(&odd), "\"FP\\\"1\"");
    assert!(!odd.fingerprint_matches(&[0; 32]));

    // Upper-case hex is not what this server computes: kept as text,
    // matched by nothing.
    let upper = hex_fp.to_uppercase();
    let record = IdempotencyRecord::from_file("k", "batch_set", &upper, "1", 7);
    assert_eq!(record.operation(), "batch_set");
    assert_eq!(fingerprint_json(&record), format!("\"{upper}\""));
    assert!(!record.fingerprint_matches(&sha256(b"x")));
    assert!(!record.fingerprint_matches(&[0; 32]));
    // An unusual operation with a real fingerprint keeps the digest.
    let record = IdempotencyRecord::from_file("k", "", &hex_fp, "1", 7);
    assert_eq!(record.operation(), "");
    assert!(record.fingerprint_matches(&sha256(b"x")));
    assert_eq!(fingerprint_json(&record), format!("\"{hex_fp}\""));
}
