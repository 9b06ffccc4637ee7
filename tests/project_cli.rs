//! `costscope project` end to end: a real CPU profile of tiny-bert (measured here, with
//! its peaks) projected by the real binary to catalog accelerators, to a device too
//! small to hold the model, and back onto the CPU's own measured roofline.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::costscope;

use std::time::Duration;

use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("costscope-project-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A CPU report of tiny-bert at batches 1 and 4, written as JSON.
fn report() -> (
    std::path::PathBuf,
    costscope::profile::report::ProfileReport,
) {
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Cpu;
    opts.models = vec!["tiny-bert".into()];
    opts.precisions = vec![Precision::F32];
    opts.gemm_sizes = Vec::new();
    opts.seq_lens = vec![32];
    opts.batches = vec![1, 4];
    opts.budget_per_row = Duration::from_millis(200);
    let report = run_profile(&opts, &mut |_| {}).expect("profile");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let path = dir().join("tiny-bert.json");
    report.write(&path).unwrap();
    (path, report)
}

fn project_json(args: &[&str]) -> Vec<serde_json::Value> {
    let (code, out, err) = costscope(args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_real_cpu_profile_projects_to_catalog_targets() {
    let (path, report) = report();
    let p = path.to_str().unwrap();

    // Table: one line per (batch, target), each with a projected time and a band.
    let (code, out, err) = costscope(&["project", "--profile", p, "--hardware", "H100-SXM,L4"]);
    assert_eq!(code, 0, "{err}");
    eprintln!("{out}");
    assert!(out.contains("encoder:tiny-bert"), "{out}");
    assert_eq!(out.matches("  H100-SXM ").count(), 2, "{out}");
    assert_eq!(out.matches("  L4 ").count(), 2, "{out}");

    let rows = project_json(&[
        "project",
        "--profile",
        p,
        "--hardware",
        "H100-SXM,L4",
        "--json",
    ]);
    assert_eq!(rows.len(), 4);
    for r in &rows {
        let pr = &r["projection"];
        let (mid, low, high) = (
            pr["latency_ms"].as_f64().unwrap(),
            pr["low_ms"].as_f64().unwrap(),
            pr["high_ms"].as_f64().unwrap(),
        );
        assert!(mid > 0.0 && low <= mid && mid <= high, "{r}");
        let sum: f64 = pr["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["projected_ms"].as_f64().unwrap())
            .sum();
        assert!((sum - mid).abs() <= 1e-9 * mid, "{r}");
        assert!(!pr["bound_by"].as_array().unwrap().is_empty(), "{r}");
    }

    // A device of 1 kB cannot hold tiny-bert's weights: infeasible, with the reason.
    let small = dir().join("small.ron");
    std::fs::write(
        &small,
        r#"(accelerators: [(name: "Tiny", vendor: "Lab", memory_gb: 0.000001,
            memory_bandwidth_gbytes_per_s: 1.0, fp32_tflops: 1.0, fp16_tflops: None,
            bf16_tflops: None, tdp_w: None, sources: ["https://example.org/tiny"])])"#,
    )
    .unwrap();
    let s = small.to_str().unwrap();
    let rows = project_json(&[
        "project",
        "--profile",
        p,
        "--hardware",
        "Tiny",
        "--catalog",
        s,
        "--json",
    ]);
    for r in &rows {
        let why = r["infeasible"].as_str().unwrap();
        assert!(
            why.starts_with("Tiny: needs ") && why.ends_with("has 0.000001 GB"),
            "{why}"
        );
    }

    // The CPU's own measured roofline as a target, ceiling 1: every operator that ran
    // below its local roofline projects back to its measured time; one that beat it is
    // held to the roofline.
    let peak = report
        .peaks
        .iter()
        .find(|k| k.device == "cpu" && k.precision == Precision::F32)
        .unwrap();
    let own = dir().join("own.ron");
    std::fs::write(
        &own,
        format!(
            r#"(accelerators: [(name: "Self", vendor: "Lab", memory_gb: None,
                memory_bandwidth_gbytes_per_s: {bw:?}, fp32_tflops: {tf:?}, fp16_tflops: None,
                bf16_tflops: None, tdp_w: None, sources: ["the profile report"])])"#,
            bw = peak.bandwidth_gbytes_per_s.unwrap(),
            tf = peak.fma_gflops / 1e3,
        ),
    )
    .unwrap();
    let o = own.to_str().unwrap();
    let rows = project_json(&[
        "project",
        "--profile",
        p,
        "--hardware",
        "Self",
        "--catalog",
        o,
        "--ceiling",
        "1",
        "--json",
    ]);
    let mut checked = 0;
    for r in &rows {
        for op in r["projection"]["ops"].as_array().unwrap() {
            let (m, pj) = (
                op["measured_ms"].as_f64().unwrap(),
                op["projected_ms"].as_f64().unwrap(),
            );
            if op["local_efficiency"].as_f64().unwrap() <= 1.0 {
                assert!((pj - m).abs() <= 1e-9 * m, "{op}");
                checked += 1;
            } else {
                // Faster than its own roofline (cache hits the byte count misses):
                // capped at the roofline, so projected slower than measured.
                assert!(pj > m, "{op}");
            }
        }
    }
    assert!(checked > 0, "no operator below its roofline: {rows:?}");
}

#[test]
fn an_unknown_target_is_one_line() {
    let (code, _, err) = costscope(&["project", "--profile", "nope.json", "--hardware", "Z9"]);
    assert_ne!(code, 0);
    assert!(err.contains("no accelerator 'Z9' in the catalog"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
