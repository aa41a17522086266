use super::*;
use crate::protocol::json::parse;

fn obj(text: &str) -> Value<'_> {
    parse(text.as_bytes()).unwrap()
}

fn message<T: std::fmt::Debug>(r: FieldResult<T>) -> String {
    r.unwrap_err().message
}

#[test]
fn series_prefers_tree_and_ignores_non_strings() {
    assert_eq!(series(&obj(r#"{"tree":"a","series":"b"}"#)).unwrap(), "a");
    assert_eq!(series(&obj(r#"{"tree":1,"series":"b"}"#)).unwrap(), "b");
    assert_eq!(message(series(&obj(r#"{"series":null}"#))), "Field tree or series is required");
}

#[test]
fn buckets_accept_dashed_strings_and_reject_non_dates() {
    let b = |t: &str| write_bucket(&obj(t)).map(|b| b.yyyymmdd());
    assert_eq!(b(r#"{"bucket":"2026-05-05"}"#).unwrap(), 20260505);
    assert_eq!(b(r#"{"bucket":"2026--05-0-5"}"#).unwrap(), 20260505);
    assert_eq!(b(r#"{"bucket":20260505,"date":20260506}"#).unwrap(), 20260506);
    assert_eq!(message(b(r#"{"bucket":"-1"}"#)), "Field bucket must be greater than or equal to 0");
    assert_eq!(message(b(r#"{"bucket":""}"#)), "Field bucket must be a bucket date");
    assert_eq!(message(b(r#"{"bucket":"2026/05/05"}"#)), "Field bucket must be a bucket date");
    assert_eq!(message(b(r#"{"bucket":"99999999999999999999999"}"#)), "Field bucket must be a bucket date");
    assert_eq!(message(b(r#"{"bucket":20261332}"#)), "Field bucket must be a bucket date");
    assert_eq!(message(b(r#"{"bucket":-3}"#)), "Field bucket must be greater than or equal to 0");
    assert!(b(r#"{"bucket":null}"#).is_err());
}

#[test]
fn ranges_check_order_then_dates_then_width() {
    let r = |t: &str| opt_range(&obj(t));
    assert_eq!(r("{}").unwrap(), None);
    assert!(r(r#"{"range":null}"#).is_err());
    assert_eq!(message(r(r#"{"range":{"to":1}}"#)), "Field range.from is required");
    assert_eq!(
        message(r(r#"{"range":{"from":2,"to":1}}"#)),
        "Bucket range start must be less than or equal to range end"
    );
    let ok = RawRange { from: 20250101, to: 20260102 };
    assert!(ok.buckets().is_ok());
    let wide = RawRange { from: 20250101, to: 20260103 };
    assert_eq!(wide.buckets().unwrap_err().message, "Range exceeds max days");
    let bad = RawRange { from: 20260230, to: 20260301 };
    assert_eq!(bad.buckets().unwrap_err().message, "Invalid bucket date");
}

#[test]
fn items_are_checked_triples() {
    let i = |t: &str| items(&obj(t));
    assert_eq!(i(r#"{"items":[[1,20260501,5]]}"#).unwrap().len(), 1);
    assert_eq!(message(i(r#"{"items":[[1,20260501]]}"#)), "Each item must be [key, bucket, value]");
    assert_eq!(message(i(r#"{"items":[[1,20260501,-5]]}"#)), "Field items[][2] must be greater than or equal to 0");
    assert_eq!(message(i(r#"{}"#)), "Field items is required");
}

#[test]
fn limit_outside_int32_is_a_validation_error() {
    assert_eq!(message(opt_limit(&obj(r#"{"limit":2147483648}"#))), "Field limit exceeds max size");
    assert_eq!(opt_limit(&obj(r#"{"limit":5}"#)).unwrap(), Some(5));
    assert_eq!(message(opt_limit(&obj(r#"{"limit":18446744073709551615}"#))), "Field limit exceeds max size");
}

#[test]
fn unsigned_fields_take_the_whole_u64_range() {
    let key = |t: &str| req_uint(&obj(t), "key");
    assert_eq!(key(r#"{"key":18446744073709551615}"#).unwrap(), u64::MAX);
    assert_eq!(key(r#"{"key":9223372036854775808}"#).unwrap(), 1 << 63);
    assert_eq!(message(key(r#"{"key":-9223372036854775808}"#)), "Field key must be greater than or equal to 0");
    assert_eq!(
        message(opt_int(&obj(r#"{"checked_points":9223372036854775808}"#), "checked_points")),
        "Field checked_points must be less than or equal to 9223372036854775807"
    );
    assert_eq!(opt_int(&obj(r#"{"n":-9223372036854775808}"#), "n").unwrap(), Some(i64::MIN));
}

#[test]
fn arrays_and_required_nested_integers() {
    assert_eq!(message(keys(&obj("{}"))), "Field keys is required");
    assert_eq!(message(keys(&obj(r#"{"keys":"1"}"#))), "Field keys must be an array, got String");
    assert_eq!(message(keys(&obj(r#"{"keys":[1,-1]}"#))), "Field keys[] must be greater than or equal to 0");
    assert_eq!(keys(&obj(r#"{"keys":[3,1,3]}"#)).unwrap(), [3, 1, 3]);
    assert_eq!(message(items(&obj("{}"))), "Field items is required");
    assert_eq!(message(items(&obj(r#"{"items":null}"#))), "Field items must be an array, got Nil");
    assert_eq!(message(opt_range(&obj(r#"{"range":{"from":1}}"#))), "Field range.to is required");
    assert_eq!(
        message(opt_range(&obj(r#"{"range":{"from":1,"to":"2"}}"#))),
        "Field range.to must be an integer, got String"
    );
    assert_eq!(message(req_uint(&obj("{}"), "key")), "Field key is required");
}
