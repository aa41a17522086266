use super::*;
use crate::protocol::write;

fn reject(line: &str) -> (ErrorCode, String) {
    let r = parse_request(line.as_bytes()).unwrap_err();
    (r.error.code, r.error.message)
}

#[test]
fn preamble_errors_in_pipeline_order() {
    assert_eq!(reject("").0, ErrorCode::InvalidJson);
    assert_eq!(reject("[1]").0, ErrorCode::ValidationError);
    let v = "Karma 1.0 accepts only protocol v2 requests with field v=2".to_string();
    assert_eq!(reject(r#"{"op":"system.ping"}"#), (ErrorCode::UnsupportedProtocol, v.clone()));
    assert_eq!(reject(r#"{"v":"2","op":"system.ping"}"#).1, v);
    assert_eq!(reject(r#"{"v":2.0,"op":"system.ping"}"#).1, v);
    assert_eq!(reject(r#"{"v":2147483647,"op":"system.ping"}"#), (ErrorCode::UnsupportedProtocol, v.clone()));
    assert_eq!(reject(r#"{"v":-2147483648,"op":"system.ping"}"#), (ErrorCode::UnsupportedProtocol, v.clone()));
    let out_of_int32 = (ErrorCode::ValidationError, "Field v must fit in int32".to_string());
    assert_eq!(reject(r#"{"v":2147483648,"op":"system.ping"}"#), out_of_int32);
    assert_eq!(reject(r#"{"v":-2147483649,"op":"system.ping"}"#), out_of_int32);
    assert_eq!(reject(r#"{"v":2}"#), (ErrorCode::ValidationError, "Field op is required".into()));
    assert_eq!(reject(r#"{"v":2,"op":"nope"}"#), (ErrorCode::UnknownCommand, "Unknown op nope".into()));
    assert_eq!(reject(r#"{"v":2,"op":"counter.increment","key":42}"#).1, "Field tree or series is required");
}

#[test]
fn field_order_decides_the_error() {
    // range is parsed before the series on counter.sum.
    assert_eq!(
        reject(r#"{"v":2,"op":"counter.sum","range":{"from":2,"to":1}}"#).1,
        "Bucket range start must be less than or equal to range end"
    );
    assert_eq!(reject(r#"{"v":2,"op":"counter.sum","series":"s"}"#).1, "Field key is required");
    assert_eq!(
        reject(r#"{"v":2,"op":"counter.increment","series":"s","key":1,"idempotency_key":null}"#).1,
        "Field idempotency_key must be a string or integer"
    );
}

#[test]
fn aliases_and_envelope_fields() {
    let r = parse_request(
        br#"{"v":2,"op":"series.increment","tree":"a","key":1,"bucket":"2026-05-05","token":"t","idempotency_key":7}"#,
    )
    .unwrap();
    assert_eq!(r.op, Op::Increment);
    assert_eq!(r.token.as_deref(), Some("t"));
    assert_eq!(r.idempotency.unwrap().key, "7");
    match r.command {
        Command::Increment(write::Increment { series, key, bucket, value }) => {
            assert_eq!((series.as_ref(), key, bucket.yyyymmdd(), value), ("a", 1, 20260505, None));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn snapshot_file_rules() {
    let f = |file: &str| reject(&format!(r#"{{"v":2,"op":"snapshot.fetch","file":{file}}}"#)).1;
    assert_eq!(f("1"), "Field file is required");
    assert_eq!(f(r#""""#), "Field file must not be empty");
    assert_eq!(f(r#""a/b.tree""#), "Field file must be a snapshot basename");
    assert_eq!(f(r#""a.json""#), "Field file must end with .tree");
}

#[test]
fn multi_sum_item_messages() {
    let multi = |items: &str| reject(&format!(r#"{{"v":2,"op":"counter.multi_sum","items":{items}}}"#)).1;
    assert_eq!(reject(r#"{"v":2,"op":"counter.multi_sum"}"#).1, "Field items is required");
    assert_eq!(multi("{}"), "Field items must be an array, got Hash(String, JSON::Any)");
    assert_eq!(multi("[1]"), "Field items[] must be an object, got Int64");
    assert_eq!(multi(r#"[{"key":1}]"#), "Field items[].series is required");
    assert_eq!(multi(r#"[{"series":"","key":1}]"#), "Field items[].series must not be empty");
    assert_eq!(multi(r#"[{"series":"s"}]"#), "Field items[].key is required");
    assert_eq!(multi(r#"[{"series":"s","key":-1}]"#), "Field items[].key must be greater than or equal to 0");
}
