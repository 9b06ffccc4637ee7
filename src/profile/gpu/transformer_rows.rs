//! profile layer: encoder rows on a GPU adapter — the pass verified against the f64
//! reference at a small shape before anything is timed (a wrong pass gets a row with
//! `correct: false` and no timing), then one timed row per (seq_len, batch) with
//! buffers and bindings built once for it, each projection shape on its fastest
//! verified GEMM variant ([`super::gemm_tune`]), GPU timestamps where the device has
//! them.

use crate::profile::cpu::transformer_rows::{
    SweepPlan, VERIFY_ALL_LAYERS_MAX_PARAMS, VERIFY_BATCH, VERIFY_LEN, base_row, tolerance,
};
use std::collections::HashMap;

use crate::profile::gpu::buffers::verify_gemm;
use crate::profile::gpu::gemm_tune::{self, ProjectionChoice, ProjectionKey, ProjectionTuner};
use crate::profile::gpu::kernels::{GemmKernel, Variant};
use crate::profile::gpu::op_timer::OpProfiler;
use crate::profile::gpu::timer::Bench;
use crate::profile::gpu::transformer::{EncoderPlan, GemmChoice, GpuEncoder, ProjectionStep};
use crate::profile::reference::{Epilogue, Rng, rel_frobenius};
use crate::profile::report::ResultRow;
use crate::profile::stats::measure;
use crate::profile::workloads::transformer::accounting as acc;
use crate::profile::workloads::transformer::op_time::median_ms;
use crate::profile::workloads::transformer::ops::op_times;
use crate::profile::workloads::transformer::reference;
use crate::profile::workloads::transformer::weights::{self, RunWeights, Weights, random_tokens};
use crate::profile::workloads::transformer::{Pass, TransformerConfig};
use crate::profile::{Precision, ProfileError};

/// GEMM variants [`pick_variant`] tries, in order; the first that verifies is the one
/// variant of the decoder pass (and the encoder's untuned baseline).
pub const CANDIDATES: [Variant; 3] = [
    Variant::Reg { tm: 4, tn: 4 },
    Variant::Tiled,
    Variant::Naive,
];

/// GEMM variants the encoder's projections are tuned over, in order; the first is
/// [`pick_variant`]'s first. Naive is left out: on lavapipe it is ~100x slower than
/// register blocking, and even one pruned run of it at a bert-base shape takes seconds.
pub const TUNED: [Variant; 4] = [
    Variant::Reg { tm: 4, tn: 4 },
    Variant::Reg { tm: 8, tn: 8 },
    Variant::Reg { tm: 16, tn: 16 },
    Variant::Tiled,
];

/// The row's variant name for a pass whose projections ran on `v`.
pub fn variant_name(v: Variant) -> String {
    format!("gemm-{}+flash-attn", v.name())
}

/// The distinct variants of `steps`, in pass order, joined by `/`.
pub fn variants_of(steps: &[ProjectionStep]) -> String {
    let mut names: Vec<String> = Vec::new();
    for s in steps {
        let n = s.variant.name();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names.join("/")
}

/// A plan's projections after tuning: the choice applied and each shape's record.
pub struct TunedPlan {
    /// The variant of each projection's (N, K).
    pub choice: GemmChoice,
    /// Each distinct projection shape's key and choice, in pass order.
    pub shapes: Vec<(ProjectionKey, ProjectionChoice)>,
}

/// Puts every projection shape of `plan` on its fastest verified variant among
/// `model`'s kernels: tuned by `tuner` on the plan's own operands the first time a key
/// is seen, the recorded choice after that.
pub fn tune_plan(
    bench: Bench<'_>,
    model: &GpuEncoder,
    plan: &mut EncoderPlan,
    tuner: &ProjectionTuner,
) -> Result<TunedPlan, ProfileError> {
    let mut choice = GemmChoice::new();
    let mut shapes = Vec::new();
    for step in plan.projections(model) {
        let (_, n, k) = step.shape;
        if choice.contains_key(&(n, k)) {
            continue;
        }
        let key = ProjectionKey::new(bench, model.precision(), step.shape, step.bias);
        let ops = plan.operands((n, k)).ok_or_else(|| {
            ProfileError::Invalid(format!("the encoder plan has no {n}x{k} projection"))
        })?;
        let c = tuner.choose(bench, model.kernels(), &key, ops)?;
        choice.insert((n, k), c.variant);
        shapes.push((key, c));
    }
    plan.assign(model, &choice)?;
    Ok(TunedPlan { choice, shapes })
}

/// A [`GemmChoice`] as a hashable list.
type ChoiceId = Vec<((usize, usize), Variant)>;

/// The whole-pass check of an encoder at [`VERIFY_BATCH`] × [`VERIFY_LEN`], run once
/// per variant assignment: the plan, its tokens and the f64 reference built once.
pub struct PassCheck {
    plan: EncoderPlan,
    want: Vec<f64>,
    errors: HashMap<ChoiceId, f64>,
}

impl PassCheck {
    /// Binds the check plan of `model` and computes the reference over `w`.
    pub fn new(
        bench: Bench<'_>,
        model: &GpuEncoder,
        w: &Weights,
        seed: u64,
    ) -> Result<Self, ProfileError> {
        let cfg = model.config();
        let len = VERIFY_LEN.min(cfg.max_positions).max(1);
        let plan = model.plan(
            bench.ctx,
            bench.layout,
            (VERIFY_BATCH, len),
            verify_layers(cfg),
        )?;
        let tokens = random_tokens(plan.batch * plan.seq_len, cfg.vocab_size, seed);
        plan.write_tokens(bench.ctx, &tokens)?;
        let want = reference::forward(w, plan.layers, &tokens, (plan.batch, plan.seq_len));
        Ok(PassCheck {
            plan,
            want: want.hidden,
            errors: HashMap::new(),
        })
    }

    /// The relative error of the pass with its projections on `choice`.
    pub fn error(
        &mut self,
        bench: Bench<'_>,
        model: &GpuEncoder,
        choice: &GemmChoice,
    ) -> Result<f64, ProfileError> {
        let id: ChoiceId = choice.iter().map(|(s, v)| (*s, *v)).collect();
        if let Some(e) = self.errors.get(&id) {
            return Ok(*e);
        }
        self.plan.assign(model, choice)?;
        let plan = &self.plan;
        bench
            .timer
            .run_pass(bench.ctx, "verifying the encoder pass", &|pass| {
                model.record(pass, plan)
            })?;
        let cfg = model.config();
        let got = plan.read_hidden(bench.ctx, cfg, model.precision(), bench.timer.timeout)?;
        let err = rel_frobenius(&got, &self.want);
        self.errors.insert(id, err);
        Ok(err)
    }
}

/// The first of [`CANDIDATES`] whose GEMM verifies at a projection shape of `cfg`.
pub fn pick_variant(
    bench: Bench<'_>,
    cfg: &TransformerConfig,
    precision: Precision,
) -> Result<Variant, ProfileError> {
    let shape = (VERIFY_BATCH * VERIFY_LEN, cfg.hidden_size, cfg.hidden_size);
    let mut last = None;
    for v in CANDIDATES {
        let kernel = match GemmKernel::new(bench.ctx, bench.layout, v, precision) {
            Ok(k) => k,
            Err(e @ ProfileError::ShaderCompile { .. }) => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let err = verify_gemm(
            bench.ctx,
            bench.layout,
            &kernel,
            shape,
            Epilogue::Bias,
            bench.timer.timeout,
        )?;
        if err <= tolerance(precision) {
            return Ok(v);
        }
    }
    Err(last.unwrap_or_else(|| ProfileError::Invalid("no GEMM variant verified".into())))
}

/// Blocks the check runs: all of them, or the first for models over
/// [`VERIFY_ALL_LAYERS_MAX_PARAMS`] block parameters (as on the CPU).
pub fn verify_layers(cfg: &TransformerConfig) -> usize {
    if cfg.num_layers as u64 * acc::layer_params(cfg) <= VERIFY_ALL_LAYERS_MAX_PARAMS {
        cfg.num_layers
    } else {
        1
    }
}

/// Runs `model` once at [`VERIFY_BATCH`] × [`VERIFY_LEN`] and returns the relative
/// Frobenius error of its hidden states against the f64 reference over `w` (the
/// weights the model is meant to hold).
pub fn verify(
    bench: Bench<'_>,
    model: &GpuEncoder,
    w: &Weights,
    seed: u64,
) -> Result<f64, ProfileError> {
    let cfg = model.config();
    let len = VERIFY_LEN.min(cfg.max_positions).max(1);
    let layers = verify_layers(cfg);
    let plan = model.plan(bench.ctx, bench.layout, (VERIFY_BATCH, len), layers)?;
    verify_plan(bench, model, &plan, w, seed)
}

/// [`verify`] on an existing plan (tests corrupt its buffers first).
pub fn verify_plan(
    bench: Bench<'_>,
    model: &GpuEncoder,
    plan: &EncoderPlan,
    w: &Weights,
    seed: u64,
) -> Result<f64, ProfileError> {
    let cfg = model.config();
    let tokens = random_tokens(plan.batch * plan.seq_len, cfg.vocab_size, seed);
    plan.write_tokens(bench.ctx, &tokens)?;
    bench
        .timer
        .run_pass(bench.ctx, "verifying the encoder pass", &|pass| {
            model.record(pass, plan)
        })?;
    let got = plan.read_hidden(bench.ctx, cfg, model.precision(), bench.timer.timeout)?;
    let want = reference::forward(w, plan.layers, &tokens, (plan.batch, plan.seq_len));
    Ok(rel_frobenius(&got, &want.hidden))
}

/// Verifies then times every (seq_len, batch) of encoder `cfg` at `precision` on the
/// bench's device, projections tuned by the session's tuner; `on_row` hears of each
/// row as it is done.
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
    let RunWeights { weights, label } = weights::for_run(cfg, precision, plan.weights, seed)?;
    let model = GpuEncoder::upload_with(ctx, bench.layout, &weights, precision, &TUNED)?;
    let mut check = PassCheck::new(bench, &model, &weights, seed)?;
    drop(weights);
    let mut rows = Vec::new();
    for &len in plan.seq_lens {
        for &batch in plan.batches {
            if cancelled() {
                return Ok(rows);
            }
            let mut row = base_row(&ctx.name, cfg, precision, Pass::Encoder, (len, batch));
            row.weights = Some(label.clone());
            let mut pass = model.plan(ctx, bench.layout, (batch, len), cfg.num_layers)?;
            let tuned = tune_plan(bench, &model, &mut pass, tuner)?;
            let err = check.error(bench, &model, &tuned.choice)?;
            let steps = pass.projections(&model);
            row.variant = format!("gemm-{}+flash-attn", variants_of(&steps));
            row.rel_error = Some(err);
            row.correct = err <= tolerance(precision);
            row.chosen = row.correct;
            if row.correct {
                time_row(bench, &model, &pass, &mut row, (len, batch))?;
                name_variants(&mut row, &steps);
            }
            on_row(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Each projection op of `row` named with the variants its steps ran on.
pub fn name_variants(row: &mut ResultRow, steps: &[ProjectionStep]) {
    for op in &mut row.ops {
        let of_op: Vec<ProjectionStep> = steps
            .iter()
            .filter(|s| s.op.name() == op.name)
            .copied()
            .collect();
        if !of_op.is_empty() {
            op.variant = Some(variants_of(&of_op));
        }
    }
}

/// Times the whole pass at (len, batch) into `row`: one submission per sample.
fn time_row(
    bench: Bench<'_>,
    model: &GpuEncoder,
    plan: &EncoderPlan,
    row: &mut ResultRow,
    (len, batch): (usize, usize),
) -> Result<(), ProfileError> {
    let cfg = model.config();
    plan.write_tokens(
        bench.ctx,
        &random_tokens(batch * len, cfg.vocab_size, len as u64),
    )?;
    // Where the time goes: after each timed pass, one separate run that times each step
    // on its own (never inside the row's samples), so both see the same conditions.
    let profiler = OpProfiler::new(bench.ctx, plan.op_kinds())?;
    let mut op_samples = Vec::new();
    let t = measure(bench.timer.method(), bench.budget, || {
        let r = bench
            .timer
            .run_pass(bench.ctx, "the encoder pass", &|pass| {
                model.record(pass, plan)
            })?;
        op_samples.push(profiler.sample(bench.ctx, bench.timer, &|pass, i| {
            model.record_step(pass, plan, i)
        })?);
        Ok(r.gpu_ms.unwrap_or(r.wall_ms))
    })?;
    if t.median_ms > 0.0 {
        row.items_per_s = Some(batch as f64 / (t.median_ms / 1e3));
    }
    let e = row.precision.bytes_per_element();
    let timed = op_samples.get(bench.budget.warmup..).unwrap_or_default();
    row.ops = op_times(cfg, Pass::Encoder, (batch, len), e, &median_ms(timed));
    let flops = acc::flops_per_item(cfg, Pass::Encoder, len) * batch as f64;
    row.set_timing_with(
        t,
        flops,
        acc::bytes_per_pass(cfg, Pass::Encoder, (batch, len), e),
    );
    Ok(())
}
