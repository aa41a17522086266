//! Process configuration (docs/operations.md, Configuration).
//!
//! Values are layered: the defaults, then the `KARMA_*` environment
//! variables, then the command-line options in the order given (a repeated
//! option: the last one wins), then validation of the final values. Each
//! option is described once, in `options::OPTIONS`, which drives all three
//! sources and the usage text.
//!
//! Parsing keeps integers signed and the role as text (`options::Raw`), so
//! that `--wal-batch-size=-1` is a validation failure with the validation
//! message rather than a parse error; validation then converts to the typed
//! [`Config`]. [`Config::validate`] runs the same checks on a built
//! `Config` by widening it back, so there is one list of rules.
//!
//! Differences from Karma 1.0: `--port=0` is valid and binds an ephemeral
//! port; `--max-connections` / `KARMA_MAX_CONNECTIONS` (default 1024, must
//! be > 0, checked after `idempotency_max_age_seconds`); `--http-bind` /
//! `--http-port` (the optional HTTP listener, off by default); `-V` /
//! `--version`. Errors are one line each, naming the flag or variable and
//! the value given, with a hint to `--help` (Karma 1.0 printed the whole
//! usage for an unknown option and `Missing option: --port` for a missing
//! value); positional arguments are refused instead of ignored, and the
//! empty directory is `directory must not be empty` (Karma 1.0 said
//! `dump_dir`, an internal name).

mod error;
mod options;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

pub use error::{BadValue, ConfigError, Problem, Rule};
use options::{Raw, Source, OPTIONS};

/// Whether this node accepts writes (`Master`) or follows a master
/// (`Slave`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Master,
    Slave,
}

impl Role {
    /// The name used by `--role`, `system.health` and `replication.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Slave => "slave",
        }
    }
}

/// The validated settings of one server process.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address (`--bind`).
    pub bind: String,
    /// Listen port; 0 binds an ephemeral port.
    pub port: u16,
    /// Data directory, absolute (made so against the working directory at
    /// startup, `.` and `..` removed lexically).
    pub directory: PathBuf,
    pub role: Role,
    /// Load snapshots and idempotency records and replay the WAL at start.
    pub restore: bool,
    /// TCP_NODELAY on the listening socket (accepted sockets inherit it).
    pub nodelay: bool,
    /// Write (and replay, and truncate) the WAL.
    pub wal: bool,
    /// fsync WAL batches, WAL truncation and the LSN state files.
    pub wal_fsync: bool,
    /// WAL rotation threshold in bytes; 0 = never rotate.
    pub wal_segment_bytes: u64,
    /// Most records per WAL write (always > 0).
    pub wal_batch_size: usize,
    /// Extra microseconds the WAL writer waits for batch mates.
    pub wal_batch_wait_us: u64,
    /// Request line limit in bytes, without the terminator (always > 0).
    pub max_request_bytes: usize,
    /// Success reply limit in bytes; 0 = off.
    pub max_response_bytes: usize,
    /// Client socket read timeout; 0 = none.
    pub read_timeout_secs: u64,
    /// Client socket write timeout; 0 = none.
    pub write_timeout_secs: u64,
    /// Deadline of whole-series reads; 0 = none.
    pub query_timeout_ms: u64,
    /// Time given to connected clients to finish at shutdown.
    pub shutdown_timeout_secs: u64,
    /// Token required for every command; `Some("")` is a real (empty) token.
    pub auth_token: Option<String>,
    /// Token allowed to run read-only commands.
    pub read_auth_token: Option<String>,
    /// Snapshots kept per series by `snapshot.create_all`; 0 = keep all
    /// (`--dump-retention-per-tree`).
    pub snapshot_retention_per_series: usize,
    /// Most idempotency records kept (always > 0).
    pub idempotency_max_records: usize,
    /// Idempotency record lifetime; 0 = no age pruning.
    pub idempotency_max_age_secs: u64,
    /// Master to bootstrap from and poll; only ever set on a slave.
    pub replication_source_host: Option<String>,
    /// Master port. Validated only when a source host is set; otherwise an
    /// out-of-range value is clamped into 1..=65535 and never used.
    pub replication_source_port: u16,
    /// Token sent in every slave -> master request.
    pub replication_token: Option<String>,
    /// Sleep between polls (> 0 when a source host is set).
    pub replication_poll_interval_ms: u64,
    /// `limit` of each poll (1..=10000 when a source host is set).
    pub replication_batch_size: usize,
    /// Structured JSON logs on or off.
    pub log: bool,
    /// Most clients served at once (always > 0).
    pub max_connections: usize,
    /// Address of the HTTP listener; `None` = the same as `bind`.
    pub http_bind: Option<String>,
    /// Port of the HTTP listener (`/metrics`, `/health`); `None` = no HTTP
    /// listener at all, 0 = an ephemeral port.
    pub http_port: Option<u16>,
}

impl Default for Config {
    /// The documented defaults. The directory is the working directory; if
    /// that cannot be read, it stays `.` (startup through [`Config::parse`]
    /// reports that case as an error instead).
    fn default() -> Config {
        Config {
            bind: "0.0.0.0".to_string(),
            port: 8080,
            directory: absolute_dir(Path::new(".")).unwrap_or_else(|_| PathBuf::from(".")),
            role: Role::Master,
            restore: true,
            nodelay: true,
            wal: true,
            wal_fsync: true,
            wal_segment_bytes: 67_108_864,
            wal_batch_size: 1024,
            wal_batch_wait_us: 0,
            max_request_bytes: 4096,
            max_response_bytes: 1_048_576,
            read_timeout_secs: 5,
            write_timeout_secs: 5,
            query_timeout_ms: 1000,
            shutdown_timeout_secs: 5,
            auth_token: None,
            read_auth_token: None,
            snapshot_retention_per_series: 5,
            idempotency_max_records: 1_000_000,
            idempotency_max_age_secs: 604_800,
            replication_source_host: None,
            replication_source_port: 8080,
            replication_token: None,
            replication_poll_interval_ms: 1000,
            replication_batch_size: 1000,
            log: true,
            max_connections: 1024,
            http_bind: None,
            http_port: None,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
// Built once per process, so keeping `Config` unboxed costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Invocation {
    /// Start a server with this configuration.
    Run(Config),
    /// `-h` / `--help`: print this usage text to stdout (it has no final
    /// newline) and exit 0.
    Help(String),
    /// `-V` / `--version`: print this line to stdout and exit 0.
    Version(String),
}

impl Config {
    /// Reads `env` (name -> value lookup, so tests need no process
    /// environment), then `args` (without `argv[0]`), then validates.
    pub fn parse<E: Fn(&str) -> Option<String>>(env: E, args: Vec<OsString>) -> Result<Invocation, ConfigError> {
        let mut raw = Raw::defaults();
        // How each setting was last given, so a validation failure can
        // name the flag or variable and the value.
        let mut given: HashMap<&'static str, String> = HashMap::new();
        for opt in OPTIONS {
            if let Some(value) = env(opt.env) {
                let value = OsString::from(value);
                given.insert(opt.long, opt.given(Source::Env, &value));
                opt.apply(&mut raw, Source::Env, value)?;
            }
        }
        // The usage text shows the defaults as the environment left them.
        let from_env = raw.clone();

        let mut parser = lexopt::Parser::from_args(args);
        // Karma 1.0 takes everything after `-p` as the value, `=` included.
        parser.set_short_equals(false);
        loop {
            let arg = parser.next().map_err(Problem::from)?;
            let opt = match arg {
                None => break,
                Some(lexopt::Arg::Value(value)) => {
                    let value = value.to_string_lossy();
                    return Err(Problem::UnexpectedArgument(value.into_owned()).into());
                }
                Some(lexopt::Arg::Short('h')) | Some(lexopt::Arg::Long("help")) => {
                    return Ok(Invocation::Help(options::usage(&from_env)));
                }
                Some(lexopt::Arg::Short('V')) | Some(lexopt::Arg::Long("version")) => {
                    let version = format!("karma {}", env!("CARGO_PKG_VERSION"));
                    return Ok(Invocation::Version(version));
                }
                Some(lexopt::Arg::Short(short)) => {
                    options::by_short(short).ok_or_else(|| options::unknown_option(&format!("-{short}")))?
                }
                Some(lexopt::Arg::Long(long)) => {
                    options::by_long(long).ok_or_else(|| options::unknown_option(&format!("--{long}")))?
                }
            };
            let value = parser.value().map_err(|e| match e {
                lexopt::Error::MissingValue { option } => {
                    let typed = option.unwrap_or_else(|| format!("--{}", opt.long));
                    options::missing_value(&typed)
                }
                other => Problem::from(other).into(),
            })?;
            given.insert(opt.long, opt.given(Source::Cli, &value));
            opt.apply(&mut raw, Source::Cli, value)?;
        }

        let mut config = build(raw).map_err(|Invalid { option, rule }| {
            let error = ConfigError::from(Problem::Invalid(rule));
            match given.remove(option) {
                Some(text) => error.given(text),
                None => error,
            }
        })?;
        config.directory = absolute_dir(&config.directory)?;
        Ok(Invocation::Run(config))
    }

    /// [`Config::parse`] with the process environment and arguments.
    pub fn from_process() -> Result<Invocation, ConfigError> {
        // The lookup hands out `String`s; refuse a non-UTF-8 variable here
        // rather than silently treating it as unset.
        for opt in OPTIONS {
            if std::env::var_os(opt.env).is_some_and(|v| v.to_str().is_none()) {
                return Err(Problem::NonUtf8Environment(opt.env).into());
            }
        }
        Config::parse(|name| std::env::var(name).ok(), std::env::args_os().skip(1).collect())
    }

    /// Checks the values against Karma 1.0's rules (docs/operations.md,
    /// Configuration), reporting the first failure in Karma 1.0's order as
    /// `Invalid configuration: ...`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        build(Raw::from(self)).map(|_| ()).map_err(|Invalid { rule, .. }| Problem::Invalid(rule).into())
    }
}

/// A broken configuration rule: the option at fault (its long name) and
/// the rule it breaks.
struct Invalid {
    option: &'static str,
    rule: Rule,
}

fn invalid(option: &'static str, rule: Rule) -> Invalid {
    Invalid { option, rule }
}

/// A setting's Karma 1.0 name (used in the messages) and its option's long name.
type Setting = (&'static str, &'static str);

/// `value` as `T` if `value >= min` (`min` is 0 or 1, as the messages say).
fn at_least<T: TryFrom<i64>>(value: i64, min: i64, (name, option): Setting) -> Result<T, Invalid> {
    if value < min {
        return Err(invalid(option, if min == 0 { Rule::Negative(name) } else { Rule::NotPositive(name) }));
    }
    T::try_from(value).map_err(|_| invalid(option, Rule::TooLarge { name, value }))
}

/// `value` as `T` if it lies in `low..=high`.
fn between<T: TryFrom<i64>>(value: i64, low: i64, high: i64, (name, option): Setting) -> Result<T, Invalid> {
    T::try_from(value)
        .ok()
        .filter(|_| (low..=high).contains(&value))
        .ok_or_else(|| invalid(option, Rule::OutOfRange { name, low, high }))
}

/// `value` as `T`, pulled into `low..=high`; for settings that are not
/// validated because nothing uses them.
fn clamped<T: TryFrom<i64>>(value: i64, low: i64, high: i64, setting: Setting) -> Result<T, Invalid> {
    between(value.clamp(low, high), low, high, setting)
}

/// Validates `raw` in Karma 1.0's order of rules and converts it. The
/// directory is left as given; [`Config::parse`] makes it absolute.
fn build(raw: Raw) -> Result<Config, Invalid> {
    if raw.bind.is_empty() {
        return Err(invalid("bind", Rule::Empty("host")));
    }
    let port = between(raw.port, 0, 65535, ("port", "port"))?;
    if raw.directory.is_empty() {
        return Err(invalid("directory", Rule::Empty("directory")));
    }
    let role = match raw.role.as_str() {
        "master" => Role::Master,
        "slave" => Role::Slave,
        _ => return Err(invalid("role", Rule::UnknownRole)),
    };
    let wal_segment_bytes = at_least(raw.wal_segment_bytes, 0, ("wal_segment_bytes", "wal-segment-bytes"))?;
    let wal_batch_size = at_least(raw.wal_batch_size, 1, ("wal_batch_size", "wal-batch-size"))?;
    let wal_batch_wait_us = at_least(raw.wal_batch_wait_us, 0, ("wal_batch_wait_microseconds", "wal-batch-wait-us"))?;
    let max_request_bytes = at_least(raw.max_request_bytes, 1, ("max_request_bytes", "max-request-bytes"))?;
    let max_response_bytes = at_least(raw.max_response_bytes, 0, ("max_response_bytes", "max-response-bytes"))?;
    let read_timeout_secs = at_least(raw.read_timeout_secs, 0, ("read_timeout_seconds", "read-timeout"))?;
    let write_timeout_secs = at_least(raw.write_timeout_secs, 0, ("write_timeout_seconds", "write-timeout"))?;
    let query_timeout_ms = at_least(raw.query_timeout_ms, 0, ("query_timeout_ms", "query-timeout-ms"))?;
    let shutdown_timeout_secs =
        at_least(raw.shutdown_timeout_secs, 0, ("shutdown_timeout_seconds", "shutdown-timeout"))?;
    let snapshot_retention_per_series =
        at_least(raw.snapshot_retention_per_series, 0, ("dump_retention_per_tree", "dump-retention-per-tree"))?;
    let idempotency_max_records =
        at_least(raw.idempotency_max_records, 1, ("idempotency_max_records", "idempotency-max-records"))?;
    let idempotency_max_age_secs =
        at_least(raw.idempotency_max_age_secs, 0, ("idempotency_max_age_seconds", "idempotency-max-age-seconds"))?;
    let max_connections = at_least(raw.max_connections, 1, ("max_connections", "max-connections"))?;

    // The replication settings only matter (and are only checked) when
    // this node has a master to follow.
    let source_port = ("replication_source_port", "replication-source-port");
    let poll_interval = ("replication_poll_interval_ms", "replication-poll-interval-ms");
    let batch_size = ("replication_batch_size", "replication-batch-size");
    let (replication_source_port, replication_poll_interval_ms, replication_batch_size) =
        match &raw.replication_source_host {
            Some(host) => {
                let option = "replication-source-host";
                if host.is_empty() {
                    return Err(invalid(option, Rule::Empty("replication_source_host")));
                }
                if role != Role::Slave {
                    return Err(invalid(option, Rule::SourceNeedsSlave));
                }
                (
                    between(raw.replication_source_port, 1, 65535, source_port)?,
                    at_least(raw.replication_poll_interval_ms, 1, poll_interval)?,
                    between(raw.replication_batch_size, 1, 10000, batch_size)?,
                )
            }
            None => (
                clamped(raw.replication_source_port, 1, 65535, source_port)?,
                clamped(raw.replication_poll_interval_ms, 1, i64::MAX, poll_interval)?,
                clamped(raw.replication_batch_size, 1, 10000, batch_size)?,
            ),
        };
    if raw.http_bind.as_deref() == Some("") {
        return Err(invalid("http-bind", Rule::Empty("http_bind")));
    }
    let http_port = raw.http_port.map(|port| between(port, 0, 65535, ("http_port", "http-port"))).transpose()?;

    Ok(Config {
        bind: raw.bind,
        port,
        directory: PathBuf::from(raw.directory),
        role,
        restore: raw.restore,
        nodelay: raw.nodelay,
        wal: raw.wal,
        wal_fsync: raw.wal_fsync,
        wal_segment_bytes,
        wal_batch_size,
        wal_batch_wait_us,
        max_request_bytes,
        max_response_bytes,
        read_timeout_secs,
        write_timeout_secs,
        query_timeout_ms,
        shutdown_timeout_secs,
        auth_token: raw.auth_token,
        read_auth_token: raw.read_auth_token,
        snapshot_retention_per_series,
        idempotency_max_records,
        idempotency_max_age_secs,
        replication_source_host: raw.replication_source_host,
        replication_source_port,
        replication_token: raw.replication_token,
        replication_poll_interval_ms,
        replication_batch_size,
        log: raw.log,
        max_connections,
        http_bind: raw.http_bind,
        http_port,
    })
}

/// `dir` made absolute against the working directory, with `.` and `..`
/// resolved lexically (symlinks are not followed), as Karma 1.0 does.
fn absolute_dir(dir: &Path) -> Result<PathBuf, ConfigError> {
    let joined = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        let cwd =
            std::env::current_dir().map_err(|source| Problem::NoWorkingDirectory { dir: dir.to_path_buf(), source })?;
        cwd.join(dir)
    };
    Ok(normalize(&joined))
}

/// Drops `.` components and lets `..` remove the component before it
/// (never climbing above the root).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
