//! The base layer: small helpers that every other module may use, and that
//! use nothing else of ours.

/// Proleptic Gregorian civil dates <-> day numbers.
pub mod calendar;
/// Durable file writes: temp file, fsync, rename, fsync the directory.
pub mod fs;
/// JSON written straight into a byte buffer: replies, WAL lines, sidecars, logs.
pub mod json_writer;
/// The mutex of the contended locks: spin, then park, never yield.
pub mod mutex;
/// Unix time, RFC 3339 formatting and parsing.
pub mod time;
