//! The engine: the one [`State`] behind a `parking_lot` mutex, and the
//! request pipeline of COMMANDS.md section 3 from a parsed line to a reply.
//!
//! Order of a request: parse (no lock) -> authenticate -> validate -> role
//! check -> execute (lock held only to read or apply) -> response size
//! check -> envelope. Every line that reaches the JSON parser counts in
//! `command_count`; every failure in `error_count`.

mod counters;
mod dispatch;
pub mod idempotency;
pub mod ingest;
mod inspect;
mod maintenance;
pub mod recovery;
mod state;
mod system;

pub use inspect::Deadline;
pub use state::State;

use crate::config::{Config, Role};
use crate::metrics::Metrics;
use crate::protocol::reply::{success_len, write_error, write_success};
use crate::protocol::{parse_request, CommandError, ErrorCode, Op, Request};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Instant;

/// What a successful execution adds to the envelope.
#[derive(Debug, Default, Clone, Copy)]
pub struct Executed {
    /// `Some` for idempotent-eligible ops sent with a key.
    pub idempotent: Option<bool>,
}

/// A Karma node: configuration, state and metrics.
pub struct Engine {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    state: Mutex<State>,
    started: Instant,
}

impl Engine {
    pub fn new(config: Arc<Config>, metrics: Arc<Metrics>, state: State) -> Engine {
        Engine { config, metrics, state: Mutex::new(state), started: Instant::now() }
    }

    /// Handles one request line (terminator removed) and appends exactly
    /// one reply line to `out`. `body` is scratch space for the response.
    pub fn handle_line(&self, line: &[u8], out: &mut Vec<u8>, body: &mut Vec<u8>) {
        let started = Instant::now();
        self.metrics.command_count.inc();
        let request = match parse_request(line) {
            Ok(request) => request,
            Err(rejected) => {
                self.count_error(rejected.op);
                write_error(out, &rejected.error);
                self.record_latency(rejected.op, started);
                return;
            }
        };
        body.clear();
        match self.run(&request, body) {
            Ok(executed) => {
                let limit = self.config.max_response_bytes;
                if limit > 0 && success_len(body.len(), executed.idempotent) > limit {
                    self.count_error(Some(request.op));
                    let message = format!("Response exceeds {limit} bytes");
                    write_error(out, &CommandError::new(ErrorCode::ResponseTooLarge, message));
                } else {
                    write_success(out, body, executed.idempotent);
                }
            }
            Err(error) => {
                self.count_error(Some(request.op));
                write_error(out, &error);
            }
        }
        self.record_latency(Some(request.op), started);
    }

    fn count_error(&self, op: Option<Op>) {
        self.metrics.error_count.inc();
        match op {
            Some(op) => self.metrics.per_op.get(op).errors.inc(),
            None => self.metrics.preamble_errors.inc(),
        }
    }

    fn record_latency(&self, op: Option<Op>, started: Instant) {
        let elapsed = started.elapsed();
        self.metrics.latency.record(elapsed.as_micros() as u64);
        if let Some(op) = op {
            let per_op = self.metrics.per_op.get(op);
            per_op.count.inc();
            per_op.latency_ms.observe(elapsed.as_secs_f64() * 1000.0);
        }
    }

    /// Steps 9-12 of the pipeline.
    fn run(&self, request: &Request<'_>, body: &mut Vec<u8>) -> Result<Executed, CommandError> {
        self.authorize(request)?;
        request.command.validate()?;
        if self.config.role == Role::Slave && !request.op.is_read_only() {
            return Err(CommandError::new(
                ErrorCode::Forbidden,
                format!("Slave role cannot execute command {}", request.op.internal_name()),
            ));
        }
        self.execute(request, body)
    }

    /// Authentication and the read-only token (COMMANDS.md section 6).
    fn authorize(&self, request: &Request<'_>) -> Result<(), CommandError> {
        let write = self.config.auth_token.as_deref();
        let read = self.config.read_auth_token.as_deref();
        if write.is_none() && read.is_none() {
            return Ok(());
        }
        let token = request.token.as_deref();
        if token.is_some() && token == write {
            return Ok(());
        }
        if token.is_some() && token == read {
            if request.op.is_read_only() {
                return Ok(());
            }
            return Err(CommandError::new(
                ErrorCode::Forbidden,
                format!("Read-only token cannot execute command {}", request.op.internal_name()),
            ));
        }
        Err(CommandError::new(ErrorCode::Unauthorized, "Unauthorized"))
    }

    fn execute(&self, request: &Request<'_>, body: &mut Vec<u8>) -> Result<Executed, CommandError> {
        if let Some(result) = self.execute_system(request, body) {
            return result.map(|_| Executed::default());
        }
        if request.op.is_read_only() {
            let state = self.state.lock();
            dispatch::read(&state, &self.metrics, self.config.query_timeout_ms, request, body)?;
            return Ok(Executed::default());
        }
        if !request.op.is_logged() {
            return Err(dispatch::unavailable(request));
        }
        let mut state = self.state.lock();
        dispatch::apply(&mut state, &self.metrics, request, body)?;
        Ok(Executed::default())
    }

    /// Seconds since the process started.
    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}
