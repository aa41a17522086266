//! One client connection: read request lines, answer each in order, flush
//! once per burst of pipelined requests, after one wait for the burst's
//! writes to be durable (see `engine::Burst`).
//!
//! Framing (COMMANDS.md 1.2-1.3): a line ends at `\n`, a `\r` before it is
//! dropped; the bytes before `\n` (the `\r` included) may be at most
//! `--max-request-bytes`, else the client gets `request_too_large` and the
//! connection is closed without reading further. Bytes left when the client
//! half-closes are still answered as a final line. A read timeout closes
//! the connection silently.

use crate::engine::{Burst, Engine};
use crate::protocol::reply::write_error_parts;
use crate::protocol::ErrorCode;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

const READ_CHUNK: usize = 64 * 1024;

/// Serves `stream` until the client leaves, times out, or breaks framing.
pub fn serve(mut stream: TcpStream, engine: &Engine) {
    let max_line = engine.config.max_request_bytes;
    let mut pending: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut scanned = 0; // bytes of `pending` known to hold no '\n'
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut body: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut burst = Burst::default();
    loop {
        let mut start = 0;
        while let Some(offset) = memchr_newline(&pending[start + scanned..]) {
            let end = start + scanned + offset;
            let raw = &pending[start..end];
            if raw.len() > max_line {
                engine.settle(&mut burst, &mut out);
                reject_too_large(&mut stream, &mut out, max_line);
                return;
            }
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            engine.handle_in_burst(line, &mut out, &mut body, &mut burst);
            start = end + 1;
            scanned = 0;
        }
        scanned = pending.len() - start;
        if scanned > max_line {
            engine.settle(&mut burst, &mut out);
            reject_too_large(&mut stream, &mut out, max_line);
            return;
        }
        if start > 0 {
            pending.drain(..start);
        }
        // Nothing complete is left in the buffer: answer the burst now, once
        // its writes are durable.
        engine.settle(&mut burst, &mut out);
        if !out.is_empty() {
            if stream.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                if !pending.is_empty() {
                    let line = pending.strip_suffix(b"\r").unwrap_or(&pending);
                    engine.handle_line(line, &mut out, &mut body);
                    let _ = stream.write_all(&out);
                }
                return;
            }
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // Timeouts and socket errors end the session without a reply.
            Err(_) => return,
        }
    }
}

fn memchr_newline(haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == b'\n')
}

fn reject_too_large(stream: &mut TcpStream, out: &mut Vec<u8>, max_line: usize) {
    write_error_parts(out, ErrorCode::RequestTooLarge, &format!("Request exceeds {max_line} bytes"));
    let _ = stream.write_all(out);
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
