//! One client connection: read request lines, answer each in order, and
//! hand each burst of pipelined requests' output to the connection's
//! [`Outbox`], which sends it once the burst's writes are durable (one
//! wait per burst, see `engine::Burst`) while the session reads on.
//!
//! Framing (docs/protocol.md, Connections and framing): a line ends at `\n`, a `\r` before it is
//! dropped; the bytes before `\n` (the `\r` included) may be at most
//! `--max-request-bytes`, else the client gets `request_too_large` and the
//! connection is closed without reading further. Bytes left when the client
//! half-closes are still answered as a final line.
//!
//! Time limits (`--read-timeout`): a session waits that long for the first
//! byte of a request, and a request line must be complete that long after
//! its first byte; either way the connection is closed silently. The line
//! deadline is what keeps a client that trickles a byte every few seconds
//! from holding its slot for ever (a per-read timeout restarts with every
//! byte).
//!
//! Memory: replies wait in the session's output buffer until the burst is
//! answered, but once they pass [`MAX_PENDING_OUTPUT`] they go to the
//! outbox mid-burst; and once the outbox holds that much (replies waiting
//! for the WAL or for the socket), the session waits until it is all sent
//! before more requests are handled. A client that pipelines big reads and
//! never reads its replies then blocks its own session on the socket until
//! the write timeout, and the node holds at most about that much for it.

use super::outbox::Outbox;
use crate::engine::{Burst, Engine};
use crate::protocol::reply::write_error_parts;
use crate::protocol::ErrorCode;
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

const READ_CHUNK: usize = 64 * 1024;

/// Replies held for one burst before they go to the outbox mid-burst, and
/// the most the outbox holds before the session waits for it to be sent.
/// Ordinary bursts stay far below it and keep their single flush.
const MAX_PENDING_OUTPUT: usize = 4 << 20;

/// What the output and scratch buffers keep between bursts; a burst of big
/// replies grows them, and a quiet session gives that back.
const KEEP_BUFFER_BYTES: usize = 256 << 10;

/// Serves `stream` until the client leaves, times out, or breaks framing.
pub fn serve(stream: TcpStream, engine: &Arc<Engine>) {
    let max_line = engine.config.max_request_bytes;
    let write_timeout = Some(engine.config.write_timeout_secs).filter(|&s| s > 0).map(Duration::from_secs);
    let outbox = Outbox::new(stream, Arc::clone(engine));
    let mut pending: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut scanned = 0; // bytes of `pending` known to hold no '\n'
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut body: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut burst = Burst::default();
    let mut clock = LineClock::new(engine.config.read_timeout_secs);
    let mut last_read = Instant::now();
    loop {
        let mut start = 0;
        while let Some(offset) = memchr::memchr(b'\n', &pending[start + scanned..]) {
            let end = start + scanned + offset;
            let raw = &pending[start..end];
            if raw.len() > max_line {
                outbox.submit(&mut out, &mut burst);
                reject_too_large(&outbox, max_line, write_timeout);
                return;
            }
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            engine.handle_in_burst(line, &mut out, &mut body, &mut burst);
            start = end + 1;
            scanned = 0;
            if out.len() >= MAX_PENDING_OUTPUT && !send(&outbox, &mut burst, &mut out, write_timeout) {
                return;
            }
        }
        scanned = pending.len() - start;
        if scanned > max_line {
            outbox.submit(&mut out, &mut burst);
            reject_too_large(&outbox, max_line, write_timeout);
            return;
        }
        if start > 0 {
            pending.drain(..start);
            // The partial line left, if any, began in the last read.
            clock.line_started = None;
        }
        if !pending.is_empty() && clock.line_started.is_none() {
            clock.line_started = Some(last_read);
        }
        if pending.is_empty() {
            clock.line_started = None;
        }
        // Nothing complete is left in the buffer: the burst's output goes
        // out as soon as its writes are durable, and the session reads on.
        if !send(&outbox, &mut burst, &mut out, write_timeout) {
            return;
        }
        if body.capacity() > KEEP_BUFFER_BYTES {
            body = Vec::with_capacity(4096);
        }
        if outbox.busy() && outbox.wait_input(write_timeout).is_err() {
            return; // stalled replies could not be sent: the client is gone or stuck
        }
        if !clock.arm(outbox.stream()) {
            outbox.drain(write_timeout);
            return; // the request line is overdue
        }
        match outbox.stream().read(&mut chunk) {
            Ok(0) => {
                if !pending.is_empty() {
                    let line = pending.strip_suffix(b"\r").unwrap_or(&pending);
                    engine.handle_in_burst(line, &mut out, &mut body, &mut burst);
                    outbox.submit(&mut out, &mut burst);
                }
                outbox.drain(write_timeout);
                return;
            }
            Ok(n) => {
                pending.extend_from_slice(&chunk[..n]);
                last_read = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // Timeouts and socket errors end the session without a reply
            // (what earlier requests were answered still goes out).
            Err(_) => {
                outbox.drain(write_timeout);
                return;
            }
        }
    }
}

/// Hands the burst's output to the outbox (`out` is left empty); once the
/// outbox holds [`MAX_PENDING_OUTPUT`], waits until all of it is sent.
/// False when the client is gone or the write timed out.
fn send(outbox: &Arc<Outbox>, burst: &mut Burst, out: &mut Vec<u8>, write_timeout: Option<Duration>) -> bool {
    outbox.submit(out, burst);
    outbox.queued_bytes() < MAX_PENDING_OUTPUT || outbox.drain(write_timeout)
}

/// The socket's read timeout: `--read-timeout` while waiting for a request,
/// what is left of it since the first byte while a line is incomplete.
struct LineClock {
    /// `None` when `--read-timeout` is 0 (no limit).
    limit: Option<Duration>,
    /// When the first byte of the incomplete line in the buffer arrived.
    line_started: Option<Instant>,
    /// The timeout last set on the socket (set at accept to `limit`).
    armed: Option<Duration>,
}

impl LineClock {
    fn new(read_timeout_secs: u64) -> LineClock {
        let limit = (read_timeout_secs > 0).then(|| Duration::from_secs(read_timeout_secs));
        LineClock { limit, line_started: None, armed: limit }
    }

    /// Sets the socket's timeout for the next read; false when the line's
    /// deadline has already passed. Only a line that spans reads costs a
    /// system call here.
    fn arm(&mut self, stream: &TcpStream) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        let wanted = match self.line_started {
            None => limit,
            Some(started) => match limit.checked_sub(started.elapsed()) {
                Some(left) if !left.is_zero() => left,
                _ => return false,
            },
        };
        if self.armed != Some(wanted) {
            if stream.set_read_timeout(Some(wanted)).is_err() {
                return false;
            }
            self.armed = Some(wanted);
        }
        true
    }
}

fn reject_too_large(outbox: &Arc<Outbox>, max_line: usize, write_timeout: Option<Duration>) {
    let mut out = Vec::new();
    write_error_parts(&mut out, ErrorCode::RequestTooLarge, &format!("Request exceeds {max_line} bytes"));
    outbox.submit(&mut out, &mut Burst::default());
    outbox.drain(write_timeout);
    let _ = outbox.stream().shutdown(std::net::Shutdown::Both);
}
