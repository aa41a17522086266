//! The auth matrix: no / wrong / read / write token x read op / write op.
mod common;
use common::{err, ok, Server};

const READ_OP: &str = r#""op":"system.ping""#;
const WRITE_OP: &str = r#""op":"counter.increment","series":"a","key":1,"bucket":20260501"#;

fn line(op: &str, token: Option<&str>) -> String {
    match token {
        Some(t) => format!(r#"{{"v":2,{op},"token":"{t}"}}"#),
        None => format!(r#"{{"v":2,{op}}}"#),
    }
}

#[test]
fn write_and_read_tokens() {
    let server = Server::start(&["--auth-token=W", "--read-auth-token=R"]);
    let unauthorized = err("unauthorized", "Unauthorized");
    let forbidden = err("forbidden", "Read-only token cannot execute command increment");
    let cases = [
        (READ_OP, None, unauthorized.clone()),
        (READ_OP, Some("bad"), unauthorized.clone()),
        (READ_OP, Some("R"), ok(r#""pong""#)),
        (READ_OP, Some("W"), ok(r#""pong""#)),
        (WRITE_OP, None, unauthorized.clone()),
        (WRITE_OP, Some("bad"), unauthorized.clone()),
        (WRITE_OP, Some("R"), forbidden),
        (WRITE_OP, Some("W"), ok("1")),
    ];
    for (op, token, expected) in cases {
        assert_eq!(server.request(&line(op, token)), expected, "{op} {token:?}");
    }
    // Field errors come before auth; semantic errors after it.
    assert_eq!(
        server.request(r#"{"v":2,"op":"counter.increment","key":1,"token":"bad"}"#),
        err("validation_error", "Field tree or series is required")
    );
    assert_eq!(server.request(r#"{"v":2,"op":"counter.increment","series":"","key":1,"token":"bad"}"#), unauthorized);
    assert_eq!(
        server.request(r#"{"v":2,"op":"snapshot.create_all","token":"R"}"#),
        err("forbidden", "Read-only token cannot execute command dump_all")
    );
    assert_eq!(
        server.request(r#"{"v":2,"op":"reconciliation.report","token":"R","checked_points":1,"mismatch_count":0}"#),
        err("forbidden", "Read-only token cannot execute command reconciliation_report")
    );
    assert_eq!(server.request(r#"{"v":2,"op":"nope","token":"bad"}"#), err("unknown_command", "Unknown op nope"));
}

#[test]
fn only_a_read_token_means_no_writes_at_all() {
    let server = Server::start(&["--read-auth-token=R"]);
    assert_eq!(server.request(&line(READ_OP, Some("R"))), ok(r#""pong""#));
    assert_eq!(server.request(&line(READ_OP, None)), err("unauthorized", "Unauthorized"));
    assert_eq!(
        server.request(&line(WRITE_OP, Some("R"))),
        err("forbidden", "Read-only token cannot execute command increment")
    );
    assert_eq!(server.request(&line(WRITE_OP, None)), err("unauthorized", "Unauthorized"));
}

#[test]
fn no_tokens_configured_ignores_the_token_field() {
    let server = Server::start(&[]);
    assert_eq!(server.request(&line(WRITE_OP, Some("anything"))), ok("1"));
}

#[test]
fn slave_refuses_writes_after_validation() {
    let server = Server::start(&["--role=slave"]);
    assert_eq!(server.request(&line(WRITE_OP, None)), err("forbidden", "Slave role cannot execute command increment"));
    assert_eq!(
        server.request(r#"{"v":2,"op":"counter.increment","series":"","key":1}"#),
        err("validation_error", "Field tree_name is required")
    );
    assert_eq!(server.request(&line(READ_OP, None)), ok(r#""pong""#));
}
