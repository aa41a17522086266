//! The engine: the one [`State`] behind a `parking_lot` mutex, and the
//! request pipeline of docs/protocol.md, Order of checks from a parsed line to a reply.
//!
//! Order of a request: parse (no lock) -> authenticate -> validate -> role
//! check -> execute (lock held only to read or apply) -> response size
//! check -> envelope. Every line that reaches the JSON parser counts in
//! `command_count`; every failure in `error_count`.
//!
//! The path runs downward through the files: this one (the pipeline) ->
//! `route` (from each command to its handler; a read op's handler is named
//! by its row in the op table) -> for a logged write,
//! `logged` (fingerprint once, `keyed_write`, `apply`, WAL) -> the handlers
//! (`counters`, `maintenance`, `inspect`, `ingest`, ...) -> `store`.

mod apply;
mod burst;
mod checkpoint;
mod counters;
mod degraded;
mod error;
mod failed_entries;
pub mod idempotency;
pub mod ingest;
mod ingest_ops;
mod inspect;
mod keyed_write;
mod log_shipping;
mod logged;
mod maintenance;
mod probe;
pub mod recovery;
mod restore;
mod route;
mod snapshots;
mod state;
mod system;
mod verify;

pub use burst::{Burst, Deferred};
pub use error::{ReplicaError, RestoreError};
pub use inspect::Deadline;
pub use probe::Health;
pub use restore::RestoreReport;
pub use state::State;

use crate::config::{Config, Role};
use crate::metrics::Metrics;
use crate::protocol::reply::{success_len, write_error, write_success};
use crate::protocol::{parse_request, CommandError, ErrorCode, Op, Request};
use crate::replication::ReplicationStats;
use crate::wal::{Wal, WalOptions, WalReader};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a successful execution adds to the envelope.
#[derive(Debug, Default, Clone, Copy)]
pub struct Executed {
    /// `Some` for idempotent-eligible ops sent with a key.
    pub idempotent: Option<bool>,
    /// A logged write queued for the WAL at this LSN: its reply may only
    /// be sent once that is durable.
    pub durable_at: Option<u64>,
    /// The WAL epoch `durable_at` belongs to (see `Wal::epoch`).
    pub wal_epoch: u64,
}

/// A Karma node: configuration, state, WAL and metrics.
pub struct Engine {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// The one state lock: parking_lot's mutex algorithm without its
    /// `sched_yield` (see `util::mutex` for why and what it measured).
    state: crate::util::mutex::Mutex<State>,
    /// `None` with `--wal=false` (and for in-memory engines).
    wal: Option<Wal>,
    /// Pages the WAL for `replication.entries` without the state lock.
    wal_reader: Option<WalReader>,
    replication: ReplicationStats,
    /// Serialises `snapshot.create_all` runs (signal, command, shutdown).
    snapshot_lock: Mutex<()>,
    /// Keeps `recovery.json` rewrites in the order their changes were made.
    recovery_file_lock: Mutex<()>,
    /// WAL failures and recoveries (see `degraded`).
    degraded: Mutex<degraded::Degraded>,
    started: Instant,
}

impl Engine {
    /// An in-memory engine with no WAL and no files (benches, scratch copies).
    pub fn new(config: Arc<Config>, metrics: Arc<Metrics>, state: State) -> Engine {
        Engine {
            config,
            metrics,
            state: crate::util::mutex::Mutex::new(state),
            wal: None,
            wal_reader: None,
            replication: ReplicationStats::default(),
            snapshot_lock: Mutex::new(()),
            recovery_file_lock: Mutex::new(()),
            degraded: Mutex::default(),
            started: Instant::now(),
        }
    }

    /// Restores the data directory (unless `--restore=false`) and opens the
    /// WAL for appending after the recovered LSN.
    pub fn open(
        config: Arc<Config>,
        metrics: Arc<Metrics>,
        replication: ReplicationStats,
    ) -> Result<Engine, RestoreError> {
        let mut state = State::new(config.idempotency_max_records, config.idempotency_max_age_secs);
        state.recovery = recovery::RecoveryCheckpoints::load(&config.directory)?;
        failed_entries::load(&config.directory, &metrics)?;
        let last_lsn = if config.restore {
            let report = restore::restore(&config, &metrics, &mut state, true)?;
            log::info!(
                target: "server.restore",
                "snapshots={} wal_applied={} wal_skipped={} wal_failed={} lsn={}",
                report.snapshots_loaded,
                report.wal_entries_applied,
                report.wal_entries_skipped,
                report.wal_entries_failed,
                report.last_lsn
            );
            report.last_lsn
        } else {
            crate::wal::recover_lsn(&config.directory)?
        };
        state.last_lsn = last_lsn;
        let wal = if config.wal {
            let options = WalOptions {
                dir: config.directory.clone(),
                fsync: config.wal_fsync,
                segment_bytes: config.wal_segment_bytes,
                batch_size: config.wal_batch_size,
                batch_wait: Duration::from_micros(config.wal_batch_wait_us),
            };
            Some(Wal::open(options, last_lsn)?)
        } else {
            None
        };
        if config.role == Role::Slave && config.restore {
            align_replication_lsn(&config, last_lsn)?;
        }
        let wal_reader = wal.as_ref().map(|_| WalReader::new(config.directory.clone()));
        let engine = Engine::new(config, metrics, state);
        Ok(Engine { wal, wal_reader, replication, ..engine })
    }

    /// The last snapshot and the WAL's final flush, after clients are gone.
    pub fn shutdown(&self) {
        let _ = self.snapshot_all();
        if let Some(wal) = &self.wal {
            wal.shutdown();
        }
    }

    /// The LSN of the last logged write.
    pub fn current_lsn(&self) -> u64 {
        self.state.lock().last_lsn
    }

    fn wal_bytes(&self) -> u64 {
        self.wal.as_ref().map_or(0, |wal| wal.stats().bytes)
    }

    /// The WAL's epoch (0 without a WAL).
    fn wal_epoch(&self) -> u64 {
        self.wal.as_ref().map_or(0, |wal| wal.epoch())
    }

    /// The WAL's sticky failure, if it has failed.
    pub fn wal_failure(&self) -> Option<String> {
        self.wal.as_ref().and_then(|wal| wal.failure()).map(|e| e.to_string())
    }

    /// Handles one request line (terminator removed) and appends exactly
    /// one reply line to `out`, once any write it made is durable. `body` is
    /// scratch space for the response.
    pub fn handle_line(&self, line: &[u8], out: &mut Vec<u8>, body: &mut Vec<u8>) {
        let mut burst = Burst::default();
        self.handle_in_burst(line, out, body, &mut burst);
        self.settle(&mut burst, out);
    }

    /// Like [`Engine::handle_line`] for one line of a pipelined burst: a
    /// logged write's reply is held in `burst`, and `out` may only be sent
    /// after [`Engine::settle`].
    pub fn handle_in_burst(&self, line: &[u8], out: &mut Vec<u8>, body: &mut Vec<u8>, burst: &mut Burst) {
        let started = Instant::now();
        self.metrics.command_count.inc();
        let request = match parse_request(line) {
            Ok(request) => request,
            Err(rejected) => {
                self.count_error(rejected.op);
                write_error(out, &rejected.error);
                self.record_latency(rejected.op, started, false);
                return;
            }
        };
        body.clear();
        let mut keyed_write = false;
        match self.run(&request, body) {
            Ok(executed) => {
                keyed_write = executed.idempotent == Some(false);
                let limit = self.config.max_response_bytes;
                if limit > 0 && success_len(body.len(), executed.idempotent) > limit {
                    self.count_error(Some(request.op));
                    let message = format!("Response exceeds {limit} bytes");
                    write_error(out, &CommandError::new(ErrorCode::ResponseTooLarge, message));
                } else {
                    let reply_start = out.len();
                    write_success(out, body, executed.idempotent);
                    if let Some(lsn) = executed.durable_at {
                        burst.hold(lsn, executed.wal_epoch, reply_start..out.len(), request.op, keyed_write, started);
                        return;
                    }
                }
            }
            Err(error) => {
                self.count_error(Some(request.op));
                write_error(out, &error);
            }
        }
        self.record_latency(Some(request.op), started, keyed_write);
    }

    fn count_error(&self, op: Option<Op>) {
        self.metrics.error_count.inc();
        match op {
            Some(op) => self.metrics.per_op.get(op).errors.inc(),
            None => self.metrics.preamble_errors.inc(),
        }
    }

    /// Latency metrics of one answered request (`keyed_write`: a first
    /// idempotent write, also timed on its own).
    fn record_latency(&self, op: Option<Op>, started: Instant, keyed_write: bool) {
        let elapsed = started.elapsed();
        let micros = elapsed.as_micros() as u64;
        self.metrics.latency.record(micros);
        if keyed_write {
            self.metrics.idempotency_write_latency.record(micros);
        }
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

    /// Authentication and the read-only token (docs/protocol.md, Authentication).
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

    /// The idempotency snapshot payload and its record / committed-stream
    /// counts, rendered under the state lock.
    fn idempotency_payload(&self, state: &State) -> (Vec<u8>, u64, u64) {
        let mut payload = Vec::with_capacity(256);
        ingest::write_idempotency_json(
            &state.idempotency,
            &state.ingest,
            &crate::snapshot::encode_series,
            &mut payload,
        );
        (payload, state.idempotency.len() as u64, state.ingest.committed_count() as u64)
    }

    /// Writes the `recovery.status` object; returns the checkpoint count.
    fn write_recovery_status(&self, source: Option<&str>, out: &mut Vec<u8>) -> u64 {
        let state = self.state.lock();
        state.recovery.status_json(source, out);
        state.recovery.count() as u64
    }

    /// In-memory idempotency record and committed-stream counts.
    fn idempotency_counts(&self) -> (u64, u64) {
        let state = self.state.lock();
        (state.idempotency.len() as u64, state.ingest.committed_count() as u64)
    }

    /// Seconds since the process started.
    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// Once the WAL has failed, nothing more is acknowledged as written.
fn wal_refuses(failure: &str) -> CommandError {
    CommandError::internal(format!("WAL is unavailable, writes are refused: {failure}"))
}

/// A slave's `karma.replication.lsn` after restore (docs/storage.md, Other
/// files; Karma 1.0's refusal to start fixed): the local snapshots and WAL
/// hold everything applied, so the
/// file follows the restored LSN. A file ahead of it means local data went
/// missing; the slave continues from what it has (the master resends the
/// rest, or a gap triggers a new bootstrap) and says so.
fn align_replication_lsn(config: &Config, restored: u64) -> Result<(), RestoreError> {
    let recorded = crate::replication::read_replication_lsn(&config.directory)?;
    if recorded > restored {
        log::warn!(
            target: "replication.lsn_ahead",
            "karma.replication.lsn={recorded} is ahead of the restored LSN {restored}; continuing from {restored}"
        );
    }
    if recorded != restored {
        crate::replication::write_replication_lsn(&config.directory, restored, config.wal_fsync)?;
    }
    Ok(())
}
