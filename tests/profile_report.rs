//! profile layer tests: the report round-trips through JSON and RON, CSV has one line per
//! row, and the JSON carries the documented field names.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::profile::report::{ColdStart, IsaPeak, Peak, ProfileReport, ResultRow, fingerprint};
use costscope::profile::stats::{TimingMethod, summarize};
use costscope::profile::workloads::Workload;
use costscope::profile::{Precision, telemetry};

fn sample() -> ProfileReport {
    let mut timed = ResultRow::new(
        "llvmpipe",
        Workload::Gemm,
        Precision::F32,
        "reg4x4",
        (256, 256, 256),
    );
    timed.correct = true;
    timed.chosen = true;
    timed.rel_error = Some(3e-7);
    timed.set_timing(summarize(
        TimingMethod::Timestamp,
        &[1.0, 1.1, 0.9, 1.05],
        0.02,
    ));
    let refused = ResultRow::new(
        "cpu",
        Workload::Gemm,
        Precision::Bf16,
        "gemm-crate",
        (8, 8, 8),
    )
    .unsupported("no bf16 kernel");
    let cold = ColdStart {
        device: "llvmpipe".into(),
        instance: 1.0,
        adapter: 2.0,
        device_create: 3.0,
        shader_module: 0.5,
        pipeline: 4.0,
        first_dispatch: 80.0,
        weight_upload: 2.5,
        first_result: 0.7,
        shader_cache: "cold".into(),
        weight_upload_gbytes_per_s: Some(1.5),
    };
    ProfileReport {
        version: 1,
        fingerprint: fingerprint(),
        adapters: vec![costscope::profile::gpu::cpu_entry()],
        results: vec![timed, refused],
        cold_start_ms: Some(cold.clone()),
        cold_start_all_ms: vec![cold],
        peaks: vec![Peak {
            device: "cpu".into(),
            precision: Precision::F32,
            fma_gflops: 150.0,
            bandwidth_gbytes_per_s: None,
            scalar_gflops: None,
            vec4_gflops: None,
            isa: Some("avx512".into()),
            isa_gflops: vec![
                IsaPeak {
                    isa: "avx2".into(),
                    gflops: 80.0,
                },
                IsaPeak {
                    isa: "avx512".into(),
                    gflops: 150.0,
                },
            ],
        }],
        telemetry: telemetry::unavailable("NVML unavailable: test".into()),
        cancelled: false,
        errors: Vec::new(),
    }
}

#[test]
fn json_and_ron_files_round_trip() {
    let dir = std::env::temp_dir().join(format!("costscope-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let r = sample();
    for ext in ["json", "ron"] {
        let path = dir.join(format!("r.{ext}"));
        r.write(&path).expect("write");
        assert_eq!(ProfileReport::read(&path).expect("read"), r, "{ext}");
    }
    let csv_path = dir.join("r.csv");
    r.write(&csv_path).expect("csv");
    let csv = std::fs::read_to_string(&csv_path).expect("read csv");
    assert_eq!(csv.lines().count(), 1 + r.results.len());
    assert!(ProfileReport::read(&csv_path).is_err());
    assert!(r.write(&dir.join("r.txt")).is_err());
}

#[test]
fn json_has_design_field_names() {
    let v: serde_json::Value =
        serde_json::from_str(&sample().to_json().expect("json")).expect("parse");
    for k in [
        "version",
        "fingerprint",
        "adapters",
        "results",
        "cold_start_ms",
        "peaks",
        "telemetry",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    let row = &v["results"][0];
    for k in [
        "device",
        "workload",
        "precision",
        "variant",
        "chosen",
        "m",
        "n",
        "k",
        "batch",
        "supported",
        "why_unsupported",
        "correct",
        "rel_error",
        "timing",
        "gflops",
        "gbytes_per_s",
        "pct_of_peak",
    ] {
        assert!(row.get(k).is_some(), "result row missing {k}");
    }
    for k in [
        "method",
        "median_ms",
        "p5_ms",
        "p95_ms",
        "p99_ms",
        "min_ms",
        "max_ms",
        "cv",
        "stable",
        "samples",
    ] {
        assert!(row["timing"].get(k).is_some(), "timing missing {k}");
    }
    assert_eq!(v["results"][1]["supported"], false);
    assert!(
        v["results"][1]["why_unsupported"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(v["results"][1]["timing"].is_null());
    assert!(row["gflops"].as_f64().is_some_and(|g| g > 0.0));
    let fp = &v["fingerprint"];
    assert!(
        fp["date"]
            .as_str()
            .is_some_and(|d| d.len() == 20 && d.ends_with('Z'))
    );
}

#[test]
fn the_cpu_peak_names_its_instruction_set_in_json_and_on_the_cli() {
    let r = sample();
    let v: serde_json::Value = serde_json::from_str(&r.to_json().expect("json")).expect("parse");
    let peak = &v["peaks"][0];
    assert_eq!(peak["isa"], "avx512");
    assert_eq!(peak["isa_gflops"][0]["isa"], "avx2");
    assert_eq!(peak["isa_gflops"][0]["gflops"], 80.0);
    let lines = costscope::cli::profile::peaks_lines(&r);
    assert_eq!(
        lines,
        "peak cpu f32: FMA 150.0 GFLOP/s (avx512; avx2 80.0)\n"
    );
    // A report written before the fields existed still reads, without an ISA.
    let mut old = v.clone();
    let obj = old["peaks"][0].as_object_mut().expect("object");
    obj.remove("isa");
    obj.remove("isa_gflops");
    let back: ProfileReport = serde_json::from_value(old).expect("old report");
    assert_eq!(back.peaks[0].isa, None);
    assert!(back.peaks[0].isa_gflops.is_empty());
}
