//! profile layer: decoder rows on a GPU adapter — prefill and decode each verified
//! against the f64 reference at a small shape before anything is timed (a wrong pass
//! gets `correct: false` and no timing), f16/bf16 rows' top-1 agreement with the f32
//! model, then one timed row per (pass, length, batch) with its buffers, KV cache and
//! bindings built once, each projection shape on its fastest verified GEMM variant
//! ([`super::decoder_tune`]; the check and the top-1 agreement rerun on that
//! assignment), GPU timestamps where the device has them.

use crate::profile::cpu::transformer_rows::{
    SweepPlan, VERIFY_BATCH, VERIFY_LEN, base_row, tolerance,
};
use crate::profile::gpu::decoder::{DecoderPlan, DecoderShape, GpuDecoder};
use crate::profile::gpu::decoder_check::{DecoderCheck, PassReference, Top1Reference};
use crate::profile::gpu::decoder_tune::{self, DecoderChoice};
use crate::profile::gpu::gemm_tune::{self, ProjectionTuner};
use crate::profile::gpu::op_timer::OpProfiler;
use crate::profile::gpu::timer::Bench;
use crate::profile::gpu::transformer_rows::{
    TUNED, name_variants, variant_name, variants_of, verify_layers,
};
use crate::profile::reference::Rng;
use crate::profile::report::ResultRow;
use crate::profile::stats::measure;
use crate::profile::workloads::transformer::accounting as acc;
use crate::profile::workloads::transformer::op_time::median_ms;
use crate::profile::workloads::transformer::ops::op_times;
use crate::profile::workloads::transformer::weights::{self, RunWeights, Weights, random_tokens};
use crate::profile::workloads::transformer::{Pass, TransformerConfig};
use crate::profile::{Precision, ProfileError};

/// Sequences whose last-position arg-max the top-1 agreement compares.
pub const TOP1_SEQUENCES: usize = 16;

/// What one pass on the device gave back.
#[derive(Clone, Debug)]
pub struct DeviceOutput {
    /// Final-normed hidden rows: all of a prefill's, the new token's of a decode step.
    pub hidden: Vec<f32>,
    /// Each sequence's last-position logits, batch × vocab.
    pub logits: Vec<f32>,
}

/// Runs `pass` of `model`'s first `layers` blocks on the device, outside any timing.
/// Prefill: `tokens` holds `batch × len` ids. Decode: `batch × (len + 1)`; each
/// sequence's first `len` are prefilled into the cache on the device, then one decode
/// step runs on its last (two submissions, sharing the cache).
pub fn run_on_device(
    bench: Bench<'_>,
    model: &GpuDecoder,
    pass: Pass,
    dims: (usize, usize, usize),
    tokens: &[u32],
) -> Result<DeviceOutput, ProfileError> {
    run_assigned(bench, model, pass, dims, tokens, None)
}

/// [`run_on_device`] with the projections of the checked pass (a decode check's step,
/// not the prefill that fills its cache) on `choice` (`None`: the first variant).
pub fn run_assigned(
    bench: Bench<'_>,
    model: &GpuDecoder,
    pass: Pass,
    (batch, len, layers): (usize, usize, usize),
    tokens: &[u32],
    choice: Option<&DecoderChoice>,
) -> Result<DeviceOutput, ProfileError> {
    let (ctx, layout, timer) = (bench.ctx, bench.layout, bench.timer);
    let prefill = DecoderShape::prefill(batch, len);
    let last = match pass {
        Pass::Decode => DecoderShape::decode(batch, len),
        _ => prefill,
    };
    let cache = model.kv_cache(ctx, batch, last.cache_len())?;
    let total = last.cache_len();
    let part = |from: usize, to: usize| -> Vec<u32> {
        tokens
            .chunks(total)
            .flat_map(|s| s.get(from..to).unwrap_or_default())
            .copied()
            .collect()
    };
    let mut plans = vec![(
        model.plan(ctx, layout, prefill, layers, &cache)?,
        part(0, len),
    )];
    if pass == Pass::Decode {
        let step = model.plan(ctx, layout, last, layers, &cache)?;
        plans.push((step, part(len, total)));
    }
    if let (Some(choice), Some((plan, _))) = (choice, plans.last_mut()) {
        plan.assign(model, choice)?;
    }
    for (plan, ids) in &plans {
        plan.write_tokens(ctx, ids)?;
        timer.run_pass(ctx, "checking the decoder pass", &|p| model.record(p, plan))?;
    }
    let (plan, _) = plans
        .last()
        .ok_or_else(|| ProfileError::Invalid("no plan".into()))?;
    Ok(DeviceOutput {
        hidden: plan.read_hidden(ctx, timer.timeout)?,
        logits: plan.read_logits(ctx, timer.timeout)?,
    })
}

/// The check's (batch, len, layers): [`VERIFY_BATCH`] × [`VERIFY_LEN`] through
/// [`verify_layers`].
pub fn check_dims(cfg: &TransformerConfig) -> (usize, usize, usize) {
    let len = VERIFY_LEN.min(cfg.max_positions - 1).max(1);
    (VERIFY_BATCH, len, verify_layers(cfg))
}

/// Relative error of `pass` against the f64 reference over `w` (the weights the model
/// is meant to hold) at [`check_dims`].
pub fn verify(
    bench: Bench<'_>,
    model: &GpuDecoder,
    w: &Weights,
    pass: Pass,
    seed: u64,
) -> Result<f64, ProfileError> {
    verify_at(bench, model, w, pass, check_dims(model.config()), seed)
}

/// [`verify`] at `batch` sequences of `len` tokens (or cached tokens, for decode)
/// through the first `layers` blocks: the larger of the hidden states' and the
/// logits' relative Frobenius errors (as the CPU path measures it).
pub fn verify_at(
    bench: Bench<'_>,
    model: &GpuDecoder,
    w: &Weights,
    pass: Pass,
    dims: (usize, usize, usize),
    seed: u64,
) -> Result<f64, ProfileError> {
    PassReference::new(w, pass, dims, seed).error(bench, model, None)
}

/// Top-1 agreement of `model` (its weights rounded from `master`) with the f32 model
/// computed exactly ([`Top1Reference`]), its projections on the first variant —
/// `[prefill, decode]`.
pub fn top1_agreement(
    bench: Bench<'_>,
    model: &GpuDecoder,
    master: &Weights,
    seed: u64,
) -> Result<[f64; 2], ProfileError> {
    let r = Top1Reference::new(master, seed);
    Ok([
        r.agreement(bench, model, Pass::Prefill, None)?,
        r.agreement(bench, model, Pass::Decode, None)?,
    ])
}

/// Verifies then times every (pass, length, batch) of decoder `cfg` at `precision` on
/// the bench's device, projections tuned by the session's tuner; `on_row` hears of each
/// row as it is done. A shape the adapter cannot hold gets a row saying why; the others
/// still run.
pub fn sweep(
    bench: Bench<'_>,
    cfg: &TransformerConfig,
    precision: Precision,
    plan: SweepPlan<'_>,
    cancelled: &dyn Fn() -> bool,
    on_row: &mut dyn FnMut(&ResultRow),
) -> Result<Vec<ResultRow>, ProfileError> {
    let tuner = gemm_tune::session();
    sweep_with(bench, (cfg, precision), plan, tuner, cancelled, on_row)
}

/// [`sweep`] with the projections tuned by `tuner`.
pub fn sweep_with(
    bench: Bench<'_>,
    (cfg, precision): (&TransformerConfig, Precision),
    plan: SweepPlan<'_>,
    tuner: &ProjectionTuner,
    cancelled: &dyn Fn() -> bool,
    on_row: &mut dyn FnMut(&ResultRow),
) -> Result<Vec<ResultRow>, ProfileError> {
    let ctx = bench.ctx;
    let seed = Rng::from_time().next_u64();
    // The master weights in f32; a half-precision device holds a rounded copy.
    let RunWeights {
        weights: master,
        label,
    } = weights::master(cfg, plan.weights, seed)?;
    let rounded = (precision != Precision::F32).then(|| master.clone().rounded(precision));
    let w = rounded.as_ref().unwrap_or(&master);
    let model = GpuDecoder::upload_with(ctx, bench.layout, w, precision, &TUNED)?;
    let passes = Pass::for_family(cfg.family);
    let mut check = DecoderCheck::new(&model, w, Some(&master), passes, seed);
    // The host copies are only needed by the references: free them before timing.
    drop((rounded, master));
    let mut rows = Vec::new();
    for &pass in passes {
        for &len in plan.lens(pass) {
            for &batch in plan.batches {
                if cancelled() {
                    return Ok(rows);
                }
                let mut row = base_row(&ctx.name, cfg, precision, pass, (len, batch));
                row.variant = variant_name(model.variant());
                row.weights = Some(label.clone());
                let shape = DecoderShape { pass, batch, len };
                match tuned_row(bench, &model, (&mut check, tuner), &mut row, shape) {
                    Ok(()) => {}
                    Err(e @ (ProfileError::DeviceLost(_) | ProfileError::Hung { .. })) => {
                        return Err(e);
                    }
                    Err(e) => {
                        row.chosen = false;
                        row = row.unsupported(e.to_string());
                    }
                }
                on_row(&row);
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// Binds `shape`'s plan, tunes its projections, checks the pass on that assignment
/// (error, and top-1 agreement at half precision) and, when it verifies, times it.
fn tuned_row(
    bench: Bench<'_>,
    model: &GpuDecoder,
    (check, tuner): (&mut DecoderCheck, &ProjectionTuner),
    row: &mut ResultRow,
    shape: DecoderShape,
) -> Result<(), ProfileError> {
    let (ctx, cfg) = (bench.ctx, model.config());
    // A decode step runs against a zeroed cache (no prefill before it): the work of
    // attention over context_len keys does not depend on the values, only the numbers
    // do, and those are verified below.
    let cache = model.kv_cache(ctx, shape.batch, shape.cache_len())?;
    let mut plan = model.plan(ctx, bench.layout, shape, cfg.num_layers, &cache)?;
    let tuned = decoder_tune::tune_plan(bench, model, &mut plan, tuner)?;
    let err = check.error(bench, model, shape.pass, &tuned.choice)?;
    row.rel_error = Some(err);
    row.correct = err <= tolerance(model.precision());
    row.chosen = row.correct;
    let steps = plan.projections(model);
    row.variant = format!("gemm-{}+flash-attn", variants_of(&steps));
    if row.correct {
        row.top1_agreement = check.agreement(bench, model, shape.pass, &tuned.choice)?;
        time_row(bench, model, &plan, row)?;
        name_variants(row, &steps);
    }
    Ok(())
}

/// Times the whole pass of `plan` into `row`: one submission per sample, latency per
/// batch (a prefill row is the time to first token, LM head included).
fn time_row(
    bench: Bench<'_>,
    model: &GpuDecoder,
    plan: &DecoderPlan,
    row: &mut ResultRow,
) -> Result<(), ProfileError> {
    let (ctx, cfg, shape) = (bench.ctx, model.config(), plan.shape);
    let count = shape.batch * shape.rows();
    plan.write_tokens(ctx, &random_tokens(count, cfg.vocab_size, shape.len as u64))?;
    // Where the time goes: after each timed pass, one separate run that times each step
    // on its own (never inside the row's samples), so both see the same conditions.
    let profiler = OpProfiler::new(ctx, plan.op_kinds())?;
    let mut op_samples = Vec::new();
    let t = measure(bench.timer.method(), bench.budget, || {
        let r = bench
            .timer
            .run_pass(ctx, "the decoder pass", &|pass| model.record(pass, plan))?;
        op_samples.push(profiler.sample(ctx, bench.timer, &|pass, i| {
            model.record_step(pass, plan, i)
        })?);
        Ok(r.gpu_ms.unwrap_or(r.wall_ms))
    })?;
    if t.median_ms > 0.0 {
        // Sequences per second (prefill) or tokens per second (decode).
        row.items_per_s = Some(shape.batch as f64 / (t.median_ms / 1e3));
    }
    let (pass, len) = (shape.pass, shape.len);
    let flops = acc::flops_per_item(cfg, pass, len) * shape.batch as f64;
    let e = row.precision.bytes_per_element();
    let bytes = acc::bytes_per_pass(cfg, pass, (shape.batch, len), e);
    let timed = op_samples.get(bench.budget.warmup..).unwrap_or_default();
    row.ops = op_times(cfg, pass, (shape.batch, len), e, &median_ms(timed));
    row.set_timing_with(t, flops, bytes);
    Ok(())
}
