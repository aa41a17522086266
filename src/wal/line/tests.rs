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
    assert_eq!(parse_line(torn.as_bytes()).unwrap_err(), "EOF while parsing an object at line 1 column 57");
    assert_eq!(line_lsn(torn.as_bytes()), Some(5), "the prefix alone is enough for probing");
    assert_eq!(parse_line(br#"{"v":2,"lsn":01,"entry":{}}"#).unwrap_err(), "invalid number at line 1 column 15");
}
