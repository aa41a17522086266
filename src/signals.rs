//! Signals, read on the main thread through signal-hook: SIGUSR1 asks for
//! `snapshot.create_all`, SIGINT and SIGTERM for a graceful stop. SIGPIPE
//! is already ignored by the Rust runtime, so a vanished client only fails
//! its own write; SIGXFSZ is caught so an over-size write fails instead
//! of killing the process.

use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1, SIGXFSZ};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What a received signal asks the node to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Snapshot,
    Stop,
}

pub struct Signals(signal_hook::iterator::Signals);

impl Signals {
    /// Registers the handlers; from now on these signals are only queued.
    pub fn install() -> std::io::Result<Signals> {
        // Past a file-size limit a write must fail with EFBIG (so the WAL
        // refuses writes and says why) rather than kill the process.
        signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false)))?;
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGUSR1]).map(Signals)
    }

    /// Blocks for signals, forever.
    pub fn wait(mut self) -> impl Iterator<Item = Signal> {
        std::iter::from_fn(move || {
            self.0.forever().next().map(|raw| if raw == SIGUSR1 { Signal::Snapshot } else { Signal::Stop })
        })
    }
}
