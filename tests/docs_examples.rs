//! Every example in the user docs runs against a real server, and its
//! replies must match exactly.
//!
//! The format (described for readers in docs/protocol.md, "Reading the
//! examples"): a fenced code block whose info string is `karma`, made of
//! - `> LINE`: a request line, sent with a `\n` (a lone `>` sends an empty
//!   line). Consecutive `>` lines go out in one write, as a pipelining client
//!   sends them;
//! - `< LINE`: the next reply, which must equal LINE exactly and end with
//!   `\r\n`;
//! - `(connection closed)`: the server must close the connection here;
//! - `# server: FLAGS` (first line only): the block gets a fresh server with
//!   these extra flags and a data directory of its own; `# fresh server`
//!   is the same with no extra flags. Other blocks share one server per
//!   document and run in document order;
//! - `# file NAME`, followed by `| LINE` lines: after the requests above, the
//!   data-directory file NAME (`*` matches within the name; exactly one file
//!   must match) holds exactly these lines (a last, unterminated run of
//!   spaces is the WAL's blank fill, docs/storage.md, not a line: it is
//!   left out);
//! - any other `# ...` line is a comment.
//!
//! A fenced block whose info string is `console` holds shell examples:
//! `$ karma-cli ARGS` and, on the lines after it, exactly what it prints.
//! They run after the document's `karma` blocks, against the shared server
//! (the example's own `-h`/`-p`, if any, are replaced by its address).
//!
//! The only masking, in expected replies and file lines: `<int>` matches one
//! or more decimal digits (Unix times, sizes, counters that move with time),
//! `<num>` matches a JSON number (uptime, latencies), and `<dir>` stands for
//! the server's data directory. In a request, `<file:PATTERN>` stands for
//! the name of the one data-directory file matching PATTERN (snapshot file
//! names hold the time they were written).
mod common;
use common::Server;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// One `karma` block: where it starts in the document and its lines.
struct Block {
    line: usize,
    server_flags: Option<Vec<String>>,
    lines: Vec<String>,
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (number, line) in doc.lines().enumerate() {
        let trimmed = line.trim_end();
        match current.as_mut() {
            None if trimmed == "```karma" => {
                current = Some(Block { line: number + 1, server_flags: None, lines: Vec::new() });
            }
            None => {}
            Some(_) if trimmed == "```" => out.push(current.take().expect("open block")),
            Some(block) => {
                let flags = if trimmed == "# fresh server" { Some("") } else { trimmed.strip_prefix("# server:") };
                if let Some(flags) = flags {
                    assert!(block.lines.is_empty(), "line {}: a server line must come first", number + 1);
                    block.server_flags = Some(flags.split_whitespace().map(str::to_string).collect());
                } else {
                    block.lines.push(trimmed.to_string());
                }
            }
        }
    }
    assert!(current.is_none(), "unclosed ```karma block");
    out
}

/// Whether `actual` matches `expected` with its placeholders.
fn matches(expected: &str, actual: &str) -> bool {
    let (mut e, mut a) = (expected, actual);
    loop {
        if e.is_empty() {
            return a.is_empty();
        }
        let (pattern, rest) = if let Some(rest) = e.strip_prefix("<int>") {
            ("int", rest)
        } else if let Some(rest) = e.strip_prefix("<num>") {
            ("num", rest)
        } else {
            let c = e.chars().next().expect("non-empty");
            if !a.starts_with(c) {
                return false;
            }
            e = &e[c.len_utf8()..];
            a = &a[c.len_utf8()..];
            continue;
        };
        let allowed = |c: char| c.is_ascii_digit() || (pattern == "num" && matches!(c, '.' | 'e' | 'E' | '-' | '+'));
        let taken = a.find(|c: char| !allowed(c)).unwrap_or(a.len());
        let starts_well = a.starts_with(|c: char| c.is_ascii_digit()) || (pattern == "num" && a.starts_with('-'));
        if taken == 0 || !starts_well {
            return false;
        }
        a = &a[taken..];
        e = rest;
    }
}

/// Runs one block; returns a description of each mismatch.
fn run_block(doc: &str, block: &Block, server: &Server) -> Vec<String> {
    let dir = server.dir.canonicalize().expect("data dir").display().to_string();
    let expand = |line: &str| line.replace("<dir>", &dir);
    let stream = TcpStream::connect(server.addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let mut failures = Vec::new();
    let mut pending = String::new();
    let mut file: Option<(String, Vec<String>)> = None;
    let at = |offset: usize| format!("{doc} block at line {}, line {}", block.line, offset + 1);
    let flush = |pending: &mut String, writer: &mut TcpStream| {
        if !pending.is_empty() {
            writer.write_all(pending.as_bytes()).expect("send");
            pending.clear();
        }
    };
    let check_file = |file: &mut Option<(String, Vec<String>)>, failures: &mut Vec<String>, where_: String| {
        if let Some((name, lines)) = file.take() {
            let mut content = read_matching_file(&server.dir, &name);
            let fill = content.len() - content.trim_end_matches(' ').len();
            if fill > 0 && content[..content.len() - fill].ends_with('\n') {
                content.truncate(content.len() - fill);
            }
            let actual: Vec<&str> = content.lines().collect();
            let same = actual.len() == lines.len()
                && lines.iter().zip(&actual).all(|(e, a)| matches(&expand(e), a))
                && (content.is_empty() || content.ends_with('\n'));
            if !same {
                failures.push(format!("{where_}: file {name}\n  expected: {lines:?}\n  actual:   {actual:?}"));
            }
        }
    };
    for (offset, line) in block.lines.iter().enumerate() {
        let request = if line == ">" { Some("") } else { line.strip_prefix("> ") };
        if let Some(request) = request {
            check_file(&mut file, &mut failures, at(offset));
            pending.push_str(&expand_file_names(request, &server.dir));
            pending.push('\n');
        } else if let Some(expected) = line.strip_prefix("< ") {
            flush(&mut pending, &mut writer);
            let mut reply = String::new();
            reader.read_line(&mut reply).expect("read reply");
            let Some(body) = reply.strip_suffix("\r\n") else {
                failures.push(format!("{}: reply without \\r\\n ending: {reply:?}", at(offset)));
                return failures;
            };
            if !matches(&expand(expected), body) {
                failures.push(format!("{}\n  expected: {expected}\n  actual:   {body}", at(offset)));
            }
        } else if line == "(connection closed)" {
            flush(&mut pending, &mut writer);
            let mut rest = String::new();
            let read = reader.read_line(&mut rest).unwrap_or(0);
            if read != 0 {
                failures.push(format!("{}: connection still open, got {rest:?}", at(offset)));
            }
        } else if let Some(name) = line.strip_prefix("# file ") {
            flush(&mut pending, &mut writer);
            check_file(&mut file, &mut failures, at(offset));
            file = Some((name.trim().to_string(), Vec::new()));
        } else if let Some(content) = line.strip_prefix("| ") {
            let Some((_, lines)) = file.as_mut() else { panic!("{}: `|` without `# file`", at(offset)) };
            lines.push(content.to_string());
        } else if !(line.starts_with('#') || line.is_empty()) {
            panic!("{}: unknown example line {line:?}", at(offset));
        }
    }
    assert!(pending.is_empty(), "{}: requests without an expected reply", at(block.lines.len()));
    check_file(&mut file, &mut failures, at(block.lines.len()));
    failures
}

/// `request` with each `<file:PATTERN>` replaced by the matching file name.
fn expand_file_names(request: &str, dir: &Path) -> String {
    let mut out = String::new();
    let mut rest = request;
    while let Some(start) = rest.find("<file:") {
        let end = start + rest[start..].find('>').expect("closing > of <file:...>");
        out.push_str(&rest[..start]);
        out.push_str(&matching_file(dir, &rest[start + "<file:".len()..end]));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The name of the one file in `dir` that matches `pattern` (`*` matches
/// any run of characters, at most once).
fn matching_file(dir: &Path, pattern: &str) -> String {
    let (prefix, suffix) = pattern.split_once('*').unwrap_or((pattern, ""));
    let exact = !pattern.contains('*');
    let names: Vec<String> = std::fs::read_dir(dir)
        .expect("read data dir")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            if exact {
                name == prefix
            } else {
                name.len() >= prefix.len() + suffix.len() && name.starts_with(prefix) && name.ends_with(suffix)
            }
        })
        .collect();
    assert_eq!(names.len(), 1, "{pattern}: expected exactly one file, found {names:?}");
    names.into_iter().next().expect("one name")
}

/// The content of the one file in `dir` whose name matches `pattern`.
fn read_matching_file(dir: &Path, pattern: &str) -> String {
    std::fs::read_to_string(dir.join(matching_file(dir, pattern))).expect("read file")
}

/// One shell example: `$ karma-cli ARGS` and the lines it prints.
struct ShellExample {
    line: usize,
    args: Vec<String>,
    expected: Vec<String>,
}

/// The ```console blocks of `doc`: each `$ karma-cli ...` line is a command,
/// the lines after it (up to the next `$`) are what it prints on stdout.
fn shell_examples(doc: &str) -> Vec<ShellExample> {
    let mut out: Vec<ShellExample> = Vec::new();
    let mut inside = false;
    for (number, line) in doc.lines().enumerate() {
        let trimmed = line.trim_end();
        if !inside {
            inside = trimmed == "```console";
            continue;
        }
        if trimmed == "```" {
            inside = false;
        } else if let Some(command) = trimmed.strip_prefix("$ ") {
            let words = split_shell_words(command);
            assert_eq!(
                words.first().map(String::as_str),
                Some("karma-cli"),
                "line {}: only karma-cli runs",
                number + 1
            );
            out.push(ShellExample { line: number + 1, args: words[1..].to_vec(), expected: Vec::new() });
        } else {
            out.last_mut().expect("output before a command").expected.push(trimmed.to_string());
        }
    }
    out
}

/// Splits a command line at spaces, honouring single quotes (enough for
/// the examples: `'keys=[42,7]'`).
fn split_shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Runs the shell examples of `doc` against `server`: `-h`/`-p` given in
/// the example are replaced by the server's address.
fn run_shell_examples(doc: &str, text: &str, server: &Server) -> Vec<String> {
    let mut failures = Vec::new();
    for example in shell_examples(text) {
        let mut args =
            vec!["-h".to_string(), "127.0.0.1".to_string(), "-p".to_string(), server.addr.port().to_string()];
        let mut given = example.args.iter();
        while let Some(arg) = given.next() {
            if arg == "-h" || arg == "-p" {
                given.next();
            } else {
                args.push(arg.clone());
            }
        }
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_karma-cli"))
            .args(&args)
            .env_remove("KARMA_TOKEN")
            .output()
            .expect("run karma-cli");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let actual: Vec<&str> = stdout.lines().collect();
        if actual.len() != example.expected.len() || !example.expected.iter().zip(&actual).all(|(e, a)| matches(e, a)) {
            failures.push(format!(
                "{doc} line {}: karma-cli {}\n  expected: {:?}\n  actual:   {actual:?}",
                example.line,
                example.args.join(" "),
                example.expected
            ));
        }
    }
    failures
}

/// Runs every block of `doc` (a path relative to the crate root).
fn check_document(doc: &str) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).expect("read doc");
    let blocks = blocks(&text);
    assert!(!blocks.is_empty(), "{doc} has no ```karma examples");
    let mut shared: Option<Server> = None;
    let mut failures = Vec::new();
    for block in &blocks {
        failures.extend(match &block.server_flags {
            Some(flags) => {
                let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                run_block(doc, block, &Server::start(&flags))
            }
            None => run_block(doc, block, shared.get_or_insert_with(|| Server::start(&[]))),
        });
    }
    if !shell_examples(&text).is_empty() {
        failures.extend(run_shell_examples(doc, &text, shared.get_or_insert_with(|| Server::start(&[]))));
    }
    assert!(failures.is_empty(), "{} example(s) differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn placeholders_match_only_what_they_say() {
    assert!(matches("a<int>b", "a123b"));
    assert!(!matches("a<int>b", "ab"));
    assert!(!matches("a<int>b", "axb"));
    assert!(matches("<num>", "12.5"));
    assert!(matches("<num>", "-1e-3"));
    assert!(!matches("<num>", "x"));
    assert!(!matches("abc", "abcd"));
}

/// Every op of the catalogue in docs/protocol.md (aliases aside) is sent by
/// at least one example there, so each has a request and its exact reply.
#[test]
fn every_op_has_an_example() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/protocol.md")).expect("doc");
    let catalogue = text.split("## Op catalogue").nth(1).expect("catalogue").split("\n## ").next().expect("section");
    let ops: Vec<&str> = catalogue
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .filter(|op| op.contains('.'))
        .collect();
    assert_eq!(ops.len(), 48, "{ops:?}");
    let sent: Vec<String> = blocks(&text)
        .iter()
        .flat_map(|block| block.lines.clone())
        .filter_map(|line| Some(line.strip_prefix("> ")?.split("\"op\":\"").nth(1)?.split('"').next()?.to_string()))
        .collect();
    let missing: Vec<&&str> = ops.iter().filter(|op| !sent.iter().any(|s| s == *op)).collect();
    assert!(missing.is_empty(), "ops without an example in docs/protocol.md: {missing:?}");
}

#[test]
fn protocol_examples() {
    check_document("docs/protocol.md");
}

#[test]
fn operations_examples() {
    check_document("docs/operations.md");
}

#[test]
fn storage_examples() {
    check_document("docs/storage.md");
}

#[test]
fn readme_examples() {
    check_document("README.md");
}

#[test]
fn readme_ru_examples() {
    check_document("README.ru.md");
}
