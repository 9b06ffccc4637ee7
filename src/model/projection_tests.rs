//! Model layer tests: roofline projection on hand-computed cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

/// Local device: 1 TFLOP/s, 100 GB/s (ridge 10 FLOP/byte).
const LOCAL: Roofline = Roofline {
    flops_per_s: 1e12,
    bytes_per_s: 1e11,
};

fn target(tflops: f64, gbytes_per_s: f64, memory_gb: Option<f64>) -> Accelerator {
    Accelerator {
        name: "T".into(),
        vendor: "V".into(),
        memory_gb,
        memory_bandwidth_gbytes_per_s: gbytes_per_s,
        fp32_tflops: Some(tflops),
        fp16_tflops: None,
        bf16_tflops: None,
        tdp_w: None,
        sources: vec!["https://example.org".into()],
        note: String::new(),
    }
}

fn op(name: &str, ms: f64, flops: f64, bytes: f64) -> OpMeasurement {
    OpMeasurement {
        name: name.into(),
        ms,
        flops,
        bytes,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

fn run(ops: &[OpMeasurement], acc: &Accelerator) -> Projection {
    project(
        ops,
        LOCAL,
        acc,
        Precision::F32,
        None,
        ProjectionOptions::default(),
    )
    .unwrap()
}

#[test]
fn compute_bound_work_scales_with_the_flop_rate_ratio() {
    // 1 GFLOP, 1 MB: local bound max(1 ms, 0.01 ms) = 1 ms, measured 2 ms → 50 %.
    // Target 10 TFLOP/s: bound 0.1 ms, at 50 % → 0.2 ms = 2 ms × (1 / 10).
    let p = run(&[op("gemm", 2.0, 1e9, 1e6)], &target(10.0, 1000.0, None));
    let o = &p.ops[0];
    assert!(close(o.local_efficiency, 0.5));
    assert!(close(o.projected_ms, 0.2), "{}", o.projected_ms);
    assert_eq!(o.bound, Bound::Compute);
    assert!(!o.near_ridge);
    // Band: at the ceiling 0.1 / 0.9 = 0.1111 ms, as measured 0.2 ms.
    assert!(close(p.low_ms, 0.1 / 0.9) && close(p.high_ms, 0.2), "{p:?}");
}

#[test]
fn memory_bound_work_scales_with_the_bandwidth_ratio() {
    // 1 MFLOP, 100 MB: local bound 1 ms, measured 1.25 ms → 80 %.
    // Target 1000 GB/s: bound 0.1 ms, at 80 % → 0.125 ms = 1.25 ms × (100 / 1000).
    let p = run(&[op("norm", 1.25, 1e6, 1e8)], &target(10.0, 1000.0, None));
    let o = &p.ops[0];
    assert!(close(o.efficiency_used, 0.8));
    assert!(close(o.projected_ms, 0.125), "{}", o.projected_ms);
    assert_eq!(o.bound, Bound::Memory);
    assert!(
        close(o.low_ms, 0.1 / 0.9) && close(o.high_ms, 0.125),
        "{o:?}"
    );
}

#[test]
fn the_ceiling_caps_a_kernel_at_its_local_roofline() {
    // Measured exactly at the local bound (1 ms) → efficiency 1, used 0.9:
    // target bound 0.1 ms / 0.9 = 0.1111 ms.
    let p = run(&[op("gemm", 1.0, 1e9, 1e6)], &target(10.0, 1000.0, None));
    assert!(close(p.ops[0].efficiency_used, 0.9));
    assert!(close(p.latency_ms, 0.1 / 0.9), "{}", p.latency_ms);
    assert!(close(p.low_ms, p.latency_ms) && close(p.high_ms, p.latency_ms));
}

#[test]
fn near_the_ridge_the_band_spans_both_bounds() {
    // 1 GFLOP, 100 MB: intensity 10 = the local ridge. Local bound 1 ms, measured 2 ms
    // (50 %). Target 10 TFLOP/s, 500 GB/s (ridge 20): bound max(0.1, 0.2) = 0.2 ms,
    // memory; projected 0.4 ms. As compute: 2 × 1/10 = 0.2 ms, but no faster than
    // 0.2 / 0.9 = 0.2222 ms; as memory: 2 × 100/500 = 0.4 ms. Band [0.2222, 0.4].
    let p = run(&[op("mlp", 2.0, 1e9, 1e8)], &target(10.0, 500.0, None));
    let o = &p.ops[0];
    assert!(o.near_ridge);
    assert_eq!(o.bound, Bound::Memory);
    assert!(close(o.projected_ms, 0.4));
    assert!(close(o.low_ms, 0.2 / 0.9), "{}", o.low_ms);
    assert!(close(o.high_ms, 0.4), "{}", o.high_ms);
}

#[test]
fn the_sum_and_the_operators_that_bound_it() {
    // 0.2 ms (compute) + 0.125 ms (memory) + 0.05 ms carried over unscaled.
    let ops = [
        op("gemm", 2.0, 1e9, 1e6),
        op("norm", 1.25, 1e6, 1e8),
        op("sync", 0.05, 0.0, 0.0),
    ];
    let p = run(&ops, &target(10.0, 1000.0, None));
    assert!(close(p.latency_ms, 0.375), "{}", p.latency_ms);
    assert!(close(p.measured_ms, 3.3));
    assert_eq!(p.ops[2].bound, Bound::Unscaled);
    assert!(close(p.ops[2].projected_ms, 0.05));
    assert_eq!(p.bound_by, vec!["gemm".to_string()]);
}

#[test]
fn a_model_that_does_not_fit_is_infeasible_with_the_reason() {
    let acc = target(10.0, 1000.0, Some(16.0));
    let ops = [op("gemm", 2.0, 1e9, 1e6)];
    let opts = ProjectionOptions::default();
    let e = project(&ops, LOCAL, &acc, Precision::F32, Some((14e9, 6e9)), opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "T: needs 20.00 GB (weights + KV cache), has 16.00 GB"
    );
    assert!(project(&ops, LOCAL, &acc, Precision::F32, Some((14e9, 1e9)), opts).is_ok());
}

#[test]
fn a_precision_without_a_verified_rate_is_refused() {
    let acc = target(10.0, 1000.0, None);
    let ops = [op("gemm", 2.0, 1e9, 1e6)];
    let e = project(
        &ops,
        LOCAL,
        &acc,
        Precision::Bf16,
        None,
        ProjectionOptions::default(),
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "T: the catalog has no verified bf16 FLOP rate"
    );
}

#[test]
fn a_zero_time_measurement_is_bad_input() {
    let acc = target(10.0, 1000.0, None);
    let e = project(
        &[op("gemm", 0.0, 1e9, 1e6)],
        LOCAL,
        &acc,
        Precision::F32,
        None,
        ProjectionOptions::default(),
    );
    assert!(matches!(e, Err(Infeasible::BadInput(_))));
}
