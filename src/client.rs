//! The Rust client of Karma: blocking, with a pool of connections.
//!
//! [`Client`] has a typed method for every op of the protocol (each names
//! its wire op in its documentation), a generic [`Client::call`] for a
//! request built as JSON, and [`Client::request_line`] for raw request and
//! reply lines. [`Connection`] is the layer beneath: one socket, lines in
//! and out, pipelining, no reconnection.
//!
//! Keys, buckets and values are `u64` end to end: requests are written and
//! replies read as unsigned integers, never through `i64` or `f64`.
//!
//! # Connections, retries and unknown outcomes
//!
//! A call takes an idle pooled connection (or opens one), sends its line
//! and reads the reply. The server closes connections that stay idle past
//! its `--read-timeout` (5 s by default); the pool drops those before use,
//! so no call fails because of a stale socket. If a connection breaks
//! while a call is under way:
//! - before any byte of the request left, the call moves to a new
//!   connection;
//! - after, the server may have applied it. A read, or a write that
//!   carries an idempotency key, is sent again on a new connection (the
//!   server answers a repeated key with the first reply). Any other write
//!   fails with [`Error::OutcomeUnknown`].
//!
//! # Example
//!
//! ```no_run
//! use karma::client::{Client, Options, Range};
//!
//! let client = Client::with_options(
//!     "127.0.0.1:8080",
//!     Options { token: std::env::var("KARMA_TOKEN").ok(), ..Options::default() },
//! );
//! // The reply of an increment is the amount added, not the new total.
//! assert_eq!(client.increment("api_requests", 42, Some(20260505), 5, None)?, 5);
//! let total = client.sum("api_requests", 42, Some(Range::new(20260501, 20260531)))?;
//! assert!(total >= 5);
//! // A keyed write can be retried safely: the server applies it once.
//! client.increment("api_requests", u64::MAX, Some(20260505), 1, Some("import-7"))?;
//! # Ok::<(), karma::client::Error>(())
//! ```

mod connection;
mod error;
mod ops;
mod pool;
mod reply;

pub use connection::{Connection, DEFAULT_MAX_REPLY_BYTES};
pub use error::{Error, Result, ServerCode};
pub use ops::{IngestMode, Range};
pub use reply::*;

use crate::protocol::Op;
use connection::SendError;
use pool::Pool;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// How a [`Client`] connects and waits.
#[derive(Clone, Debug)]
pub struct Options {
    /// Sent as `token` with every request (`--auth-token` or
    /// `--read-auth-token` of the server).
    pub token: Option<String>,
    /// Longest wait for a TCP connection, per address tried.
    pub connect_timeout: Duration,
    /// Longest wait for a reply (`None`: for ever).
    pub read_timeout: Option<Duration>,
    /// Longest wait for the socket to take a request (`None`: for ever).
    pub write_timeout: Option<Duration>,
    /// Idle connections kept for reuse.
    pub max_idle: usize,
    /// A pooled connection idle this long is closed rather than reused;
    /// keep it below the server's `--read-timeout`.
    pub idle_timeout: Duration,
    /// Longest reply line accepted, in bytes (see [`Connection::set_max_reply_bytes`]).
    pub max_reply_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            token: None,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            max_idle: 16,
            idle_timeout: Duration::from_secs(4),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
        }
    }
}

/// A client for one server. Cheap to share between threads (`&Client` is
/// enough: calls take connections from an internal pool).
pub struct Client {
    address: String,
    options: Options,
    pool: Pool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of logs.
        f.debug_struct("Client").field("address", &self.address).finish_non_exhaustive()
    }
}

/// A success reply: the `response` value, and for an eligible write sent
/// with an idempotency key, whether the server replayed a stored reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub response: Value,
    /// `Some(true)` when the reply was replayed for a repeated key.
    pub idempotent: Option<bool>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    success: bool,
    #[serde(borrow)]
    response: &'a RawValue,
    #[serde(default)]
    idempotent: Option<bool>,
    #[serde(default)]
    error_code: Option<String>,
}

/// The fields a raw request line is classified by for retries.
#[derive(Deserialize)]
struct RetryFields {
    #[serde(default)]
    op: Option<Value>,
    #[serde(default)]
    idempotency_key: Option<Value>,
}

impl Client {
    /// A client for `address` (`host:port`) with default [`Options`].
    /// Nothing is connected until the first call.
    pub fn new(address: impl Into<String>) -> Client {
        Client::with_options(address, Options::default())
    }

    /// A client for `address` (`host:port`) with `options`.
    pub fn with_options(address: impl Into<String>, options: Options) -> Client {
        let pool = Pool::new(options.max_idle, options.idle_timeout);
        Client { address: address.into(), options, pool }
    }

    /// The address calls go to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Opens a new connection with this client's timeouts and reply limit,
    /// outside the pool (for pipelining, or to hold one socket).
    pub fn connect(&self) -> Result<Connection> {
        let connect_error = |source| Error::Connect { address: self.address.clone(), source };
        let addresses: Vec<SocketAddr> = self.address.as_str().to_socket_addrs().map_err(connect_error)?.collect();
        let mut last = std::io::Error::new(ErrorKind::NotFound, "the host name resolved to no address");
        for address in &addresses {
            match Connection::connect_timeout(
                address,
                self.options.connect_timeout,
                self.options.read_timeout,
                self.options.write_timeout,
            ) {
                Ok(mut connection) => {
                    connection.set_max_reply_bytes(self.options.max_reply_bytes);
                    return Ok(connection);
                }
                Err(e) => last = e,
            }
        }
        Err(connect_error(last))
    }

    /// Closes every idle pooled connection.
    pub fn close_idle(&self) {
        self.pool.clear();
    }

    /// Sends one raw request line as it is (no `v` or token added) and
    /// returns the raw reply line, error envelopes included. Retried as
    /// described in the [module documentation](self): the line is safe to
    /// repeat when its `op` is read-only, or is an idempotency-eligible
    /// write with an `idempotency_key`.
    pub fn request_line(&self, line: &str) -> Result<String> {
        self.round_trip(line, retry_safe(line))
    }

    /// Sends `request` (a JSON object; `v` and the client's token are
    /// added when absent) and returns the success reply, or the server's
    /// error as [`Error::Server`].
    ///
    /// ```no_run
    /// let client = karma::client::Client::new("127.0.0.1:8080");
    /// let reply = client.call(serde_json::json!({"op": "system.ping"}))?;
    /// assert_eq!(reply.response, "pong");
    /// # Ok::<(), karma::client::Error>(())
    /// ```
    pub fn call(&self, request: Value) -> Result<Reply> {
        let Value::Object(fields) = request else {
            return Err(Error::InvalidRequest("a request must be a JSON object".into()));
        };
        let line = self.render(fields);
        let reply = self.round_trip(&line, retry_safe(&line))?;
        let envelope = parse_envelope(&reply)?;
        let response = serde_json::from_str(envelope.response.get()).map_err(|e| invalid(&reply, e))?;
        Ok(Reply { response, idempotent: envelope.idempotent })
    }

    /// Like [`Client::call`], but returns the raw reply line, error
    /// envelopes included (what `karma-cli --raw` prints).
    pub fn call_raw(&self, request: Value) -> Result<String> {
        let Value::Object(fields) = request else {
            return Err(Error::InvalidRequest("a request must be a JSON object".into()));
        };
        let line = self.render(fields);
        self.round_trip(&line, retry_safe(&line))
    }

    /// The request line [`Client::call`] would send for `request` (`v`
    /// and the token added), for pipelining on a [`Connection`].
    pub fn render_request(&self, request: Value) -> Result<String> {
        match request {
            Value::Object(fields) => Ok(self.render(fields)),
            _ => Err(Error::InvalidRequest("a request must be a JSON object".into())),
        }
    }

    /// Sends a request built by a typed method and decodes its response.
    fn typed<T: DeserializeOwned>(&self, op: Op, fields: Map<String, Value>) -> Result<T> {
        let mut request = Map::with_capacity(fields.len() + 3);
        request.insert("v".into(), Value::from(2));
        request.insert("op".into(), Value::from(op.name()));
        let keyed = fields.contains_key("idempotency_key");
        request.extend(fields);
        let line = self.render(request);
        let safe = op.is_read_only() || (keyed && op.is_idempotent());
        let reply = self.round_trip(&line, safe)?;
        let envelope = parse_envelope(&reply)?;
        serde_json::from_str(envelope.response.get()).map_err(|e| invalid(&reply, e))
    }

    fn render(&self, mut request: Map<String, Value>) -> String {
        request.entry("v").or_insert(Value::from(2));
        if let Some(token) = &self.options.token {
            request.entry("token").or_insert_with(|| Value::from(token.as_str()));
        }
        Value::Object(request).to_string()
    }

    /// One request line out, one reply line back, on a pooled connection.
    fn round_trip(&self, line: &str, retry_safe: bool) -> Result<String> {
        // A safe call gets a fresh connection for each failure after its
        // line left; the bound keeps a dying server from looping it.
        let mut attempts_left = 3;
        loop {
            let mut connection = match self.pool.take() {
                Some(connection) => connection,
                None => self.connect()?,
            };
            let failure = match connection.send_tracked(line) {
                Err(SendError::NotSent(e)) => {
                    // The server cannot have seen the line: safe to move
                    // it to a new connection whatever it is.
                    attempts_left -= 1;
                    if attempts_left == 0 {
                        return Err(Error::Io(e));
                    }
                    continue;
                }
                Err(SendError::Partial(e)) => e,
                Ok(()) => match connection.receive() {
                    Ok(Some(reply)) => {
                        self.pool.put(connection);
                        return Ok(reply);
                    }
                    Ok(None) => std::io::Error::new(ErrorKind::UnexpectedEof, "connection closed without a reply"),
                    Err(e) if e.kind() == ErrorKind::InvalidData => return Err(Error::Io(e)),
                    Err(e) => e,
                },
            };
            attempts_left -= 1;
            let broken = matches!(
                failure.kind(),
                ErrorKind::UnexpectedEof
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
            );
            if !retry_safe {
                return Err(Error::OutcomeUnknown { source: failure });
            }
            if !broken || attempts_left == 0 {
                return Err(Error::Io(failure));
            }
        }
    }
}

/// Whether a raw request line may be sent twice.
fn retry_safe(line: &str) -> bool {
    let Ok(fields) = serde_json::from_str::<RetryFields>(line) else {
        // The server answers an unparsable line with an error and changes
        // nothing.
        return true;
    };
    let Some(op) = fields.op.as_ref().and_then(Value::as_str).and_then(Op::from_name) else {
        return true;
    };
    op.is_read_only() || (fields.idempotency_key.is_some() && op.is_idempotent())
}

fn parse_envelope(reply: &str) -> Result<Envelope<'_>> {
    let envelope: Envelope<'_> = serde_json::from_str(reply).map_err(|e| invalid(reply, e))?;
    if envelope.success {
        return Ok(envelope);
    }
    let message = match serde_json::from_str::<Value>(envelope.response.get()) {
        Ok(Value::String(message)) => message,
        _ => envelope.response.get().to_string(),
    };
    let code = ServerCode::from_name(envelope.error_code.as_deref().unwrap_or(""));
    Err(Error::Server { code, message })
}

fn invalid(reply: &str, error: serde_json::Error) -> Error {
    Error::InvalidReply { reason: error.to_string(), reply: reply.to_string() }
}
