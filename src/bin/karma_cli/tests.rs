use super::*;

fn parse(args: &[&str]) -> Result<Args, ArgsError> {
    parse_args(args.iter().map(Into::into), Some("env".into()))
}

#[test]
fn arguments() {
    let args = parse(&["-h", "db", "-p", "9000", "counter.sum", "series=a", "key=1", "-p"]).unwrap();
    assert_eq!((args.host.as_str(), args.port, args.token.as_deref()), ("db", 9000, Some("env")));
    assert_eq!(args.mode, Mode::OneShot(vec!["counter.sum".into(), "series=a".into(), "key=1".into(), "-p".into()]));
    assert_eq!(parse(&["-a", "t"]).unwrap().token.as_deref(), Some("t"));
    assert_eq!(parse(&[]).unwrap().mode, Mode::Interactive);
    assert_eq!(parse(&["--pipe", "--raw"]).unwrap().mode, Mode::Pipe);
    assert_eq!(
        parse(&["--stat", "-i", "0.5", "--count", "3"]).unwrap().mode,
        Mode::Stat { interval: Duration::from_millis(500), count: Some(3) }
    );
    assert_eq!(parse(&["--help", "x"]).unwrap().mode, Mode::Help);
    assert_eq!(parse(&["-p", "x"]).unwrap_err().to_string(), "--port must be a port number, got \"x\"");
    assert_eq!(
        parse(&["--stat", "-i", "0"]).unwrap_err().to_string(),
        "--interval must be a positive number of seconds, got \"0\""
    );
    assert_eq!(parse(&["--pipe", "system.ping"]).unwrap_err().to_string(), "--pipe and --stat take no op");
    assert_eq!(parse(&["--bogus"]).unwrap_err().to_string(), "invalid option '--bogus'");
}
