//! costscope's entry point: parse arguments, run, print any error on one line.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = costscope::cli::Cli::parse();
    match costscope::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
