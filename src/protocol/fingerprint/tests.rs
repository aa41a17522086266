use super::*;
use crate::protocol::parse_request;

fn fp(line: &str) -> Option<String> {
    fingerprint(&parse_request(line.as_bytes()).expect("valid request line"))
}

fn text(line: &str) -> Option<String> {
    canonical_text(&parse_request(line.as_bytes()).expect("valid request line"))
}

#[test]
fn increment_vector_and_its_equivalent_spellings() {
    let expected = "00efa1dcd02ad1bb399c2131de3a2ae29a340f7dc629c33809641d0a6bd46e14";
    let line = r#"{"v":2,"op":"counter.increment","series":"usage","key":101,"bucket":20260529,"value":2}"#;
    assert_eq!(
        text(line).as_deref(),
        Some("command:s:9:increment\nseries:s:5:usage\nkey:u:101\nbucket:u:20260529\nvalue:u:2\n")
    );
    assert_eq!(fp(line).as_deref(), Some(expected));
    // Alias, `date`, a string bucket, extra fields and key order do not count.
    for same in [
        r#"{"v":2,"op":"series.increment","tree":"usage","key":101,"date":20260529,"value":2}"#,
        r#"{"value":2,"bucket":"2026-05-29","key":101,"series":"usage","op":"counter.increment","v":2,"token":"t","idempotency_key":"k","fingerprint":"x","range":{"from":1,"to":2},"other":[1]}"#,
    ] {
        assert_eq!(fp(same).as_deref(), Some(expected), "{same}");
    }
}

#[test]
fn increment_defaults_value_and_bucket() {
    let today = crate::store::Bucket::today().yyyymmdd();
    assert_eq!(
        text(r#"{"v":2,"op":"counter.decrement","series":"s","key":1}"#),
        Some(format!("command:s:9:decrement\nseries:s:1:s\nkey:u:1\nbucket:u:{today}\nvalue:u:1\n"))
    );
}

#[test]
fn persistence_example() {
    let line = r#"{"v":2,"op":"counter.increment","series":"api","key":43,"bucket":20260506,"value":3}"#;
    assert_eq!(fp(line).as_deref(), Some("f5cec8440dbe3a2c8a1f2954263670d37ecfaecdacf186dc74c507ad42665f2e"));
}

#[test]
fn batch_add_vector() {
    let line = r#"{"v":2,"op":"series.batch_add","series":"usage","items":[[101,20260529,5],[102,20260529,1]]}"#;
    assert_eq!(
        text(line).as_deref(),
        Some(concat!(
            "command:s:9:batch_add\nseries:s:5:usage\nitems_count:i:2\n",
            "item_key:u:101\nitem_bucket:u:20260529\nitem_value:u:5\n",
            "item_key:u:102\nitem_bucket:u:20260529\nitem_value:u:1\n"
        ))
    );
    let expected = "d7b24834877dd43ac3bfac544cb3ce840865e0e3f52c18b3c7b61df77b836151";
    assert_eq!(fp(line).as_deref(), Some(expected));
    let alias = r#"{"v":2,"op":"counter.batch_increment","series":"usage","granularity":"day","items":[[101,20260529,5],[102,20260529,1]]}"#;
    assert_eq!(fp(alias).as_deref(), Some(expected));
}

#[test]
fn tree_reset_vector_and_counter_reset() {
    let line = r#"{"v":2,"op":"tree.reset","series":"usage"}"#;
    assert_eq!(text(line).as_deref(), Some("command:s:5:reset\nseries:s:5:usage\nkey:n\n"));
    assert_eq!(fp(line).as_deref(), Some("422e51677aebd841b23f86612755285b7200bc1c0ba822dd00463c24c6f8d205"));
    assert_eq!(
        text(r#"{"v":2,"op":"counter.reset","series":"usage","key":7}"#).as_deref(),
        Some("command:s:5:reset\nseries:s:5:usage\nkey:u:7\n")
    );
}

#[test]
fn batch_delete_range_vector() {
    let line = r#"{"v":2,"op":"counter.batch_delete_range","series":"usage","keys":[1,2],"range":{"from":20260501,"to":20260531}}"#;
    assert_eq!(
        text(line).as_deref(),
        Some(concat!(
            "command:s:18:batch_delete_range\nseries:s:5:usage\nkeys_count:i:2\n",
            "key_value:u:1\nkey_value:u:2\nrange_from:u:20260501\nrange_to:u:20260531\n"
        ))
    );
    assert_eq!(fp(line).as_deref(), Some("f2ba9c528b1ce30256ef5efca90aa37c093c82f027070e87aa1b3db1f8f12bc5"));
}

#[test]
fn ingest_vectors() {
    let chunk = r#"{"v":2,"op":"ingest.chunk","stream_id":"import-1","series":"usage","chunk_seq":1,"items":[[101,20260529,5]]}"#;
    assert_eq!(
        text(chunk).as_deref(),
        Some(concat!(
            "command:s:12:ingest_chunk\nstream_id:s:8:import-1\nseries:s:5:usage\nchunk_seq:u:1\n",
            "items_count:i:1\nitem_key:u:101\nitem_bucket:u:20260529\nitem_value:u:5\n"
        ))
    );
    assert_eq!(fp(chunk).as_deref(), Some("0d8bca02e8caeb2397147b66695cab1b30a7484faa740ac3837c283aa7a15f86"));
    let begin = r#"{"v":2,"op":"ingest.begin","stream_id":"s1","mode":"add","granularity":"day"}"#;
    assert_eq!(fp(begin).as_deref(), Some("1e2a7aef87c0443538c0db22e97db18ef2faa0af3ecf31ebb8f455a783dd06de"));
    assert_eq!(
        text(r#"{"v":2,"op":"ingest.begin","stream_id":"s1","mode":"add","granularity":5}"#).as_deref(),
        Some("command:s:12:ingest_begin\nstream_id:s:2:s1\nmode:s:3:add\ngranularity:n\n")
    );
    assert_eq!(
        text(r#"{"v":2,"op":"ingest.commit","stream_id":"s1"}"#).as_deref(),
        Some("command:s:13:ingest_commit\nstream_id:s:2:s1\n")
    );
    assert_eq!(
        text(r#"{"v":2,"op":"ingest.abort","stream_id":"s1"}"#).as_deref(),
        Some("command:s:12:ingest_abort\nstream_id:s:2:s1\n")
    );
}

#[test]
fn delete_and_batch_reset_lines() {
    assert_eq!(
        text(r#"{"v":2,"op":"counter.delete_range","series":"u","key":3,"range":{"from":20260501,"to":20260502}}"#)
            .as_deref(),
        Some("command:s:6:delete\nseries:s:1:u\nkey:u:3\nrange_from:u:20260501\nrange_to:u:20260502\n")
    );
    assert_eq!(
        text(r#"{"v":2,"op":"tree.delete_range","series":"u","range":{"from":20260501,"to":20260502}}"#).as_deref(),
        Some("command:s:6:delete\nseries:s:1:u\nkey:n\nrange_from:u:20260501\nrange_to:u:20260502\n")
    );
    assert_eq!(
        text(r#"{"v":2,"op":"counter.batch_reset","series":"é","keys":[]}"#).as_deref(),
        Some("command:s:11:batch_reset\nseries:s:2:é\nkeys_count:i:0\n")
    );
    assert_eq!(
        text(r#"{"v":2,"op":"series.batch_set","series":"u","items":[[1,20260501,0]]}"#).as_deref(),
        Some("command:s:9:batch_set\nseries:s:1:u\nitems_count:i:1\nitem_key:u:1\nitem_bucket:u:20260501\nitem_value:u:0\n")
    );
}

#[test]
fn numbers_are_plain_decimal() {
    for value in [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 20260529, 12345678901, u64::MAX - 1, u64::MAX] {
        let mut out = [0u8; 21];
        let len = write_number(&mut out, value, b'\n');
        assert_eq!(&out[..len], format!("{value}\n").as_bytes());
        let mut text = Vec::new();
        text.push_number(value, b':');
        assert_eq!(text, format!("{value}:").as_bytes());
        let mut sink = HashSink::new();
        sink.push_number(value, b':');
        assert_eq!(sink.finish(), sha256(format!("{value}:").as_bytes()));
    }
}

#[test]
fn long_texts_hash_the_same_through_the_buffer() {
    // 400 items: the text passes the stack buffer many times over.
    let items: Vec<String> = (0..400u64).map(|i| format!("[{},20260529,{}]", i * 7919, i64::MAX as u64 - i)).collect();
    let line = format!(r#"{{"v":2,"op":"series.batch_add","series":"usage","items":[{}]}}"#, items.join(","));
    let request = parse_request(line.as_bytes()).unwrap();
    let text = canonical_text(&request).unwrap();
    assert!(text.len() > 10_000);
    assert_eq!(command_digest(request.op, &request.command), Some(sha256(text.as_bytes())));
    assert_eq!(fp(&line), Some(hex::encode(sha256(text.as_bytes()))));
    // Every length around the buffer's size.
    for len in 100..300 {
        let series = "s".repeat(len);
        let line = format!(r#"{{"v":2,"op":"tree.reset","series":"{series}"}}"#);
        let request = parse_request(line.as_bytes()).unwrap();
        let text = canonical_text(&request).unwrap();
        assert_eq!(command_digest(request.op, &request.command), Some(sha256(text.as_bytes())), "{len}");
    }
}

#[test]
fn hex_round_trips() {
    let digest = sha256(b"abc");
    let text = hex::encode(digest);
    assert!(is_hex_of(&text, &digest));
    assert_eq!(digest_from_hex(&text), Some(digest));
    assert!(!is_hex_of(&text.to_uppercase(), &digest));
    assert_eq!(digest_from_hex(&text.to_uppercase()), None);
    assert!(!is_hex_of(&text[..62], &digest));
    assert_eq!(digest_from_hex(&text[..62]), None);
    assert_eq!(digest_from_hex(&format!("{}g", &text[..63])), None);
    assert!(!is_hex_of(&hex::encode(sha256(b"abd")), &digest));
}

#[test]
fn other_ops_have_no_fingerprint() {
    assert_eq!(fp(r#"{"v":2,"op":"counter.sum","series":"u","key":1}"#), None);
    assert_eq!(fp(r#"{"v":2,"op":"tree.create","series":"u","idempotency_key":"k"}"#), None);
    assert_eq!(fp(r#"{"v":2,"op":"system.ping"}"#), None);
}
