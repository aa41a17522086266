use proptest::prelude::*;
use serde_json::Value;

use super::*;

const ENTRY: &str = r#"{"v":2,"op":"counter.increment","series":"api","key":42,"bucket":20260505,"value":7}"#;

fn record(line: &str) -> (u64, String) {
    match parse_line(line.as_bytes()).expect("valid") {
        Line::Record { lsn, entry } => (lsn, String::from_utf8(entry.into_owned()).unwrap()),
        other => panic!("not a record: {other:?}"),
    }
}

#[test]
fn encodes_the_exact_envelope() {
    let mut buf = Vec::new();
    encode_line(&mut buf, 1, ENTRY.as_bytes());
    assert_eq!(String::from_utf8(buf).unwrap(), format!("{{\"v\":2,\"lsn\":1,\"entry\":{ENTRY}}}\n"));
}

#[test]
fn fast_path_borrows_the_entry_verbatim() {
    let line = format!("{{\"v\":2,\"lsn\":18446744073709551615,\"entry\":{ENTRY}}}");
    match parse_line(line.as_bytes()).expect("valid") {
        Line::Record { lsn, entry: Cow::Borrowed(entry) } => {
            assert_eq!(lsn, u64::MAX);
            assert_eq!(entry, ENTRY.as_bytes());
        }
        other => panic!("expected a borrowed record, got {other:?}"),
    }
    assert_eq!(line_lsn(line.as_bytes()), Some(u64::MAX));
}

#[test]
fn other_key_orders_and_spaces_keep_the_entry_key_order() {
    let line = r#" { "entry" : {"v":2, "op":"tree.create","series":"a b\" c"} , "lsn": 9, "v": 2 } "#;
    assert_eq!(record(line), (9, r#"{"v":2,"op":"tree.create","series":"a b\" c"}"#.to_string()));
    assert_eq!(line_lsn(line.as_bytes()), Some(9));
    let escaped_key = r#"{"\u006csn":3,"entry":{"v":2}}"#;
    assert_eq!(record(escaped_key), (3, r#"{"v":2}"#.to_string()));
}

#[test]
fn lines_without_an_envelope_and_invalid_json() {
    assert_eq!(parse_line(b"  \t").unwrap(), Line::Blank);
    assert_eq!(
        parse_line(ENTRY.as_bytes()).unwrap(),
        Line::NoEnvelope("WAL entry without v2 LSN envelope is not supported")
    );
    assert_eq!(parse_line(br#"{"v":2,"entry":{}}"#).unwrap(), Line::NoEnvelope("WAL line without lsn"));
    assert_eq!(
        parse_line(br#"{"v":2,"lsn":-1,"entry":{}}"#).unwrap(),
        Line::NoEnvelope("WAL line lsn is not an unsigned integer")
    );
    assert_eq!(parse_line(b"[1,2]").unwrap(), Line::NoEnvelope("not a JSON object"));
    let torn = r#"{"v":2,"lsn":5,"entry":{"v":2,"op":"x","range":{"from":1}"#;
    assert_eq!(parse_line(torn.as_bytes()).unwrap_err().to_string(), "EOF while parsing an object at line 1 column 57");
    assert_eq!(line_lsn(torn.as_bytes()), Some(5), "the prefix alone is enough for probing");
    assert_eq!(
        parse_line(br#"{"v":2,"lsn":01,"entry":{}}"#).unwrap_err().to_string(),
        "invalid number at line 1 column 15"
    );
}

/// Any JSON value, nested a little: strings with quotes, backslashes,
/// control characters and non-ASCII text, and numbers of every kind.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A WAL entry: a JSON object, whose keys may be the envelope's own
/// (`v`, `lsn`, `entry`), serialised compactly as the engine does.
pub(crate) fn entry_object() -> impl Strategy<Value = Value> {
    let key = prop_oneof![Just("v".to_string()), Just("lsn".to_string()), Just("entry".to_string()), any::<String>()];
    prop::collection::vec((key, json_value()), 0..5).prop_map(|fields| Value::Object(fields.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// What `encode_line` writes, every reader gives back: the LSN and the
    /// entry's bytes, unchanged.
    #[test]
    fn encoded_lines_parse_back_to_the_same_record(lsn in any::<u64>(), entry in entry_object()) {
        let entry = serde_json::to_vec(&entry).expect("serialise");
        let mut buf = Vec::new();
        encode_line(&mut buf, lsn, &entry);
        prop_assert_eq!(buf.pop(), Some(b'\n'));
        prop_assert!(!buf.contains(&b'\n'), "one line per record");
        let expected = Line::Record { lsn, entry: Cow::Borrowed(&entry[..]) };
        prop_assert_eq!(parse_line(&buf).ok(), Some(expected));
        let expected = Line::Record { lsn, entry: Cow::Borrowed(&entry[..]) };
        prop_assert_eq!(parse_line_strict(&buf).ok(), Some(expected));
        prop_assert_eq!(line_lsn(&buf), Some(lsn));
    }

    /// A line in any other layout (keys reordered, whitespace around
    /// everything, as another writer might produce) gives the same record,
    /// the entry compacted but otherwise as written.
    #[test]
    fn reformatted_lines_parse_back_to_the_same_record(lsn in any::<u64>(), entry in entry_object()) {
        let compact = serde_json::to_vec(&entry).expect("serialise");
        let pretty = serde_json::to_string_pretty(&entry).expect("serialise");
        let line = format!(" {{ \"entry\" :\t{pretty} , \"lsn\" : {lsn} ,\"v\": 2 }} ");
        let expected = Line::Record { lsn, entry: Cow::Borrowed(&compact[..]) };
        prop_assert_eq!(parse_line(line.as_bytes()).ok(), Some(expected));
        prop_assert_eq!(line_lsn(line.as_bytes()), Some(lsn));
    }
}
