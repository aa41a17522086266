//! Why the command line does not parse; `main` prints it as
//! `karma-cli: <error> (see --help)` and exits 2.

#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// lexopt's own message (an unknown option, a value given to a flag).
    #[error(transparent)]
    Parse(#[from] lexopt::Error),
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("{0} must be valid UTF-8")]
    NotUtf8(&'static str),
    #[error("arguments must be valid UTF-8")]
    ArgumentNotUtf8,
    #[error("--port must be a port number, got {0:?}")]
    Port(String),
    #[error("--count must be a whole number, got {0:?}")]
    Count(String),
    /// `option` is `--interval` or `--timeout`.
    #[error("{option} must be a positive number of seconds, got {given:?}")]
    Seconds { option: &'static str, given: String },
    #[error("--pipe and --stat cannot be combined")]
    PipeAndStat,
    #[error("--pipe and --stat take no op")]
    OpWithMode,
}
