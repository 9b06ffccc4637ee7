//! The window's `costscope gui PLAN --screenshot OUT.png --panel P` under Xvfb, as
//! README's screenshots are made: the LLM panel of a token plan is written at the
//! stated size; asked of a plan without tokens, the command fails with a one-line
//! reason and writes nothing. Needs `xvfb-run` (installed by `.ci/run`); without it
//! the test fails when CI is set and is reported as skipped otherwise.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `xvfb-run -a` picks a free display by looking, so two at once can pick the same:
/// one window at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the app under a private Xvfb, its state and runtime dirs in `dir` (so a
/// test never touches the user's saved window state). None when there is no
/// `xvfb-run` and CI is not set.
fn gui(dir: &Path, args: &[&str]) -> Option<Output> {
    let have_xvfb = Command::new("sh")
        .args(["-c", "command -v xvfb-run"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_xvfb {
        assert!(
            std::env::var_os("CI").is_none(),
            "xvfb-run is missing: .ci/run installs it"
        );
        eprintln!("SKIPPED (not CI): no xvfb-run on this machine");
        return None;
    }
    let runtime = dir.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1600x1000x24"])
        .arg(env!("CARGO_BIN_EXE_costscope"))
        .arg("gui")
        .args(args)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HOME", dir)
        .output()
        .unwrap();
    Some(out)
}

/// `costscope gui PLAN --screenshot DIR/shot.png --panel llm` in a fresh directory of
/// its own for the test `tag`: the run, the PNG's path and the directory (None when
/// there is no `xvfb-run` and CI is not set).
fn llm_screenshot(tag: &str, plan: &str) -> Option<(Output, PathBuf, PathBuf)> {
    let dir = std::env::temp_dir().join(format!("costscope-gui-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("shot.png");
    let args = [
        plan,
        "--screenshot",
        png.to_str().unwrap(),
        "--panel",
        "llm",
    ];
    let out = gui(&dir, &args)?;
    Some((out, png, dir))
}

#[test]
fn the_llm_panel_of_a_token_plan_is_captured() {
    let Some((out, png, dir)) = llm_screenshot("llm", "llm-chatbot") else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gui failed: {stderr}");
    assert!(stderr.contains("wrote"), "no 'wrote' line: {stderr}");
    let image = image::open(&png).unwrap();
    // The screenshot size, in pixels at the Xvfb's scale of 1.
    assert_eq!((image.width(), image.height()), (1600, 1000));
    // Not a blank frame: the panel's plots and text give many distinct colours.
    let rgba = image.to_rgba8();
    let mut colours: Vec<[u8; 4]> = rgba.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 50, "{} colours only", colours.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_llm_panel_of_a_plan_without_tokens_is_refused() {
    let Some((out, png, dir)) = llm_screenshot("none", "healthcare-triage") else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "gui succeeded: {stderr}");
    assert!(
        stderr.contains("screenshot failed: the LLM panel is only for plans with workload.tokens"),
        "{stderr}"
    );
    assert!(!png.exists(), "a PNG was written");
    std::fs::remove_dir_all(&dir).unwrap();
}
