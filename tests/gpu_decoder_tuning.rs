//! profile layer tests: the GPU decoder passes with each projection shape tuned
//! (tiny-gpt2 with every bias, tiny-qwen2 with QKV bias and 4:1 GQA, on whatever adapter
//! the machine has, lavapipe in CI): every projection of a prefill and a decode plan
//! runs on its slot's recorded winner, the fastest verified candidate; the whole pass
//! re-verified on that assignment passes (and fails on a wrong upload); a second plan
//! reuses the choices; a profile sweep's rows name the variants each projection ran on.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::profile::cpu::transformer_rows::{SweepPlan, tolerance};
use costscope::profile::gpu::GpuContext;
use costscope::profile::gpu::decoder::{DecoderShape, GpuDecoder};
use costscope::profile::gpu::decoder_check::DecoderCheck;
use costscope::profile::gpu::decoder_rows::sweep_with;
use costscope::profile::gpu::decoder_tune::{DecoderChoice, ProjectionSlot, tune_plan};
use costscope::profile::gpu::gemm_tune::{ChoiceSource, ProjectionKey, ProjectionTuner};
use costscope::profile::gpu::kernels::GemmLayout;
use costscope::profile::gpu::timer::{Bench, Timer};
use costscope::profile::gpu::transformer_rows::{TUNED, variants_of};
use costscope::profile::stats::SamplingBudget;
use costscope::profile::workloads::Workload;
use costscope::profile::workloads::transformer::ops::OpKind;
use costscope::profile::workloads::transformer::weights::Weights;
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};
use costscope::profile::{Precision, ProfileError};

/// The device's shared GEMM layout, timer and budget, for [`Bench`].
struct Rig {
    ctx: GpuContext,
    layout: GemmLayout,
    timer: Timer,
    budget: SamplingBudget,
}

impl Rig {
    fn new() -> Option<Self> {
        let ctx = profile_common::device()?;
        Some(Rig {
            layout: GemmLayout::new(&ctx.device),
            timer: Timer::new(&ctx, Duration::from_secs(60)),
            budget: SamplingBudget::new(Duration::from_millis(10), 0.05),
            ctx,
        })
    }

    fn bench(&self) -> Bench<'_> {
        Bench {
            ctx: &self.ctx,
            layout: &self.layout,
            timer: &self.timer,
            budget: &self.budget,
        }
    }
}

/// GEMM steps of one pass of `cfg`: Q, K, V, O, the MLP's (two up halves when gated)
/// and down per block, and the LM head.
fn projections_per_pass(cfg: &TransformerConfig) -> usize {
    let mlp = if cfg.gated_mlp() { 3 } else { 2 };
    cfg.num_layers * (4 + mlp) + 1
}

#[test]
fn tuned_decoder_passes_run_on_verified_winners_and_a_second_plan_reuses_them() {
    let Some(rig) = Rig::new() else {
        return;
    };
    let (bench, ctx) = (rig.bench(), &rig.ctx);
    for name in ["tiny-gpt2", "tiny-qwen2"] {
        let cfg = TransformerConfig::lookup(name).unwrap();
        for p in Precision::ALL {
            if p == Precision::F16 && !ctx.has_f16 {
                continue;
            }
            let master = Weights::random(&cfg, Precision::F32, 5);
            let w = master.clone().rounded(p);
            let model = GpuDecoder::upload_with(ctx, &rig.layout, &w, p, &TUNED).unwrap();
            let passes = [Pass::Prefill, Pass::Decode];
            let mut check = DecoderCheck::new(&model, &w, Some(&master), &passes, 9);
            let tuner = ProjectionTuner::new();
            for shape in [DecoderShape::prefill(2, 16), DecoderShape::decode(2, 32)] {
                let cache = model.kv_cache(ctx, 2, shape.cache_len()).unwrap();
                let layers = cfg.num_layers;
                let mut plan = model.plan(ctx, &rig.layout, shape, layers, &cache).unwrap();
                // Keys not seen yet are timed; one seen (a decode step's LM head has the
                // prefill's M = batch) is taken as recorded.
                let mut fresh: Vec<ProjectionKey> = Vec::new();
                for s in plan.projections(&model) {
                    let k = ProjectionKey::new(bench, p, s.shape, s.bias);
                    if tuner.get(&k).is_none() && !fresh.contains(&k) {
                        fresh.push(k);
                    }
                }
                let before = tuner.tunings();
                let tuned = tune_plan(bench, &model, &mut plan, &tuner).expect("tunes");
                assert_eq!(tuner.tunings() - before, fresh.len(), "{shape:?}");
                let steps = plan.projections(&model);
                assert_eq!(steps.len(), projections_per_pass(&cfg));
                // Block projections at M = batch × rows, the LM head at M = batch.
                for s in &steps {
                    let m = if s.op == OpKind::LmHead {
                        2
                    } else {
                        2 * shape.rows()
                    };
                    assert_eq!(s.shape.0, m, "{s:?}");
                    // Every step runs on its slot's choice.
                    assert_eq!(Some(&s.variant), tuned.choice.get(&ProjectionSlot::of(s)));
                }
                for (key, c) in &tuned.shapes {
                    assert_eq!(c.source, ChoiceSource::Tuned, "{key:?}");
                    let won = c
                        .candidates
                        .iter()
                        .find(|x| x.variant == c.variant)
                        .unwrap();
                    assert!(won.verified && won.rel_error <= tolerance(p), "{c:?}");
                    let won_ms = won.ms.expect("the winner was timed");
                    for other in c.candidates.iter().filter(|x| x.verified) {
                        assert!(won_ms <= other.ms.unwrap(), "{name} {key:?}: {c:?}");
                    }
                    for x in &c.candidates {
                        assert_eq!(x.ms.is_some(), x.verified, "only verified ones are timed");
                    }
                }
                let err = check
                    .error(bench, &model, shape.pass, &tuned.choice)
                    .unwrap();
                let top1 = check
                    .agreement(bench, &model, shape.pass, &tuned.choice)
                    .unwrap();
                eprintln!(
                    "{name} {} {:?}: {} (rel error {err:.2e}, top-1 {top1:?})",
                    p.name(),
                    shape.pass,
                    variants_of(&steps)
                );
                assert!(err <= tolerance(p), "{name} {p:?} {shape:?}: {err}");
                match p {
                    Precision::F32 => assert_eq!(top1, None),
                    _ => assert!(top1.is_some_and(|t| (0.9..=1.0).contains(&t)), "{top1:?}"),
                }
                // The same shape again: the recorded choices, nothing re-timed.
                let tunings = tuner.tunings();
                let mut again = model.plan(ctx, &rig.layout, shape, layers, &cache).unwrap();
                let reused = tune_plan(bench, &model, &mut again, &tuner).unwrap();
                assert_eq!(tuner.tunings(), tunings);
                assert_eq!(reused.choice, tuned.choice);
                // An assignment that misses a slot is refused, not guessed.
                let none = again.assign(&model, &DecoderChoice::new());
                assert!(matches!(none, Err(ProfileError::Invalid(_))), "{none:?}");
            }
        }
    }
}

#[test]
fn a_tuned_assignment_on_a_wrong_upload_fails_the_pass_check() {
    let Some(rig) = Rig::new() else {
        return;
    };
    let (bench, ctx, p) = (rig.bench(), &rig.ctx, Precision::F32);
    let cfg = TransformerConfig::lookup("tiny-qwen2").unwrap();
    let w = Weights::random(&cfg, p, 21);
    let mut bad = w.clone();
    bad.layers[0]
        .wo
        .iter_mut()
        .step_by(3)
        .for_each(|x| *x = -*x);
    let wrong = GpuDecoder::upload_with(ctx, &rig.layout, &bad, p, &TUNED).unwrap();
    let passes = [Pass::Prefill, Pass::Decode];
    // The references are over the intended weights, so every assignment must fail.
    let mut check = DecoderCheck::new(&wrong, &w, None, &passes, 9);
    let tuner = ProjectionTuner::new();
    for shape in [DecoderShape::prefill(1, 8), DecoderShape::decode(1, 8)] {
        let cache = wrong.kv_cache(ctx, 1, shape.cache_len()).unwrap();
        let mut plan = wrong
            .plan(ctx, &rig.layout, shape, cfg.num_layers, &cache)
            .unwrap();
        let tuned = tune_plan(bench, &wrong, &mut plan, &tuner).unwrap();
        let err = check
            .error(bench, &wrong, shape.pass, &tuned.choice)
            .unwrap();
        assert!(
            err > tolerance(p),
            "{shape:?}: a wrong upload verified: {err}"
        );
    }
}

#[test]
fn a_tuned_sweep_names_the_variants_each_projection_ran_on() {
    let Some(rig) = Rig::new() else {
        return;
    };
    let (bench, ctx) = (rig.bench(), &rig.ctx);
    let cfg = TransformerConfig::lookup("tiny-qwen2").unwrap();
    let plan = SweepPlan {
        seq_lens: &[16],
        context_lens: &[32],
        batches: &[1, 2],
        weights: None,
    };
    let tuner = ProjectionTuner::new();
    let dims = (&cfg, Precision::F32);
    let rows = sweep_with(bench, dims, plan, &tuner, &|| false, &mut |_| {}).unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    // The sweep built a Qwen2 decoder with the same compiled variants; binding the
    // rows' shapes again on the same tuner gives back the assignment each row ran on.
    let w = Weights::random(&cfg, Precision::F32, 1);
    let model = GpuDecoder::upload_with(ctx, &rig.layout, &w, Precision::F32, &TUNED).unwrap();
    let tunings = tuner.tunings();
    for r in &rows {
        assert!(r.supported && r.correct && r.chosen, "{r:?}");
        assert!(r.rel_error.unwrap() <= tolerance(r.precision), "{r:?}");
        assert!(r.timing.as_ref().is_some_and(|t| t.median_ms > 0.0));
        let batch = r.batch.unwrap();
        let shape = match r.workload {
            Workload::Prefill(_) => DecoderShape::prefill(batch, r.seq_len.unwrap()),
            Workload::Decode(_) => DecoderShape::decode(batch, r.context_len.unwrap()),
            _ => panic!("not a decoder row: {r:?}"),
        };
        let cache = model.kv_cache(ctx, batch, shape.cache_len()).unwrap();
        let mut again = model
            .plan(ctx, &rig.layout, shape, cfg.num_layers, &cache)
            .unwrap();
        tune_plan(bench, &model, &mut again, &tuner).unwrap();
        let steps = again.projections(&model);
        assert_eq!(
            r.variant,
            format!("gemm-{}+flash-attn", variants_of(&steps))
        );
        for op in &r.ops {
            let of_op: Vec<_> = steps
                .iter()
                .filter(|s| s.op.name() == op.name)
                .copied()
                .collect();
            let want = (!of_op.is_empty()).then(|| variants_of(&of_op));
            assert_eq!(op.variant, want, "{op:?} of {}", r.variant);
        }
        let named: Vec<&str> = r
            .ops
            .iter()
            .filter(|o| o.variant.is_some())
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(named, ["qkv", "o_proj", "mlp_up", "mlp_down", "lm_head"]);
    }
    assert_eq!(
        tuner.tunings(),
        tunings,
        "every row's keys were tuned by the sweep"
    );
}
