//! The real binary's answers to bad configuration, `--help` and
//! `--version`: one `ERROR:` line on stderr and exit 1 for errors, text on
//! stdout and exit 0 otherwise.

use std::process::{Command, Output};

/// Runs `karma` with only the given environment (no inherited `KARMA_*`).
fn karma(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_karma"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run the karma binary")
}

fn assert_fails(env: &[(&str, &str)], args: &[&str], first_line: &str) -> String {
    let out = karma(env, args);
    let stderr = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().next(), Some(first_line), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}");
    stderr
}

/// Environment, arguments, expected first stderr line.
type Case = (&'static [(&'static str, &'static str)], &'static [&'static str], &'static str);

#[test]
fn bad_flags_and_variables_exit_1() {
    let cases: &[Case] = &[
        (&[], &["--port=abc"], "ERROR: --port must be an integer"),
        (&[], &["-p", "99999999999"], "ERROR: --port must be an integer"),
        (&[], &["--wal=TRUE"], "ERROR: --wal must be true or false"),
        (&[], &["--port"], "ERROR: Missing option: --port"),
        (&[("KARMA_PORT", "x")], &[], "ERROR: Environment variable KARMA_PORT must be an integer"),
        (&[("KARMA_LOG", "1")], &[], "ERROR: Environment variable KARMA_LOG must be true or false"),
        (&[("KARMA_HOST", "")], &[], "ERROR: Invalid configuration: host must not be empty"),
        (&[], &["--role=boss"], "ERROR: Invalid configuration: role must be master or slave"),
        (&[], &["-p70000"], "ERROR: Invalid configuration: port must be between 0 and 65535"),
        (&[], &["--replication-source-host=m"], "ERROR: Invalid configuration: replication source requires slave role"),
    ];
    for (env, args, line) in cases {
        let stderr = assert_fails(env, args, line);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn unknown_option_prints_usage_to_stderr() {
    let stderr = assert_fails(&[], &["--bogus"], "ERROR: --bogus is not a valid option.");
    assert_eq!(stderr.lines().nth(1), Some("Usage: karma [options]"));
    assert!(stderr.contains("--max-connections=COUNT"));
}

#[test]
fn help_goes_to_stdout_and_exits_0() {
    for flag in ["--help", "-h"] {
        let out = karma(&[("KARMA_WAL_BATCH_SIZE", "77")], &[flag]);
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8(out.stdout).expect("UTF-8 stdout");
        assert!(stdout.starts_with("Usage: karma [options]\n"), "{stdout}");
        assert!(stdout.contains("[KARMA_WAL_BATCH_SIZE; default: 77]"), "{stdout}");
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn version_goes_to_stdout_and_exits_0() {
    for flag in ["--version", "-V"] {
        let out = karma(&[], &[flag]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            String::from_utf8(out.stdout).expect("UTF-8 stdout"),
            format!("karma {}\n", env!("CARGO_PKG_VERSION"))
        );
        assert!(out.stderr.is_empty());
    }
}
