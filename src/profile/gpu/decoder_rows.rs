//! profile layer: decoder rows on a GPU adapter — prefill and decode each verified
//! against the f64 reference at a small shape before anything is timed (a wrong pass
//! gets `correct: false` and no timing), f16/bf16 rows' top-1 agreement with the f32
//! model, then one timed row per (pass, length, batch) with its buffers, KV cache and
//! bindings built once, GPU timestamps where the device has them.

use crate::profile::cpu::transformer_rows::{
    SweepPlan, VERIFY_BATCH, VERIFY_LEN, base_row, tolerance,
};
use crate::profile::gpu::decoder::{DecoderShape, GpuDecoder};
use crate::profile::gpu::op_timer::OpProfiler;
use crate::profile::gpu::timer::Bench;
use crate::profile::gpu::transformer_rows::{pick_variant, variant_name, verify_layers};
use crate::profile::reference::{Rng, rel_frobenius};
use crate::profile::report::ResultRow;
use crate::profile::stats::measure;
use crate::profile::workloads::transformer::accounting as acc;
use crate::profile::workloads::transformer::op_time::median_ms;
use crate::profile::workloads::transformer::ops::op_times;
use crate::profile::workloads::transformer::reference;
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
    (batch, len, layers): (usize, usize, usize),
    tokens: &[u32],
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

/// Relative error of `pass` against the f64 reference over `w` (the weights the model
/// is meant to hold) at [`VERIFY_BATCH`] × [`VERIFY_LEN`] through [`verify_layers`].
pub fn verify(
    bench: Bench<'_>,
    model: &GpuDecoder,
    w: &Weights,
    pass: Pass,
    seed: u64,
) -> Result<f64, ProfileError> {
    let cfg = model.config();
    let len = VERIFY_LEN.min(cfg.max_positions - 1).max(1);
    verify_at(
        bench,
        model,
        w,
        pass,
        (VERIFY_BATCH, len, verify_layers(cfg)),
        seed,
    )
}

/// [`verify`] at `batch` sequences of `len` tokens (or cached tokens, for decode)
/// through the first `layers` blocks: the larger of the hidden states' and the
/// logits' relative Frobenius errors (as the CPU path measures it).
pub fn verify_at(
    bench: Bench<'_>,
    model: &GpuDecoder,
    w: &Weights,
    pass: Pass,
    (batch, len, layers): (usize, usize, usize),
    seed: u64,
) -> Result<f64, ProfileError> {
    let cfg = model.config();
    let d = cfg.hidden_size;
    let total = if pass == Pass::Decode { len + 1 } else { len };
    let tokens = random_tokens(batch * total, cfg.vocab_size, seed);
    let want = reference::forward(w, layers, &tokens, (batch, total));
    let got = run_on_device(bench, model, pass, (batch, len, layers), &tokens)?;
    let want_hidden: Vec<f64> = match pass {
        Pass::Decode => want
            .hidden
            .chunks(total * d)
            .flat_map(|s| s[len * d..].iter().copied())
            .collect(),
        _ => want.hidden,
    };
    let hidden_err = rel_frobenius(&got.hidden, &want_hidden);
    Ok(hidden_err.max(rel_frobenius(&got.logits, &want.logits)))
}

/// Index of the largest value; `None` when any value is not finite.
fn argmax<T: Copy + Into<f64>>(xs: &[T]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &x) in xs.iter().enumerate() {
        let x: f64 = x.into();
        if !x.is_finite() {
            return None;
        }
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i)
}

/// Share of rows whose arg-max agrees (a row with a non-finite value never does).
fn agreement(got: &[f32], want: &[f64], vocab: usize) -> f64 {
    let rows = want.len() / vocab.max(1);
    let same = got
        .chunks(vocab)
        .zip(want.chunks(vocab))
        .filter(|(g, w)| argmax(g).is_some_and(|i| Some(i) == argmax(w)))
        .count();
    same as f64 / rows.max(1) as f64
}

/// Top-1 agreement of `model` (its weights rounded from `master`) with the f32 model
/// computed exactly: over [`TOP1_SEQUENCES`] sequences of [`VERIFY_LEN`] + 1 tokens
/// through [`verify_layers`], the share whose arg-max of the device's last-position
/// logits equals that of the f64 reference over the unrounded `master` weights —
/// `[prefill, decode]` (decode: the last token decoded after the rest was prefilled).
pub fn top1_agreement(
    bench: Bench<'_>,
    model: &GpuDecoder,
    master: &Weights,
    seed: u64,
) -> Result<[f64; 2], ProfileError> {
    let cfg = model.config();
    let (batch, layers) = (TOP1_SEQUENCES, verify_layers(cfg));
    let len = VERIFY_LEN.min(cfg.max_positions - 1).max(1);
    let tokens = random_tokens(batch * (len + 1), cfg.vocab_size, seed ^ 0x7091);
    let want = reference::forward(master, layers, &tokens, (batch, len + 1));
    let v = cfg.vocab_size;
    let prefill = run_on_device(
        bench,
        model,
        Pass::Prefill,
        (batch, len + 1, layers),
        &tokens,
    )?;
    let decode = run_on_device(bench, model, Pass::Decode, (batch, len, layers), &tokens)?;
    Ok([
        agreement(&prefill.logits, &want.logits, v),
        agreement(&decode.logits, &want.logits, v),
    ])
}

/// Verifies then times every (pass, length, batch) of decoder `cfg` at `precision` on
/// the bench's device; `on_row` hears of each row as it is done. A shape the adapter
/// cannot hold gets a row saying why; the others still run.
pub fn sweep(
    bench: Bench<'_>,
    cfg: &TransformerConfig,
    precision: Precision,
    plan: SweepPlan<'_>,
    cancelled: &dyn Fn() -> bool,
    on_row: &mut dyn FnMut(&ResultRow),
) -> Result<Vec<ResultRow>, ProfileError> {
    let ctx = bench.ctx;
    let seed = Rng::from_time().next_u64();
    let variant = pick_variant(bench, cfg, precision)?;
    // The master weights in f32; a half-precision device holds a rounded copy.
    let RunWeights {
        weights: master,
        label,
    } = weights::master(cfg, plan.weights, seed)?;
    let rounded = (precision != Precision::F32).then(|| master.clone().rounded(precision));
    let w = rounded.as_ref().unwrap_or(&master);
    let model = GpuDecoder::upload(ctx, bench.layout, w, precision, variant)?;
    let passes = Pass::for_family(cfg.family);
    let mut errors = Vec::new();
    for &pass in passes {
        errors.push(verify(bench, &model, w, pass, seed)?);
    }
    let top1 = match rounded {
        Some(_) => Some(top1_agreement(bench, &model, &master, seed)?),
        None => None,
    };
    // The host copies are only needed by the reference: free them before timing.
    drop((rounded, master));
    let mut rows = Vec::new();
    for (&pass, err) in passes.iter().zip(errors) {
        for &len in plan.lens(pass) {
            for &batch in plan.batches {
                if cancelled() {
                    return Ok(rows);
                }
                let mut row = base_row(&ctx.name, cfg, precision, pass, (len, batch));
                row.variant = variant_name(variant);
                row.weights = Some(label.clone());
                row.rel_error = Some(err);
                row.top1_agreement = top1.map(|t| t[usize::from(pass == Pass::Decode)]);
                row.correct = err <= tolerance(precision);
                row.chosen = row.correct;
                if row.correct {
                    match time_row(bench, &model, &mut row, DecoderShape { pass, batch, len }) {
                        Ok(()) => {}
                        Err(e @ (ProfileError::DeviceLost(_) | ProfileError::Hung { .. })) => {
                            return Err(e);
                        }
                        Err(e) => {
                            row.chosen = false;
                            row = row.unsupported(e.to_string());
                        }
                    }
                }
                on_row(&row);
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// Times the whole pass of `shape` into `row`: one submission per sample, latency per
/// batch (a prefill row is the time to first token, LM head included).
fn time_row(
    bench: Bench<'_>,
    model: &GpuDecoder,
    row: &mut ResultRow,
    shape: DecoderShape,
) -> Result<(), ProfileError> {
    let (ctx, cfg) = (bench.ctx, model.config());
    // A decode step runs against a zeroed cache (no prefill before it): the work of
    // attention over context_len keys does not depend on the values, only the numbers
    // do, and those were verified above.
    let cache = model.kv_cache(ctx, shape.batch, shape.cache_len())?;
    let plan = model.plan(ctx, bench.layout, shape, cfg.num_layers, &cache)?;
    let count = shape.batch * shape.rows();
    plan.write_tokens(ctx, &random_tokens(count, cfg.vocab_size, shape.len as u64))?;
    // Where the time goes: after each timed pass, one separate run that times each step
    // on its own (never inside the row's samples), so both see the same conditions.
    let profiler = OpProfiler::new(ctx, plan.op_kinds())?;
    let mut op_samples = Vec::new();
    let t = measure(bench.timer.method(), bench.budget, || {
        let r = bench
            .timer
            .run_pass(ctx, "the decoder pass", &|pass| model.record(pass, &plan))?;
        op_samples.push(profiler.sample(ctx, bench.timer, &|pass, i| {
            model.record_step(pass, &plan, i)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_counts_matching_arg_maxes_and_never_a_non_finite_row() {
        // Three rows of vocab 3: the first agrees, the second does not, the third has
        // a NaN on the device (its arg-max would otherwise agree).
        let got = [0.1, 0.9, 0.0, 0.5, 0.2, 0.1, f32::NAN, 0.0, 2.0];
        let want = [0.0, 1.0, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        assert!((agreement(&got, &want, 3) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(argmax(&[1.0f32, 3.0, 3.0, 2.0]), Some(1), "first of a tie");
        assert_eq!(argmax::<f32>(&[]), None);
    }
}
