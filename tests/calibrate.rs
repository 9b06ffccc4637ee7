//! `costscope plan --profile`: a real CPU profile report calibrates a plan's service.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::costscope;
use costscope::calibrate::{
    CalibrateError, Calibration, Selection, calibrate, calibrate_with_warnings,
};
use costscope::plan::presets;
use costscope::profile::report::ProfileReport;

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

/// A small, well-formed report: one GPU measured at batches 1 and 4 (and the CPU at
/// batch 1), its cold start, and two power samples.
fn report_value() -> serde_json::Value {
    let row = |device: &str, batch: u64, median_ms: f64, cv: f64| {
        serde_json::json!({
            "device": device, "workload": "mlp:small", "precision": "f32",
            "variant": "tiled", "chosen": true, "m": batch, "n": 64, "k": 64,
            "batch": batch, "supported": true, "why_unsupported": null,
            "correct": true, "rel_error": 1e-7,
            "timing": {
                "method": "wall", "median_ms": median_ms, "p5_ms": median_ms,
                "p95_ms": median_ms, "p99_ms": median_ms, "min_ms": median_ms,
                "max_ms": median_ms, "cv": cv, "stable": true, "samples": 30
            },
            "gflops": 1.0, "gbytes_per_s": 1.0, "pct_of_peak": 1.0
        })
    };
    serde_json::json!({
        "version": 1,
        "fingerprint": {"app_version": "0.1.0", "os": "linux", "cpu": "test", "date": "2025-01-01T00:00:00Z"},
        "adapters": [],
        "results": [
            row("cpu", 1, 5.0, 0.2),
            row("Test GPU", 1, 2.0, 0.1),
            row("Test GPU", 4, 3.0, 0.3),
        ],
        "cold_start_ms": null,
        "cold_start_all_ms": [{
            "device": "Test GPU", "instance": 10.0, "adapter": 20.0, "device_create": 30.0,
            "shader_module": 5.0, "pipeline": 5.0, "first_dispatch": 100.0,
            "weight_upload": 300.0, "first_result": 30.0, "shader_cache": "cold"
        }],
        "peaks": [],
        "telemetry": {
            "available": true, "why_unavailable": null, "energy_j_per_item": null,
            "samples": [{"t_s": 0.0, "power_w": 60.0}, {"t_s": 0.1, "power_w": 80.0}]
        }
    })
}

fn report_from(v: serde_json::Value) -> ProfileReport {
    serde_json::from_value(v).unwrap()
}

/// The preset with its hardware named after the report's GPU, so the plan's latencies
/// are the profiled device's (no hardware warning).
fn plan_on_test_gpu() -> costscope::model::Plan {
    let mut plan = presets::load("healthcare-triage").unwrap();
    plan.hardware.name = "Test GPU".into();
    plan
}

fn calibrated(v: serde_json::Value) -> Result<Calibration, CalibrateError> {
    calibrate_with_warnings(
        &plan_on_test_gpu(),
        &report_from(v),
        "r.json",
        &Selection::default(),
    )
}

#[test]
fn a_good_report_calibrates_without_warnings() {
    let c = calibrated(report_value()).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.plan.service.batch_latency_ms, vec![(1, 2.0), (4, 3.0)]);
    // The measured 0.5 s of device set-up is one part of a cold start: it replaces the
    // preset's stated device set-up (3.3385 s), the stated 40 s boot and the weight
    // load (217 780 224 bytes at 0.131072 GB/s) stay, and the cold start is their sum;
    // the service CV stays (the profile's CV is timing noise).
    let parts = c.plan.service.cold_start_parts.clone().unwrap();
    assert!((parts.device_setup_s - 0.5).abs() < 1e-12, "{parts:?}");
    let sum_s = 40.0 + 217_780_224.0 / 0.131_072e9 + 0.5;
    assert!((c.plan.service.cold_start_s - sum_s).abs() < 1e-9);
    // A plan stating only the whole keeps it.
    let mut whole = plan_on_test_gpu();
    whole.service.cold_start_parts = None;
    let kept = calibrate(
        &whole,
        &report_from(report_value()),
        "r.json",
        &Selection::default(),
    );
    assert_eq!(kept.unwrap().service.cold_start_s, 45.0);
    assert!((c.plan.service.service_cv - 0.3).abs() < 1e-12);
    assert!((c.plan.hardware.power_w - 70.0).abs() < 1e-12);
    // The compatible entry point gives the same plan.
    let plan = plan_on_test_gpu();
    let report = report_from(report_value());
    assert_eq!(
        calibrate(&plan, &report, "r.json", &Selection::default()).unwrap(),
        c.plan
    );
}

#[test]
fn an_unsupported_report_version_is_refused() {
    for version in [0, 2] {
        let mut v = report_value();
        v["version"] = version.into();
        let err = calibrated(v).unwrap_err().to_string();
        assert!(
            err.contains("r.json") && err.contains(&format!("version {version} is not supported")),
            "{err}"
        );
    }
}

#[test]
fn a_cancelled_report_calibrates_with_a_warning() {
    let mut v = report_value();
    v["cancelled"] = true.into();
    let c = calibrated(v).unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("r.json") && c.warnings[0].contains("cancelled"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn out_of_range_report_values_are_refused_not_clamped() {
    let cases: [(&str, serde_json::Value, &str); 7] = [
        (
            "/results/1/timing/cv",
            (-1.0).into(),
            "results[1].timing.cv = -1 ",
        ),
        (
            "/results/2/timing/cv",
            1e308.into(),
            "results[2].timing.cv = 1e308 ",
        ),
        (
            "/results/2/timing/cv",
            10.5.into(),
            "results[2].timing.cv = 10.5 ",
        ),
        (
            "/results/1/timing/median_ms",
            (-3.0).into(),
            "results[1].timing.median_ms = -3 ",
        ),
        (
            "/cold_start_all_ms/0/first_dispatch",
            (-1.0).into(),
            "cold_start_all_ms[0].first_dispatch = -1 ",
        ),
        (
            "/cold_start_all_ms/0/weight_upload",
            1e9.into(),
            "cold_start_all_ms[0] = 1000000200 ms in all ",
        ),
        (
            "/telemetry/samples/1/power_w",
            (-5.0).into(),
            "telemetry.samples[1].power_w = -5 ",
        ),
    ];
    for (pointer, value, expected) in cases {
        let mut v = report_value();
        *v.pointer_mut(pointer).unwrap() = value;
        let err = calibrated(v).unwrap_err().to_string();
        assert!(
            err.contains("r.json") && err.contains(expected) && err.contains("allowed"),
            "{pointer}: {err}"
        );
    }
    // A row of another device is not read, so its values do not matter.
    let mut v = report_value();
    v["results"][0]["timing"]["cv"] = (-1.0).into();
    assert!(calibrated(v).is_ok());
}

#[test]
fn a_calibrated_plan_out_of_range_is_the_reports_fault() {
    let mut v = report_value();
    v["results"][2]["batch"] = 100_000.into();
    let err = calibrated(v).unwrap_err().to_string();
    assert!(err.contains("r.json"), "{err}");
    assert!(err.contains("results[2].batch = 100000"), "{err}");
    // A measured power below the plan's idle power puts the plan itself out of range.
    let plan = presets::load("workstation-vs-cloud").unwrap();
    let idle_w = plan.energy.as_ref().unwrap().idle_power_w;
    let mut v = report_value();
    v["telemetry"]["samples"] = serde_json::json!([{"t_s": 0.0, "power_w": idle_w / 2.0}]);
    let err = calibrate_with_warnings(&plan, &report_from(v), "r.json", &Selection::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("r.json")
            && err.contains("energy.idle_power_w")
            && !err.contains("command-line"),
        "{err}"
    );
}

#[test]
fn bad_report_values_are_not_blamed_on_the_command_line() {
    let dir = std::env::temp_dir().join(format!("costscope-cal-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    let mut v = report_value();
    v["results"][1]["timing"]["cv"] = (-1.0).into();
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let (code, _, err) = costscope(&[
        "plan",
        "healthcare-triage",
        "--profile",
        path.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("results[1].timing.cv = -1"), "{err}");
    assert!(!err.contains("command-line"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_review_lists_every_field_changed_or_kept_and_the_rows_used() {
    let c = calibrated(report_value()).unwrap();
    let field = |f: &str| c.changes.iter().find(|ch| ch.field == f).unwrap();
    let curve = field("service.batch_latency_ms");
    assert_eq!(curve.after, "[1: 2.000, 4: 3.000] ms");
    assert!(curve.before.contains("1: 9.000"), "{curve:?}");
    assert!(curve.why.contains("median"), "{curve:?}");
    let cv = field("service.service_cv");
    assert_eq!(cv.before, cv.after);
    assert!(
        cv.why.starts_with("kept:") && cv.why.contains("timing noise"),
        "{cv:?}"
    );
    // The preset states its cold start in parts: the measured 0.5 s replaces the
    // device set-up, and the sum follows.
    let setup = field("service.cold_start_parts.device_setup_s");
    assert_eq!(
        (setup.before.as_str(), setup.after.as_str()),
        ("3.3385", "0.5")
    );
    assert!(setup.why.contains("0.500 s"), "{setup:?}");
    let cold = field("service.cold_start_s");
    assert_eq!(cold.before, "45");
    assert!(
        cold.why
            .starts_with("the sum of its parts: 42.162 s = 40.000 s instance boot"),
        "{cold:?}"
    );
    assert_eq!(field("hardware.power_w").after, "70");
    assert_eq!(c.rows_used.len(), 2, "{:?}", c.rows_used);
    assert!(c.rows_used[0].contains("Test GPU f32 mlp:small batch 1: median 2.000 ms"));
}

#[test]
fn a_faster_bigger_batch_is_flagged_and_fitted() {
    let mut v = report_value();
    v["results"][2]["timing"]["median_ms"] = serde_json::json!(1.0);
    let c = calibrated(v).unwrap();
    assert_eq!(c.plan.service.batch_latency_ms, vec![(1, 1.5), (4, 1.5)]);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("not monotone") && w.contains("isotonic")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn a_software_adapter_or_a_different_device_is_warned_about() {
    let plan = presets::load("healthcare-triage").unwrap();
    let c = calibrate_with_warnings(
        &plan,
        &report_from(report_value()),
        "r.json",
        &Selection::default(),
    )
    .unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("'L4 (g6.xlarge)' is not the profiled device 'Test GPU'")),
        "{:?}",
        c.warnings
    );
    let mut v = report_value();
    for i in 1..3 {
        v["results"][i]["device"] = serde_json::json!("llvmpipe (LLVM 15.0.6, 256 bits) [vulkan]");
    }
    let c = calibrated(v).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("the CPU emulating a GPU")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn plan_profile_prints_the_before_and_after_of_every_field() {
    let dir = std::env::temp_dir().join(format!("costscope-cal-review-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.json");
    std::fs::write(&path, report_value().to_string()).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, err) = costscope(&["plan", "healthcare-triage", "--profile", p]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("Calibrated from {p}:")), "{out}");
    assert!(out.contains("service.batch_latency_ms"), "{out}");
    assert!(out.contains("→ [1: 2.000, 4: 3.000] ms"), "{out}");
    assert!(
        out.contains("service.service_cv         0.3 (kept:"),
        "{out}"
    );
    assert!(out.contains("rows used:"), "{out}");
    assert!(out.contains("warning: the plan's hardware"), "{out}");
    let (code, out, _) = costscope(&["plan", "healthcare-triage", "--profile", p, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["calibration"]["changes"].as_array().unwrap().len() >= 4);
    assert_eq!(v["calibration"]["rows_used"].as_array().unwrap().len(), 2);
}
