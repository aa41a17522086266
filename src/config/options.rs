//! The option table: every setting's long flag, short flag, environment
//! variable, help line and the slot of [`Raw`] it writes, plus the value
//! parsers shared by the environment and the command line.
//!
//! One table drives the environment pass, the command-line pass and the
//! usage text, so a new option cannot be readable from one source and
//! missing from another.

use std::ffi::OsString;

use super::{BadValue, Config, ConfigError, Problem};

/// Settings as read, before validation: integers are still signed (a
/// negative `--wal-batch-size` must reach validation, not the parser) and
/// the role is still text.
#[derive(Clone, Debug)]
pub(super) struct Raw {
    pub bind: String,
    pub port: i64,
    pub directory: OsString,
    pub role: String,
    pub restore: bool,
    pub nodelay: bool,
    pub wal: bool,
    pub wal_fsync: bool,
    pub wal_segment_bytes: i64,
    pub wal_batch_size: i64,
    pub wal_batch_wait_us: i64,
    pub max_request_bytes: i64,
    pub max_response_bytes: i64,
    pub read_timeout_secs: i64,
    pub write_timeout_secs: i64,
    pub query_timeout_ms: i64,
    pub shutdown_timeout_secs: i64,
    pub auth_token: Option<String>,
    pub read_auth_token: Option<String>,
    pub snapshot_retention_per_series: i64,
    pub idempotency_max_records: i64,
    pub idempotency_max_age_secs: i64,
    pub replication_source_host: Option<String>,
    pub replication_source_port: i64,
    pub replication_token: Option<String>,
    pub replication_poll_interval_ms: i64,
    pub replication_batch_size: i64,
    pub log: bool,
    pub max_connections: i64,
    pub http_bind: Option<String>,
    pub http_port: Option<i64>,
}

/// Widens an unsigned setting for re-validation; anything beyond `i64`
/// is far past every upper bound, so saturating changes no verdict.
fn wide<T: TryInto<i64>>(value: T) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

impl Raw {
    /// Karma 1.0's defaults, taken from `Config::default()` so the defaults
    /// live in one place; the directory is shown and kept as `.` until the
    /// final values are made absolute.
    pub fn defaults() -> Raw {
        let mut raw = Raw::from(&Config::default());
        raw.directory = OsString::from(".");
        raw
    }
}

impl From<&Config> for Raw {
    fn from(c: &Config) -> Raw {
        Raw {
            bind: c.bind.clone(),
            port: i64::from(c.port),
            directory: c.directory.clone().into_os_string(),
            role: c.role.as_str().to_string(),
            restore: c.restore,
            nodelay: c.nodelay,
            wal: c.wal,
            wal_fsync: c.wal_fsync,
            wal_segment_bytes: wide(c.wal_segment_bytes),
            wal_batch_size: wide(c.wal_batch_size),
            wal_batch_wait_us: wide(c.wal_batch_wait_us),
            max_request_bytes: wide(c.max_request_bytes),
            max_response_bytes: wide(c.max_response_bytes),
            read_timeout_secs: wide(c.read_timeout_secs),
            write_timeout_secs: wide(c.write_timeout_secs),
            query_timeout_ms: wide(c.query_timeout_ms),
            shutdown_timeout_secs: wide(c.shutdown_timeout_secs),
            auth_token: c.auth_token.clone(),
            read_auth_token: c.read_auth_token.clone(),
            snapshot_retention_per_series: wide(c.snapshot_retention_per_series),
            idempotency_max_records: wide(c.idempotency_max_records),
            idempotency_max_age_secs: wide(c.idempotency_max_age_secs),
            replication_source_host: c.replication_source_host.clone(),
            replication_source_port: i64::from(c.replication_source_port),
            replication_token: c.replication_token.clone(),
            replication_poll_interval_ms: wide(c.replication_poll_interval_ms),
            replication_batch_size: wide(c.replication_batch_size),
            log: c.log,
            max_connections: wide(c.max_connections),
            http_bind: c.http_bind.clone(),
            http_port: c.http_port.map(i64::from),
        }
    }
}

/// Where a value came from; decides the wording of a parse error.
#[derive(Clone, Copy)]
pub(super) enum Source {
    Env,
    Cli,
}

/// The field an option writes, and how its text is read.
#[derive(Clone, Copy)]
pub(super) enum Slot {
    /// Verbatim text; an empty value is kept from both sources.
    Text(fn(&mut Raw) -> &mut String),
    /// A path, kept as an `OsString` so non-UTF-8 directories work.
    Path(fn(&mut Raw) -> &mut OsString),
    /// A 32-bit signed integer (docs/operations.md, Configuration), widened to `i64`.
    Int(fn(&mut Raw) -> &mut i64),
    /// Exactly `true` or `false`.
    Bool(fn(&mut Raw) -> &mut bool),
    /// Optional text: an empty environment value means unset, an empty
    /// command-line value is kept as `Some("")`.
    Optional(fn(&mut Raw) -> &mut Option<String>),
    /// Like `Optional`, but the usage text never shows the value.
    Secret(fn(&mut Raw) -> &mut Option<String>),
    /// An optional integer: an empty environment value means unset.
    OptionalInt(fn(&mut Raw) -> &mut Option<i64>),
}

/// One configuration option.
pub(super) struct Opt {
    pub long: &'static str,
    pub short: Option<char>,
    pub env: &'static str,
    pub value_name: &'static str,
    pub help: &'static str,
    pub slot: Slot,
}

/// Every option, in the order of docs/operations.md, Configuration (plus
/// `--max-connections` and the HTTP listener's two). The environment is read in this order, so the
/// first bad variable in this order is the one reported.
#[rustfmt::skip]
pub(super) const OPTIONS: &[Opt] = &[
    Opt { long: "bind", short: Some('b'), env: "KARMA_HOST", value_name: "HOST", help: "listen address", slot: Slot::Text(|r| &mut r.bind) },
    Opt { long: "port", short: Some('p'), env: "KARMA_PORT", value_name: "PORT", help: "listen port; 0 binds an ephemeral port", slot: Slot::Int(|r| &mut r.port) },
    Opt { long: "directory", short: Some('d'), env: "KARMA_DUMP_DIR", value_name: "PATH", help: "data directory (snapshots, WAL, state files)", slot: Slot::Path(|r| &mut r.directory) },
    Opt { long: "role", short: None, env: "KARMA_ROLE", value_name: "ROLE", help: "master or slave", slot: Slot::Text(|r| &mut r.role) },
    Opt { long: "restore", short: Some('r'), env: "KARMA_RESTORE", value_name: "BOOL", help: "load snapshots and idempotency records, replay the WAL at start", slot: Slot::Bool(|r| &mut r.restore) },
    Opt { long: "nodelay", short: Some('n'), env: "KARMA_TCP_NODELAY", value_name: "BOOL", help: "set TCP_NODELAY on client sockets", slot: Slot::Bool(|r| &mut r.nodelay) },
    Opt { long: "wal", short: Some('w'), env: "KARMA_WAL", value_name: "BOOL", help: "write, replay and truncate the write-ahead log", slot: Slot::Bool(|r| &mut r.wal) },
    Opt { long: "wal-fsync", short: None, env: "KARMA_WAL_FSYNC", value_name: "BOOL", help: "fsync WAL batches and LSN files before acknowledging", slot: Slot::Bool(|r| &mut r.wal_fsync) },
    Opt { long: "wal-segment-bytes", short: None, env: "KARMA_WAL_SEGMENT_BYTES", value_name: "BYTES", help: "rotate the WAL past this size; 0 = never", slot: Slot::Int(|r| &mut r.wal_segment_bytes) },
    Opt { long: "wal-batch-size", short: None, env: "KARMA_WAL_BATCH_SIZE", value_name: "COUNT", help: "most records per WAL write", slot: Slot::Int(|r| &mut r.wal_batch_size) },
    Opt { long: "wal-batch-wait-us", short: None, env: "KARMA_WAL_BATCH_WAIT_MICROSECONDS", value_name: "MICROSECONDS", help: "extra wait for batch mates", slot: Slot::Int(|r| &mut r.wal_batch_wait_us) },
    Opt { long: "max-request-bytes", short: None, env: "KARMA_MAX_REQUEST_BYTES", value_name: "BYTES", help: "request line limit", slot: Slot::Int(|r| &mut r.max_request_bytes) },
    Opt { long: "max-response-bytes", short: None, env: "KARMA_MAX_RESPONSE_BYTES", value_name: "BYTES", help: "reply limit and replication byte budget; 0 = none", slot: Slot::Int(|r| &mut r.max_response_bytes) },
    Opt { long: "read-timeout", short: None, env: "KARMA_READ_TIMEOUT_SECONDS", value_name: "SECONDS", help: "socket read timeout; 0 = none", slot: Slot::Int(|r| &mut r.read_timeout_secs) },
    Opt { long: "write-timeout", short: None, env: "KARMA_WRITE_TIMEOUT_SECONDS", value_name: "SECONDS", help: "socket write timeout; 0 = none", slot: Slot::Int(|r| &mut r.write_timeout_secs) },
    Opt { long: "query-timeout-ms", short: None, env: "KARMA_QUERY_TIMEOUT_MS", value_name: "MS", help: "deadline of whole-series reads; 0 = none", slot: Slot::Int(|r| &mut r.query_timeout_ms) },
    Opt { long: "shutdown-timeout", short: None, env: "KARMA_SHUTDOWN_TIMEOUT_SECONDS", value_name: "SECONDS", help: "time to drain clients at shutdown", slot: Slot::Int(|r| &mut r.shutdown_timeout_secs) },
    Opt { long: "auth-token", short: None, env: "KARMA_AUTH_TOKEN", value_name: "TOKEN", help: "token required for every command", slot: Slot::Secret(|r| &mut r.auth_token) },
    Opt { long: "read-auth-token", short: None, env: "KARMA_READ_AUTH_TOKEN", value_name: "TOKEN", help: "token allowed to run read-only commands", slot: Slot::Secret(|r| &mut r.read_auth_token) },
    Opt { long: "dump-retention-per-tree", short: None, env: "KARMA_DUMP_RETENTION_PER_TREE", value_name: "COUNT", help: "snapshots kept per series; 0 = keep all", slot: Slot::Int(|r| &mut r.snapshot_retention_per_series) },
    Opt { long: "idempotency-max-records", short: None, env: "KARMA_IDEMPOTENCY_MAX_RECORDS", value_name: "COUNT", help: "idempotency records kept; the oldest go first", slot: Slot::Int(|r| &mut r.idempotency_max_records) },
    Opt { long: "idempotency-max-age-seconds", short: None, env: "KARMA_IDEMPOTENCY_MAX_AGE_SECONDS", value_name: "SECONDS", help: "idempotency record lifetime; 0 = forever", slot: Slot::Int(|r| &mut r.idempotency_max_age_secs) },
    Opt { long: "replication-source-host", short: None, env: "KARMA_REPLICATION_SOURCE_HOST", value_name: "HOST", help: "master to bootstrap from and poll (slave only)", slot: Slot::Optional(|r| &mut r.replication_source_host) },
    Opt { long: "replication-source-port", short: None, env: "KARMA_REPLICATION_SOURCE_PORT", value_name: "PORT", help: "master port", slot: Slot::Int(|r| &mut r.replication_source_port) },
    Opt { long: "replication-token", short: None, env: "KARMA_REPLICATION_TOKEN", value_name: "TOKEN", help: "token sent with every request to the master", slot: Slot::Secret(|r| &mut r.replication_token) },
    Opt { long: "replication-poll-interval-ms", short: None, env: "KARMA_REPLICATION_POLL_INTERVAL_MS", value_name: "MS", help: "sleep between polls of the master", slot: Slot::Int(|r| &mut r.replication_poll_interval_ms) },
    Opt { long: "replication-batch-size", short: None, env: "KARMA_REPLICATION_BATCH_SIZE", value_name: "COUNT", help: "entries asked for per poll (1..10000)", slot: Slot::Int(|r| &mut r.replication_batch_size) },
    Opt { long: "log", short: None, env: "KARMA_LOG", value_name: "BOOL", help: "structured JSON logs", slot: Slot::Bool(|r| &mut r.log) },
    Opt { long: "max-connections", short: None, env: "KARMA_MAX_CONNECTIONS", value_name: "COUNT", help: "most clients served at once", slot: Slot::Int(|r| &mut r.max_connections) },
    Opt { long: "http-bind", short: None, env: "KARMA_HTTP_BIND", value_name: "HOST", help: "address of the /metrics and /health listener (default: --bind)", slot: Slot::Optional(|r| &mut r.http_bind) },
    Opt { long: "http-port", short: None, env: "KARMA_HTTP_PORT", value_name: "PORT", help: "port of /metrics and /health; unset = no HTTP listener, 0 = ephemeral", slot: Slot::OptionalInt(|r| &mut r.http_port) },
];

impl Opt {
    /// Parses `value` (from `source`) and stores it in `raw`.
    pub fn apply(&self, raw: &mut Raw, source: Source, value: OsString) -> Result<(), ConfigError> {
        match self.slot {
            Slot::Path(field) => *field(raw) = value,
            Slot::Text(field) => *field(raw) = self.utf8(value)?,
            Slot::Int(field) => *field(raw) = self.int(source, &value)?,
            Slot::OptionalInt(field) => {
                *field(raw) = match source {
                    Source::Env if value.is_empty() => None,
                    _ => Some(self.int(source, &value)?),
                };
            }
            Slot::Bool(field) => {
                *field(raw) = match value.to_str() {
                    Some("true") => true,
                    Some("false") => false,
                    _ => return Err(self.error(source, &value, BadValue::NotABool)),
                };
            }
            Slot::Optional(field) | Slot::Secret(field) => {
                let text = self.utf8(value)?;
                *field(raw) = match source {
                    Source::Env if text.is_empty() => None,
                    _ => Some(text),
                };
            }
        }
        Ok(())
    }

    fn int(&self, source: Source, value: &OsString) -> Result<i64, ConfigError> {
        parse_int(value.to_str().unwrap_or("")).ok_or_else(|| self.error(source, value, BadValue::NotAnInteger))
    }

    /// The parse error for this option, worded for its source.
    fn error(&self, source: Source, value: &OsString, bad: BadValue) -> ConfigError {
        let reason = match source {
            Source::Env => Problem::BadEnvironmentValue { variable: self.env, value: bad },
            Source::Cli => Problem::BadOptionValue { option: self.long, value: bad },
        };
        ConfigError::from(reason).given(self.given(source, value))
    }

    /// How the user wrote this setting, for error messages: `--port=abc`
    /// or `KARMA_PORT=abc`. Tokens are never echoed; a value that would
    /// read ambiguously (empty, spaces, control characters) is quoted.
    pub fn given(&self, source: Source, value: &OsString) -> String {
        let name = match source {
            Source::Env => self.env.to_string(),
            Source::Cli => format!("--{}", self.long),
        };
        let text = value.to_string_lossy();
        let shown = if matches!(self.slot, Slot::Secret(_)) {
            "<hidden>".to_string()
        } else if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"') {
            format!("{text:?}")
        } else {
            text.into_owned()
        };
        format!("{name}={shown}")
    }

    /// Text options must be UTF-8: tokens and hosts are compared with, and
    /// sent as, JSON strings. Environment values arrive as `String` already,
    /// so only a command-line value can fail here.
    fn utf8(&self, value: OsString) -> Result<String, ConfigError> {
        value.into_string().map_err(|value| self.error(Source::Cli, &value, BadValue::NotUtf8))
    }

    /// The current value as the usage text shows it.
    fn shown(&self, raw: &Raw) -> String {
        let mut raw = raw.clone();
        match self.slot {
            Slot::Text(field) => field(&mut raw).clone(),
            Slot::Path(field) => field(&mut raw).to_string_lossy().into_owned(),
            Slot::Int(field) => field(&mut raw).to_string(),
            Slot::Bool(field) => field(&mut raw).to_string(),
            Slot::Optional(field) => field(&mut raw).clone().unwrap_or_else(|| "unset".to_string()),
            Slot::OptionalInt(field) => field(&mut raw).map_or_else(|| "unset".to_string(), |n| n.to_string()),
            Slot::Secret(field) => match field(&mut raw) {
                Some(_) => "set".to_string(),
                None => "unset".to_string(),
            },
        }
    }
}

/// Finds the option spelled `--<long>`.
pub(super) fn by_long(long: &str) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.long == long)
}

/// Finds the option spelled `-<short>`.
pub(super) fn by_short(short: char) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.short == Some(short))
}

/// Parses an integer the way Karma 1.0 does (docs/operations.md, Configuration): surrounding
/// ASCII whitespace, an optional sign, decimal digits (leading zeros are
/// still decimal), and the result must fit a signed 32-bit integer.
pub(super) fn parse_int(text: &str) -> Option<i64> {
    // Vertical tab counts too: Karma 1.0 strips what Crystal calls ASCII
    // whitespace, which is wider than Rust's `is_ascii_whitespace`.
    let trimmed = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r'));
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: i64 = 0;
    for byte in digits.bytes() {
        if !byte.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude * 10 + i64::from(byte - b'0');
        // Stop early so a long run of digits cannot overflow the i64.
        if magnitude > 1 << 31 {
            return None;
        }
    }
    let value = if negative { -magnitude } else { magnitude };
    (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&value).then_some(value)
}

/// The usage text. `raw` holds the defaults after the environment was
/// read, which is what the text shows (the command line is not applied).
pub(super) fn usage(raw: &Raw) -> String {
    let mut text = String::from(
        "Usage: karma [options]\n\
         \n\
         Karma: a TCP database for day-bucketed u64 counters.\n\
         Each option can also be set by the environment variable shown; the\n\
         command line wins. Defaults shown include the environment.\n\
         \n\
         Options:\n",
    );
    let flags: Vec<String> = OPTIONS
        .iter()
        .map(|opt| match opt.short {
            Some(short) => format!("-{short}, --{}={}", opt.long, opt.value_name),
            None => format!("    --{}={}", opt.long, opt.value_name),
        })
        .collect();
    let width = flags.iter().map(String::len).max().unwrap_or(0) + 2;
    for (opt, flag) in OPTIONS.iter().zip(&flags) {
        text.push_str(&format!("    {flag:<width$}{}\n", opt.help));
        text.push_str(&format!("    {:<width$}[{}; default: {}]\n", "", opt.env, opt.shown(raw)));
    }
    text.push_str(&format!("    {:<width$}print this text and exit\n", "-h, --help"));
    text.push_str(&format!("    {:<width$}print the version and exit", "-V, --version"));
    text
}

/// The error for an option that is not in the table.
pub(super) fn unknown_option(option: &str) -> ConfigError {
    Problem::UnknownOption(option.to_string()).into()
}

/// The error for an option given last with no value; `option` is the
/// option as typed (`--port` or `-p`).
pub(super) fn missing_value(option: &str) -> ConfigError {
    Problem::MissingValue(option.to_string()).into()
}
