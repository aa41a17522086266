//! Small dependency-free helpers shared by the rest of the crate.

/// Durable file writes: temp file, fsync, rename, fsync the directory.
pub mod fs;
/// Unix time, RFC 3339 formatting and parsing, civil-date math.
pub mod time;
