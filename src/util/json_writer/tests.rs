use super::*;

fn rendered(f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    f(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn strings_escape_exactly_as_the_reference() {
    assert_eq!(
        rendered(|o| write_str(o, "a\"b\\c/d\u{8}\u{c}\n\r\t\u{1}\u{7f}é\u{2028}")),
        "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u007fé\u{2028}\""
    );
}

#[test]
fn json_strings_are_escaped_as_the_protocol_says() {
    let mut out = Vec::new();
    write_str(&mut out, "a\"b\\c\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}/é\u{2028}");
    assert_eq!(String::from_utf8(out).unwrap(), "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f/é\u{2028}\"");
}

#[test]
fn numbers_render_in_full() {
    assert_eq!(rendered(|o| write_u64(o, u64::MAX)), "18446744073709551615");
    assert_eq!(rendered(|o| write_u64(o, 0)), "0");
    assert_eq!(rendered(|o| write_i64(o, i64::MIN)), "-9223372036854775808");
    assert_eq!(rendered(|o| write_f64(o, 0.0)), "0.0");
    assert_eq!(rendered(|o| write_f64(o, 28.236576127)), "28.236576127");
}
