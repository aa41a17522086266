use super::*;

fn saved(reply: &str) -> String {
    let mut out = Vec::new();
    write_saved_reply(&mut out, "response", reply.as_bytes());
    String::from_utf8(out).unwrap()
}

#[test]
fn replies_within_i64_are_written_unchanged() {
    assert_eq!(
        saved(r#"{"applied":2,"total":9223372036854775807}"#),
        r#""response":{"applied":2,"total":9223372036854775807}"#
    );
    assert_eq!(saved(r#""OK""#), r#""response":"OK""#);
    assert_eq!(saved("-5"), r#""response":-5"#);
    assert!(!has_wide_integer(br#"["18446744073709551615",1.5e300]"#));
}

#[test]
fn wide_integers_become_floats_plus_the_exact_text() {
    let reply = r#"{"applied":2,"total":18446744073709551614}"#;
    assert!(has_wide_integer(reply.as_bytes()));
    assert_eq!(
        saved(reply),
        r#""response":{"applied":2,"total":1.8446744073709552e19},"response_json":"{\"applied\":2,\"total\":18446744073709551614}""#
    );
    assert_eq!(
        saved("9223372036854775808"),
        r#""response":9.223372036854776e18,"response_json":"9223372036854775808""#
    );
    // Every integer of the written text fits an i64 (what Karma 1.0 needs).
    let text = saved(reply);
    let mut widest = Vec::new();
    scan(text.as_bytes(), |t| widest.push(is_wide(t)));
    assert!(widest.iter().all(|wide| !wide));
}
