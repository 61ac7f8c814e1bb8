//! The `dcgan` command line: parses flags and hands over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    match dcgan::cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
