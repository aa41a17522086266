//! What can be wrong with a configuration, as types: the parse errors of
//! each source (`Problem`), Karma 1.0's validation rules (`Rule`), and the
//! one-line [`ConfigError`] that `main` prints after `ERROR: `. The texts
//! are Karma 1.0's where it had one (docs/operations.md, Configuration).

use std::io;
use std::path::PathBuf;

/// A configuration error: what is wrong, and how the user wrote the
/// setting at fault when there is one. Displayed as the one line `main`
/// prints after `ERROR: `, always with a hint to `--help`.
#[derive(Debug, thiserror::Error)]
#[error("{reason} ({}see karma --help)", given_part(.given))]
pub struct ConfigError {
    /// What is wrong, e.g. `--port must be an integer` or `Invalid
    /// configuration: port must be between 0 and 65535`.
    #[source]
    pub reason: Problem,
    /// The setting as given, e.g. `--port=abc` or `KARMA_PORT=abc`.
    pub given: Option<String>,
}

fn given_part(given: &Option<String>) -> String {
    given.as_ref().map(|given| format!("got {given}; ")).unwrap_or_default()
}

impl ConfigError {
    pub(super) fn given(mut self, given: String) -> ConfigError {
        self.given = Some(given);
        self
    }
}

impl From<Problem> for ConfigError {
    fn from(reason: Problem) -> ConfigError {
        ConfigError { reason, given: None }
    }
}

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The command line does not parse (lexopt's own message).
    #[error(transparent)]
    Arguments(#[from] lexopt::Error),
    /// A positional argument.
    #[error("unexpected argument {0:?}: karma takes only options")]
    UnexpectedArgument(String),
    /// An option that is not in the table, as typed.
    #[error("{0} is not a valid option")]
    UnknownOption(String),
    /// An option given last with no value, as typed (`--port` or `-p`).
    #[error("{0} needs a value")]
    MissingValue(String),
    /// A `KARMA_*` variable whose value does not parse.
    #[error("Environment variable {variable} {value}")]
    BadEnvironmentValue { variable: &'static str, value: BadValue },
    /// A command-line option (its long name) whose value does not parse.
    #[error("--{option} {value}")]
    BadOptionValue { option: &'static str, value: BadValue },
    /// A `KARMA_*` variable that is not UTF-8.
    #[error("Environment variable {0} must be valid UTF-8")]
    NonUtf8Environment(&'static str),
    /// A value that parses but breaks one of Karma 1.0's rules.
    #[error("Invalid configuration: {0}")]
    Invalid(Rule),
    /// A relative data directory while the working directory is gone.
    #[error("cannot make the data directory {} absolute: working directory unavailable: {source}", .dir.display())]
    NoWorkingDirectory { dir: PathBuf, source: io::Error },
}

/// Why a value does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadValue {
    #[error("must be an integer")]
    NotAnInteger,
    #[error("must be true or false")]
    NotABool,
    #[error("must be valid UTF-8")]
    NotUtf8,
}

/// A broken validation rule, named by the setting's Karma 1.0 name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("role must be master or slave")]
    UnknownRole,
    #[error("{0} must be greater than or equal to 0")]
    Negative(&'static str),
    #[error("{0} must be greater than 0")]
    NotPositive(&'static str),
    #[error("{name} is too large: {value}")]
    TooLarge { name: &'static str, value: i64 },
    #[error("{name} must be between {low} and {high}")]
    OutOfRange { name: &'static str, low: i64, high: i64 },
    #[error("replication source requires slave role")]
    SourceNeedsSlave,
}
