//! profile layer: the GPU MLP batch sweep — verify every candidate kernel on the whole
//! model, then pick and time the fastest per batch size.

use crate::profile::ProfileError;
use crate::profile::gpu::kernels::GemmKernel;
use crate::profile::gpu::timer::Bench;
use crate::profile::gpu::{self, GpuContext};
use crate::profile::report::ResultRow;
use crate::profile::stats::{SamplingBudget, Timing, measure, summarize};
use crate::profile::workloads::mlp::{MlpBatch, MlpModel};

/// Sweeps `batches` for `model`. Every candidate kernel is first verified on the whole
/// forward pass at the smallest batch, capped at 8 (a wrong one gets a row with `correct: false` and
/// is never timed). At each batch the correct candidates are timed quickly (skipping any
/// whose time scaled from the previous batch is over 3× the best estimate); the fastest
/// is then measured in full and marked `chosen`; the quick rows of the others are kept
/// (best of up to two runs, reported as one sample) so the report shows what the choice gained.
pub fn sweep(
    bench: Bench<'_>,
    model: &MlpModel,
    kernels: &[GemmKernel],
    batches: &[usize],
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<ResultRow>, ProfileError> {
    let (mut rows, mut candidates) = verify(bench, model, kernels, batches)?;
    for &b in batches {
        if cancelled() {
            break;
        }
        let bound = model.bind(bench.ctx, bench.layout, b);
        let singles = quick_times(bench, &bound, &mut candidates, b)?;
        let Some(&(win, _)) = singles.iter().min_by(|x, y| x.1.total_cmp(&y.1)) else {
            continue;
        };
        for &(i, ms) in &singles {
            let c = &candidates[i];
            let t = if i == win {
                // Already warm from the quick pick.
                let warm = SamplingBudget {
                    warmup: 0,
                    ..*bench.budget
                };
                let t = measure(bench.timer.method(), &warm, || {
                    bound.run(bench.ctx, bench.timer, c.kernel)
                })?;
                progress(&format!(
                    "{} {} batch {b}: {} {:.3} ms (cv {:.3})",
                    model.preset.workload(),
                    model.precision.name(),
                    c.kernel.variant.name(),
                    t.median_ms,
                    t.cv
                ));
                t
            } else {
                summarize(bench.timer.method(), &[ms], bench.budget.target_cv)
            };
            rows.push(timed_row(bench.ctx, model, c, b, t, i == win));
        }
    }
    Ok(rows)
}

/// A kernel that passed the whole-model check, and its last quick time.
struct Candidate<'k> {
    kernel: &'k GemmKernel,
    rel_error: f64,
    /// (batch, ms) of the last quick run; ∞ ms when it hung.
    last: Option<(usize, f64)>,
}

/// Checks every kernel on the whole forward pass at the smallest batch (capped at 8):
/// the rows of the wrong or unverifiable ones, and the correct candidates.
fn verify<'k>(
    bench: Bench<'_>,
    model: &MlpModel,
    kernels: &'k [GemmKernel],
    batches: &[usize],
) -> Result<(Vec<ResultRow>, Vec<Candidate<'k>>), ProfileError> {
    let Bench { ctx, timer, .. } = bench;
    // Verify at a small batch: the f64 reference is O(batch) on the CPU, and odd-size
    // edges are covered by the GEMM checks.
    let check_batch = batches.iter().copied().min().unwrap_or(1).min(8);
    let check = model.bind(ctx, bench.layout, check_batch);
    let want = model.reference(&check.input, check_batch);
    let mut rows = Vec::new();
    let mut candidates = Vec::new();
    for kernel in kernels {
        let err = match check.error_against(ctx, timer, kernel, &want) {
            Ok(err) => err,
            Err(e @ ProfileError::Hung { .. }) => {
                gpu::wait_all(&ctx.device, timer.timeout * 10, "draining a slow pass")?;
                let mut row = mlp_row(ctx, model, kernel, check_batch);
                row.error = Some(format!("not verified: {e}"));
                rows.push(row);
                continue;
            }
            Err(e) => return Err(e),
        };
        if err <= model.precision.tolerance() {
            candidates.push(Candidate {
                kernel,
                rel_error: err,
                last: None,
            });
        } else {
            let mut row = mlp_row(ctx, model, kernel, check_batch);
            row.rel_error = Some(err);
            rows.push(row);
        }
    }
    Ok((rows, candidates))
}

/// Times each promising candidate once or twice at batch `b` (skipping any whose time
/// scaled from its last batch is over 3× the best estimate, or over half the hang
/// timeout) and records the times in `candidates`. Returns (candidate, ms) pairs.
fn quick_times(
    bench: Bench<'_>,
    bound: &MlpBatch,
    candidates: &mut [Candidate<'_>],
    b: usize,
) -> Result<Vec<(usize, f64)>, ProfileError> {
    let Bench { ctx, timer, .. } = bench;
    let estimate = |last: Option<(usize, f64)>| last.map(|(lb, ms)| ms * b as f64 / lb as f64);
    let best_estimate = candidates
        .iter()
        .filter_map(|c| estimate(c.last))
        .fold(f64::INFINITY, f64::min);
    // Never start a pass expected to take more than half the hang timeout.
    let limit_ms = timer.timeout.as_secs_f64() * 1e3 / 2.0;
    let mut singles = Vec::new();
    let mut too_slow = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        if estimate(c.last).is_some_and(|e| e > 3.0 * best_estimate || e > limit_ms) {
            continue;
        }
        // The first run doubles as warm-up (driver compile, first touch); a second
        // run, when the first was short, guards against a noisy neighbour.
        let first = match bound.run(ctx, timer, c.kernel) {
            Ok(ms) => ms,
            Err(ProfileError::Hung { .. }) => {
                // Too slow at this size: let the device drain, then drop it.
                gpu::wait_all(&ctx.device, timer.timeout * 10, "draining a slow pass")?;
                too_slow.push(i);
                continue;
            }
            Err(e) => return Err(e),
        };
        let ms = if first < 1000.0 {
            first.min(bound.run(ctx, timer, c.kernel)?)
        } else {
            first
        };
        singles.push((i, ms));
    }
    for i in too_slow {
        candidates[i].last = Some((b, f64::INFINITY));
    }
    for &(i, ms) in &singles {
        candidates[i].last = Some((b, ms));
    }
    Ok(singles)
}

/// The report row of candidate `c` at batch `b` with timing `t`.
fn timed_row(
    ctx: &GpuContext,
    model: &MlpModel,
    c: &Candidate<'_>,
    b: usize,
    t: Timing,
    chosen: bool,
) -> ResultRow {
    let pre = model.preset;
    let mut row = mlp_row(ctx, model, c.kernel, b);
    row.rel_error = Some(c.rel_error);
    row.correct = true;
    row.chosen = chosen;
    let bytes = (model.upload_bytes
        + 2 * (b * pre.d_model * model.precision.bytes_per_element()) as u64)
        as f64;
    if t.median_ms > 0.0 {
        row.items_per_s = Some(b as f64 / (t.median_ms / 1e3));
    }
    row.set_timing_with(t, pre.flops_per_item() * b as f64, bytes);
    row
}

fn mlp_row(ctx: &GpuContext, model: &MlpModel, kernel: &GemmKernel, batch: usize) -> ResultRow {
    let pre = model.preset;
    let variant = format!("fused-{}", kernel.variant.name());
    let mut row = ResultRow::new(
        &ctx.name,
        pre.workload(),
        model.precision,
        &variant,
        (batch, pre.d_model, pre.d_model),
    );
    row.batch = Some(batch);
    row
}
