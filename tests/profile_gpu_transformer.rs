//! profile layer tests: the GPU encoder forward pass (tiny-bert on whatever adapter the
//! machine has, lavapipe in CI) matches the f64 reference in f32/f16/bf16, a wrong
//! weight upload is caught, and a profile run gives correct, timed encoder rows.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::profile::cpu::transformer_rows::tolerance;
use costscope::profile::gpu::kernels::GemmLayout;
use costscope::profile::gpu::timer::{Bench, Timer};
use costscope::profile::gpu::transformer::GpuEncoder;
use costscope::profile::gpu::transformer_rows::{pick_variant, verify};
use costscope::profile::stats::SamplingBudget;
use costscope::profile::workloads::transformer::accounting::flops_per_item;
use costscope::profile::workloads::transformer::weights::Weights;
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};
use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};

#[test]
fn tiny_bert_matches_the_reference_and_a_wrong_upload_is_caught() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let layout = GemmLayout::new(&ctx.device);
    let timer = Timer::new(&ctx, Duration::from_secs(60));
    let budget = SamplingBudget::new(Duration::from_millis(10), 0.05);
    let bench = Bench {
        ctx: &ctx,
        layout: &layout,
        timer: &timer,
        budget: &budget,
    };
    let cfg = TransformerConfig::lookup("tiny-bert").unwrap();
    for p in Precision::ALL {
        if p == Precision::F16 && !ctx.has_f16 {
            continue;
        }
        let w = Weights::random(&cfg, p, 7);
        let v = pick_variant(bench, &cfg, p).expect("a GEMM variant verifies");
        let model = GpuEncoder::upload(&ctx, &layout, &w, p, v).expect("upload");
        let err = verify(bench, &model, &w, 11).expect("runs");
        eprintln!("tiny-bert {} ({}): rel error {err:.2e}", p.name(), v.name());
        assert!(err <= tolerance(p), "{p:?}: {err}");
        // A run again on the same model gives the same answer (no stale state).
        assert!(verify(bench, &model, &w, 11).unwrap() <= tolerance(p));
        if p == Precision::F32 {
            // Upload weights with one block's output projection wrong: the check
            // against the intended weights must fail.
            let mut bad = w.clone();
            bad.layers[0]
                .wo
                .iter_mut()
                .step_by(3)
                .for_each(|x| *x = -*x);
            let wrong = GpuEncoder::upload(&ctx, &layout, &bad, p, v).expect("upload");
            let err = verify(bench, &wrong, &w, 11).expect("runs");
            assert!(err > tolerance(p), "a wrong upload verified: {err}");
        }
    }
}

#[test]
fn a_profile_run_gives_correct_timed_encoder_rows_on_the_gpu() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Adapter(ctx.name.clone());
    drop(ctx);
    opts.models = vec!["tiny-bert".into()];
    opts.precisions = vec![Precision::F32];
    opts.gemm_sizes = Vec::new();
    opts.peaks = false;
    opts.seq_lens = vec![16];
    opts.batches = vec![1, 2];
    opts.budget_per_row = Duration::from_millis(50);
    let report = run_profile(&opts, &mut |_| {}).expect("profile");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let cfg = TransformerConfig::lookup("tiny-bert").unwrap();
    let rows: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.workload.transformer_name() == Some("tiny-bert"))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in rows {
        assert!(r.supported && r.correct, "{r:?}");
        assert!(
            r.timing.as_ref().is_some_and(|t| t.median_ms > 0.0),
            "{r:?}"
        );
        assert_eq!(r.seq_len, Some(16));
        assert_eq!(
            r.flops_per_item,
            Some(flops_per_item(&cfg, Pass::Encoder, 16))
        );
        assert!(r.rel_error.unwrap() <= tolerance(Precision::F32));
        assert!(r.device != "cpu");
        let label = r.weights.as_deref().unwrap_or_default();
        assert!(label.starts_with("random (seed "), "{label}");
    }
    assert_eq!(opts.meter.done_units(), opts.units_per_device(true));
}
