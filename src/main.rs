use karma::config::{Config, Invocation};

fn main() {
    match Config::from_process() {
        Ok(Invocation::Run(_config)) => {}
        Ok(Invocation::Help(text)) => println!("{text}"),
        Ok(Invocation::Version(text)) => println!("{text}"),
        Err(error) => {
            eprintln!("ERROR: {error}");
            std::process::exit(1);
        }
    }
}
