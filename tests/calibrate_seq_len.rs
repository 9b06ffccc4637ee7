//! `service.seq_len` and calibration from transformer rows: a plan is calibrated from
//! the encoder rows at its own sequence length (an error lists the lengths a report
//! has when none match; a plan without the field reads the rows at 128), and the
//! upload of the model's weights at the report's measured rate is shown beside the
//! plan's cold start, which is kept. Real files in a temp folder, the real binary.
//! (The field's default and range checks: `tests/cli.rs`.)

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::path::PathBuf;

use common::costscope;
use costscope::calibrate::{Selection, calibrate_with_warnings};
use costscope::plan::presets;
use costscope::profile::report::ProfileReport;

/// Bytes of the encoder's weights in the report, and the cold start's upload rate:
/// 200 MB at 2.5 GB/s is 80 ms.
const WEIGHTS_BYTES: f64 = 200e6;
const UPLOAD_GBYTES_PER_S: f64 = 2.5;

/// (seq_len, batch, median ms) of the report's `encoder:tiny-bert` rows on "Test GPU".
const ROWS: [(u64, u64, f64); 4] = [(128, 1, 2.0), (128, 4, 3.0), (512, 1, 7.5), (512, 4, 19.0)];

/// A report with `encoder:tiny-bert` rows at 128 and 512 tokens, and the GPU's cold
/// start: 500 ms of stages, 300 ms of them the profiler's test upload.
fn report_value() -> serde_json::Value {
    let row = |&(seq_len, batch, median_ms): &(u64, u64, f64)| {
        serde_json::json!({
            "device": "Test GPU", "workload": "encoder:tiny-bert", "precision": "f32",
            "variant": "forward", "chosen": false, "m": batch * seq_len, "n": 64, "k": 64,
            "batch": batch, "supported": true, "why_unsupported": null,
            "correct": true, "rel_error": 1e-7,
            "timing": {
                "method": "wall", "median_ms": median_ms, "p5_ms": median_ms,
                "p95_ms": median_ms, "p99_ms": median_ms, "min_ms": median_ms,
                "max_ms": median_ms, "cv": 0.05, "stable": true, "samples": 30
            },
            "gflops": 1.0, "gbytes_per_s": 1.0, "pct_of_peak": 1.0,
            "seq_len": seq_len, "weights_bytes": WEIGHTS_BYTES
        })
    };
    serde_json::json!({
        "version": 1,
        "fingerprint": {"app_version": "0.1.0", "os": "linux", "cpu": "test", "date": "2026-12-01T00:00:00Z"},
        "adapters": [],
        "results": ROWS.iter().map(row).collect::<Vec<_>>(),
        "cold_start_ms": null,
        "cold_start_all_ms": [{
            "device": "Test GPU", "instance": 10.0, "adapter": 20.0, "device_create": 30.0,
            "shader_module": 5.0, "pipeline": 5.0, "first_dispatch": 100.0,
            "weight_upload": 300.0, "first_result": 30.0, "shader_cache": "cold",
            "weight_upload_gbytes_per_s": UPLOAD_GBYTES_PER_S
        }],
        "peaks": [],
        "telemetry": {"available": false, "why_unavailable": "test", "energy_j_per_item": null, "samples": []}
    })
}

/// A temp folder holding the report as `r.json`, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("costscope-seq-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("r.json"), report_value().to_string()).unwrap();
        Dir(dir)
    }

    fn report(&self) -> String {
        self.0.join("r.json").display().to_string()
    }

    /// Writes the default preset on "Test GPU" as `name`, with `service` lines added
    /// after its cold start (e.g. `seq_len: 512,`) and its cold start replaced; its
    /// cold-start parts are dropped, so the plan states only the whole (kept by
    /// calibration: `tests/calibrate_parts.rs` has the plans with parts).
    fn plan(&self, name: &str, cold_start: &str, extra: &str) -> String {
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
                &format!("cold_start_s: {cold_start},\n        {extra}"),
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
    let mut args = vec![
        "plan",
        plan,
        "--profile",
        report,
        "--profile-model",
        "tiny-bert",
    ];
    if json {
        args.push("--json");
    }
    costscope(&args)
}

/// The report's (batch, median) points at `seq_len`, in batch order.
fn medians_at(seq_len: u64) -> Vec<(u32, f64)> {
    ROWS.iter()
        .filter(|r| r.0 == seq_len)
        .map(|&(_, b, ms)| (b as u32, ms))
        .collect()
}

fn curve(v: &serde_json::Value) -> Vec<(u32, f64)> {
    v["service"]["batch_latency_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_u64().unwrap() as u32, p[1].as_f64().unwrap()))
        .collect()
}

/// The review's entry for `service.cold_start_s` in `plan --json` output.
fn cold_start_change(v: &serde_json::Value) -> serde_json::Value {
    let changes = v["calibration"]["changes"].as_array().unwrap();
    let cold = changes
        .iter()
        .find(|c| c["field"] == "service.cold_start_s");
    cold.unwrap().clone()
}

#[test]
fn a_plan_at_512_tokens_is_calibrated_from_the_rows_at_512() {
    let dir = Dir::new("512");
    let plan = dir.plan("p512.ron", "45.0", "seq_len: 512,");
    let (code, out, err) = plan_profile(&plan, &dir.report(), true);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The 512-token medians are already non-decreasing, so the fit leaves them as they are.
    assert_eq!(curve(&v), medians_at(512));
    assert_eq!(v["service"]["seq_len"], 512);
    let rows: Vec<&str> = v["calibration"]["rows_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            "results[2]: Test GPU f32 encoder:tiny-bert seq_len 512 batch 1: median 7.500 ms",
            "results[3]: Test GPU f32 encoder:tiny-bert seq_len 512 batch 4: median 19.000 ms",
        ]
    );
    let warnings = v["calibration"]["warnings"].to_string();
    assert!(!warnings.contains("no sequence length"), "{warnings}");

    // The review names the length, and the table says the plan's.
    let (code, out, err) = plan_profile(&plan, &dir.report(), false);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("the median of each batch's chosen row on Test GPU (encoder:tiny-bert at seq_len 512, f32)"),
        "{out}"
    );
    assert!(
        out.contains("encoder:tiny-bert seq_len 512 batch 4: median 19.000 ms"),
        "{out}"
    );
    assert!(out.contains("seq_len 512 tokens per request"), "{out}");
    assert!(!out.contains("seq_len 128"), "{out}");

    // The same report and a plan without seq_len: the rows at the default 128.
    let old = dir.plan("old.ron", "45.0", "");
    let (code, out, err) = plan_profile(&old, &dir.report(), true);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (curve(&v), v["service"]["seq_len"].as_u64()),
        (medians_at(128), Some(128))
    );
}

#[test]
fn a_length_the_report_lacks_is_an_error_listing_the_lengths_it_has() {
    let dir = Dir::new("missing");
    let plan = dir.plan("p256.ron", "45.0", "seq_len: 256,");
    let (code, out, err) = plan_profile(&plan, &dir.report(), false);
    assert_ne!(code, 0, "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "profile report {} has no encoder:tiny-bert rows in f32 at the plan's service.seq_len 256 (lengths it has: 128, 512)",
            dir.report()
        )),
        "{err}"
    );
    assert!(err.contains("--seq-len 256"), "{err}");
}

#[test]
fn the_weights_upload_is_shown_beside_the_kept_cold_start() {
    let dir = Dir::new("upload");
    let plan = dir.plan("p.ron", "45.0", "seq_len: 512,");
    let (code, out, err) = plan_profile(&plan, &dir.report(), true);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cold = cold_start_change(&v);
    assert_eq!(
        (&cold["before"], &cold["after"]),
        (&"45".into(), &"45".into())
    );
    let why = cold["why"].as_str().unwrap();
    // 200e6 bytes / 2.5 GB/s = 80 ms; the set-up without the profiler's 300 ms test
    // upload is 200 ms; together 0.280 s.
    assert!(why.starts_with("kept:"), "{why}");
    assert!(
        why.contains("weights upload of tiny-bert: 80.000 ms at 2.500 GB/s (200.0 MB)"),
        "{why}"
    );
    assert!(
        why.contains("device set-up through the first result 0.200 s"),
        "{why}"
    );
    assert!(
        why.contains(
            "0.280 s together (shown, not applied; state service.cold_start_parts to apply it)"
        ),
        "{why}"
    );
    assert_eq!(v["service"]["cold_start_s"], 45.0);
    // The review line on the terminal.
    let (_, out, _) = plan_profile(&plan, &dir.report(), false);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("service.cold_start_s"))
        .unwrap();
    assert!(
        line.contains("45 (kept:") && line.contains("80.000 ms at 2.500 GB/s"),
        "{line}"
    );

    // A plan stating no cold start keeps 0 and says what a cold server would take.
    let zero = dir.plan("zero.ron", "0.0", "seq_len: 512,");
    let (code, out, err) = plan_profile(&zero, &dir.report(), true);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cold = cold_start_change(&v);
    let why = cold["why"].as_str().unwrap();
    assert!(
        why.starts_with("kept at 0 (the plan states no cold start)"),
        "{why}"
    );
    assert!(
        why.contains("0.280 s together; set service.cold_start_s"),
        "{why}"
    );
    assert_eq!(v["service"]["cold_start_s"], 0.0);

    // A plan whose cold start is shorter than the measured part is warned about.
    let short = dir.plan("short.ron", "0.1", "seq_len: 512,");
    let (code, out, err) = plan_profile(&short, &dir.report(), true);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let warnings = v["calibration"]["warnings"].to_string();
    assert!(
        warnings.contains("service.cold_start_s is 0.1 s, less than the part of a cold start the profile measured on Test GPU: 0.280 s (device set-up and the weights upload of tiny-bert)"),
        "{warnings}"
    );
}

#[test]
fn a_report_without_an_upload_rate_says_so_and_mlp_rows_ignore_seq_len() {
    let mut v = report_value();
    v["cold_start_all_ms"][0]
        .as_object_mut()
        .unwrap()
        .remove("weight_upload_gbytes_per_s");
    let report: ProfileReport = serde_json::from_value(v).unwrap();
    let mut plan = presets::load("healthcare-triage").unwrap();
    plan.service.cold_start_parts = None;
    plan.service.seq_len = 512;
    let selection = Selection {
        model: Some("tiny-bert".into()),
        ..Selection::default()
    };
    let c = calibrate_with_warnings(&plan, &report, "r.json", &selection).unwrap();
    let cold = c
        .changes
        .iter()
        .find(|c| c.field == "service.cold_start_s")
        .unwrap();
    assert!(
        cold.why.contains("the report's cold start has no upload rate, so the weights upload of tiny-bert (200.0 MB) is not estimated"),
        "{cold:?}"
    );
    // An out-of-range rate is refused, naming its place.
    let mut v = report_value();
    v["cold_start_all_ms"][0]["weight_upload_gbytes_per_s"] = (-1.0).into();
    let report: ProfileReport = serde_json::from_value(v).unwrap();
    let e = calibrate_with_warnings(&plan, &report, "r.json", &selection).unwrap_err();
    assert!(
        e.to_string()
            .contains("cold_start_all_ms[0].weight_upload_gbytes_per_s = -1 is out of range"),
        "{e}"
    );

    // MLP rows have no length: a plan at 512 tokens calibrates from them as before.
    let mut v = report_value();
    for r in v["results"].as_array_mut().unwrap() {
        let r = r.as_object_mut().unwrap();
        r.insert("workload".into(), "mlp:small".into());
        r.remove("seq_len");
        r.remove("weights_bytes");
    }
    v["results"].as_array_mut().unwrap().truncate(2);
    let report: ProfileReport = serde_json::from_value(v).unwrap();
    let c = calibrate_with_warnings(&plan, &report, "r.json", &Selection::default()).unwrap();
    assert_eq!(c.plan.service.batch_latency_ms, medians_at(128));
    assert_eq!(c.plan.service.seq_len, 512);
    assert!(
        c.rows_used.iter().all(|r| !r.contains("seq_len")),
        "{:?}",
        c.rows_used
    );
}
