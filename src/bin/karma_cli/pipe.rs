//! `--pipe`: bulk loading. Stdin's lines (JSON requests or `OP
//! field=value ...`) are sent pipelined on one connection by one thread
//! while this one reads the replies, then a summary is printed: lines,
//! replies, and errors by code. The first error replies are shown with
//! their line numbers.

use crate::request::RequestError;
use crate::{render, request};
use karma::client::Client;
use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};
use std::net::Shutdown;
use std::sync::mpsc;

/// Error replies shown before only counting.
const SHOWN_ERRORS: usize = 10;

/// What the sending thread did.
struct Sent {
    lines: u64,
    sent: u64,
    /// Lines that were not requests (not sent).
    unreadable: u64,
    failure: Option<String>,
}

/// Returns `true` when every line was sent and answered with success.
pub fn run(client: &Client, raw: bool) -> bool {
    let mut connection = match client.connect() {
        Ok(connection) => connection,
        Err(e) => {
            eprintln!("karma-cli: {e}");
            return false;
        }
    };
    let writer = match connection.writer() {
        Ok(writer) => writer,
        Err(e) => {
            eprintln!("karma-cli: cannot use the connection: {e}");
            return false;
        }
    };
    let (line_numbers, sent_lines) = mpsc::channel::<u64>();
    let rendered = |request| client.render_request(request).map_err(RequestError::Render);
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut replies = 0u64;
    let mut read_failure = None;
    let sent = std::thread::scope(|scope| {
        let sender = scope.spawn(move || send_all(std::io::stdin().lock(), writer, &line_numbers, rendered));
        loop {
            match connection.receive() {
                Ok(Some(reply)) => {
                    replies += 1;
                    let line = sent_lines.recv().unwrap_or(0);
                    if let render::Shown::Error { code, text } = render::show(&reply, raw) {
                        let count = errors.entry(code).or_default();
                        *count += 1;
                        if errors.values().sum::<u64>() <= SHOWN_ERRORS as u64 {
                            println!("line {line}: {text}");
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    read_failure = Some(e.to_string());
                    break;
                }
            }
        }
        sender.join().unwrap_or(Sent { lines: 0, sent: 0, unreadable: 0, failure: Some("sender panicked".into()) })
    });
    let error_count: u64 = errors.values().sum();
    println!(
        "lines: {}, sent: {}, replies: {replies}, errors: {error_count}, unreadable lines: {}",
        sent.lines, sent.sent, sent.unreadable
    );
    for (code, count) in &errors {
        println!("  {code}: {count}");
    }
    if let Some(failure) = &sent.failure {
        eprintln!("karma-cli: sending failed: {failure}");
    }
    if let Some(failure) = &read_failure {
        eprintln!("karma-cli: reading replies failed: {failure}");
    }
    if replies < sent.sent {
        eprintln!("karma-cli: {} requests got no reply (the server closed the connection)", sent.sent - replies);
    }
    error_count == 0 && replies == sent.sent && sent.unreadable == 0 && sent.failure.is_none() && read_failure.is_none()
}

/// Sends every request line of `input`, then half-closes the connection so
/// the server closes it after the last reply.
fn send_all(
    input: impl BufRead,
    writer: std::net::TcpStream,
    line_numbers: &mpsc::Sender<u64>,
    render: impl Fn(serde_json::Value) -> Result<String, RequestError>,
) -> Sent {
    let mut sent = Sent { lines: 0, sent: 0, unreadable: 0, failure: None };
    let mut out = BufWriter::with_capacity(1 << 16, &writer);
    for line in input.lines() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                sent.failure = Some(format!("cannot read stdin: {e}"));
                break;
            }
        };
        sent.lines += 1;
        if line.trim().is_empty() {
            continue;
        }
        let request = request::split_line(&line).and_then(|words| request::from_words(&words)).and_then(&render);
        let request = match request {
            Ok(request) => request,
            Err(message) => {
                sent.unreadable += 1;
                eprintln!("karma-cli: line {}: {message}", sent.lines);
                continue;
            }
        };
        // The reader pairs replies with line numbers in order.
        let _ = line_numbers.send(sent.lines);
        if let Err(e) = out.write_all(request.as_bytes()).and_then(|()| out.write_all(b"\n")) {
            sent.failure = Some(e.to_string());
            break;
        }
        sent.sent += 1;
    }
    if let Err(e) = out.flush() {
        sent.failure.get_or_insert(e.to_string());
    }
    drop(out);
    let _ = writer.shutdown(Shutdown::Write);
    sent
}
