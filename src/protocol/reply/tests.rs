use super::*;

#[test]
fn envelopes_are_byte_exact() {
    let mut out = Vec::new();
    write_success(&mut out, b"5", Some(false));
    assert_eq!(
        out,
        b"{\"protocol_version\":2,\"success\":true,\"response\":5,\"idempotent\":false,\"error_code\":null}\r\n"
    );
    assert_eq!(success_len(1, Some(false)), out.len() - 2);
    out.clear();
    write_error(&mut out, &CommandError::new(ErrorCode::UnknownCommand, "Unknown op nope"));
    assert_eq!(
        out,
        b"{\"protocol_version\":2,\"success\":false,\"response\":\"Unknown op nope\",\"error_code\":\"unknown_command\"}\r\n"
    );
}
