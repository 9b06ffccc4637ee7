//! costscope binary (profiler worktree stand-in): parses `costscope profile …` and calls
//! the profile layer's CLI edge. The merged crate's main.rs replaces this file.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use costscope::profile::cli::{ProfileArgs, run};

#[derive(Parser)]
#[command(name = "costscope", version, about = "Measure ML inference kernels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure kernels on every adapter and the CPU.
    Profile(ProfileArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Profile(args) = cli.command;
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("costscope: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
