//! The command line end to end: the real binary on real files.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::costscope;
use costscope::plan::{load_file, load_str, presets};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("costscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn plan_prints_the_mmc_example() {
    let (code, out, err) = costscope(&["plan", "presets/textbook-mmc.ron"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("P(wait)          0.4092"), "{out}");
    assert!(out.contains("mean 1204.6"), "{out}");
    assert!(out.contains("Recommended:"), "{out}");
}

#[test]
fn plan_json_has_the_design_shape() {
    let (code, out, err) = costscope(&["plan", "textbook-mmc", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in ["plan", "alpha", "beta", "best", "candidates", "pareto"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let e = &v["evaluation"];
    assert_eq!(e["policy"], "always_on");
    assert_eq!(e["servers"], 10);
    assert!((e["p_wait"].as_f64().unwrap() - 0.4092).abs() < 5e-5);
    assert!((e["latency_ms"]["mean"].as_f64().unwrap() - 1204.6).abs() < 0.05);
    for key in [
        "cost_usd_per_hour",
        "cost_usd_per_million",
        "utilization",
        "cold_start_fraction",
        "objective",
        "feasible",
        "why_infeasible",
        "warm",
        "batch",
    ] {
        assert!(e.get(key).is_some(), "evaluation lacks {key}");
    }
    assert!(v["pareto"].as_array().unwrap().len() >= 2);
}

#[test]
fn overrides_change_the_evaluation() {
    let (code, out, _) = costscope(&["plan", "textbook-mmc", "--servers", "12", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["evaluation"]["servers"], 12);
    assert!(v["evaluation"]["p_wait"].as_f64().unwrap() < 0.4092);
    let (code, out, _) = costscope(&["plan", "textbook-mmc", "--policy", "on-demand", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["evaluation"]["policy"], "on_demand");
    assert!(
        v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["policy"] == "on_demand")
    );
}

#[test]
fn overloaded_plan_is_a_one_line_error() {
    let (code, out, err) = costscope(&["plan", "textbook-mmc", "--servers", "8"]);
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("overloaded"), "{err}");
}

#[test]
fn validate_accepts_presets_and_rejects_bad_files() {
    let (code, out, _) = costscope(&["validate", "presets/healthcare-triage.ron"]);
    assert_eq!(code, 0);
    assert!(out.contains("valid plan"));

    let bad = temp("bad.ron");
    let text = std::fs::read_to_string("presets/textbook-mmc.ron").unwrap();
    std::fs::write(
        &bad,
        text.replace("cold_start_s: 30.0", "cold_start_s: -1.0"),
    )
    .unwrap();
    let (code, _, err) = costscope(&["validate", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let line = text
        .lines()
        .position(|l| l.contains("cold_start_s"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("bad.ron:{line}:9: service.cold_start_s = -1")),
        "{err}"
    );

    std::fs::write(&bad, "(version: 1, name: \"x\"").unwrap();
    let (code, _, err) = costscope(&["validate", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.ron:1:"), "{err}");

    let (code, _, err) = costscope(&["validate", "no/such/plan.ron"]);
    assert_ne!(code, 0);
    assert!(err.contains("no/such/plan.ron"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn presets_list_and_export() {
    let (code, out, _) = costscope(&["presets"]);
    assert_eq!(code, 0);
    assert!(out.lines().count() >= 6);
    assert!(out.contains("healthcare-triage") && out.contains("(default)"));
    let file = temp("exported.ron");
    let (code, _, err) = costscope(&["presets", "export", "spot-sweep", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = costscope(&["validate", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, _, err) = costscope(&["presets", "export", "nope", file.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("no preset named 'nope'"), "{err}");
}

#[test]
fn export_never_overwrites_without_force() {
    let file = temp("kept.ron");
    std::fs::write(&file, "// my own notes\n").unwrap();
    let (code, _, err) = costscope(&["presets", "export", "spot-sweep", file.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("already exists; pass --force"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "// my own notes\n");
    let (code, _, err) = costscope(&[
        "presets",
        "export",
        "spot-sweep",
        file.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&file).unwrap().contains("SpotMix"));
}

#[cfg(unix)]
#[test]
fn forced_export_keeps_the_mode_follows_a_link_and_leaves_no_temp_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp("export-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let real = dir.join("real.ron");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.join("link.ron");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (code, _, err) = costscope(&[
        "presets",
        "export",
        "textbook-mmc",
        link.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read_to_string(&real).unwrap().contains("AlwaysOn"));
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A folder as the target: refused, and nothing is left beside it.
    let folder = dir.join("a-folder");
    std::fs::create_dir_all(&folder).unwrap();
    let (code, _, err) = costscope(&[
        "presets",
        "export",
        "textbook-mmc",
        folder.to_str().unwrap(),
        "--force",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("it is a folder"), "{err}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a-folder", "link.ron", "real.ron"]);
}

#[test]
fn unwritable_outputs_are_refused_before_the_run() {
    let missing = temp("no-such-folder").join("x").join("r.json");
    let started = std::time::Instant::now();
    let (code, out, err) = costscope(&["profile", "--cpu", "--out", missing.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot write the report to"), "{err}");
    // Nothing was measured: no table, no progress.
    assert!(out.is_empty(), "{out}");
    assert!(!err.contains("%]"), "{err}");
    assert!(started.elapsed().as_secs() < 30);
    let (code, _, err) = costscope(&[
        "simulate",
        "textbook-mmc",
        "--timeline",
        missing.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot write the timeline to"), "{err}");
}

#[test]
fn verify_simulates_the_recommendation_first() {
    let (code, out, err) = costscope(&[
        "plan",
        "textbook-mmc",
        "--verify",
        "--replications",
        "3",
        "--hours",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ver = &v["verification"];
    assert_eq!(ver["replications"], 3);
    let first = &ver["candidates"][0];
    assert_eq!(first["candidate"], v["best"]);
    assert!(
        first["simulated"]["cost_usd_per_hour"]["ci95"]
            .as_f64()
            .is_some()
    );
    assert!(first["agrees"].is_boolean());
    let (code, out, err) = costscope(&["plan", "textbook-mmc", "--verify", "--hours", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Verified by simulation (8 replications × 1 h"),
        "{out}"
    );
    // Without --verify the JSON is as before.
    let (_, out, _) = costscope(&["plan", "textbook-mmc", "--json"]);
    assert!(!out.contains("verification"));
}

#[test]
fn seq_len_defaults_to_128_and_is_range_checked() {
    // Every shipped preset predates the field: each loads with 128.
    for p in presets::PRESETS {
        assert_eq!(
            presets::load(p.name).unwrap().service.seq_len,
            128,
            "{}",
            p.name
        );
    }
    let (code, out, err) = costscope(&["plan", "healthcare-triage", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["service"]["seq_len"], 128);

    let text = presets::find("textbook-mmc").unwrap().text;
    let with = |s: &str| {
        text.replace(
            "cold_start_s: 30.0,",
            &format!("cold_start_s: 30.0, seq_len: {s},"),
        )
    };
    assert_eq!(
        load_str(&with("512"), "t.ron").unwrap().service.seq_len,
        512
    );
    assert_eq!(
        load_str(&with("1048576"), "t.ron").unwrap().service.seq_len,
        1_048_576
    );
    for (bad, allowed) in [
        ("0", "1 to 1048576"),
        ("1048577", "1 to 1048576"),
        ("99999999999", "an integer 1 to 1048576"),
    ] {
        let bad_text = with(bad);
        let err = load_str(&bad_text, "t.ron").unwrap_err().to_string();
        let line = bad_text
            .lines()
            .position(|l| l.contains("seq_len"))
            .unwrap()
            + 1;
        assert!(err.starts_with(&format!("t.ron:{line}:")), "{err}");
        assert!(
            err.ends_with(&format!(
                "service.seq_len = {bad} is out of range (allowed: {allowed})"
            )),
            "{err}"
        );
    }

    // On the command line, and a plan exported then edited to a new length loads.
    let bad = temp("seq-bad.ron");
    std::fs::write(&bad, with("0")).unwrap();
    let (code, _, err) = costscope(&["validate", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("service.seq_len = 0 is out of range (allowed: 1 to 1048576)"),
        "{err}"
    );
    let exported = temp("seq-exported.ron");
    let _ = std::fs::remove_file(&exported);
    let (code, _, err) = costscope(&[
        "presets",
        "export",
        "textbook-mmc",
        exported.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(load_file(&exported).unwrap().service.seq_len, 128);
    let edited = std::fs::read_to_string(&exported)
        .unwrap()
        .replace("cold_start_s: 30.0,", "cold_start_s: 30.0, seq_len: 384,");
    std::fs::write(&exported, edited).unwrap();
    assert_eq!(load_file(&exported).unwrap().service.seq_len, 384);
}
