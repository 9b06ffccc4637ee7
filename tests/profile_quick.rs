//! profile layer tests: `profile --quick` through the library entry point produces a
//! complete report, and a second run reuses the autotune cache.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Instant;

use costscope::profile::report::ProfileReport;
use costscope::profile::workloads::Workload;
use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};

#[test]
fn quick_profile_writes_a_complete_report_and_reuses_the_cache() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("costscope-quick-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // SAFETY (of intent): tests in this binary do not read this variable concurrently.
    unsafe { std::env::set_var("COSTSCOPE_CACHE_DIR", &dir) };
    // Exactly what `costscope profile --quick` runs: every adapter (deduplicated) + CPU.
    let opts = ProfileOptions::quick();
    assert_eq!(opts.device, DeviceChoice::All);
    drop(ctx);
    let t0 = Instant::now();
    let mut lines = Vec::new();
    let mut fractions = Vec::new();
    let meter = opts.meter.clone();
    let report = run_profile(&opts, &mut |l| {
        lines.push(l.to_string());
        fractions.push(meter.snapshot().fraction);
    })
    .expect("quick profile");
    let quick_s = t0.elapsed().as_secs_f64();
    eprintln!("quick profile took {quick_s:.1} s");
    assert!(!lines.is_empty(), "progress lines");
    assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
    // The bar only moves forward, and every planned unit was counted by the end.
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
    assert!(
        fractions.iter().all(|f| (0.0..1.0).contains(f)),
        "{fractions:?}"
    );
    let gpus = report.fingerprint.devices.len() as u64 - 1;
    assert_eq!(
        meter.done_units(),
        gpus * opts.units_per_device(true) + opts.units_per_device(false)
    );
    let end = meter.snapshot();
    assert!(end.finished && end.fraction == 1.0);
    assert!(
        end.live.process_cpu_pct.is_some_and(|c| c > 0.0),
        "live CPU use while profiling: {:?}",
        end.live
    );

    let path = dir.join("quick.json");
    report.write(&path).expect("write");
    let back = ProfileReport::read(&path).expect("read back");
    assert_eq!(back, report);

    assert!(!report.adapters.is_empty() && report.adapters.iter().any(|a| a.name == "cpu"));
    assert!(report.fingerprint.devices.iter().any(|d| d == "cpu"));
    assert!(
        report.fingerprint.devices.len() >= 2,
        "{:?}",
        report.fingerprint.devices
    );
    assert!(
        report
            .cold_start_ms
            .as_ref()
            .is_some_and(|c| c.first_dispatch > 0.0 && c.pipeline >= 0.0)
    );
    assert!(
        report
            .peaks
            .iter()
            .any(|p| p.fma_gflops > 0.0 && p.device != "cpu")
    );
    for p in Precision::ALL {
        let gemm: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.workload == Workload::Gemm && r.precision == p && r.device != "cpu")
            .collect();
        assert!(!gemm.is_empty(), "{} rows", p.name());
        if gemm.iter().all(|r| r.supported) {
            assert_eq!(
                gemm.iter().filter(|r| r.chosen).count(),
                1,
                "one winner for {}",
                p.name()
            );
            assert!(gemm.len() >= 3, "every variant timed for {}", p.name());
        } else {
            assert!(gemm.iter().all(|r| r.why_unsupported.is_some()));
        }
    }
    for r in &report.results {
        if r.timing.is_some() {
            assert!(r.correct && r.gflops.is_some_and(|g| g > 0.0), "{r:?}");
        }
        if !r.correct {
            assert!(r.timing.is_none(), "an incorrect kernel must not be timed");
        }
    }
    assert!(
        report
            .results
            .iter()
            .any(|r| r.workload == Workload::Mlp("small".into())
                && r.batch == Some(8)
                && r.timing.is_some())
    );
    assert!(
        report
            .results
            .iter()
            .any(|r| r.device == "cpu" && r.timing.is_some())
    );
    assert!(report.telemetry.available || report.telemetry.why_unavailable.is_some());

    // Second run: the cached winner is the only GEMM variant timed per precision.
    let again = run_profile(&opts, &mut |_| {}).expect("second run");
    let cached: Vec<_> = again
        .results
        .iter()
        .filter(|r| r.workload == Workload::Gemm && r.device != "cpu" && r.supported)
        .collect();
    assert!(!cached.is_empty());
    assert!(
        cached
            .iter()
            .all(|r| r.autotune.as_deref() == Some("cached") && r.chosen)
    );
}
