//! The deployment files, checked by the tools users run them with: the
//! systemd unit by `systemd-analyze` (verify, and a security rating of at
//! most 2.0), the environment file and the image's health check against a
//! real server, and the image itself by `podman build` where podman and
//! the base images are available. A missing tool skips its part with a
//! message.

mod common;

use common::Server;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn repo_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Runs `program`, or `None` (after saying so) when it is not installed.
fn run_tool(program: &str, args: &[&str]) -> Option<Output> {
    match Command::new(program).args(args).output() {
        Ok(out) => Some(out),
        Err(e) => {
            eprintln!("{program} not available ({e}): skipping this check");
            None
        }
    }
}

/// The unit with `ExecStart` pointing at the binary under test (verify
/// checks that the command exists), written to a temp dir.
fn unit_under_test(temp: &Path) -> PathBuf {
    let unit = repo_file("scripts/karma.service")
        .replace("ExecStart=/usr/local/bin/karma", &format!("ExecStart={}", env!("CARGO_BIN_EXE_karma")));
    let path = temp.join("karma.service");
    std::fs::write(&path, unit).unwrap();
    path
}

/// `Key=value` settings of the unit's `[Service]` section.
fn service_settings() -> Vec<(String, String)> {
    repo_file("scripts/karma.service")
        .lines()
        .skip_while(|l| l.trim() != "[Service]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn the_unit_takes_its_settings_from_the_environment_file() {
    let settings = service_settings();
    let get = |key: &str| settings.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    // Flags win over the environment: ExecStart must pass none, or the
    // environment file would be silently overridden.
    assert_eq!(get("ExecStart"), Some("/usr/local/bin/karma"));
    assert_eq!(get("EnvironmentFile"), Some("/etc/karma/karma.env"));
    assert_eq!(get("Type"), Some("notify"));
    assert_eq!(get("Restart"), Some("on-failure"));
    assert_eq!(get("StateDirectory"), Some("karma"));
    let nofile: u64 = get("LimitNOFILE").unwrap().parse().unwrap();
    assert!(nofile > karma::config::Config::default().max_connections as u64 + 1024, "{nofile}");
    assert!(!settings.iter().any(|(k, v)| k == "Environment" && v.contains("TOKEN")), "tokens belong in the file");
}

#[test]
fn systemd_analyze_verifies_the_unit_and_rates_it_ok() {
    let temp = common::temp_dir();
    let unit = unit_under_test(temp.path());
    let unit = unit.to_str().unwrap();
    let Some(out) = run_tool("systemd-analyze", &["verify", unit]) else { return };
    let report = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && report.trim().is_empty(), "systemd-analyze verify: {report}");

    // --threshold is in tenths: exit status non-zero above 2.0.
    let Some(out) = run_tool("systemd-analyze", &["security", "--offline=true", "--threshold=20", unit]) else {
        return;
    };
    let report = String::from_utf8_lossy(&out.stdout);
    let overall = report.lines().find(|l| l.contains("Overall exposure level")).unwrap_or_else(|| panic!("{report}"));
    let score: f64 = overall.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(score <= 2.0 && overall.contains(" OK"), "{overall}");
    assert!(out.status.success(), "{report}");
}

#[test]
fn every_variable_of_the_environment_file_is_one_karma_reads() {
    let mut envs: Vec<(String, String)> = Vec::new();
    for line in repo_file("scripts/karma.env").lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line.split_once('=').unwrap_or_else(|| panic!("not NAME=value: {line}"));
        envs.push((name.to_string(), value.to_string()));
    }
    let usage = Command::new(env!("CARGO_BIN_EXE_karma")).arg("--help").output().unwrap();
    let usage = String::from_utf8(usage.stdout).unwrap();
    for (name, _) in &envs {
        assert!(usage.contains(&format!("[{name}; default: ")), "{name} is not a karma variable");
    }
    // The file as systemd would hand it over, ports moved to free ones
    // (flags win): the server starts and serves HTTP.
    let temp = common::temp_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_karma"))
        .env_clear()
        .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(["--port=0", "--http-port=0", &format!("--directory={}", temp.path().display())])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let start = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .find(|l| l.contains("\"event\":\"server.start\"") || l.starts_with("ERROR"));
    let _ = child.kill();
    let _ = child.wait();
    let start = start.expect("the server started");
    assert!(start.contains(" address=127.0.0.1:") && start.contains(" http=127.0.0.1:"), "{start}");
}

/// The `HEALTHCHECK` command of the Dockerfile, as its JSON array.
fn health_check_command() -> Vec<String> {
    let dockerfile = repo_file("Dockerfile").replace("\\\n", "");
    let line = dockerfile.lines().find(|l| l.starts_with("HEALTHCHECK ")).expect("a HEALTHCHECK");
    let json = &line[line.find("CMD [").expect("exec form") + 4..];
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

#[test]
fn the_dockerfile_pins_qualified_base_images_and_runs_as_a_fixed_user() {
    let dockerfile = repo_file("Dockerfile");
    let rust_version = repo_file("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("rust-version in Cargo.toml");
    let from: Vec<&str> = dockerfile.lines().filter_map(|l| l.strip_prefix("FROM ")).collect();
    assert_eq!(
        from,
        [
            format!("docker.io/library/rust:{rust_version}-slim-bookworm AS builder").as_str(),
            "docker.io/library/debian:bookworm-slim"
        ]
    );
    assert!(dockerfile.contains("\nUSER 10001:10001\n"));
    assert!(dockerfile.contains("CARGO_PROFILE_RELEASE_STRIP=symbols"));
    // No flags in ENTRYPOINT/CMD: they would override `-e KARMA_...`.
    assert!(dockerfile.contains("\nENTRYPOINT [\"/usr/local/bin/karma\"]\n"));
    assert!(!dockerfile.lines().any(|l| l.starts_with("CMD ")));
    let dockerignore = repo_file(".dockerignore");
    let ignored: Vec<&str> = dockerignore.lines().map(str::trim).collect();
    for needed in ["target/", ".git/", ".karma-data/", "**/*.tree", "**/karma.wal*"] {
        assert!(ignored.contains(&needed), ".dockerignore lacks {needed}");
    }
}

#[test]
fn the_image_health_check_passes_only_while_health_is_200() {
    let command = health_check_command();
    let server = Server::start(&["--http-port=0"]);
    let log = server.log_lines();
    let http = log.iter().find(|l| l.contains("\"event\":\"http.start\"")).expect("http.start");
    let port = http.rsplit(':').next().unwrap().trim_end_matches("\"}").to_string();
    let check = |port: &str| {
        Command::new(&command[0]).args(&command[1..]).env("KARMA_HTTP_PORT", port).status().expect("run the check")
    };
    assert!(check(&port).success());
    // Nothing listening: unhealthy.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert!(!check(&closed.to_string()).success());
    drop(server);
    // Listening but not serving (503: a slave still waiting for its
    // master's snapshots): unhealthy too.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let master = format!("--replication-source-port={}", silent.local_addr().unwrap().port());
    let temp = common::temp_dir();
    let args = ["--http-port=0", "--role=slave", "--replication-source-host=127.0.0.1", &master, "--read-timeout=60"];
    let mut slave = common::spawn(temp.path(), &args);
    let stderr = slave.stderr.take().unwrap();
    let http = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .find(|l| l.contains("\"event\":\"http.start\""))
        .expect("http.start");
    let port = http.rsplit(':').next().unwrap().trim_end_matches("\"}").to_string();
    assert!(!check(&port).success());
    let _ = slave.kill();
    let _ = slave.wait();
}

#[test]
fn podman_builds_the_image() {
    let Some(version) = run_tool("podman", &["--version"]) else { return };
    assert!(version.status.success());
    let rust_image = repo_file("Dockerfile")
        .lines()
        .find_map(|l| l.strip_prefix("FROM ").map(|rest| rest.split(' ').next().unwrap().to_string()))
        .unwrap();
    // The base images come from a registry; without one there is nothing to
    // build from (the pull fails within seconds when it is unreachable).
    for image in [rust_image.as_str(), "docker.io/library/debian:bookworm-slim"] {
        let pulled = Command::new("podman").args(["pull", "--quiet", image]).output().unwrap();
        if !pulled.status.success() {
            eprintln!(
                "cannot pull {image} ({}): skipping the image build",
                String::from_utf8_lossy(&pulled.stderr).lines().last().unwrap_or("")
            );
            return;
        }
    }
    let tag = "localhost/karma-test:latest";
    let out = Command::new("podman")
        .args(["build", "--format", "docker", "-t", tag, env!("CARGO_MANIFEST_DIR")])
        .output()
        .unwrap();
    assert!(out.status.success(), "podman build: {}", String::from_utf8_lossy(&out.stderr));
    // The volume as the docs prepare it: owned by the image's fixed user.
    let temp = common::temp_dir();
    if let Err(e) = std::os::unix::fs::chown(temp.path(), Some(10001), Some(10001)) {
        eprintln!("cannot give the volume to UID 10001 ({e}): skipping the container run");
        return;
    }
    let name = format!("karma-test-{}", std::process::id());
    let data = format!("{}:/data", temp.path().display());
    let run = Command::new("podman").args(["run", "-d", "--rm", "--name", &name, "-v", &data, tag]).output().unwrap();
    assert!(run.status.success(), "podman run: {}", String::from_utf8_lossy(&run.stderr));
    let healthy = common::eventually(Duration::from_secs(60), || {
        Command::new("podman").args(["healthcheck", "run", &name]).status().is_ok_and(|s| s.success())
    });
    let _ = Command::new("podman").args(["stop", "--time", "30", &name]).status();
    assert!(healthy, "the container never became healthy");
    assert!(temp.path().join("karma.lock").exists(), "the volume was not used");
}

#[test]
fn the_alert_rules_check_and_name_only_metrics_karma_exports() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/karma-alerts.yml");
    if let Some(out) = run_tool("promtool", &["check", "rules", rules.to_str().unwrap()]) {
        assert!(out.status.success(), "promtool check rules: {}", String::from_utf8_lossy(&out.stdout));
    }
    let server = Server::start(&["--http-port=0"]);
    let log = server.log_lines();
    let http = log.iter().find(|l| l.contains("\"event\":\"http.start\"")).expect("http.start");
    let address = http.split("address=").nth(1).unwrap().trim_end_matches("\"}");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    std::io::Write::write_all(&mut stream, b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut metrics = String::new();
    std::io::Read::read_to_string(&mut stream, &mut metrics).unwrap();
    let text = repo_file("scripts/karma-alerts.yml");
    let mut names: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("karma_"))
        .collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let family = name.strip_suffix("_bucket").unwrap_or(name);
        assert!(metrics.contains(&format!("\n# TYPE {family} ")), "{name} is not exported");
    }
}
