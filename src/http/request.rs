//! Just enough HTTP/1.x for two read-only endpoints: read one request head
//! within a byte limit and a deadline, write one response, close.
//!
//! Every connection carries one request (`Connection: close`), so there is
//! no keep-alive state, no chunked encoding and no request body to parse;
//! a body that comes anyway is drained briefly after the response so the
//! peer reads the response instead of a reset.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// What arrived on a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// A well-formed request line (the path without its query string).
    Request { method: String, path: String },
    /// No end of the head within the byte limit.
    TooLarge,
    /// Not an HTTP/1.x request line.
    Malformed,
    /// The deadline passed first.
    TimedOut,
    /// The peer closed or the socket failed: nothing to answer.
    Gone,
}

/// Reads a request head of at most `limit` bytes, waiting no later than
/// `deadline` in total (a trickle of bytes cannot keep it longer).
pub fn read_head(stream: &mut TcpStream, limit: usize, deadline: Instant) -> Head {
    let mut buffer = vec![0u8; limit];
    let mut filled = 0;
    loop {
        if let Some(end) = head_end(&buffer[..filled]) {
            return parse_request_line(&buffer[..end]);
        }
        if filled == limit {
            return Head::TooLarge;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Head::TimedOut;
        }
        match stream.read(&mut buffer[filled..]) {
            Ok(0) => return Head::Gone,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return Head::TimedOut,
            Err(_) => return Head::Gone,
        }
    }
}

/// Where the head ends (after its blank line), if it has.
fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn parse_request_line(head: &[u8]) -> Head {
    let Ok(head) = std::str::from_utf8(head) else { return Head::Malformed };
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Head::Malformed;
    };
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    if !method_ok || !target.starts_with('/') || !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Head::Malformed;
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    Head::Request { method: method.to_string(), path: path.to_string() }
}

/// One response to write.
pub struct Response<'a> {
    pub status: u16,
    pub content_type: &'a str,
    /// Extra header lines, each ending in `\r\n`.
    pub headers: &'a str,
    pub body: &'a [u8],
    /// `HEAD`: the headers (with the body's length) and no body.
    pub head_only: bool,
}

impl Response<'_> {
    /// A plain-text response.
    pub fn text(status: u16, body: &str) -> Response<'_> {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: "",
            body: body.as_bytes(),
            head_only: false,
        }
    }
}

/// Writes `response` and closes the connection, draining for at most
/// `linger` whatever the peer still sends (at most 64 KiB) so that it sees
/// the response rather than a reset.
pub fn respond(mut stream: TcpStream, response: &Response<'_>, write_timeout: Duration, linger: Duration) {
    let mut out = Vec::with_capacity(160 + response.body.len());
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n{}\r\n",
            response.status,
            reason(response.status),
            response.content_type,
            response.body.len(),
            response.headers
        )
        .as_bytes(),
    );
    if !response.head_only {
        out.extend_from_slice(response.body);
    }
    let _ = stream.set_write_timeout(Some(write_timeout));
    if stream.write_all(&out).is_err() {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + linger;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < 65_536 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests;
