use super::*;

#[test]
fn parses_objects_keeping_duplicate_keys_last_wins() {
    let v = parse(br#" {"a":1,"b":[true,null,"x"],"a":2} "#).unwrap();
    assert_eq!(v.get("a"), Some(&Value::Int(2)));
    assert_eq!(v.get("b"), Some(&Value::Array(vec![Value::Bool(true), Value::Null, Value::Str("x".into())])));
}

#[test]
fn integers_span_i64_min_to_u64_max_and_floats_are_floats() {
    assert_eq!(parse(b"9223372036854775807").unwrap(), Value::Int(i64::MAX.into()));
    assert_eq!(parse(b"9223372036854775808").unwrap(), Value::Int(i128::from(i64::MAX) + 1));
    assert_eq!(parse(b"18446744073709551615").unwrap(), Value::Int(u64::MAX.into()));
    assert_eq!(parse(b"-9223372036854775808").unwrap(), Value::Int(i64::MIN.into()));
    assert_eq!(parse(b"-0").unwrap(), Value::Int(0));
    assert_eq!(parse(b"1.0").unwrap(), Value::Float(1.0));
    assert_eq!(parse(b"1e3").unwrap(), Value::Float(1000.0));
    let err = parse(b"{\"k\":18446744073709551616}").unwrap_err().to_string();
    assert_eq!(err, "Invalid UInt64: \"18446744073709551616\" at line 1, column 6");
    let err = parse(b"[-9223372036854775809]").unwrap_err().to_string();
    assert_eq!(err, "Invalid Int64: \"-9223372036854775809\" at line 1, column 2");
    let err = parse(b"[-18446744073709551616]").unwrap_err().to_string();
    assert_eq!(err, "Invalid Int64: \"-18446744073709551616\" at line 1, column 2");
}

#[test]
fn rejects_what_is_not_one_json_value() {
    assert_eq!(parse(b"").unwrap_err().to_string(), "unexpected token '<EOF>' at line 1, column 1");
    assert_eq!(parse(b"   ").unwrap_err().to_string(), "unexpected token '<EOF>' at line 1, column 4");
    assert!(parse(b"{} {}").is_err());
    assert!(parse(b"{\"a\":}").is_err());
    assert!(parse(b"[1,]").is_err());
    assert!(parse(b"01").is_err());
    assert!(parse(b"\"\x01\"").is_err());
    assert_eq!(parse(b"\"\xff\"").unwrap_err(), JsonError::InvalidUtf8 { column: 2 });
}

#[test]
fn strings_unescape_and_borrow_when_plain() {
    match parse(br#""plain""#).unwrap() {
        Value::Str(Cow::Borrowed("plain")) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(parse(br#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#).unwrap(), Value::Str("a\"b\\c/d\n\u{e9}\u{1F600}".into()));
    assert!(parse(br#""\ud83d""#).is_err());
}

#[test]
fn nesting_is_bounded() {
    let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(parse(ok.as_bytes()).is_ok());
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert_eq!(parse(deep.as_bytes()).unwrap_err(), JsonError::TooDeep { depth: MAX_DEPTH + 1 });
}

#[test]
fn floats_beyond_f64_are_rejected_as_karma_1_0_does() {
    assert_eq!(parse(b"1e400").unwrap_err().to_string(), "Invalid Float64: \"1e400\" at line 1, column 1");
    assert_eq!(parse(b"[-1.8e308]").unwrap_err().to_string(), "Invalid Float64: \"-1.8e308\" at line 1, column 2");
    assert_eq!(parse(b"1.7976931348623157e308").unwrap(), Value::Float(f64::MAX));
    assert_eq!(parse(b"1e-400").unwrap(), Value::Float(0.0));
}
