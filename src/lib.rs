//! Karma: a small TCP database for hot, day-bucketed `u64` counters.
//!
//! The request path reads top-down: `server` (sockets, sessions) ->
//! `protocol` (lines into typed commands, replies out) -> `engine` (the
//! single state behind one mutex) -> `store` (series, counters, buckets),
//! with `wal` and `snapshot` for durability and `replication` for
//! master -> slave. `client` is the Rust client library (used by
//! `karma-cli`, the slave's bootstrap and poller, `reconcile-csv`, the tests
//! and the benches); of the server's code it uses only `protocol`.
//!
//! # Layers
//!
//! A module uses only modules on the layers below its own: none on its own
//! layer, none above it. Within a top-level module, files do not use each
//! other in a cycle (a parent file may use its own children, which may use
//! what it defines). `tests/layers/` checks both against this list.
//! Bottom to top:
//!
//! 1. `util`: the base: durable file writes, the JSON writer, the calendar
//!    and the clock.
//! 2. `config`, `logging`, `notify`, `signals`: the process: settings, log
//!    lines, readiness notification, signals.
//! 3. `store`: the data in memory: series, counters, day buckets.
//! 4. `protocol`: the wire: request lines into typed commands, replies and
//!    WAL entries out.
//! 5. `client`: the Rust client library, which speaks only `protocol`.
//! 6. `metrics`: the node's counters, gauges and histograms, per op.
//! 7. `snapshot`, `wal`: durability: snapshot files and the write-ahead log.
//! 8. `replication`: the slave's side: bootstrap from the master's
//!    snapshots, and the poller that feeds the engine through the
//!    `replication::poller::Replica` trait.
//! 9. `engine`: the single state behind one mutex; runs every command.
//! 10. `http`, `server`, `startup`: the edges: HTTP probes, TCP sessions,
//!     and the errors that stop a node from starting.
//!
//! The crate root (`run`, below) starts a node from all of them.

pub mod client;
pub mod config;
pub mod engine;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod protocol;
pub mod replication;
pub mod server;
pub mod signals;
pub mod snapshot;
pub mod startup;
pub mod store;
pub mod util;
pub mod wal;

use config::Config;
use engine::Engine;
use metrics::Metrics;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use startup::StartupError;

/// The version reported in logs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs a node until SIGINT or SIGTERM. An `Err` is a startup failure,
/// printed by `main` as one `ERROR: ...` line.
///
/// Start-up order: listen (TCP, and HTTP when asked for) before touching
/// the data directory, so a port clash fails at once and leaves nothing
/// behind; then lock the directory, bootstrap a slave, restore, and only
/// then accept clients and log `server.start`.
pub fn run(config: Config) -> Result<(), StartupError> {
    logging::init(config.log);
    let config = Arc::new(config);
    let signals = signals::Signals::install().map_err(StartupError::Signals)?;
    let server = server::Server::bind(&config.bind, config.port).map_err(|source| StartupError::Listen {
        host: config.bind.clone(),
        port: config.port,
        source,
    })?;
    let node = Arc::new(http::Node::new(config.role));
    let mut http = match config.http_port {
        Some(port) => {
            let host = config.http_bind.as_deref().unwrap_or(&config.bind);
            let listener = http::Listener::bind(host, port).map_err(|source| StartupError::ListenHttp {
                host: host.to_string(),
                port,
                source,
            })?;
            let running = listener.start(Arc::clone(&node)).map_err(StartupError::StartHttp)?;
            log::info!(target: "http.start", "address={}", running.local_addr());
            Some(running)
        }
        None => None,
    };
    let _lock = lock_directory(&config.directory)?;
    let replication = replication::ReplicationStats::default();
    let source = match config.role {
        config::Role::Slave => replication::bootstrap::Source::from_config(&config),
        config::Role::Master => None,
    };
    if let Some(source) = &source {
        if config.restore && !replication::bootstrap::has_snapshots(&config.directory) {
            replication::bootstrap::bootstrap(source, &config.directory, true, &replication)?;
            // The master's snapshots replace whatever this slave held: an
            // older local log must not be replayed over them.
            wal::remove_all(&config.directory)
                .map_err(|source| StartupError::ClearWal { dir: config.directory.clone(), source })?;
            let _ = std::fs::remove_file(config.directory.join(replication::REPLICATION_LSN_FILE));
        }
    }
    let engine = Arc::new(Engine::open(Arc::clone(&config), Arc::new(Metrics::default()), replication)?);
    let address = server.local_addr();
    let mut running = server.start(Arc::clone(&engine)).map_err(StartupError::StartListener)?;
    node.ready(Arc::clone(&engine));
    log::info!(
        target: "server.start",
        "version={VERSION} port={} address={address} http={} directory={} role={} wal={} wal_fsync={}",
        address.port(),
        http.as_ref().map_or_else(|| "off".to_string(), |h| h.local_addr().to_string()),
        config.directory.display(),
        config.role.as_str(),
        config.wal,
        config.wal && config.wal_fsync,
    );
    let mut poller = match source {
        Some(source) => Some(
            replication::poller::Poller::start(Arc::clone(&engine), source, &config)
                .map_err(StartupError::StartPoller)?,
        ),
        None => None,
    };
    notify::notify("READY=1");
    let mut incoming = signals.wait();
    for signal in incoming.by_ref() {
        match signal {
            signals::Signal::Snapshot => {
                let engine = Arc::clone(&engine);
                let spawned = std::thread::Builder::new().name("karma-snapshot".into()).spawn(move || {
                    // Failures are logged and counted by snapshot_all itself.
                    let _ = engine.snapshot_all();
                });
                if let Err(e) = spawned {
                    log::error!(target: "backup.failed", "cannot start the snapshot thread: {e}");
                }
            }
            signals::Signal::Stop => break,
        }
    }
    notify::notify("STOPPING=1");
    node.stopping();
    let hurry = hurry_on_second_stop(incoming);
    if let Some(poller) = poller.as_mut() {
        poller.stop();
    }
    running.stop(Duration::from_secs(config.shutdown_timeout_secs), &hurry);
    engine.shutdown();
    if let Some(http) = http.as_mut() {
        http.stop();
    }
    log::info!(target: "server.stop", "version={VERSION}");
    Ok(())
}

/// Watches for a second SIGINT / SIGTERM during the stop: it cuts the
/// client drain short (the operator wants out now), but the snapshot is
/// still taken. The thread ends with the process.
fn hurry_on_second_stop(incoming: impl Iterator<Item = signals::Signal> + Send + 'static) -> Arc<AtomicBool> {
    let hurry = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&hurry);
    let spawned = std::thread::Builder::new().name("karma-signals".into()).spawn(move || {
        for signal in incoming {
            if signal == signals::Signal::Stop && !flag.swap(true, Ordering::AcqRel) {
                log::info!(target: "server.stop_hurry", "second stop signal: skipping the client drain");
            }
        }
    });
    if let Err(e) = spawned {
        log::error!(target: "server.stop_hurry", "cannot watch for a second stop signal: {e}");
    }
    hurry
}

/// Takes the data directory's lock file so a second process cannot open
/// the same directory (Karma 1.0 did not detect it and both corrupted the
/// WAL). The lock lasts as long as the returned file is open.
fn lock_directory(dir: &std::path::Path) -> Result<std::fs::File, StartupError> {
    std::fs::create_dir_all(dir).map_err(|source| StartupError::CreateDirectory { dir: dir.to_path_buf(), source })?;
    let path = dir.join("karma.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StartupError::OpenLock { path: path.clone(), source })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartupError::DirectoryInUse { dir: dir.to_path_buf(), path }),
        Err(std::fs::TryLockError::Error(source)) => Err(StartupError::Lock { path, source }),
    }
}

/// The README's Rust examples, compiled by `cargo test` as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The Russian README's Rust examples, compiled the same way.
#[cfg(doctest)]
#[doc = include_str!("../README.ru.md")]
pub struct ReadmeRuDoctests;
