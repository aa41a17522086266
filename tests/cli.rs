//! `karma-cli` as users run it: the real binary against a real server.
mod common;
use common::Server;
use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `karma-cli -h 127.0.0.1 -p PORT args...`, with `stdin` piped in; HOME
/// points at a temp dir so the history file lands there.
fn cli(server: &Server, args: &[&str], stdin: &str, home: &std::path::Path) -> Output {
    cli_at(server.addr.port(), args, stdin, home)
}

fn cli_at(port: u16, args: &[&str], stdin: &str, home: &std::path::Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_karma-cli"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .env("HOME", home)
        .env_remove("KARMA_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn karma-cli");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let output = child.wait_with_output().expect("karma-cli output");
    writer.join().expect("stdin writer");
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn one_shot_requests_print_readable_or_raw_replies() {
    let server = Server::start(&[]);
    let home = common::temp_dir();
    // The README's examples.
    let run = cli(
        &server,
        &["counter.increment", "series=api_requests", "key=42", "bucket=20260505", "value=5"],
        "",
        home.path(),
    );
    assert_eq!((run.status.code(), text(&run.stdout), text(&run.stderr)), (Some(0), "5\n".into(), String::new()));
    let run = cli(&server, &["--raw", "counter.batch_sum", "series=api_requests", "keys=[42,7]"], "", home.path());
    assert_eq!(text(&run.stdout), format!("{}\n", common::ok(r#"[{"key":42,"value":5},{"key":7,"value":0}]"#)));
    let run =
        cli(&server, &["counter.increment", "series=api", "key=42", "bucket=20260505", "value=5"], "", home.path());
    assert_eq!(text(&run.stdout), "5\n");
    let run = cli(&server, &["--raw", "counter.sum", "series=api", "key=42"], "", home.path());
    assert_eq!(text(&run.stdout), format!("{}\n", common::ok("5")));
    let run = cli(&server, &[r#"{"op":"counter.batch_sum","series":"api","keys":[42,7]}"#], "", home.path());
    assert_eq!(
        text(&run.stdout),
        "[\n  {\n    \"key\": 42,\n    \"value\": 5\n  },\n  {\n    \"key\": 7,\n    \"value\": 0\n  }\n]\n"
    );
    let run = cli(&server, &["system.ping"], "", home.path());
    assert_eq!((run.status.code(), text(&run.stdout)), (Some(0), "pong\n".into()));
}

#[test]
fn an_error_reply_is_one_line_and_a_failure() {
    let server = Server::start(&[]);
    let home = common::temp_dir();
    let run = cli(&server, &["counter.sum", "series=missing", "key=1"], "", home.path());
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(text(&run.stdout), "(error) not_found: Tree \"missing\" not found\n");
    let run = cli(&server, &["--raw", "nope"], "", home.path());
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(text(&run.stdout), format!("{}\n", common::err("unknown_command", "Unknown op nope")));
    let run = cli(&server, &["system.ping", "oops"], "", home.path());
    assert_eq!(
        (run.status.code(), text(&run.stderr)),
        (Some(1), "karma-cli: expected field=value, got \"oops\"\n".into())
    );
    let run = cli(&server, &["--bogus"], "", home.path());
    assert_eq!(
        (run.status.code(), text(&run.stderr)),
        (Some(2), "karma-cli: invalid option '--bogus' (see --help)\n".into())
    );
}

#[test]
fn a_host_that_does_not_answer_is_one_clear_line() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let home = common::temp_dir();
    let run = cli_at(free, &["system.ping"], "", home.path());
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(text(&run.stdout), "");
    let stderr = text(&run.stderr);
    assert!(stderr.starts_with(&format!("karma-cli: cannot connect to 127.0.0.1:{free}: ")), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn tokens_come_from_the_flag_or_the_environment() {
    let server = Server::start(&["--auth-token=W"]);
    let home = common::temp_dir();
    let run = cli(&server, &["-a", "wrong", "system.ping"], "", home.path());
    assert_eq!((run.status.code(), text(&run.stdout)), (Some(1), "(error) unauthorized: Unauthorized\n".into()));
    let run = cli(&server, &["-a", "W", "system.ping"], "", home.path());
    assert_eq!((run.status.code(), text(&run.stdout)), (Some(0), "pong\n".into()));
    let output = Command::new(env!("CARGO_BIN_EXE_karma-cli"))
        .args(["-p", &server.addr.port().to_string(), "system.ping"])
        .env("KARMA_TOKEN", "W")
        .output()
        .expect("karma-cli");
    assert_eq!((output.status.code(), text(&output.stdout)), (Some(0), "pong\n".into()));
}

#[test]
fn pipe_loads_ten_thousand_lines_and_sums_up() {
    let server = Server::start(&[]);
    let home = common::temp_dir();
    let mut input = String::new();
    for i in 0..10_000u64 {
        if i % 2 == 0 {
            input.push_str(&format!(
                "{{\"op\":\"counter.increment\",\"series\":\"bulk\",\"key\":{},\"bucket\":20260505,\"value\":2}}\n",
                i % 100
            ));
        } else {
            input.push_str(&format!("counter.increment series=bulk key={} bucket=20260505 value=1\n", i % 100));
        }
    }
    let run = cli(&server, &["--pipe"], &input, home.path());
    assert_eq!(
        (run.status.code(), text(&run.stdout), text(&run.stderr)),
        (Some(0), "lines: 10000, sent: 10000, replies: 10000, errors: 0, unreadable lines: 0\n".into(), String::new())
    );
    let reply = server.request(r#"{"v":2,"op":"tree.info","series":"bulk"}"#);
    assert_eq!(common::response(&reply)["total"], 15_000, "{reply}");
}

#[test]
fn pipe_counts_errors_by_code() {
    let server = Server::start(&[]);
    let home = common::temp_dir();
    let input = "system.ping\nnope\ncounter.sum series=missing key=1\nnot a request\ncounter.sum series=gone key=2\n";
    let run = cli(&server, &["--pipe"], input, home.path());
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        text(&run.stdout),
        "line 2: (error) unknown_command: Unknown op nope\n\
         line 3: (error) not_found: Tree \"missing\" not found\n\
         line 5: (error) not_found: Tree \"gone\" not found\n\
         lines: 5, sent: 4, replies: 4, errors: 3, unreadable lines: 1\n  not_found: 2\n  unknown_command: 1\n"
    );
    assert_eq!(text(&run.stderr), "karma-cli: line 4: expected field=value, got \"a\"\n");
}

#[test]
fn interactive_mode_reads_piped_commands_and_keeps_history() {
    let server = Server::start(&[]);
    let home = common::temp_dir();
    let input = "counter.increment series=i key=1 bucket=20260505 value=3\n\ncounter.sum series=i key=1\nnope\n\
                 tree.info series=\"i\"\nquit\nsystem.ping\n";
    let run = cli(&server, &[], input, home.path());
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    let replies: Vec<&str> = stdout.lines().filter(|line| !line.contains("> ")).collect();
    assert_eq!(
        replies.join("\n"),
        "3\n3\n(error) unknown_command: Unknown op nope\n{\n  \"branches\": 9,\n  \"bucket_count\": 1,\n  \"key_count\": 1,\n  \"total\": 3,\n  \"tree\": \"i\"\n}",
        "{stdout}"
    );
    let history = std::fs::read_to_string(home.path().join(".karma_cli_history")).expect("history file");
    assert!(history.contains("counter.sum series=i key=1\n"), "{history}");
}

#[test]
fn interactive_mode_on_a_terminal() {
    let server = Server::start(&[]);
    let home = common::temp_dir();
    // script(1) runs the client on a pseudo-terminal, so rustyline edits
    // lines: the ^U (kill line) drops the typo before the real command.
    let command = format!("{} -p {}", env!("CARGO_BIN_EXE_karma-cli"), server.addr.port());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("HOME", home.path())
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script");
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = {
        let output = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buffer) {
                output.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        })
    };
    let prompts = || String::from_utf8_lossy(&output.lock().unwrap()).matches("> ").count();
    let mut stdin = child.stdin.take().expect("stdin");
    // Typing before the editor is up would meet the terminal's own line
    // discipline instead: wait for each prompt.
    assert!(common::eventually(Duration::from_secs(30), || prompts() >= 1), "no prompt");
    stdin.write_all(b"typo\x15system.ping\r").unwrap();
    assert!(common::eventually(Duration::from_secs(30), || prompts() >= 2), "no second prompt");
    stdin.write_all(b"quit\r").unwrap();
    let status = child.wait().expect("script");
    drop(stdin);
    reader.join().unwrap();
    let shown = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
    assert!(status.success(), "{shown}");
    assert!(shown.contains("pong"), "{shown}");
    assert!(!shown.contains("Unknown op"), "{shown}");
    let saved = std::fs::read_to_string(home.path().join(".karma_cli_history")).expect("history file");
    assert_eq!(saved.lines().filter(|line| !line.starts_with('#')).collect::<Vec<_>>(), ["system.ping", "quit"]);
}

#[test]
fn stat_prints_a_line_per_interval() {
    let server = Server::start(&[]);
    let home = common::temp_dir();
    server.request(r#"{"v":2,"op":"series.batch_add","series":"st","items":[[1,20260505,1],[2,20260505,1]]}"#);
    let run = cli(&server, &["--stat", "--interval", "0.2", "--count", "2"], "", home.path());
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ops/s", "connections", "series", "keys", "memory", "wal_lsn", "repl_lag"]
    );
    for line in &lines[1..] {
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(columns.len(), 7, "{line}");
        assert!(columns[0].parse::<u64>().is_ok() && columns[1].parse::<u64>().unwrap() >= 1, "{line}");
        // series, keys, WAL LSN and lag are exact.
        assert_eq!((columns[2], columns[3], columns[5], columns[6]), ("1", "2", "1", "0"), "{line}");
    }
}

#[test]
fn help_names_every_mode() {
    let home = common::temp_dir();
    let run = cli_at(1, &["--help"], "", home.path());
    let help = text(&run.stdout);
    assert_eq!(run.status.code(), Some(0));
    assert!(help.starts_with("Usage: karma-cli [OPTIONS]"), "{help}");
    for option in ["--host", "--port", "--token", "--raw", "--pipe", "--stat", "--count", "--interval"] {
        assert!(help.contains(option), "{option} missing from {help}");
    }
}
