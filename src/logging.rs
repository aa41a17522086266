//! Structured logs: one JSON object per line on stderr (docs/operations.md, Logs, signals and
//! shutdown),
//! `{"timestamp":"…Z","level":"info","event":"wal.replay","message":"…"}`.
//! The `log` target is the event name; `--log=false` turns logging off.

use crate::util::json_writer::write_str;
use std::io::Write;

/// Installs the JSON logger. Safe to call once per process.
pub fn init(enabled: bool) {
    let level = if enabled { log::LevelFilter::Info } else { log::LevelFilter::Off };
    let _ = env_logger::Builder::new()
        .filter_level(level)
        .target(env_logger::Target::Stderr)
        .format(|f, record| {
            let mut line = Vec::with_capacity(128);
            line.extend_from_slice(b"{\"timestamp\":");
            write_str(&mut line, &crate::util::time::rfc3339_utc(crate::util::time::unix_now()));
            line.extend_from_slice(b",\"level\":");
            write_str(&mut line, &record.level().as_str().to_ascii_lowercase());
            line.extend_from_slice(b",\"event\":");
            write_str(&mut line, record.target());
            let message = record.args().to_string();
            if !message.is_empty() {
                line.extend_from_slice(b",\"message\":");
                write_str(&mut line, &message);
            }
            line.extend_from_slice(b"}\n");
            f.write_all(&line)
        })
        .try_init();
}
