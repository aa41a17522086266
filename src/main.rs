use karma::config::{Config, Invocation};

fn main() {
    let code = match Config::from_process() {
        Ok(Invocation::Run(config)) => match karma::run(config) {
            Ok(()) => 0,
            Err(message) => {
                eprintln!("ERROR: {message}");
                1
            }
        },
        Ok(Invocation::Help(text)) | Ok(Invocation::Version(text)) => {
            println!("{text}");
            0
        }
        Err(error) => {
            eprintln!("ERROR: {error}");
            1
        }
    };
    std::process::exit(code);
}
