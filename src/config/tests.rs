use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use super::options::{parse_int, OPTIONS};
use super::{Config, Invocation, Role};

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

/// The parse result, an error as its reason's text (without the hint).
fn parse_with(env: &[(&str, &str)], list: &[&str]) -> Result<Invocation, Reason> {
    let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::parse(|name| env.get(name).cloned(), args(list)).map_err(|e| Reason(e.reason.to_string()))
}

#[derive(Debug)]
struct Reason(String);

fn config(env: &[(&str, &str)], list: &[&str]) -> Config {
    match parse_with(env, list) {
        Ok(Invocation::Run(config)) => config,
        other => panic!("expected a configuration, got {other:?}"),
    }
}

fn error(env: &[(&str, &str)], list: &[&str]) -> String {
    match parse_with(env, list) {
        Err(Reason(message)) => message,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn cwd() -> PathBuf {
    std::env::current_dir().expect("tests need a working directory")
}

#[test]
fn defaults_match_the_spec() {
    let c = config(&[], &[]);
    assert_eq!(c.bind, "0.0.0.0");
    assert_eq!(c.port, 8080);
    assert_eq!(c.directory, cwd());
    assert_eq!(c.role, Role::Master);
    assert!(c.restore && c.nodelay && c.wal && c.wal_fsync && c.log);
    assert_eq!(c.wal_segment_bytes, 67_108_864);
    assert_eq!(c.wal_batch_size, 1024);
    assert_eq!(c.wal_batch_wait_us, 0);
    assert_eq!(c.max_request_bytes, 4096);
    assert_eq!(c.max_response_bytes, 1_048_576);
    assert_eq!(c.read_timeout_secs, 5);
    assert_eq!(c.write_timeout_secs, 5);
    assert_eq!(c.query_timeout_ms, 1000);
    assert_eq!(c.shutdown_timeout_secs, 5);
    assert_eq!(c.auth_token, None);
    assert_eq!(c.read_auth_token, None);
    assert_eq!(c.snapshot_retention_per_series, 5);
    assert_eq!(c.idempotency_max_records, 1_000_000);
    assert_eq!(c.idempotency_max_age_secs, 604_800);
    assert_eq!(c.replication_source_host, None);
    assert_eq!(c.replication_source_port, 8080);
    assert_eq!(c.replication_token, None);
    assert_eq!(c.replication_poll_interval_ms, 1000);
    assert_eq!(c.replication_batch_size, 1000);
    assert_eq!(c.max_connections, 1024);
    assert_eq!((c.http_bind, c.http_port), (None, None));
    assert_eq!(Config::default().directory, cwd());
    assert!(Config::default().validate().is_ok());
    assert_eq!(Role::Master.as_str(), "master");
    assert_eq!(Role::Slave.as_str(), "slave");
}

/// Every option once, with a value different from its default.
const EVERY_ENV: &[(&str, &str)] = &[
    ("KARMA_HOST", "127.0.0.1"),
    ("KARMA_PORT", "9000"),
    ("KARMA_DUMP_DIR", "/var/lib/karma"),
    ("KARMA_ROLE", "slave"),
    ("KARMA_RESTORE", "false"),
    ("KARMA_TCP_NODELAY", "false"),
    ("KARMA_WAL", "false"),
    ("KARMA_WAL_FSYNC", "false"),
    ("KARMA_WAL_SEGMENT_BYTES", "0"),
    ("KARMA_WAL_BATCH_SIZE", "7"),
    ("KARMA_WAL_BATCH_WAIT_MICROSECONDS", "250"),
    ("KARMA_MAX_REQUEST_BYTES", "8192"),
    ("KARMA_MAX_RESPONSE_BYTES", "0"),
    ("KARMA_READ_TIMEOUT_SECONDS", "0"),
    ("KARMA_WRITE_TIMEOUT_SECONDS", "9"),
    ("KARMA_QUERY_TIMEOUT_MS", "1"),
    ("KARMA_SHUTDOWN_TIMEOUT_SECONDS", "30"),
    ("KARMA_AUTH_TOKEN", "w"),
    ("KARMA_READ_AUTH_TOKEN", "r"),
    ("KARMA_DUMP_RETENTION_PER_TREE", "0"),
    ("KARMA_IDEMPOTENCY_MAX_RECORDS", "10"),
    ("KARMA_IDEMPOTENCY_MAX_AGE_SECONDS", "0"),
    ("KARMA_REPLICATION_SOURCE_HOST", "master.local"),
    ("KARMA_REPLICATION_SOURCE_PORT", "8081"),
    ("KARMA_REPLICATION_TOKEN", "rt"),
    ("KARMA_REPLICATION_POLL_INTERVAL_MS", "50"),
    ("KARMA_REPLICATION_BATCH_SIZE", "10000"),
    ("KARMA_LOG", "false"),
    ("KARMA_MAX_CONNECTIONS", "3"),
    ("KARMA_HTTP_BIND", "127.0.0.2"),
    ("KARMA_HTTP_PORT", "9100"),
];

fn assert_every_option_changed(c: &Config) {
    assert_eq!(c.bind, "127.0.0.1");
    assert_eq!(c.port, 9000);
    assert_eq!(c.directory, PathBuf::from("/var/lib/karma"));
    assert_eq!(c.role, Role::Slave);
    assert!(!c.restore && !c.nodelay && !c.wal && !c.wal_fsync && !c.log);
    assert_eq!(c.wal_segment_bytes, 0);
    assert_eq!(c.wal_batch_size, 7);
    assert_eq!(c.wal_batch_wait_us, 250);
    assert_eq!(c.max_request_bytes, 8192);
    assert_eq!(c.max_response_bytes, 0);
    assert_eq!(c.read_timeout_secs, 0);
    assert_eq!(c.write_timeout_secs, 9);
    assert_eq!(c.query_timeout_ms, 1);
    assert_eq!(c.shutdown_timeout_secs, 30);
    assert_eq!(c.auth_token.as_deref(), Some("w"));
    assert_eq!(c.read_auth_token.as_deref(), Some("r"));
    assert_eq!(c.snapshot_retention_per_series, 0);
    assert_eq!(c.idempotency_max_records, 10);
    assert_eq!(c.idempotency_max_age_secs, 0);
    assert_eq!(c.replication_source_host.as_deref(), Some("master.local"));
    assert_eq!(c.replication_source_port, 8081);
    assert_eq!(c.replication_token.as_deref(), Some("rt"));
    assert_eq!(c.replication_poll_interval_ms, 50);
    assert_eq!(c.replication_batch_size, 10000);
    assert_eq!(c.max_connections, 3);
    assert_eq!(c.http_bind.as_deref(), Some("127.0.0.2"));
    assert_eq!(c.http_port, Some(9100));
}

#[test]
fn every_environment_variable_is_read() {
    assert_eq!(EVERY_ENV.len(), OPTIONS.len());
    assert_every_option_changed(&config(EVERY_ENV, &[]));
}

#[test]
fn every_long_flag_is_read() {
    let flags: Vec<String> = OPTIONS
        .iter()
        .zip(EVERY_ENV)
        .map(|(opt, (env, value))| {
            assert_eq!(opt.env, *env);
            format!("--{}={value}", opt.long)
        })
        .collect();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    assert_every_option_changed(&config(&[], &flags));
}

#[test]
fn long_flags_take_a_separate_value_too() {
    let c = config(&[], &["--port", "9001", "--role", "slave", "--wal-fsync", "false"]);
    assert_eq!((c.port, c.role, c.wal_fsync), (9001, Role::Slave, false));
}

#[test]
fn short_forms() {
    let c = config(&[], &["-b", "::1", "-p8081", "-d", "/data", "-r", "false", "-nfalse", "-w", "false"]);
    assert_eq!(c.bind, "::1");
    assert_eq!(c.port, 8081);
    assert_eq!(c.directory, PathBuf::from("/data"));
    assert!(!c.restore && !c.nodelay && !c.wal);
    assert_eq!(config(&[], &["-p", "8080"]).port, 8080);
    // As in Karma 1.0, everything after `-p` is the value, `=` included.
    assert_eq!(error(&[], &["-p=8080"]), "--port must be an integer");
}

#[test]
fn command_line_beats_environment_and_last_wins() {
    let env = [("KARMA_PORT", "9000"), ("KARMA_LOG", "false")];
    assert_eq!(config(&env, &[]).port, 9000);
    let c = config(&env, &["--port=9001", "-p", "9002", "--log=true"]);
    assert_eq!(c.port, 9002);
    assert!(c.log);
    // A bad environment value fails even when the command line overrides it.
    assert_eq!(error(&[("KARMA_PORT", "x")], &["--port=1"]), "Environment variable KARMA_PORT must be an integer");
}

#[test]
fn positional_arguments_are_refused() {
    assert_eq!(error(&[], &["start"]), r#"unexpected argument "start": karma takes only options"#);
    assert_eq!(error(&[], &["--port=9000", "extra"]), r#"unexpected argument "extra": karma takes only options"#);
    assert_eq!(error(&[], &["--", "--bogus"]), r#"unexpected argument "--bogus": karma takes only options"#);
}

#[test]
fn errors_name_the_setting_as_given_and_point_at_help() {
    let line = |env: &[(&str, &str)], list: &[&str]| {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        match Config::parse(|name| env.get(name).cloned(), args(list)) {
            Err(e) => e.to_string(),
            Ok(other) => panic!("expected an error, got {other:?}"),
        }
    };
    assert_eq!(line(&[], &["--port=abc"]), "--port must be an integer (got --port=abc; see karma --help)");
    assert_eq!(
        line(&[("KARMA_PORT", "x y")], &[]),
        r#"Environment variable KARMA_PORT must be an integer (got KARMA_PORT="x y"; see karma --help)"#
    );
    assert_eq!(
        line(&[], &["-p70000"]),
        "Invalid configuration: port must be between 0 and 65535 (got --port=70000; see karma --help)"
    );
    assert_eq!(
        line(&[("KARMA_WAL_BATCH_SIZE", "0")], &[]),
        "Invalid configuration: wal_batch_size must be greater than 0 (got KARMA_WAL_BATCH_SIZE=0; see karma --help)"
    );
    assert_eq!(
        line(&[], &["--directory="]),
        r#"Invalid configuration: directory must not be empty (got --directory=""; see karma --help)"#
    );
    assert_eq!(
        line(&[], &["--http-port=-1"]),
        "Invalid configuration: http_port must be between 0 and 65535 (got --http-port=-1; see karma --help)"
    );
    assert_eq!(line(&[], &["--port"]), "--port needs a value (see karma --help)");
    assert_eq!(line(&[], &["--bogus"]), "--bogus is not a valid option (see karma --help)");
    assert_eq!(line(&[], &["start"]), r#"unexpected argument "start": karma takes only options (see karma --help)"#);
    // A token is never echoed, even when it is the value at fault.
    use std::os::unix::ffi::OsStringExt;
    let bad_token = OsString::from_vec(vec![b's', 0xff]);
    let error = Config::parse(|_| None, vec!["--auth-token".into(), bad_token]).map(|_| ()).unwrap_err();
    assert_eq!(error.to_string(), "--auth-token must be valid UTF-8 (got --auth-token=<hidden>; see karma --help)");
}

#[test]
fn the_http_listener_is_off_unless_a_port_is_given() {
    let c = config(&[], &[]);
    assert_eq!((c.http_bind, c.http_port), (None, None));
    let c = config(&[], &["--http-port=0"]);
    assert_eq!((c.http_bind, c.http_port), (None, Some(0)));
    let c = config(&[("KARMA_HTTP_PORT", "9100")], &["--http-bind=127.0.0.1"]);
    assert_eq!((c.http_bind.as_deref(), c.http_port), (Some("127.0.0.1"), Some(9100)));
    // An empty variable means unset, as for the tokens.
    assert_eq!(config(&[("KARMA_HTTP_PORT", "")], &[]).http_port, None);
    assert_eq!(error(&[], &["--http-bind="]), "Invalid configuration: http_bind must not be empty");
    assert_eq!(error(&[], &["--http-port=x"]), "--http-port must be an integer");
}

#[test]
fn port_zero_is_allowed() {
    assert_eq!(config(&[], &["--port=0"]).port, 0);
    assert_eq!(config(&[], &["--port=65535"]).port, 65535);
}

#[test]
fn integer_syntax() {
    assert_eq!(parse_int("42"), Some(42));
    assert_eq!(parse_int(" \t+42\n"), Some(42));
    assert_eq!(parse_int("\x0B7\x0C\r"), Some(7));
    assert_eq!(parse_int("-0"), Some(0));
    assert_eq!(parse_int("-17"), Some(-17));
    assert_eq!(parse_int("00010"), Some(10));
    assert_eq!(parse_int("000000000000000000000000002147483647"), Some(2_147_483_647));
    assert_eq!(parse_int("-2147483648"), Some(-2_147_483_648));
    for bad in [
        "",
        " ",
        "+",
        "-",
        "+-1",
        "1_000",
        "0x10",
        "1e3",
        "1.0",
        "12a",
        "2147483648",
        "-2147483649",
        "99999999999999999999999",
        "１",
        "4 2",
    ] {
        assert_eq!(parse_int(bad), None, "{bad:?}");
    }
    assert_eq!(config(&[], &["--port= 08080 "]).port, 8080);
    assert_eq!(config(&[("KARMA_PORT", "+9000")], &[]).port, 9000);
}

#[test]
fn parse_errors() {
    assert_eq!(error(&[], &["--port=abc"]), "--port must be an integer");
    assert_eq!(error(&[], &["-p", "abc"]), "--port must be an integer");
    assert_eq!(error(&[], &["--wal-segment-bytes=2147483648"]), "--wal-segment-bytes must be an integer");
    assert_eq!(config(&[], &["--wal-segment-bytes=2147483647"]).wal_segment_bytes, 2_147_483_647);
    assert_eq!(
        error(&[("KARMA_WAL_BATCH_SIZE", "2147483648")], &[]),
        "Environment variable KARMA_WAL_BATCH_SIZE must be an integer"
    );
    assert_eq!(error(&[], &["--wal=TRUE"]), "--wal must be true or false");
    assert_eq!(error(&[], &["-w", "1"]), "--wal must be true or false");
    assert_eq!(error(&[], &["--log= true"]), "--log must be true or false");
    assert_eq!(
        error(&[("KARMA_TCP_NODELAY", "yes")], &[]),
        "Environment variable KARMA_TCP_NODELAY must be true or false"
    );
    assert_eq!(error(&[], &["--port"]), "--port needs a value");
    assert_eq!(error(&[], &["-p"]), "-p needs a value");
    assert_eq!(error(&[], &["--log=false", "--auth-token"]), "--auth-token needs a value");
}

#[test]
fn a_value_that_looks_like_an_option_is_still_the_value() {
    assert_eq!(error(&[], &["--port", "--wal=false"]), "--port must be an integer");
    assert_eq!(config(&[], &["--auth-token", "-x"]).auth_token.as_deref(), Some("-x"));
}

#[test]
fn unknown_options_are_one_line() {
    assert_eq!(error(&[], &["--bogus=1"]), "--bogus is not a valid option");
    assert_eq!(error(&[], &["-x"]), "-x is not a valid option");
    // `--port=1` before the unknown option is fine; it is applied in order.
    assert_eq!(error(&[], &["--port=1", "--nope"]), "--nope is not a valid option");
}

#[test]
fn help_and_version() {
    let Ok(Invocation::Help(text)) = parse_with(&[("KARMA_PORT", "9000")], &["-p", "1", "-h"]) else {
        panic!("expected help");
    };
    assert!(text.starts_with("Usage: karma [options]\n"));
    for opt in OPTIONS {
        assert!(text.contains(&format!("--{}={}", opt.long, opt.value_name)), "{}", opt.long);
        assert!(text.contains(&format!("[{}; default: ", opt.env)), "{}", opt.env);
    }
    // Defaults reflect the environment, not earlier flags.
    assert!(text.contains("[KARMA_PORT; default: 9000]"));
    assert!(text.contains("[KARMA_DUMP_DIR; default: .]"));
    assert!(text.contains("-p, --port=PORT"));
    assert!(!text.ends_with('\n'));
    assert!(matches!(parse_with(&[], &["--help"]), Ok(Invocation::Help(_))));

    // Tokens are never echoed.
    let Ok(Invocation::Help(text)) = parse_with(&[("KARMA_AUTH_TOKEN", "s3cret")], &["--help"]) else {
        panic!("expected help");
    };
    assert!(!text.contains("s3cret"));
    assert!(text.contains("[KARMA_AUTH_TOKEN; default: set]"));
    assert!(text.contains("[KARMA_READ_AUTH_TOKEN; default: unset]"));

    let version = format!("karma {}", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        match parse_with(&[], &[flag]) {
            Ok(Invocation::Version(text)) => assert_eq!(text, version),
            other => panic!("expected a version, got {other:?}"),
        }
    }
}

#[test]
fn empty_values() {
    // The four token/host variables: empty means unset.
    let env = [
        ("KARMA_AUTH_TOKEN", ""),
        ("KARMA_READ_AUTH_TOKEN", ""),
        ("KARMA_REPLICATION_TOKEN", ""),
        ("KARMA_REPLICATION_SOURCE_HOST", ""),
    ];
    let c = config(&env, &[]);
    assert_eq!(c.auth_token, None);
    assert_eq!(c.read_auth_token, None);
    assert_eq!(c.replication_token, None);
    assert_eq!(c.replication_source_host, None);
    // On the command line an empty token is a real token.
    let c = config(&[], &["--auth-token=", "--read-auth-token", "", "--replication-token="]);
    assert_eq!(c.auth_token.as_deref(), Some(""));
    assert_eq!(c.read_auth_token.as_deref(), Some(""));
    assert_eq!(c.replication_token.as_deref(), Some(""));
    assert_eq!(
        error(&[], &["--role=slave", "--replication-source-host="]),
        "Invalid configuration: replication_source_host must not be empty"
    );
    // Other empty variables are used as they are.
    assert_eq!(error(&[("KARMA_HOST", "")], &[]), "Invalid configuration: host must not be empty");
    assert_eq!(error(&[("KARMA_DUMP_DIR", "")], &[]), "Invalid configuration: directory must not be empty");
    assert_eq!(error(&[("KARMA_ROLE", "")], &[]), "Invalid configuration: role must be master or slave");
    assert_eq!(error(&[("KARMA_PORT", "")], &[]), "Environment variable KARMA_PORT must be an integer");
}

/// Flags breaking one rule each, in the order Karma 1.0 checks the rules.
const RULES: &[(&[&str], &str)] = &[
    (&["--bind="], "host must not be empty"),
    (&["--port=65536"], "port must be between 0 and 65535"),
    (&["--directory="], "directory must not be empty"),
    (&["--role=Master"], "role must be master or slave"),
    (&["--wal-segment-bytes=-1"], "wal_segment_bytes must be greater than or equal to 0"),
    (&["--wal-batch-size=0"], "wal_batch_size must be greater than 0"),
    (&["--wal-batch-wait-us=-1"], "wal_batch_wait_microseconds must be greater than or equal to 0"),
    (&["--max-request-bytes=0"], "max_request_bytes must be greater than 0"),
    (&["--max-response-bytes=-1"], "max_response_bytes must be greater than or equal to 0"),
    (&["--read-timeout=-1"], "read_timeout_seconds must be greater than or equal to 0"),
    (&["--write-timeout=-1"], "write_timeout_seconds must be greater than or equal to 0"),
    (&["--query-timeout-ms=-1"], "query_timeout_ms must be greater than or equal to 0"),
    (&["--shutdown-timeout=-1"], "shutdown_timeout_seconds must be greater than or equal to 0"),
    (&["--dump-retention-per-tree=-1"], "dump_retention_per_tree must be greater than or equal to 0"),
    (&["--idempotency-max-records=0"], "idempotency_max_records must be greater than 0"),
    (&["--idempotency-max-age-seconds=-1"], "idempotency_max_age_seconds must be greater than or equal to 0"),
    (&["--max-connections=0"], "max_connections must be greater than 0"),
    (&["--replication-source-host="], "replication_source_host must not be empty"),
    (&["--replication-source-host=m", "--role=master"], "replication source requires slave role"),
    (
        &["--replication-source-host=m", "--role=slave", "--replication-source-port=0"],
        "replication_source_port must be between 1 and 65535",
    ),
    (
        &["--replication-source-host=m", "--role=slave", "--replication-poll-interval-ms=0"],
        "replication_poll_interval_ms must be greater than 0",
    ),
    (
        &["--replication-source-host=m", "--role=slave", "--replication-batch-size=10001"],
        "replication_batch_size must be between 1 and 10000",
    ),
];

#[test]
fn validation_messages_in_order() {
    for (i, (_, reason)) in RULES.iter().enumerate() {
        // Rule i plus every later rule broken at once: rule i must be the one
        // reported. Rule i's flags go last so they win where flags overlap.
        let args: Vec<&str> = RULES[i..].iter().rev().flat_map(|(flags, _)| flags.iter().copied()).collect();
        assert_eq!(error(&[], &args), format!("Invalid configuration: {reason}"), "{args:?}");
    }
}

#[test]
fn validation_boundaries() {
    assert_eq!(config(&[], &["--port=-0"]).port, 0);
    assert_eq!(error(&[], &["--port=-1"]), "Invalid configuration: port must be between 0 and 65535");
    let slave = ["--role=slave", "--replication-source-host=m"];
    let c = config(&[], &[&slave[..], &["--replication-batch-size=1"]].concat());
    assert_eq!(c.replication_batch_size, 1);
    // A slave without a source is valid; so are out-of-range replication
    // settings that nothing uses.
    let c = config(&[], &["--role=slave", "--replication-source-port=0", "--replication-batch-size=0"]);
    assert_eq!((c.role, c.replication_source_port, c.replication_batch_size), (Role::Slave, 1, 1));
    assert_eq!(config(&[], &["--replication-source-port=70000"]).replication_source_port, 65535);
}

#[test]
fn validate_rechecks_a_built_config() {
    let mut c = config(&[], &[]);
    assert!(c.validate().is_ok());
    c.max_connections = 0;
    assert_eq!(
        c.validate().map_err(|e| e.to_string()),
        Err("Invalid configuration: max_connections must be greater than 0 (see karma --help)".to_string())
    );
    c.wal_batch_size = 0;
    assert_eq!(
        c.validate().map_err(|e| e.reason.to_string()),
        Err("Invalid configuration: wal_batch_size must be greater than 0".to_string())
    );
    let mut c = config(&[], &[]);
    c.replication_source_host = Some("m".to_string());
    assert_eq!(
        c.validate().map_err(|e| e.reason.to_string()),
        Err("Invalid configuration: replication source requires slave role".to_string())
    );
    c.role = Role::Slave;
    assert!(c.validate().is_ok());
    c.wal_segment_bytes = u64::MAX;
    assert!(c.validate().is_ok());
}

#[test]
fn directory_is_made_absolute() {
    assert_eq!(config(&[], &["-d", "data"]).directory, cwd().join("data"));
    assert_eq!(config(&[], &["-d", "./a/./b/../c/"]).directory, cwd().join("a/c"));
    assert_eq!(config(&[], &["-d", "/x/../../y"]).directory, PathBuf::from("/y"));
    assert_eq!(config(&[("KARMA_DUMP_DIR", "/srv/karma/")], &[]).directory, PathBuf::from("/srv/karma"));
}

#[test]
fn non_utf8_values() {
    use std::os::unix::ffi::OsStringExt;
    let bad = || OsString::from_vec(vec![b'd', 0xff]);
    let c = match Config::parse(|_| None, vec!["-d".into(), bad()]) {
        Ok(Invocation::Run(c)) => c,
        other => panic!("expected a configuration, got {other:?}"),
    };
    assert_eq!(c.directory, cwd().join(PathBuf::from(bad())));
    for flag in ["--bind", "--auth-token", "--replication-source-host"] {
        let result = Config::parse(|_| None, vec![flag.into(), bad()]);
        assert_eq!(result.map(|_| ()).map_err(|e| e.reason.to_string()), Err(format!("{flag} must be valid UTF-8")));
    }
    let result = Config::parse(|_| None, vec!["--port".into(), bad()]);
    assert_eq!(result.map(|_| ()).map_err(|e| e.reason.to_string()), Err("--port must be an integer".to_string()));
}
