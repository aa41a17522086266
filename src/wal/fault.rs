//! Test seam: make the writer's next batch fail as a full disk would.
//!
//! Compiled for unit tests and with the `fault-injection` feature (for
//! integration tests that need a failing WAL); never in a normal build.

use super::handle::Wal;

impl Wal {
    /// The next batch write fails with `message` (as if the OS had returned
    /// it), which makes the WAL fail for good.
    #[cfg(any(test, feature = "fault-injection"))]
    pub fn inject_failure(&self, message: &str) {
        *self.state.injected.lock() = Some(message.to_string());
    }
}
