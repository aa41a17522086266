use super::*;
use serde_json::json;

#[test]
fn fields_are_json_when_they_parse() {
    let words = ["counter.increment", "series=api", "key=18446744073709551615", "bucket=20260505", "x=[1,2]"];
    assert_eq!(
        from_words(&words).unwrap(),
        json!({"op": "counter.increment", "series": "api", "key": u64::MAX, "bucket": 20260505, "x": [1, 2]})
    );
    assert_eq!(
        from_words(&["tree.keys", "cursor=null", "s=2026-05-05"]).unwrap(),
        json!({"op": "tree.keys", "cursor": null, "s": "2026-05-05"})
    );
    assert_eq!(from_words(&[r#"{"op":"system.ping"}"#]).unwrap(), json!({"op": "system.ping"}));
    assert_eq!(from_words(&["system.ping", "oops"]).unwrap_err().to_string(), "expected field=value, got \"oops\"");
    assert_eq!(from_words(&["[1]"]).unwrap(), json!({"op": "[1]"}));
    assert!(from_words(&["{nope"]).unwrap_err().to_string().starts_with("invalid JSON request: "));
}

#[test]
fn lines_split_like_a_shell() {
    assert_eq!(
        split_line("  tree.info  series=\"my series\" x='a b' ").ok(),
        Some(vec!["tree.info".to_string(), "series=my series".to_string(), "x=a b".to_string()])
    );
    assert_eq!(split_line(r#"{"op": "system.ping"}"#).ok(), Some(vec![r#"{"op": "system.ping"}"#.to_string()]));
    assert_eq!(split_line(r#"a s="q\"t""#).ok(), Some(vec!["a".to_string(), "s=q\"t".to_string()]));
    assert_eq!(split_line("a \"b").unwrap_err().to_string(), "unclosed \" quote");
    assert_eq!(split_line("   ").ok(), Some(vec![]));
}
