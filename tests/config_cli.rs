//! The real binary's answers to bad configuration, `--help` and
//! `--version`: one `ERROR:` line on stderr that names the setting and the
//! value with a hint to `--help`, and exit 1, for errors; text on stdout and
//! exit 0 otherwise.

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
fn bad_flags_and_variables_exit_1_with_one_line() {
    let cases: &[Case] = &[
        (&[], &["--port=abc"], "ERROR: --port must be an integer (got --port=abc; see karma --help)"),
        (&[], &["-p", "99999999999"], "ERROR: --port must be an integer (got --port=99999999999; see karma --help)"),
        (&[], &["--wal=TRUE"], "ERROR: --wal must be true or false (got --wal=TRUE; see karma --help)"),
        (&[], &["--port"], "ERROR: --port needs a value (see karma --help)"),
        (
            &[("KARMA_PORT", "x")],
            &[],
            "ERROR: Environment variable KARMA_PORT must be an integer (got KARMA_PORT=x; see karma --help)",
        ),
        (
            &[("KARMA_LOG", "1")],
            &[],
            "ERROR: Environment variable KARMA_LOG must be true or false (got KARMA_LOG=1; see karma --help)",
        ),
        (
            &[("KARMA_HOST", "")],
            &[],
            r#"ERROR: Invalid configuration: host must not be empty (got KARMA_HOST=""; see karma --help)"#,
        ),
        (
            &[],
            &["--role=boss"],
            "ERROR: Invalid configuration: role must be master or slave (got --role=boss; see karma --help)",
        ),
        (
            &[],
            &["-p70000"],
            "ERROR: Invalid configuration: port must be between 0 and 65535 (got --port=70000; see karma --help)",
        ),
        (
            &[],
            &["--replication-source-host=m"],
            "ERROR: Invalid configuration: replication source requires slave role \
             (got --replication-source-host=m; see karma --help)",
        ),
        (
            &[],
            &["--directory="],
            r#"ERROR: Invalid configuration: directory must not be empty (got --directory=""; see karma --help)"#,
        ),
        (&[], &["--bogus"], "ERROR: --bogus is not a valid option (see karma --help)"),
        (&[], &["-x", "1"], "ERROR: -x is not a valid option (see karma --help)"),
        (&[], &["start"], r#"ERROR: unexpected argument "start": karma takes only options (see karma --help)"#),
        (
            &[],
            &["--http-port=80000"],
            "ERROR: Invalid configuration: http_port must be between 0 and 65535 (got --http-port=80000; see karma --help)",
        ),
    ];
    for (env, args, line) in cases {
        let stderr = assert_fails(env, args, line);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
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
