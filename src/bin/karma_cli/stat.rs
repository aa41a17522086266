//! `--stat`: one line of figures per interval from `system.stats`, like
//! `redis-cli --stat`. Ops per second is the growth of `command_count`
//! over the interval.

use karma::client::{Client, Object};
use std::time::{Duration, Instant};

const HEADER: &str = "     ops/s  connections     series         keys     memory      wal_lsn  repl_lag";

fn figure(stats: &Object, name: &str) -> u64 {
    stats.get(name).and_then(serde_json::Value::as_u64).unwrap_or(0)
}

/// `bytes` with a binary unit, one decimal.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

fn line(stats: &Object, ops_per_second: f64) -> String {
    format!(
        "{:>10.0}  {:>11}  {:>9}  {:>11}  {:>9}  {:>11}  {:>8}",
        ops_per_second,
        figure(stats, "connections_active"),
        figure(stats, "trees"),
        figure(stats, "keys"),
        human_bytes(figure(stats, "memory_bytes")),
        figure(stats, "wal_current_lsn"),
        figure(stats, "replication_lag_entries"),
    )
}

/// Prints `count` lines (for ever when `None`), a header every 20;
/// `false` when a call fails.
pub fn run(client: &Client, interval: Duration, count: Option<u64>) -> bool {
    let mut previous = match client.stats() {
        Ok(stats) => (figure(&stats, "command_count"), Instant::now()),
        Err(e) => {
            eprintln!("karma-cli: {e}");
            return false;
        }
    };
    let mut printed = 0u64;
    while count.is_none_or(|count| printed < count) {
        std::thread::sleep(interval);
        let stats = match client.stats() {
            Ok(stats) => stats,
            Err(e) => {
                eprintln!("karma-cli: {e}");
                return false;
            }
        };
        let now = (figure(&stats, "command_count"), Instant::now());
        // The stats request itself counts as one command.
        let ops = now.0.saturating_sub(previous.0).saturating_sub(1);
        let ops_per_second = ops as f64 / now.1.duration_since(previous.1).as_secs_f64().max(1e-9);
        if printed.is_multiple_of(20) {
            println!("{HEADER}");
        }
        println!("{}", line(&stats, ops_per_second));
        previous = now;
        printed += 1;
    }
    true
}

#[cfg(test)]
mod tests;
