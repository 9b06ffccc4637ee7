//! profile layer: transformer rows on the CPU — each pass verified against the f64
//! reference at a small shape, then one timed row per (length, batch), with the exact
//! FLOPs and bytes of the accounting module on every row.

use std::path::Path;
use std::time::Instant;

use half::f16;

use super::agreement;
use super::attention::Elem;
use super::packed::Tile;
use super::projection::Kernel;
use super::transformer::CpuTransformer;
use crate::profile::reference::{Rng, rel_frobenius};
use crate::profile::report::ResultRow;
use crate::profile::stats::{SamplingBudget, TimingMethod, measure};
use crate::profile::workloads::transformer::accounting as acc;
use crate::profile::workloads::transformer::op_time::{OpLap, median_ms};
use crate::profile::workloads::transformer::ops::{OpKind, OpMs, op_times};
use crate::profile::workloads::transformer::reference;
use crate::profile::workloads::transformer::weights::{self, RunWeights, Weights, random_tokens};
use crate::profile::workloads::transformer::{Pass, TransformerConfig};
use crate::profile::{Precision, ProfileError};

/// The variant name of CPU transformer rows (the default projection kernel on this
/// CPU, see [`Kernel::variant`]).
pub fn variant() -> &'static str {
    Kernel::best().variant(Tile::best())
}
/// Models with more block parameters than this are verified on their first block only:
/// the f64 reference runs at well under a GFLOP/s, and one block already exercises
/// every kernel (the blocks differ only in their weights).
pub const VERIFY_ALL_LAYERS_MAX_PARAMS: u64 = 20_000_000;
/// Sequences and tokens per sequence (or cached tokens, for decode) of the check.
pub const VERIFY_BATCH: usize = 2;
/// See [`VERIFY_BATCH`].
pub const VERIFY_LEN: usize = 8;
/// Relative Frobenius error allowed in f32: measured ≈ 1e-7 on the tiny configs.
pub const F32_TOLERANCE: f64 = 1e-5;
/// Relative Frobenius error allowed with f16 storage (every activation rounded to
/// f16 between kernels, over all blocks): measured ≈ 1e-3.
pub const F16_TOLERANCE: f64 = 2e-2;

/// The lengths and batches one transformer is swept over.
#[derive(Clone, Copy, Debug)]
pub struct SweepPlan<'a> {
    /// Sequence lengths of encoder and prefill rows.
    pub seq_lens: &'a [usize],
    /// Context lengths of decode rows.
    pub context_lens: &'a [usize],
    /// Batch sizes.
    pub batches: &'a [usize],
    /// A safetensors checkpoint of the model's weights; `None` = seeded random ones.
    pub weights: Option<&'a Path>,
}

impl SweepPlan<'_> {
    /// The lengths `pass` is swept over.
    pub fn lens(&self, pass: Pass) -> &[usize] {
        match pass {
            Pass::Decode => self.context_lens,
            _ => self.seq_lens,
        }
    }

    /// Rows (and progress units) of `cfg` at one precision.
    pub fn rows(&self, cfg: &TransformerConfig) -> u64 {
        Pass::for_family(cfg.family)
            .iter()
            .map(|&p| (self.lens(p).len() * self.batches.len()) as u64)
            .sum()
    }
}

/// The allowed error at `precision`.
pub fn tolerance(precision: Precision) -> f64 {
    match precision {
        Precision::F32 => F32_TOLERANCE,
        _ => F16_TOLERANCE,
    }
}

/// A row for `pass` of `cfg` with its shape and exact work filled in, not yet verified.
pub fn base_row(
    device: &str,
    cfg: &TransformerConfig,
    precision: Precision,
    pass: Pass,
    (len, batch): (usize, usize),
) -> ResultRow {
    let tokens = if pass == Pass::Decode { 1 } else { len };
    let d = cfg.hidden_size;
    let mut row = ResultRow::new(
        device,
        pass.workload(&cfg.name),
        precision,
        variant(),
        (batch * tokens, d, d),
    );
    let e = precision.bytes_per_element();
    row.batch = Some(batch);
    if pass == Pass::Decode {
        row.context_len = Some(len);
    } else {
        row.seq_len = Some(len);
    }
    row.flops_per_item = Some(acc::flops_per_item(cfg, pass, len));
    row.bytes_per_item = Some(acc::bytes_per_item(cfg, pass, len, e));
    row.weights_bytes = Some(acc::weights_bytes(cfg, e));
    if cfg.family.is_decoder() {
        row.kv_bytes_per_token = Some(acc::kv_bytes_per_token(cfg, e));
    }
    row
}

/// Verifies then times every (pass, length, batch) of `cfg` at `precision`; `on_row`
/// hears of each row as it is done.
pub fn sweep(
    cfg: &TransformerConfig,
    precision: Precision,
    plan: SweepPlan<'_>,
    budget: &SamplingBudget,
    cancelled: &dyn Fn() -> bool,
    on_row: &mut dyn FnMut(&ResultRow),
) -> Result<Vec<ResultRow>, ProfileError> {
    match precision {
        Precision::F32 => sweep_typed::<f32>(cfg, precision, plan, budget, cancelled, on_row),
        Precision::F16 => sweep_typed::<f16>(cfg, precision, plan, budget, cancelled, on_row),
        Precision::Bf16 => Err(ProfileError::Invalid(
            super::why_unsupported(precision).unwrap_or_default(),
        )),
    }
}

fn sweep_typed<T: Elem>(
    cfg: &TransformerConfig,
    precision: Precision,
    plan: SweepPlan<'_>,
    budget: &SamplingBudget,
    cancelled: &dyn Fn() -> bool,
    on_row: &mut dyn FnMut(&ResultRow),
) -> Result<Vec<ResultRow>, ProfileError> {
    let seed = Rng::from_time().next_u64();
    let RunWeights { weights, label } = weights::master(cfg, plan.weights, seed)?;
    let passes = Pass::for_family(cfg.family);
    // Top-1 agreement is measured against the f32 master weights, so their reference
    // runs before they are rounded in place.
    let top1_refs: Vec<_> = passes
        .iter()
        .map(|&p| {
            (precision != Precision::F32 && cfg.family.is_decoder())
                .then(|| agreement::reference(&weights, p, seed))
        })
        .collect();
    let weights = weights.rounded(precision);
    let model = CpuTransformer::<T>::new(&weights);
    let errors: Vec<f64> = passes
        .iter()
        .map(|&p| verify(&model, &weights, p, seed))
        .collect();
    // The f32 copy is only needed by the reference: free it before timing.
    drop(weights);
    let top1: Vec<Option<f64>> = top1_refs
        .iter()
        .map(|r| r.as_ref().map(|r| agreement::agreement(&model, r)))
        .collect();
    let mut rows = Vec::new();
    for ((&pass, err), top1) in passes.iter().zip(errors).zip(top1) {
        for &len in plan.lens(pass) {
            for &batch in plan.batches {
                if cancelled() {
                    return Ok(rows);
                }
                let mut row = base_row("cpu", cfg, precision, pass, (len, batch));
                row.weights = Some(label.clone());
                row.top1_agreement = top1;
                row.rel_error = Some(err);
                row.correct = err <= tolerance(precision);
                row.chosen = row.correct;
                if row.correct {
                    time_row(&model, &mut row, pass, (len, batch), budget)?;
                }
                on_row(&row);
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// Times one pass at (len, batch) into `row`, with buffers allocated once for it.
fn time_row<T: Elem>(
    model: &CpuTransformer<T>,
    row: &mut ResultRow,
    pass: Pass,
    (len, batch): (usize, usize),
    budget: &SamplingBudget,
) -> Result<(), ProfileError> {
    let cfg = model.config();
    let (rows, first, cap) = match pass {
        Pass::Decode => (1, len, len + 1),
        _ => (len, 0, len),
    };
    let mut bufs = model.buffers(batch, rows, cap);
    let tokens = random_tokens(batch * rows, cfg.vocab_size, len as u64);
    // Every timed pass also laps its operators (one clock read per operator call, far
    // below the pass's noise: see docs/profiler.md), so the ops come from the very
    // samples the row's median is taken over; the warm-up passes are dropped from both.
    let mut op_samples: Vec<OpMs> = Vec::new();
    let t = measure(TimingMethod::Wall, budget, || {
        let mut ms = [0.0; OpKind::COUNT];
        let t0 = Instant::now();
        model.forward_lap(
            &mut bufs,
            &tokens,
            (rows, first),
            cfg.num_layers,
            &mut OpLap::on(&mut ms),
        );
        std::hint::black_box(&bufs.x);
        let elapsed = t0.elapsed().as_secs_f64() * 1e3;
        op_samples.push(ms);
        Ok(elapsed)
    })?;
    let timed = op_samples.get(budget.warmup..).unwrap_or_default();
    let e = row.precision.bytes_per_element();
    row.ops = op_times(cfg, pass, (batch, len), e, &median_ms(timed));
    if t.median_ms > 0.0 {
        // Sequences per second (encoder, prefill) or tokens per second (decode).
        row.items_per_s = Some(batch as f64 / (t.median_ms / 1e3));
    }
    let flops = acc::flops_per_item(cfg, pass, len) * batch as f64;
    row.set_timing_with(t, flops, acc::bytes_per_pass(cfg, pass, (batch, len), e));
    Ok(())
}

/// Relative error of `pass` against the f64 reference at [`VERIFY_BATCH`] ×
/// [`VERIFY_LEN`], over all blocks or (big models) the first; the larger of the hidden
/// states' and the logits' errors.
pub fn verify<T: Elem>(model: &CpuTransformer<T>, w: &Weights, pass: Pass, seed: u64) -> f64 {
    let cfg = model.config();
    let layers = verify_layers(cfg);
    let len = VERIFY_LEN.min(cfg.max_positions - 1).max(1);
    verify_at(model, w, pass, (VERIFY_BATCH, len, layers), seed)
}

/// Blocks the correctness checks run: all of them, or the first for models over
/// [`VERIFY_ALL_LAYERS_MAX_PARAMS`] block parameters.
pub fn verify_layers(cfg: &TransformerConfig) -> usize {
    if cfg.num_layers as u64 * acc::layer_params(cfg) <= VERIFY_ALL_LAYERS_MAX_PARAMS {
        cfg.num_layers
    } else {
        1
    }
}

/// [`verify`] at `batch` sequences of `len` tokens (or cached tokens) through the
/// first `layers` blocks.
pub fn verify_at<T: Elem>(
    model: &CpuTransformer<T>,
    w: &Weights,
    pass: Pass,
    (batch, len, layers): (usize, usize, usize),
    seed: u64,
) -> f64 {
    let cfg = model.config();
    let d = cfg.hidden_size;
    let total = if pass == Pass::Decode { len + 1 } else { len };
    let tokens = random_tokens(batch * total, cfg.vocab_size, seed);
    let want = reference::forward(w, layers, &tokens, (batch, total));
    let mut bufs = model.buffers(batch, len, total);
    let (got, want_hidden): (Vec<f32>, Vec<f64>) = if pass == Pass::Decode {
        let split = |last: bool| -> Vec<u32> {
            tokens
                .chunks(total)
                .flat_map(|s| if last { &s[len..] } else { &s[..len] })
                .copied()
                .collect()
        };
        model.forward(&mut bufs, &split(false), (len, 0), layers);
        model.forward(&mut bufs, &split(true), (1, len), layers);
        let last_rows = want
            .hidden
            .chunks(total * d)
            .flat_map(|s| s[len * d..].to_vec())
            .collect();
        (bufs.x[..batch * d].to_vec(), last_rows)
    } else {
        model.forward(&mut bufs, &tokens, (len, 0), layers);
        (bufs.x[..batch * len * d].to_vec(), want.hidden)
    };
    let logits: Vec<f32> = bufs.logits.iter().map(|v| v.to_f32()).collect();
    let logit_err = if cfg.family.is_decoder() {
        rel_frobenius(&logits, &want.logits)
    } else {
        0.0
    };
    rel_frobenius(&got, &want_hidden).max(logit_err)
}
