//! `karma-cli`: the command-line client of Karma, for people who know
//! `redis-cli`.
//!
//! One-shot (`karma-cli OP field=value ...`), interactive (no op: line
//! editing and history), `--pipe` (stdin's requests pipelined, then a
//! summary) and `--stat` (a line of figures per interval). Every request
//! goes through the `karma::client` library.

mod args_error;
mod interactive;
mod pipe;
mod render;
mod request;
mod stat;

use args_error::ArgsError;
use karma::client::{Client, Error, Options};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
Usage: karma-cli [OPTIONS] [OP [field=value ...] | JSON-REQUEST]

Talks to a Karma server. With an op, sends that one request and prints the
reply; without one, starts an interactive prompt (line editing, history in
~/.karma_cli_history; `help` and `quit` there).

A value is read as JSON when it parses, else as a string:
  karma-cli counter.increment series=api key=42 bucket=20260505 value=5
  karma-cli counter.batch_sum series=api 'keys=[42,7]' 'range={\"from\":20260501,\"to\":20260531}'
  karma-cli '{\"op\":\"tree.info\",\"series\":\"api\"}'
`v` is added, and the token when one is given.

Options:
  -h, --host HOST       server host (default 127.0.0.1)
  -p, --port PORT       server port (default 8080)
  -a, --token TOKEN     token sent with every request (default: $KARMA_TOKEN)
      --raw             print reply lines as the server sent them
      --pipe            send stdin's lines (JSON requests or OP field=value)
                        pipelined on one connection, then print a summary
      --stat            print ops/s, connections, series, keys, memory,
                        WAL LSN and replication lag every interval
  -i, --interval SECS   --stat interval (default 1; fractions allowed)
      --count N         --stat lines to print, then exit (default: no end)
      --timeout SECS    connect, read and write timeout (default 30)
      --help            this text
  -V, --version         the version

Exit status: 0 success; 1 an error reply, a failed connection, or (with
--pipe) any error reply or missing reply; 2 a usage error.";

/// What the command line asked for.
#[derive(Debug, PartialEq)]
enum Mode {
    OneShot(Vec<String>),
    Interactive,
    Pipe,
    Stat { interval: Duration, count: Option<u64> },
    Help,
    Version,
}

#[derive(Debug)]
struct Args {
    host: String,
    port: u16,
    token: Option<String>,
    raw: bool,
    timeout: Duration,
    mode: Mode,
}

fn parse_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    env_token: Option<String>,
) -> Result<Args, ArgsError> {
    use lexopt::Arg::{Long, Short, Value as Positional};
    let mut parser = lexopt::Parser::from_args(args);
    let mut parsed = Args {
        host: "127.0.0.1".to_string(),
        port: 8080,
        token: env_token,
        raw: false,
        timeout: Duration::from_secs(30),
        mode: Mode::Interactive,
    };
    let (mut pipe, mut stat, mut interval, mut count) = (false, false, Duration::from_secs(1), None);
    let mut words = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("host") => parsed.host = text(&mut parser, "--host")?,
            Short('p') | Long("port") => {
                let value = text(&mut parser, "--port")?;
                parsed.port = value.parse().map_err(|_| ArgsError::Port(value))?;
            }
            Short('a') | Long("token") => parsed.token = Some(text(&mut parser, "--token")?),
            Long("raw") => parsed.raw = true,
            Long("pipe") => pipe = true,
            Long("stat") => stat = true,
            Short('i') | Long("interval") => interval = seconds(&text(&mut parser, "--interval")?, "--interval")?,
            Long("count") => {
                let value = text(&mut parser, "--count")?;
                count = Some(value.parse().map_err(|_| ArgsError::Count(value))?);
            }
            Long("timeout") => parsed.timeout = seconds(&text(&mut parser, "--timeout")?, "--timeout")?,
            Long("help") => parsed.mode = Mode::Help,
            Short('V') | Long("version") => parsed.mode = Mode::Version,
            Positional(value) => {
                words.push(value.into_string().map_err(|_| ArgsError::ArgumentNotUtf8)?);
                // Everything after the op belongs to the request, even
                // words that look like options.
                for value in parser.raw_args()? {
                    words.push(value.into_string().map_err(|_| ArgsError::ArgumentNotUtf8)?);
                }
            }
            other => return Err(other.unexpected().into()),
        }
    }
    if matches!(parsed.mode, Mode::Help | Mode::Version) {
        return Ok(parsed);
    }
    parsed.mode = match (pipe, stat, words.is_empty()) {
        (true, true, _) => return Err(ArgsError::PipeAndStat),
        (true, false, true) => Mode::Pipe,
        (false, true, true) => Mode::Stat { interval, count },
        (true, _, false) | (_, true, false) => return Err(ArgsError::OpWithMode),
        (false, false, true) => Mode::Interactive,
        (false, false, false) => Mode::OneShot(words),
    };
    Ok(parsed)
}

/// The value of option `name`.
fn text(parser: &mut lexopt::Parser, name: &'static str) -> Result<String, ArgsError> {
    let value = parser.value().map_err(|_| ArgsError::MissingValue(name))?;
    value.into_string().map_err(|_| ArgsError::NotUtf8(name))
}

fn seconds(text: &str, name: &'static str) -> Result<Duration, ArgsError> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(Duration::from_secs_f64(value)),
        _ => Err(ArgsError::Seconds { option: name, given: text.to_string() }),
    }
}

/// Prints one error line for a failed call (not an error reply).
fn report(error: &Error) {
    eprintln!("karma-cli: {error}");
}

fn main() -> ExitCode {
    let env_token = std::env::var("KARMA_TOKEN").ok().filter(|token| !token.is_empty());
    let args = match parse_args(std::env::args_os().skip(1), env_token) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("karma-cli: {message} (see --help)");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        token: args.token.clone(),
        connect_timeout: args.timeout,
        read_timeout: Some(args.timeout),
        write_timeout: Some(args.timeout),
        ..Options::default()
    };
    let host = if args.host.contains(':') && !args.host.starts_with('[') {
        format!("[{}]", args.host)
    } else {
        args.host.clone()
    };
    let client = Client::with_options(format!("{host}:{}", args.port), options);
    let succeeded = match &args.mode {
        Mode::Help => {
            println!("{USAGE}");
            true
        }
        Mode::Version => {
            println!("karma-cli {}", karma::VERSION);
            true
        }
        Mode::OneShot(words) => one_shot(&client, words, args.raw),
        Mode::Interactive => interactive::run(&client, args.raw),
        Mode::Pipe => pipe::run(&client, args.raw),
        Mode::Stat { interval, count } => stat::run(&client, *interval, *count),
    };
    if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Sends one request and prints its reply; `false` on an error reply or a
/// failed call.
fn one_shot(client: &Client, words: &[String], raw: bool) -> bool {
    let request = match request::from_words(words) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("karma-cli: {message}");
            return false;
        }
    };
    execute(client, request, raw)
}

/// Sends `request`, prints the reply (errors on stdout like any reply,
/// failed calls on stderr); `true` for a success reply.
pub(crate) fn execute(client: &Client, request: serde_json::Value, raw: bool) -> bool {
    match client.call_raw(request) {
        Ok(reply) => match render::show(&reply, raw) {
            render::Shown::Success(text) => {
                println!("{text}");
                true
            }
            render::Shown::Error { text, .. } => {
                println!("{text}");
                false
            }
        },
        Err(error) => {
            report(&error);
            false
        }
    }
}

#[cfg(test)]
mod tests;
