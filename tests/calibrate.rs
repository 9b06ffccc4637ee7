//! `costscope plan --profile`: a real CPU profile report calibrates a plan's service.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::costscope;

#[test]
fn a_cpu_profile_calibrates_the_plan() {
    let dir = std::env::temp_dir().join(format!("costscope-cal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("r.json");
    let report_s = report.to_str().unwrap();
    let (code, _, err) = costscope(&[
        "profile",
        "--quick",
        "--cpu",
        "--precision",
        "f32",
        "--out",
        report_s,
    ]);
    assert_eq!(code, 0, "{err}");

    let (code, out, err) =
        costscope(&["plan", "healthcare-triage", "--profile", report_s, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let service = &v["service"];
    assert_eq!(service["source"]["Profile"]["adapter"], "cpu");
    assert_eq!(service["source"]["Profile"]["model"], "small");
    let curve = service["batch_latency_ms"].as_array().unwrap();
    assert!(curve.len() >= 2, "{curve:?}");
    // The measured L(b) comes from the report's chosen rows, not the preset's numbers.
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let b1 = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| {
            row["device"] == "cpu"
                && row["workload"] == "mlp:small"
                && row["batch"] == 1
                && row["chosen"] == true
        })
        .unwrap();
    let measured = b1["timing"]["median_ms"].as_f64().unwrap();
    assert_eq!(curve[0][0], 1);
    assert!((curve[0][1].as_f64().unwrap() - measured).abs() < 1e-12);
    assert!(v["evaluation"]["latency_ms"]["mean"].as_f64().unwrap() >= measured);

    // Asking for what the report lacks is a clear one-line error.
    let (code, _, err) = costscope(&[
        "plan",
        "healthcare-triage",
        "--profile",
        report_s,
        "--profile-precision",
        "bf16",
    ]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("no correct, timed MLP rows") && err.contains("cpu/f32/mlp:small"),
        "{err}"
    );
    let (code, _, err) = costscope(&[
        "plan",
        "healthcare-triage",
        "--profile",
        "no/such/report.json",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("no/such/report.json"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
