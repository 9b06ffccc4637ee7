//! Shared test helpers: run the real `costscope` binary.

use std::process::Command;

/// Runs `costscope ARGS…` and returns (exit code, stdout, stderr).
pub fn costscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args(args)
        .output()
        .expect("the costscope binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
