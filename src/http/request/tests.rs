use super::*;

fn request(method: &str, path: &str) -> Head {
    Head::Request { method: method.to_string(), path: path.to_string() }
}

#[test]
fn request_lines() {
    assert_eq!(parse_request_line(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), request("GET", "/metrics"));
    assert_eq!(parse_request_line(b"HEAD /health?verbose=1 HTTP/1.0\n\n"), request("HEAD", "/health"));
    for bad in [
        &b"GET /metrics\r\n\r\n"[..],
        b"GET metrics HTTP/1.1\r\n\r\n",
        b"GET / HTTP/2\r\n\r\n",
        b"get / HTTP/1.1\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        b"\xff / HTTP/1.1\r\n\r\n",
    ] {
        assert_eq!(parse_request_line(bad), Head::Malformed, "{bad:?}");
    }
}

#[test]
fn the_head_ends_at_the_first_blank_line() {
    assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(24));
    assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(16));
    assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
}
