//! One TCP connection speaking the protocol's framing: a request line out,
//! a reply line back, in order, pipelining allowed.
//!
//! This is the raw layer under [`Client`](super::Client): it knows lines,
//! not ops, and never reconnects. Reply lines are read with a length limit
//! ([`Connection::set_max_reply_bytes`]), so a broken or hostile peer
//! cannot make the reader allocate without bound.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The default reply line limit: far above any reply a server sends with
/// its default `--max-response-bytes` (1 MiB), low enough that a peer that
/// never ends its line cannot exhaust memory.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// A blocking connection to one server.
///
/// ```no_run
/// use karma::client::Connection;
/// use std::time::Duration;
///
/// let mut connection = Connection::connect("127.0.0.1:8080", Some(Duration::from_secs(5)))?;
/// let reply = connection.request(r#"{"v":2,"op":"system.ping"}"#)?;
/// assert_eq!(reply, r#"{"protocol_version":2,"success":true,"response":"pong","error_code":null}"#);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    line: Vec<u8>,
    max_reply_bytes: usize,
}

impl Connection {
    /// Connects, with `timeout` as the read and write timeout (`None`:
    /// wait for ever). TCP_NODELAY is on: requests are single small lines.
    pub fn connect(address: impl ToSocketAddrs, timeout: Option<Duration>) -> std::io::Result<Connection> {
        Connection::from_stream(TcpStream::connect(address)?, timeout, timeout)
    }

    /// Connects to `address` giving up after `connect_timeout`, then uses
    /// the given read and write timeouts.
    pub fn connect_timeout(
        address: &SocketAddr,
        connect_timeout: Duration,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
    ) -> std::io::Result<Connection> {
        Connection::from_stream(TcpStream::connect_timeout(address, connect_timeout)?, read_timeout, write_timeout)
    }

    fn from_stream(
        stream: TcpStream,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
    ) -> std::io::Result<Connection> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(read_timeout)?;
        stream.set_write_timeout(write_timeout)?;
        let writer = stream.try_clone()?;
        Ok(Connection {
            reader: BufReader::new(stream),
            writer,
            line: Vec::new(),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
        })
    }

    /// Sets the longest reply line accepted, in bytes without the line
    /// ending. A longer line fails [`Connection::receive`] with
    /// `InvalidData`, and the connection must then be dropped.
    pub fn set_max_reply_bytes(&mut self, limit: usize) {
        self.max_reply_bytes = limit;
    }

    /// Sends one request line (a `\n` is added) without waiting.
    pub fn send(&mut self, request: &str) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(request.len() + 1);
        bytes.extend_from_slice(request.as_bytes());
        bytes.push(b'\n');
        self.writer.write_all(&bytes)
    }

    /// Sends one request line, telling a failure before any byte left
    /// ([`SendError::NotSent`], safe to repeat on another connection) from
    /// one after ([`SendError::Partial`]).
    pub(crate) fn send_tracked(&mut self, request: &str) -> Result<(), SendError> {
        let mut bytes = Vec::with_capacity(request.len() + 1);
        bytes.extend_from_slice(request.as_bytes());
        bytes.push(b'\n');
        let mut sent = 0;
        while sent < bytes.len() {
            match self.writer.write(&bytes[sent..]) {
                Ok(0) => {
                    let error = std::io::Error::new(ErrorKind::WriteZero, "connection accepted no bytes");
                    return Err(if sent == 0 { SendError::NotSent(error) } else { SendError::Partial(error) });
                }
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(if sent == 0 { SendError::NotSent(e) } else { SendError::Partial(e) }),
            }
        }
        Ok(())
    }

    /// Sends raw bytes as they are (framing tests, pipelines).
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// A second handle on the socket for writing, so one thread can send a
    /// long pipeline while another reads the replies.
    pub fn writer(&self) -> std::io::Result<TcpStream> {
        self.writer.try_clone()
    }

    /// Reads one reply line without its terminator (`\n` or `\r\n`);
    /// `None` at end of stream. A line longer than the limit is an
    /// `InvalidData` error; one that is not UTF-8 is too.
    pub fn receive(&mut self) -> std::io::Result<Option<String>> {
        self.line.clear();
        // One byte over the limit tells an over-long line from one that is
        // exactly at it.
        let budget = self.max_reply_bytes as u64 + 2;
        let read = (&mut self.reader).take(budget).read_until(b'\n', &mut self.line)?;
        if read == 0 {
            return Ok(None);
        }
        let ended = self.line.last() == Some(&b'\n');
        if ended {
            self.line.pop();
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
        }
        if self.line.len() > self.max_reply_bytes {
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                format!("reply line exceeds {} bytes", self.max_reply_bytes),
            ));
        }
        String::from_utf8(std::mem::take(&mut self.line))
            .map(Some)
            .map_err(|_| std::io::Error::new(ErrorKind::InvalidData, "reply line is not UTF-8"))
    }

    /// One round trip; a connection closed before the reply is an
    /// `UnexpectedEof` error.
    pub fn request(&mut self, request: &str) -> std::io::Result<String> {
        self.send(request)?;
        self.receive()?
            .ok_or_else(|| std::io::Error::new(ErrorKind::UnexpectedEof, "connection closed without a reply"))
    }

    /// Whether the peer has closed the connection (or sent bytes nobody
    /// asked for) while it sat idle: such a connection must not carry a
    /// request. Never blocks.
    pub fn is_stale(&self) -> bool {
        if !self.reader.buffer().is_empty() {
            return true;
        }
        let stream = self.reader.get_ref();
        if stream.set_nonblocking(true).is_err() {
            return true;
        }
        let stale = !matches!(stream.peek(&mut [0u8; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock);
        stream.set_nonblocking(false).is_err() || stale
    }
}

/// Why a request line could not be sent.
pub(crate) enum SendError {
    /// Not one byte left: the server cannot have seen the request.
    NotSent(std::io::Error),
    /// Part of the line left: the server may have seen all of it.
    Partial(std::io::Error),
}
