//! profile layer tests: the GPU encoder forward pass (tiny-bert on whatever adapter the
//! machine has, lavapipe in CI) matches the f64 reference in f32/f16/bf16, a wrong
//! weight upload is caught, its projections tuned per shape still verify and a tuned
//! key is reused, and a profile run gives correct, timed encoder rows.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::profile::autotune::TuneCache;
use costscope::profile::cpu::transformer_rows::tolerance;
use costscope::profile::gpu::gemm_tune::{ChoiceSource, ProjectionTuner};
use costscope::profile::gpu::kernels::GemmLayout;
use costscope::profile::gpu::timer::{Bench, Timer};
use costscope::profile::gpu::transformer::GpuEncoder;
use costscope::profile::gpu::transformer_rows::{
    PassCheck, TUNED, pick_variant, tune_plan, verify,
};
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
fn tuned_projections_verify_are_the_fastest_recorded_and_a_second_pass_reuses_them() {
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
        let tuner = ProjectionTuner::new();
        let w = Weights::random(&cfg, p, 7);
        let model = GpuEncoder::upload_with(&ctx, &layout, &w, p, &TUNED).expect("upload");
        let mut check = PassCheck::new(bench, &model, &w, 11).expect("check plan");
        let mut plan = model.plan(&ctx, &layout, (2, 16), cfg.num_layers).unwrap();
        let tuned = tune_plan(bench, &model, &mut plan, &tuner).expect("tunes");
        // tiny-bert: d = 64, i = 128 — Q/K/V/O at 32x64x64, up 32x128x64, down 32x64x128.
        let shapes: Vec<_> = tuned.shapes.iter().map(|(k, _)| k.shape).collect();
        assert_eq!(
            shapes,
            [(32, 64, 64), (32, 128, 64), (32, 64, 128)],
            "{p:?}"
        );
        assert_eq!(tuner.tunings(), 3);
        let steps = plan.projections(&model);
        for (key, c) in &tuned.shapes {
            assert_eq!(c.source, ChoiceSource::Tuned);
            let chosen = c
                .candidates
                .iter()
                .find(|x| x.variant == c.variant)
                .unwrap();
            assert!(chosen.verified && chosen.rel_error <= tolerance(p), "{c:?}");
            let chosen_ms = chosen.ms.expect("the winner was timed");
            // On its recorded tuning times the winner is no slower than the variant an
            // untuned pass runs on (the first that verifies), nor than any other.
            let first = c.first_verified().expect("one verified");
            assert!(
                chosen_ms <= first.ms.unwrap(),
                "{p:?} {:?}: {c:?}",
                key.shape
            );
            for other in c.candidates.iter().filter(|x| x.verified) {
                assert!(other.runs >= 1 && chosen_ms <= other.ms.unwrap(), "{c:?}");
            }
            for x in &c.candidates {
                assert_eq!(x.verified, x.rel_error <= tolerance(p), "{x:?}");
                assert_eq!(x.ms.is_some(), x.verified, "only verified ones are timed");
            }
            // Every step of that shape runs on it.
            assert!(
                steps
                    .iter()
                    .filter(|s| s.shape == key.shape)
                    .all(|s| s.variant == c.variant)
            );
            eprintln!(
                "tiny-bert {} {:?}: {} ({:?})",
                p.name(),
                key.shape,
                c.variant.name(),
                c.candidates
                    .iter()
                    .map(|x| (x.variant.name(), x.ms))
                    .collect::<Vec<_>>()
            );
        }
        let err = check.error(bench, &model, &tuned.choice).expect("runs");
        assert!(err <= tolerance(p), "tuned {p:?} pass: {err}");
        // A second pass of the same shape takes the recorded choices: nothing re-timed.
        let mut again = model.plan(&ctx, &layout, (2, 16), cfg.num_layers).unwrap();
        let reused = tune_plan(bench, &model, &mut again, &tuner).expect("reuses");
        assert_eq!(tuner.tunings(), 3);
        assert_eq!(reused.choice, tuned.choice);
        assert_eq!(reused.shapes, tuned.shapes);
        // Another M is another key, tuned on its own.
        let mut other = model.plan(&ctx, &layout, (1, 16), cfg.num_layers).unwrap();
        tune_plan(bench, &model, &mut other, &tuner).expect("tunes");
        assert_eq!(tuner.tunings(), 6);
        // Written to the autotune cache, the winners come back on a fresh tuner without
        // any timing, each verified again.
        let mut cache = TuneCache::default();
        tuner.persist(&mut cache);
        assert_eq!(cache.entries.len(), 6);
        let fresh = ProjectionTuner::new();
        fresh.seed(&cache);
        let mut cold = model.plan(&ctx, &layout, (2, 16), cfg.num_layers).unwrap();
        let from_disk = tune_plan(bench, &model, &mut cold, &fresh).expect("from disk");
        assert_eq!(fresh.tunings(), 0);
        assert_eq!(from_disk.choice, tuned.choice);
        for (_, c) in &from_disk.shapes {
            assert_eq!(c.source, ChoiceSource::Disk);
            assert!(c.candidates[0].verified && c.candidates[0].runs == 0);
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
        // The projections name the variant they ran on; no other op does.
        for op in &r.ops {
            let projection = ["qkv", "o_proj", "mlp_up", "mlp_down"].contains(&op.name.as_str());
            let v = op.variant.as_deref();
            assert_eq!(v.is_some(), projection, "{op:?}");
            if let Some(v) = v {
                assert!(
                    v.split('/').all(|n| r.variant.contains(n)),
                    "{v} in {}",
                    r.variant
                );
            }
        }
    }
    assert_eq!(opts.meter.done_units(), opts.units_per_device(true));
}
