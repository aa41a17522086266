//! Karma: a small TCP database for hot, day-bucketed `u64` counters.
//!
//! The request path reads top-down: `server` (sockets, sessions) ->
//! `protocol` (lines into typed commands, replies out) -> `engine` (the
//! single state behind one mutex) -> `store` (series, counters, buckets),
//! with `wal` and `snapshot` for durability and `replication` for
//! master -> slave. `protocol` and `store` depend on nothing else of ours.

pub mod client;
pub mod config;
pub mod engine;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod protocol;
pub mod server;
pub mod signals;
pub mod snapshot;
pub mod store;
pub mod util;
pub mod wal;

use config::Config;
use engine::{Engine, State};
use metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;

/// The version reported in logs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs a node until SIGINT or SIGTERM. An `Err` is a startup failure,
/// printed by `main` as one `ERROR: ...` line.
pub fn run(config: Config) -> Result<(), String> {
    logging::init(config.log);
    let config = Arc::new(config);
    let signals = signals::Signals::install().map_err(|e| format!("Cannot install signal handlers: {e}"))?;
    let engine = Arc::new(Engine::new(Arc::clone(&config), Arc::new(Metrics::default()), State::default()));
    let server = server::Server::bind(Arc::clone(&engine))
        .map_err(|e| format!("Cannot listen on {}:{}: {e}", config.bind, config.port))?;
    let address = server.local_addr();
    let mut running = server.start().map_err(|e| format!("Cannot start the listener: {e}"))?;
    log::info!(target: "server.start", "version={VERSION} port={} address={address}", address.port());
    notify::notify("READY=1");
    for signal in signals.wait() {
        match signal {
            signals::Signal::Snapshot => {
                log::info!(target: "server.snapshot_signal", "snapshots are not written by this build yet");
            }
            signals::Signal::Stop => break,
        }
    }
    notify::notify("STOPPING=1");
    running.stop(Duration::from_secs(config.shutdown_timeout_secs));
    log::info!(target: "server.stop", "version={VERSION}");
    Ok(())
}
