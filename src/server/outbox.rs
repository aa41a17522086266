//! A connection's replies on their way out, shared by its session and by
//! whichever thread makes the session's writes durable.
//!
//! The session queues each burst's output here and goes back to reading.
//! Output without held writes is sent at once if nothing is ahead of it;
//! output whose writes wait for the WAL is queued as a [`Deferred`] segment
//! and a completion is registered for its LSN. The committing thread calls
//! [`Outbox::complete`] right after the batch's fsync: it finishes the
//! segment (errors instead of successes if the WAL failed) and sends every
//! segment that is ready, in order, with non-blocking sends. So replies
//! keep request order on the connection: a read answered while a write
//! ahead of it waits for its fsync is queued behind that write.
//!
//! The committing thread sends with the connection's lock let go (the
//! session's own sends keep it; see [`Send`]), and while it sends, the
//! session leaves its ready output to it, so one thread sends at a time.
//!
//! Nothing here blocks the committing thread: a send that would block
//! leaves the rest queued and marks the outbox stalled, and the session
//! finishes it (waiting for room in the socket, up to the write timeout)
//! before it reads further, so a client that stops reading holds up only
//! its own session. A failed send means the client is gone: everything
//! queued is dropped (the writes themselves stay applied and durable).

use crate::engine::{Burst, Deferred, Engine};
use crate::util::mutex::{Condvar, Mutex, MutexGuard};
use crate::wal::{Completion, WalError};
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Spare output buffers kept per connection, and the most each keeps.
const SPARE_BUFFERS: usize = 2;
const KEEP_BUFFER_BYTES: usize = 64 * 1024;

pub struct Outbox {
    stream: TcpStream,
    engine: Arc<Engine>,
    queue: Mutex<Queue>,
    /// Signalled when a segment is finished or sent, or the client is gone.
    changed: Condvar,
}

#[derive(Default)]
struct Queue {
    segments: VecDeque<Segment>,
    /// Bytes of the front segment already sent.
    sent: usize,
    /// The socket had no room for a ready segment: the session finishes it.
    stalled: bool,
    /// The committing thread is sending the front segment with the lock
    /// let go (see [`Send::LetGo`]).
    sending: bool,
    /// A send failed: the client is gone and nothing more is sent.
    broken: bool,
    spare: Vec<Vec<u8>>,
}

/// One burst's output; `waiting` while its writes are not settled.
struct Segment {
    bytes: Vec<u8>,
    waiting: Option<Deferred>,
}

/// How the session's wait for input ended.
pub enum Input {
    Ready,
    /// Nothing is queued any more: a plain blocking read will do.
    Idle,
}

impl Outbox {
    pub fn new(stream: TcpStream, engine: Arc<Engine>) -> Arc<Outbox> {
        Arc::new(Outbox { stream, engine, queue: Mutex::default(), changed: Condvar::new() })
    }

    /// Queues the burst's output `out` (taking its bytes; `out` is left
    /// empty) behind whatever is queued, sends what may be sent, and, if
    /// the burst holds writes that are not durable yet, registers for
    /// their LSN.
    pub fn submit(self: &Arc<Self>, out: &mut Vec<u8>, burst: &mut Burst) {
        let deferred = self.engine.defer(burst);
        if out.is_empty() {
            return; // nothing was answered (a burst always answers what it holds)
        }
        let lsn = deferred.as_ref().map(Deferred::lsn);
        let mut queue = self.queue.lock();
        if queue.broken {
            out.clear();
            return;
        }
        let spare = queue.spare.pop().unwrap_or_default();
        queue.segments.push_back(Segment { bytes: std::mem::replace(out, spare), waiting: deferred });
        self.send_ready(&mut queue, Send::Holding);
        drop(queue);
        if let Some(lsn) = lsn {
            self.engine.when_durable(lsn, Arc::clone(self) as Arc<dyn Completion>);
        }
    }

    /// The client's socket (the session reads from it).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// True while output is queued: waiting for the WAL or for the socket.
    pub fn busy(&self) -> bool {
        !self.queue.lock().segments.is_empty()
    }

    /// Bytes queued and not sent yet.
    pub fn queued_bytes(&self) -> usize {
        let queue = self.queue.lock();
        // The bytes of a segment being sent are out of the queue meanwhile.
        let front_sent = queue.segments.front().map_or(0, |front| queue.sent.min(front.bytes.len()));
        queue.segments.iter().map(|s| s.bytes.len()).sum::<usize>() - front_sent
    }

    /// Sends what is ready and stalled, waiting for room in the socket up
    /// to `timeout` (`None`: no limit). False when it could not: timed
    /// out, or the client is gone.
    pub fn finish_stalled(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let mut queue = self.queue.lock();
            if queue.broken {
                return false;
            }
            if queue.stalled {
                self.send_ready(&mut queue, Send::Holding);
            }
            if !queue.stalled {
                drop(queue);
                self.changed.notify_all();
                return true;
            }
            drop(queue);
            if !self.wait_socket(libc::POLLOUT, deadline) {
                return false;
            }
        }
    }

    /// Waits until the client sent something, finishing stalled replies
    /// meanwhile; `Idle` as soon as nothing is queued any more. `Err` when
    /// stalled replies cannot be sent within `write_timeout`.
    pub fn wait_input(&self, write_timeout: Option<Duration>) -> Result<Input, ()> {
        /// How often a session with queued output looks whether it stalled
        /// (the completion that stalls cannot interrupt a blocked read).
        const LOOK_EVERY: Duration = Duration::from_millis(10);
        loop {
            let (busy, stalled) = {
                let queue = self.queue.lock();
                (!queue.segments.is_empty() && !queue.broken, queue.stalled && !queue.broken)
            };
            if stalled && !self.finish_stalled(write_timeout) {
                return Err(());
            }
            if !busy {
                return Ok(Input::Idle);
            }
            if self.wait_socket(libc::POLLIN, Some(Instant::now() + LOOK_EVERY)) {
                return Ok(Input::Ready);
            }
        }
    }

    /// Waits until everything queued is sent, at most `timeout` (`None`:
    /// no limit); false when it was not (timed out, or the client is gone).
    pub fn drain(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut queue = self.queue.lock();
        loop {
            if queue.broken {
                return false;
            }
            if queue.segments.is_empty() {
                return true;
            }
            if queue.stalled {
                drop(queue);
                if !self.finish_stalled(deadline.map(|d| d.saturating_duration_since(Instant::now()))) {
                    return false;
                }
                queue = self.queue.lock();
                continue;
            }
            match deadline {
                Some(deadline) => {
                    if self.changed.wait_until(&mut queue, deadline).timed_out() {
                        return false;
                    }
                }
                None => self.changed.wait(&mut queue),
            }
        }
    }

    /// Sends the ready segments at the front, in order, without blocking.
    /// Whoever finds a send in progress with the lock let go leaves its
    /// ready segments to that sender, who looks again after each send, so
    /// replies keep their order and one thread sends at a time.
    fn send_ready(&self, queue: &mut MutexGuard<'_, Queue>, how: Send) {
        if queue.sending {
            return;
        }
        loop {
            let sent = queue.sent;
            let Some(front) = queue.segments.front_mut() else { break };
            if front.waiting.is_some() {
                break;
            }
            let len = front.bytes.len();
            if sent < len {
                let result = match how {
                    Send::Holding => send_nonblocking(&self.stream, &front.bytes[sent..]),
                    Send::LetGo => {
                        let bytes = std::mem::take(&mut front.bytes);
                        queue.sending = true;
                        let result = MutexGuard::unlocked(queue, || send_nonblocking(&self.stream, &bytes[sent..]));
                        queue.sending = false;
                        if let Some(front) = queue.segments.front_mut() {
                            front.bytes = bytes;
                        }
                        result
                    }
                };
                match result {
                    Ok(n) => {
                        queue.sent += n;
                        if queue.sent < len {
                            queue.stalled = true;
                            return;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        queue.stalled = true;
                        return;
                    }
                    Err(_) => {
                        queue.broken = true;
                        queue.segments.clear();
                        queue.sent = 0;
                        return;
                    }
                }
            }
            queue.stalled = false;
            queue.sent = 0;
            if let Some(mut done) = queue.segments.pop_front() {
                if queue.spare.len() < SPARE_BUFFERS && done.bytes.capacity() <= KEEP_BUFFER_BYTES {
                    done.bytes.clear();
                    queue.spare.push(done.bytes);
                }
            }
        }
    }

    /// Waits until the socket is ready for `events` (true) or `deadline`
    /// passes or the socket fails (false).
    fn wait_socket(&self, events: libc::c_short, deadline: Option<Instant>) -> bool {
        loop {
            let timeout_ms = match deadline {
                None => -1,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int
                }
            };
            let mut poll = libc::pollfd { fd: self.stream.as_raw_fd(), events, revents: 0 };
            // SAFETY: one valid pollfd, owned by this frame, for one call.
            let ready = unsafe { libc::poll(&mut poll, 1, timeout_ms) };
            if ready > 0 {
                // Errors and hang-ups count as ready: the read or send that
                // follows reports them.
                return true;
            }
            if ready < 0 && std::io::Error::last_os_error().kind() != ErrorKind::Interrupted {
                return false;
            }
        }
    }
}

impl Completion for Outbox {
    /// The burst waiting for `lsn` is settled: finish its replies and send
    /// whatever is ready now.
    fn complete(&self, lsn: u64, outcome: Result<(), &WalError>) {
        let mut queue = self.queue.lock();
        let waiting = queue.segments.iter_mut().find(|s| s.waiting.as_ref().is_some_and(|d| d.lsn() == lsn));
        if let Some(segment) = waiting {
            if let Some(deferred) = segment.waiting.take() {
                self.engine.finish(deferred, &mut segment.bytes, outcome);
            }
            self.send_ready(&mut queue, Send::LetGo);
        }
        drop(queue);
        self.changed.notify_all();
    }
}

/// Whether a send keeps the connection's lock.
#[derive(Clone, Copy)]
enum Send {
    /// The session's own sends: the lock is uncontended then, and letting
    /// it go and taking it again would only add to every reply (measured:
    /// letting go on every send slowed `--wal-fsync=false` at 4 clients by
    /// 15-30%).
    Holding,
    /// The committing thread's sends. The `send` wakes the client, which
    /// often preempts the sender right there; held across it, the lock made
    /// the session, by then reading that client's next request, wait in
    /// `submit` for a thread that was not running (at 128 clients, the
    /// outbox lock was behind nearly every futex wait).
    LetGo,
}

/// One `send(2)` that never blocks and never raises SIGPIPE.
fn send_nonblocking(stream: &TcpStream, bytes: &[u8]) -> std::io::Result<usize> {
    // SAFETY: `bytes` is a valid buffer of `bytes.len()` bytes for the call.
    let sent = unsafe {
        libc::send(stream.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
    };
    if sent < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}
