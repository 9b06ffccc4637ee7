//! profile layer tests: the GPU decoder forward pass (tiny-gpt2, tiny-llama and
//! tiny-qwen2 with its QKV bias, on whatever adapter the machine has, lavapipe in CI)
//! matches the f64 reference in prefill and decode at f32/f16/bf16; a corrupted
//! weight, a corrupted KV cache or a decode step at the wrong position fails the same
//! check; f16/bf16 rows carry their top-1 agreement; a profile run gives correct, timed
//! `prefill:` and `decode:` rows; a batch the adapter cannot hold, and f16 without
//! SHADER_F16, are refused in words.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::profile::cpu::transformer_rows::{SweepPlan, tolerance};
use costscope::profile::gpu::GpuContext;
use costscope::profile::gpu::buffers::encode;
use costscope::profile::gpu::decoder::{DecoderShape, GpuDecoder, KvCache};
use costscope::profile::gpu::decoder_rows::{sweep, top1_agreement, verify};
use costscope::profile::gpu::kernels::{GemmLayout, Variant};
use costscope::profile::gpu::timer::{Bench, Timer};
use costscope::profile::gpu::transformer_rows::pick_variant;
use costscope::profile::reference::rel_frobenius;
use costscope::profile::stats::SamplingBudget;
use costscope::profile::workloads::Workload;
use costscope::profile::workloads::transformer::accounting::flops_per_item;
use costscope::profile::workloads::transformer::reference;
use costscope::profile::workloads::transformer::weights::{Weights, random_tokens};
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};
use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};

const TINY: [&str; 3] = ["tiny-gpt2", "tiny-llama", "tiny-qwen2"];

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

    fn precisions(&self) -> Vec<Precision> {
        let has_f16 = self.ctx.has_f16;
        Precision::ALL
            .into_iter()
            .filter(|&p| p != Precision::F16 || has_f16)
            .collect()
    }
}

#[test]
fn tiny_decoders_match_the_reference_in_prefill_and_decode() {
    let Some(rig) = Rig::new() else {
        return;
    };
    let bench = rig.bench();
    for name in TINY {
        let cfg = TransformerConfig::lookup(name).unwrap();
        for p in rig.precisions() {
            let w = Weights::random(&cfg, Precision::F32, 5).rounded(p);
            let v = pick_variant(bench, &cfg, p).expect("a GEMM variant verifies");
            let model = GpuDecoder::upload(&rig.ctx, &rig.layout, &w, p, v).expect("upload");
            for pass in [Pass::Prefill, Pass::Decode] {
                let err = verify(bench, &model, &w, pass, 9).expect("runs");
                eprintln!(
                    "{name} {} {pass:?} ({}): rel error {err:.2e}",
                    p.name(),
                    v.name()
                );
                assert!(err <= tolerance(p), "{name} {p:?} {pass:?}: {err}");
            }
        }
    }
}

/// The decode check done by hand: a device prefill of `len` tokens per sequence, then
/// `tamper` on the cache, then one decode step with `decode_pos` cached tokens (`len`
/// when right); the larger relative error of its hidden row and logits against the
/// reference over `len + 1` tokens.
fn decode_error(
    rig: &Rig,
    model: &GpuDecoder,
    w: &Weights,
    (batch, len, decode_pos): (usize, usize, usize),
    tamper: &dyn Fn(&KvCache),
) -> f64 {
    let (ctx, cfg) = (&rig.ctx, &w.cfg);
    let (total, layers, d) = (len + 1, cfg.num_layers, cfg.hidden_size);
    let tokens = random_tokens(batch * total, cfg.vocab_size, 3);
    let want = reference::forward(w, layers, &tokens, (batch, total));
    let cache = model.kv_cache(ctx, batch, total).unwrap();
    let shapes = [
        DecoderShape::prefill(batch, len),
        DecoderShape::decode(batch, decode_pos),
    ];
    let mut last = None;
    for (i, shape) in shapes.into_iter().enumerate() {
        let plan = model.plan(ctx, &rig.layout, shape, layers, &cache).unwrap();
        let ids: Vec<u32> = tokens
            .chunks(total)
            .flat_map(|s| if i == 0 { &s[..len] } else { &s[len..] })
            .copied()
            .collect();
        plan.write_tokens(ctx, &ids).unwrap();
        rig.timer
            .run_pass(ctx, "test pass", &|p| model.record(p, &plan))
            .unwrap();
        if i == 0 {
            tamper(&cache);
        }
        last = Some(plan);
    }
    let plan = last.unwrap();
    let hidden = plan.read_hidden(ctx, rig.timer.timeout).unwrap();
    let logits = plan.read_logits(ctx, rig.timer.timeout).unwrap();
    let want_hidden: Vec<f64> = want
        .hidden
        .chunks(total * d)
        .flat_map(|s| s[len * d..].to_vec())
        .collect();
    rel_frobenius(&hidden, &want_hidden).max(rel_frobenius(&logits, &want.logits))
}

#[test]
fn a_corrupted_weight_or_cache_or_a_wrong_position_fails_the_check() {
    let Some(rig) = Rig::new() else {
        return;
    };
    let bench = rig.bench();
    let p = Precision::F32;
    let v = Variant::Reg { tm: 4, tn: 4 };
    for name in ["tiny-gpt2", "tiny-llama"] {
        let cfg = TransformerConfig::lookup(name).unwrap();
        let w = Weights::random(&cfg, p, 21);
        let model = GpuDecoder::upload(&rig.ctx, &rig.layout, &w, p, v).unwrap();
        let ok = decode_error(&rig, &model, &w, (2, 8, 8), &|_| {});
        assert!(
            ok <= tolerance(p),
            "{name}: the hand-made check fails: {ok}"
        );
        // Overwrite four cached keys of layer 0 (sequence 0, kv head 0) after prefill.
        let ctx = &rig.ctx;
        let garbage = encode(p, &[3.0; 4 * 16], 4, 16);
        let corrupt = |c: &KvCache| {
            ctx.queue.write_buffer(&c.layer(0).unwrap()[0], 0, &garbage);
        };
        let bad_cache = decode_error(&rig, &model, &w, (2, 8, 8), &corrupt);
        // The step at position 7 instead of 8: it overwrites the last cached token and
        // attends to one key too few (RoPE or the learned position is off by one too).
        let bad_pos = decode_error(&rig, &model, &w, (2, 8, 7), &|_| {});
        eprintln!(
            "{name}: ok {ok:.2e}, corrupted cache {bad_cache:.2e}, wrong position {bad_pos:.2e}"
        );
        assert!(
            bad_cache > tolerance(p),
            "{name}: a corrupted cache verified"
        );
        assert!(bad_pos > tolerance(p), "{name}: a wrong position verified");
        // One block's output projection uploaded wrong: both passes must fail against
        // the intended weights.
        let mut bad = w.clone();
        bad.layers[0]
            .wo
            .iter_mut()
            .step_by(3)
            .for_each(|x| *x = -*x);
        let wrong = GpuDecoder::upload(&rig.ctx, &rig.layout, &bad, p, v).unwrap();
        for pass in [Pass::Prefill, Pass::Decode] {
            let err = verify(bench, &wrong, &w, pass, 9).unwrap();
            assert!(
                err > tolerance(p),
                "{name} {pass:?}: a wrong upload verified: {err}"
            );
        }
    }
}

#[test]
fn half_precision_decoders_agree_with_the_f32_model_on_the_top_token() {
    let Some(rig) = Rig::new() else {
        return;
    };
    let bench = rig.bench();
    let v = Variant::Reg { tm: 4, tn: 4 };
    for name in TINY {
        let cfg = TransformerConfig::lookup(name).unwrap();
        let master = Weights::random(&cfg, Precision::F32, 13);
        for p in rig.precisions() {
            let w = master.clone().rounded(p);
            let model = GpuDecoder::upload(&rig.ctx, &rig.layout, &w, p, v).unwrap();
            let [prefill, decode] = top1_agreement(bench, &model, &master, 13).unwrap();
            eprintln!(
                "{name} {}: top-1 agreement prefill {prefill}, decode {decode}",
                p.name()
            );
            // Measured 1.0 (16 of 16) for every tiny config and precision.
            for share in [prefill, decode] {
                assert!((0.9..=1.0).contains(&share), "{name} {p:?}: {share}");
            }
        }
        // With random weights the top token is the last input token by a wide margin
        // (its embedding rides the residual stream into a head that is the same
        // table), so any model computing roughly the right thing agrees. A head that
        // maps every row to the next token's embedding must disagree: the measure can
        // fail.
        let d = cfg.hidden_size;
        let mut shifted = master.clone();
        shifted.lm_head = master.tokens[d..].to_vec();
        shifted.lm_head.extend_from_slice(&master.tokens[..d]);
        let p = Precision::F32;
        let model = GpuDecoder::upload(&rig.ctx, &rig.layout, &shifted, p, v).unwrap();
        let [prefill, decode] = top1_agreement(bench, &model, &master, 13).unwrap();
        assert!(prefill < 0.5 && decode < 0.5, "{name}: {prefill}, {decode}");
    }
}

#[test]
fn a_profile_run_gives_correct_timed_prefill_and_decode_rows_on_the_gpu() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Adapter(ctx.name.clone());
    let precisions: Vec<Precision> = Precision::ALL
        .into_iter()
        .filter(|&p| p != Precision::F16 || ctx.has_f16)
        .collect();
    drop(ctx);
    opts.models = vec!["tiny-bert".into(), "tiny-llama".into()];
    opts.precisions = precisions.clone();
    opts.gemm_sizes = Vec::new();
    opts.peaks = false;
    opts.seq_lens = vec![16];
    opts.context_lens = vec![32];
    opts.batches = vec![1, 2];
    opts.budget_per_row = Duration::from_millis(50);
    let report = run_profile(&opts, &mut |_| {}).expect("profile");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let cfg = TransformerConfig::lookup("tiny-llama").unwrap();
    let rows: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.workload.transformer_name() == Some("tiny-llama") && r.device != "cpu")
        .collect();
    assert_eq!(rows.len(), 2 * 2 * precisions.len(), "{rows:?}");
    for r in rows {
        assert!(r.supported && r.correct && r.chosen, "{r:?}");
        assert!(r.rel_error.unwrap() <= tolerance(r.precision), "{r:?}");
        assert!(
            r.timing.as_ref().is_some_and(|t| t.median_ms > 0.0),
            "{r:?}"
        );
        assert!(r.items_per_s.is_some_and(|x| x > 0.0), "{r:?}");
        assert!(
            r.weights
                .as_deref()
                .is_some_and(|s| s.starts_with("random (seed "))
        );
        assert!(r.variant.starts_with("gemm-"), "{r:?}");
        let (pass, len) = match r.workload {
            Workload::Decode(_) => (Pass::Decode, r.context_len.unwrap()),
            Workload::Prefill(_) => (Pass::Prefill, r.seq_len.unwrap()),
            _ => panic!("not a decoder row: {r:?}"),
        };
        assert_eq!(len, if pass == Pass::Decode { 32 } else { 16 });
        assert_eq!(r.flops_per_item, Some(flops_per_item(&cfg, pass, len)));
        match r.precision {
            Precision::F32 => assert_eq!(r.top1_agreement, None),
            _ => assert!(r.top1_agreement.is_some_and(|t| (0.0..=1.0).contains(&t))),
        }
        // Where the time goes: every operator of a Llama decoder pass, timed, their
        // FLOPs adding up to the row's.
        let names: Vec<&str> = r.ops.iter().map(|o| o.name.as_str()).collect();
        for want in ["qkv", "rope", "kv_append", "attention", "mlp_up", "lm_head"] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        assert!(r.ops.iter().all(|o| o.ms >= 0.0), "{:?}", r.ops);
        assert!(r.ops.iter().any(|o| o.ms > 0.0), "{:?}", r.ops);
        let flops: f64 = r.ops.iter().map(|o| o.flops).sum();
        let want = flops_per_item(&cfg, pass, len) * r.batch.unwrap() as f64;
        assert!((flops - want).abs() <= 1e-9 * want, "{flops} vs {want}");
    }
    // The encoder beside it still runs, and every planned unit was counted.
    let encoder = report
        .results
        .iter()
        .filter(|r| r.workload.transformer_name() == Some("tiny-bert") && r.device != "cpu");
    assert!(encoder.clone().count() > 0 && encoder.clone().all(|r| r.correct));
    assert_eq!(opts.meter.done_units(), opts.units_per_device(true));
}

#[test]
fn a_batch_the_adapter_cannot_hold_gets_rows_saying_why_and_the_rest_still_run() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let l = ctx.device.limits();
    let limit = l.max_storage_buffer_binding_size.min(l.max_buffer_size);
    // tiny-llama's K cache of one layer takes 2 kv heads × 8 positions × 16 dims × 4
    // bytes per sequence at prefill (more at decode): one sequence past the limit.
    let huge = (limit / 1024 + 1) as usize;
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Adapter(ctx.name.clone());
    drop(ctx);
    opts.models = vec!["tiny-llama".into()];
    opts.precisions = vec![Precision::F32];
    opts.gemm_sizes = Vec::new();
    opts.peaks = false;
    opts.seq_lens = vec![8];
    opts.context_lens = vec![16];
    opts.batches = vec![1, huge];
    opts.budget_per_row = Duration::from_millis(20);
    let report = run_profile(&opts, &mut |_| {}).expect("profile");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let rows: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.workload.transformer_name() == Some("tiny-llama"))
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    for r in rows {
        if r.batch == Some(1) {
            assert!(r.supported && r.correct && r.timing.is_some(), "{r:?}");
        } else {
            let why = r.why_unsupported.as_deref().unwrap_or_default();
            assert!(!r.supported && !r.chosen && r.timing.is_none(), "{r:?}");
            assert!(
                why.contains("K or V cache") && why.contains("binds at most"),
                "{why}"
            );
        }
    }
    assert_eq!(opts.meter.done_units(), opts.units_per_device(true));
}

#[test]
fn f16_on_a_device_without_shader_f16_is_refused_in_words() {
    let Some(rig) = Rig::new() else {
        return;
    };
    // A device the caller opened with no optional features at all.
    let desc = wgpu::DeviceDescriptor::default();
    let (device, queue) = pollster::block_on(rig.ctx.adapter.request_device(&desc)).unwrap();
    let bare = GpuContext::from_device(rig.ctx.adapter.clone(), device, queue);
    let layout = GemmLayout::new(&bare.device);
    let timer = Timer::new(&bare, Duration::from_secs(60));
    let bench = Bench {
        ctx: &bare,
        layout: &layout,
        timer: &timer,
        budget: &rig.budget,
    };
    let cfg = TransformerConfig::lookup("tiny-llama").unwrap();
    let plan = SweepPlan {
        seq_lens: &[8],
        context_lens: &[16],
        batches: &[1],
        weights: None,
    };
    let swept = sweep(bench, &cfg, Precision::F16, plan, &|| false, &mut |_| {});
    let err = swept.expect_err("f16 refused").to_string();
    assert!(err.contains("SHADER_F16"), "{err}");
    let w = Weights::random(&cfg, Precision::F16, 1);
    let v = Variant::Reg { tm: 4, tn: 4 };
    let upload = GpuDecoder::upload(&bare, &layout, &w, Precision::F16, v);
    let err = upload.err().expect("f16 refused").to_string();
    assert!(err.contains("SHADER_F16"), "{err}");
}
