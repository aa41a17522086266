use super::*;

fn text(shown: Shown) -> String {
    match shown {
        Shown::Success(text) => text,
        Shown::Error { text, .. } => text,
    }
}

#[test]
fn replies_read_like_redis_cli() {
    let ok =
        |response: &str| format!(r#"{{"protocol_version":2,"success":true,"response":{response},"error_code":null}}"#);
    assert_eq!(text(show(&ok("18446744073709551615"), false)), "18446744073709551615");
    assert_eq!(text(show(&ok(r#""pong""#), false)), "pong");
    assert_eq!(text(show(&ok("[]"), false)), "(empty)");
    assert_eq!(text(show(&ok(r#"{"applied":1}"#), false)), "{\n  \"applied\": 1\n}");
    let error = r#"{"protocol_version":2,"success":false,"response":"Unknown op nope","error_code":"unknown_command"}"#;
    assert_eq!(text(show(error, false)), "(error) unknown_command: Unknown op nope");
    assert_eq!(text(show(error, true)), error);
    let replayed = r#"{"protocol_version":2,"success":true,"response":5,"idempotent":true,"error_code":null}"#;
    assert_eq!(text(show(replayed, false)), "5\n(replayed: the idempotency key was used before)");
}
