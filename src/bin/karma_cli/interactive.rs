//! The interactive prompt: line editing, history across sessions
//! (`~/.karma_cli_history`) and op name completion, by rustyline. With
//! stdin not a terminal, lines are read plainly, so commands can be piped.

use crate::{execute, request};
use karma::client::Client;
use karma::protocol::op::ALL_OPS;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::path::PathBuf;

const HELP: &str = "\
Type a request as OP field=value ... (values are JSON when they parse, else
strings; quote values with spaces) or as one JSON object, for example
  counter.increment series=api key=42 bucket=20260505 value=5
  counter.sum series=api key=42
  {\"op\":\"tree.top\",\"series\":\"api\",\"limit\":10}
Tab completes op names. `quit` or Ctrl-D leaves.";

/// Completes the op name, the first word of a line.
struct OpNames;

impl Completer for OpNames {
    type Candidate = String;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let typed = &line[..pos];
        if typed.contains(char::is_whitespace) || typed.starts_with('{') {
            return Ok((pos, Vec::new()));
        }
        let names = ALL_OPS.iter().map(|op| op.name()).filter(|name| name.starts_with(typed));
        Ok((0, names.map(str::to_string).collect()))
    }
}

impl Hinter for OpNames {
    type Hint = String;
}
impl Highlighter for OpNames {}
impl Validator for OpNames {}
impl Helper for OpNames {}

fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|home| !home.is_empty()).map(|home| PathBuf::from(home).join(".karma_cli_history"))
}

/// Runs the prompt until `quit` or end of input; `false` only when the
/// editor itself fails.
pub fn run(client: &Client, raw: bool) -> bool {
    let mut editor: Editor<OpNames, DefaultHistory> = match Editor::new() {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("karma-cli: cannot start the line editor: {e}");
            return false;
        }
    };
    editor.set_helper(Some(OpNames));
    let history = history_file();
    if let Some(path) = &history {
        // A first run has no history yet.
        let _ = editor.load_history(path);
    }
    let prompt = format!("{}> ", client.address());
    let ok = loop {
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break true,
            Err(e) => {
                eprintln!("karma-cli: cannot read input: {e}");
                break false;
            }
        };
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(trimmed);
        match trimmed {
            "quit" | "exit" => break true,
            "help" => {
                println!("{HELP}");
                continue;
            }
            _ => {}
        }
        match request::split_line(trimmed).and_then(|words| request::from_words(&words)) {
            Ok(request) => {
                execute(client, request, raw);
            }
            Err(message) => eprintln!("karma-cli: {message}"),
        }
    };
    if let Some(path) = &history {
        if let Err(e) = editor.save_history(path) {
            eprintln!("karma-cli: cannot save history to {}: {e}", path.display());
        }
    }
    ok
}
