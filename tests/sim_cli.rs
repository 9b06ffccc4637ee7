//! `costscope simulate` end to end: the real binary on presets and bad input.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn costscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn simulate_json_has_the_design_shape() {
    let (code, out, err) = costscope(&["simulate", "textbook-mmc", "--json", "--hours", "2"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["seed"], 1);
    assert!(v["wall_s"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["analytic"]["policy"], "always_on");
    let s = &v["simulated"];
    for key in [
        "requests",
        "cost_usd_per_hour",
        "cold_starts",
        "slo_violations",
        "warnings",
    ] {
        assert!(s.get(key).is_some(), "simulated lacks {key}");
    }
    for key in ["mean", "p50", "p95", "p99", "max"] {
        assert!(
            s["latency_ms"][key].as_f64().unwrap() > 0.0,
            "latency_ms.{key}"
        );
    }
    for key in ["busy", "idle", "booting"] {
        assert!(
            s["server_hours"][key].as_f64().is_some(),
            "server_hours.{key}"
        );
    }
    // 8 req/s for 2 hours.
    let n = s["requests"].as_u64().unwrap();
    assert!((56_000..59_200).contains(&n), "{n}");
    assert!((s["cost_usd_per_hour"].as_f64().unwrap() - 10.0).abs() < 1e-9);
}

#[test]
fn simulate_table_overrides_and_timeline_csv() {
    let dir = std::env::temp_dir().join(format!("costscope-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("timeline.csv");
    let csv_arg = csv.to_str().unwrap();
    let (code, out, err) = costscope(&[
        "simulate",
        "startup-transcribe",
        "--policy",
        "hybrid",
        "--servers",
        "1",
        "--hours",
        "3",
        "--seed",
        "5",
        "--timeline",
        csv_arg,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("policy hybrid"), "{out}");
    assert!(
        out.contains("analytic") && out.contains("simulated"),
        "{out}"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("minute,arrivals,busy,booting,idle,queue,cumulative_cost_usd")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 180);
    // The warm server is held from the start: by the last minute at least 3 hours of
    // one 0.80 $/h server have been billed.
    let last_cost: f64 = rows[179].rsplit(',').next().unwrap().parse().unwrap();
    assert!(last_cost >= 3.0 * 0.80 - 1e-9, "{last_cost}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn simulate_bad_input_is_an_error_not_a_panic() {
    for args in [
        vec!["simulate", "no-such-plan.ron"],
        vec!["simulate", "textbook-mmc", "--hours", "-1"],
        vec!["simulate", "textbook-mmc", "--hours", "NaN"],
        vec!["simulate", "textbook-mmc", "--servers", "0"],
        vec!["simulate", "textbook-mmc", "--policy", "nonsense"],
    ] {
        let (code, _, err) = costscope(&args);
        assert_ne!(code, 0, "{args:?} should fail");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.trim().is_empty(), "{args:?}: no message");
    }
}

#[test]
fn simulate_overloaded_plan_warns_and_ends() {
    let (code, out, err) = costscope(&[
        "simulate",
        "textbook-mmc",
        "--servers",
        "1",
        "--hours",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["analytic"]["feasible"], false);
    // 8 req/s against one 1 s server: the queue grows ~7/s, about 25 000 by the hour's
    // end — under the 10⁶ limit, so the run ends with a long drain, and says so.
    let s = &v["simulated"];
    assert_eq!(s["requests"], s["completed"]);
    let warnings = s["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("drain")),
        "{warnings:?}"
    );
    assert!(s["latency_ms"]["max"].as_f64().unwrap() > 3_000_000.0);
}

#[test]
fn simulate_warmup_hours_leave_the_start_up_out() {
    let args = |warmup: &str| {
        let v = [
            "simulate",
            "startup-transcribe",
            "--json",
            "--hours",
            "2",
            "--warmup-hours",
            warmup,
        ];
        let (code, out, err) = costscope(&v);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    // Without a warm-up the JSON is as it was: no warmup_hours.
    let cold = args("0");
    assert!(cold["simulated"].get("warmup_hours").is_none());
    let warm = args("3");
    assert_eq!(warm["simulated"]["warmup_hours"], 3.0);
    assert_eq!(warm["simulated"]["hours"], 2.0);
    // The measured hours are the same two hours of the day either way: about the same
    // requests, not the warm-up's on top.
    let n = |v: &serde_json::Value| v["simulated"]["requests"].as_f64().unwrap();
    assert!(
        (0.8..1.25).contains(&(n(&warm) / n(&cold))),
        "{warm} {cold}"
    );
    let (code, out, err) = costscope(&["simulate", "startup-transcribe", "--warmup-hours", "1.5"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("simulated 24.00 h after a 1.50 h warm-up"),
        "{out}"
    );
    let (code, _, err) = costscope(&["simulate", "startup-transcribe", "--warmup-hours=-1"]);
    assert_ne!(code, 0);
    assert!(err.contains("warmup_hours"), "{err}");
}
