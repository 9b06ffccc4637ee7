//! `service.cold_start_parts`: a cold start as instance boot + model bytes / storage
//! bandwidth + device set-up. Calibration replaces the measured part and the model's
//! bytes, keeps the stated boot and bandwidth, and makes `cold_start_s` their new sum;
//! a plan without parts keeps its whole cold start. The parts' range checks and the
//! sum's check, as the real binary reports them on real files.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::path::PathBuf;

use common::costscope;
use costscope::calibrate::{Selection, calibrate_with_warnings};
use costscope::model::{ColdStartParts, Plan};
use costscope::plan::presets;
use costscope::profile::report::ProfileReport;

/// Bytes of the encoder's weights in the report, and the cold start's upload rate:
/// 200 MB at 2.5 GB/s is 80 ms.
const WEIGHTS_BYTES: f64 = 200e6;
const UPLOAD_GBYTES_PER_S: f64 = 2.5;

/// The plan's parts: 30 s boot, 0.5 GB/s storage, bytes unknown, 2 s device set-up.
const PARTS: &str = "cold_start_parts: Some((instance_boot_s: 30.0, storage_gbytes_per_s: 0.5, model_bytes: None, device_setup_s: 2.0)),";

/// A report with `encoder:tiny-bert` rows (128 tokens, batches 1 and 4) on "Test GPU"
/// with `device_ms` of cold-start stages besides the profiler's 300 ms test upload.
fn report_value(device_ms: f64) -> serde_json::Value {
    let row = |batch: u64, median_ms: f64| {
        serde_json::json!({
            "device": "Test GPU", "workload": "encoder:tiny-bert", "precision": "f32",
            "variant": "forward", "chosen": false, "m": batch * 128, "n": 64, "k": 64,
            "batch": batch, "supported": true, "why_unsupported": null,
            "correct": true, "rel_error": 1e-4,
            "timing": {
                "method": "wall", "median_ms": median_ms, "p5_ms": median_ms,
                "p95_ms": median_ms, "p99_ms": median_ms, "min_ms": median_ms,
                "max_ms": median_ms, "cv": 0.05, "stable": true, "samples": 30
            },
            "gflops": 1.0, "gbytes_per_s": 1.0, "pct_of_peak": 1.0,
            "seq_len": 128, "weights_bytes": WEIGHTS_BYTES
        })
    };
    serde_json::json!({
        "version": 1,
        "fingerprint": {"app_version": "0.1.0", "os": "linux", "cpu": "test", "date": "2026-12-01T00:00:00Z"},
        "adapters": [],
        "results": [row(1, 2.0), row(4, 3.0)],
        "cold_start_ms": null,
        "cold_start_all_ms": [{
            "device": "Test GPU", "instance": device_ms / 2.0, "adapter": 0.0,
            "device_create": device_ms / 2.0, "shader_module": 0.0, "pipeline": 0.0,
            "first_dispatch": 0.0, "weight_upload": 300.0, "first_result": 0.0,
            "shader_cache": "cold", "weight_upload_gbytes_per_s": UPLOAD_GBYTES_PER_S
        }],
        "peaks": [],
        "telemetry": {"available": false, "why_unavailable": "test", "energy_j_per_item": null, "samples": []}
    })
}

/// A temp folder, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("costscope-parts-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("r.json"), report_value(200.0).to_string()).unwrap();
        Dir(dir)
    }

    fn report(&self) -> String {
        self.0.join("r.json").display().to_string()
    }

    /// The default preset on "Test GPU" as `name`, its cold start replaced by
    /// `cold_start_s: {cold_start}` and the `service` lines `parts` (its own parts
    /// dropped).
    fn plan(&self, name: &str, cold_start: &str, parts: &str) -> String {
        let text = presets::find("healthcare-triage").unwrap().text;
        let text: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("cold_start_parts:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let text = text
            .replace("name: \"L4 (g6.xlarge)\"", "name: \"Test GPU\"")
            .replace(
                "cold_start_s: 45.0,",
                &format!("cold_start_s: {cold_start},\n        {parts}"),
            );
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `costscope plan PLAN --profile REPORT --profile-model tiny-bert [--json]`.
fn plan_profile(plan: &str, report: &str, json: bool) -> (i32, String, String) {
    let mut args = vec!["plan", plan, "--profile", report];
    args.extend(["--profile-model", "tiny-bert"]);
    if json {
        args.push("--json");
    }
    costscope(&args)
}

/// The review's (before, after, why) of `field` in `plan --json` output.
fn change(v: &serde_json::Value, field: &str) -> (String, String, String) {
    let changes = v["calibration"]["changes"].as_array().unwrap();
    let c = changes.iter().find(|c| c["field"] == field).unwrap();
    let s = |k: &str| c[k].as_str().unwrap().to_owned();
    (s("before"), s("after"), s("why"))
}

#[test]
fn calibration_replaces_the_measured_part_and_the_bytes_and_keeps_boot_and_bandwidth() {
    let dir = Dir::new("cal");
    let plan = dir.plan("p.ron", "32.0", PARTS);
    let (code, out, err) = plan_profile(&plan, &dir.report(), true);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let parts: ColdStartParts =
        serde_json::from_value(v["service"]["cold_start_parts"].clone()).unwrap();
    // The set-up less the profiler's test upload (200 ms) plus the model's 200 MB at the
    // measured 2.5 GB/s (80 ms); the bytes from the rows; boot and bandwidth as stated.
    assert_eq!(
        parts,
        ColdStartParts {
            instance_boot_s: 30.0,
            storage_gbytes_per_s: 0.5,
            model_bytes: Some(WEIGHTS_BYTES),
            device_setup_s: 0.28,
        }
    );
    // 30 s + 200 MB / 0.5 GB/s + 0.28 s.
    let cold_start_s = v["service"]["cold_start_s"].as_f64().unwrap();
    assert!((cold_start_s - 30.68).abs() < 1e-9, "{cold_start_s}");
    assert_eq!(cold_start_s, parts.sum_s());
    let prefix = "service.cold_start_parts.";
    let (b, a, why) = change(&v, &format!("{prefix}instance_boot_s"));
    assert_eq!((b.as_str(), a.as_str()), ("30", "30"));
    assert!(why.starts_with("kept: stated by the plan"), "{why}");
    let (b, a, _) = change(&v, &format!("{prefix}storage_gbytes_per_s"));
    assert_eq!((b.as_str(), a.as_str()), ("0.5", "0.5"));
    let (b, a, why) = change(&v, &format!("{prefix}model_bytes"));
    assert_eq!((b.as_str(), a.as_str()), ("None", "200000000"));
    assert_eq!(why, "results[0].weights_bytes: tiny-bert's weights in f32");
    let (b, a, why) = change(&v, &format!("{prefix}device_setup_s"));
    assert_eq!(b, "2");
    assert!((a.parse::<f64>().unwrap() - 0.28).abs() < 1e-12, "{a}");
    assert!(
        why.contains("weights upload of tiny-bert: 80.000 ms at 2.500 GB/s"),
        "{why}"
    );
    let (b, _, why) = change(&v, "service.cold_start_s");
    assert_eq!(b, "32");
    assert_eq!(
        why,
        "the sum of its parts: 30.680 s = 30.000 s instance boot + 0.400 s weight load (200.0 MB at 0.5 GB/s) + 0.280 s device set-up"
    );
    assert!(v["calibration"]["warnings"].as_array().unwrap().is_empty());

    // The table: each part before the sum, then the plan's cold start in parts.
    let (code, out, err) = plan_profile(&plan, &dir.report(), false);
    assert_eq!(code, 0, "{err}");
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} not in {out}"));
    assert!(at("instance_boot_s") < at("model_bytes"));
    assert!(at("device_setup_s") < at("service.cold_start_s"));
    assert!(
        out.contains("None → 200000000 (results[0].weights_bytes"),
        "{out}"
    );
    assert!(
        out.contains("Cold start: 30.680 s = 30.000 s instance boot + 0.400 s weight load (200.0 MB at 0.5 GB/s) + 0.280 s device set-up"),
        "{out}"
    );
}

#[test]
fn the_measured_set_up_alone_never_becomes_the_cold_start() {
    // 45 ms of device set-up: what a GPU API start-up takes, not a model load.
    let report: ProfileReport = serde_json::from_value(report_value(45.0)).unwrap();
    let selection = Selection {
        model: Some("tiny-bert".into()),
        ..Selection::default()
    };
    let mut plan: Plan = presets::load("healthcare-triage").unwrap();
    let c = calibrate_with_warnings(&plan, &report, "r.json", &selection).unwrap();
    let parts = c.plan.service.cold_start_parts.clone().unwrap();
    // 45 ms + 80 ms of upload, and the preset's 40 s boot and 200 MB at 0.131072 GB/s.
    assert!((parts.device_setup_s - 0.125).abs() < 1e-12, "{parts:?}");
    let load_s = WEIGHTS_BYTES / 0.131072e9;
    let sum_s = 40.0 + load_s + 0.125;
    assert!((c.plan.service.cold_start_s - sum_s).abs() < 1e-9);
    assert!(c.plan.service.cold_start_s > 40.0);
    // Without parts the plan's whole 45 s stays, the measured part shown.
    plan.service.cold_start_parts = None;
    let c = calibrate_with_warnings(&plan, &report, "r.json", &selection).unwrap();
    assert_eq!(c.plan.service.cold_start_s, 45.0);
    assert!(c.plan.service.cold_start_parts.is_none());
    assert!(
        c.changes
            .iter()
            .all(|c| !c.field.contains("cold_start_parts"))
    );
    let kept = c.changes.iter().find(|c| c.field == "service.cold_start_s");
    assert!(kept.unwrap().why.contains("0.125 s together"), "{kept:?}");
}

#[test]
fn mlp_rows_keep_the_stated_bytes_and_say_when_none_are_known() {
    let mut v = report_value(200.0);
    for r in v["results"].as_array_mut().unwrap() {
        let r = r.as_object_mut().unwrap();
        r.insert("workload".into(), "mlp:small".into());
        r.insert("chosen".into(), true.into());
        r.remove("seq_len");
        r.remove("weights_bytes");
    }
    let report: ProfileReport = serde_json::from_value(v).unwrap();
    let mut plan = presets::load("healthcare-triage").unwrap();
    let stated = plan.service.cold_start_parts.clone().unwrap();
    let c = calibrate_with_warnings(&plan, &report, "r.json", &Selection::default()).unwrap();
    let parts = c.plan.service.cold_start_parts.clone().unwrap();
    // An MLP's measured part is the whole set-up, the profiler's test upload included.
    assert_eq!(parts.model_bytes, stated.model_bytes);
    assert!((parts.device_setup_s - 0.5).abs() < 1e-12);
    assert!(c.warnings.iter().all(|w| !w.contains("model_bytes")));
    // A plan that does not know its bytes is told no weight load is counted.
    let p = plan.service.cold_start_parts.as_mut().unwrap();
    p.model_bytes = None;
    plan.service.cold_start_s = p.sum_s();
    let c = calibrate_with_warnings(&plan, &report, "r.json", &Selection::default()).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains(
            "service.cold_start_parts.model_bytes is not stated and the rows used do not record the model's weight bytes"
        )),
        "{:?}",
        c.warnings
    );
    assert!((c.plan.service.cold_start_s - 40.5).abs() < 1e-12);
}

#[test]
fn parts_in_a_plan_file_are_checked_with_the_field_and_the_sum_named() {
    let dir = Dir::new("errors");
    // Parts that sum to the cold start evaluate like the same cold start without them.
    let with = dir.plan("with.ron", "32.0", PARTS);
    let without = dir.plan("without.ron", "32.0", "");
    let eval = |p: &str| {
        let (code, out, err) = costscope(&["plan", p, "--json"]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        (v["evaluation"].clone(), v["best"].clone())
    };
    assert_eq!(eval(&with), eval(&without));
    let (_, out, _) = costscope(&["plan", &with]);
    assert!(
        out.contains("Cold start: 32.000 s = 30.000 s instance boot + 0 s weight load (model_bytes not stated) + 2.000 s device set-up"),
        "{out}"
    );

    let error = |name: &str, cold_start: &str, parts: &str| {
        let path = dir.plan(name, cold_start, parts);
        let (code, out, err) = costscope(&["plan", &path]);
        assert_ne!(code, 0, "{out}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        (path, err)
    };
    let (path, err) = error("sum.ron", "60.0", PARTS);
    assert!(
        err.contains(&format!("{path}:15:9: service.cold_start_s = 60 is out of range (allowed: the sum of service.cold_start_parts to 0.0005 s: 32.000 s = 30.000 s instance boot")),
        "{err}"
    );
    assert!(
        err.contains("(write cold_start_s: 32.000, or remove cold_start_parts)"),
        "{err}"
    );
    let (_, err) = error(
        "boot.ron",
        "32.0",
        &PARTS.replace("instance_boot_s: 30.0", "instance_boot_s: -1.0"),
    );
    assert!(
        err.contains(":16:33: service.cold_start_parts.instance_boot_s = -1 is out of range (allowed: 0 to 86400)"),
        "{err}"
    );
    let (_, err) = error(
        "storage.ron",
        "32.0",
        &PARTS.replace("storage_gbytes_per_s: 0.5", "storage_gbytes_per_s: 0.0"),
    );
    assert!(
        err.contains("service.cold_start_parts.storage_gbytes_per_s = 0 is out of range (allowed: greater than 0, at most 10000)"),
        "{err}"
    );
    let (_, err) = error(
        "bytes.ron",
        "32.0",
        &PARTS.replace("model_bytes: None", "model_bytes: Some(-5.0)"),
    );
    assert!(
        err.contains("service.cold_start_parts.model_bytes = -5 is out of range"),
        "{err}"
    );
    let (_, err) = error(
        "typo.ron",
        "32.0",
        &PARTS.replace("instance_boot_s", "boot_s"),
    );
    assert!(err.contains("boot_s"), "{err}");
}

#[test]
fn a_device_without_a_measured_cold_start_keeps_its_set_up_and_takes_the_bytes() {
    // The same rows measured on the CPU, which has no cold start in the report.
    let mut v = report_value(200.0);
    for r in v["results"].as_array_mut().unwrap() {
        r["device"] = "cpu".into();
    }
    let report: ProfileReport = serde_json::from_value(v).unwrap();
    let selection = Selection {
        device: Some("cpu".into()),
        model: Some("tiny-bert".into()),
        ..Selection::default()
    };
    let plan = presets::load("healthcare-triage").unwrap();
    let c = calibrate_with_warnings(&plan, &report, "r.json", &selection).unwrap();
    let parts = c.plan.service.cold_start_parts.clone().unwrap();
    assert_eq!(parts.device_setup_s, 3.3385);
    assert_eq!(parts.model_bytes, Some(WEIGHTS_BYTES));
    let setup = c
        .changes
        .iter()
        .find(|c| c.field == "service.cold_start_parts.device_setup_s")
        .unwrap();
    assert_eq!(
        setup.why,
        "kept: the report measured no cold start on this device"
    );
    // 40 s + 200 MB at 0.131072 GB/s + 3.3385 s.
    let sum_s = 40.0 + WEIGHTS_BYTES / 0.131072e9 + 3.3385;
    assert!((c.plan.service.cold_start_s - sum_s).abs() < 1e-9);
}
