//! profile layer: the GPU MLP batch sweep — verify every candidate kernel on the whole
//! model, then pick and time the fastest per batch size.

use crate::profile::ProfileError;
use crate::profile::gpu::kernels::GemmKernel;
use crate::profile::gpu::timer::Bench;
use crate::profile::gpu::{self, GpuContext};
use crate::profile::report::ResultRow;
use crate::profile::stats::SamplingBudget;
use crate::profile::workloads::mlp::MlpModel;

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
    let Bench {
        ctx,
        layout,
        timer,
        plan,
    } = bench;
    let pre = model.preset;
    // Verify at a small batch: the f64 reference is O(batch) on the CPU, and odd-size
    // edges are covered by the GEMM checks.
    let check_batch = batches.iter().copied().min().unwrap_or(1).min(8);
    let check = model.bind(ctx, layout, check_batch);
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
            candidates.push((kernel, err, None::<(usize, f64)>));
        } else {
            let mut row = mlp_row(ctx, model, kernel, check_batch);
            row.rel_error = Some(err);
            rows.push(row);
        }
    }
    let method = timer.method();
    for &b in batches {
        if cancelled() {
            break;
        }
        let bound = model.bind(ctx, layout, b);
        let estimate = |last: Option<(usize, f64)>| last.map(|(lb, ms)| ms * b as f64 / lb as f64);
        let best_estimate = candidates
            .iter()
            .filter_map(|c| estimate(c.2))
            .fold(f64::INFINITY, f64::min);
        // Never start a pass expected to take more than half the hang timeout.
        let limit_ms = timer.timeout.as_secs_f64() * 1e3 / 2.0;
        let mut singles = Vec::new();
        let mut too_slow = Vec::new();
        for (i, (kernel, _, last)) in candidates.iter().enumerate() {
            if estimate(*last).is_some_and(|e| e > 3.0 * best_estimate || e > limit_ms) {
                continue;
            }
            // The first run doubles as warm-up (driver compile, first touch); a second
            // run, when the first was short, guards against a noisy neighbour.
            let first = match bound.run(ctx, timer, kernel) {
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
                first.min(bound.run(ctx, timer, kernel)?)
            } else {
                first
            };
            singles.push((i, ms));
        }
        for i in too_slow {
            candidates[i].2 = Some((b, f64::INFINITY));
        }
        for &(i, ms) in &singles {
            candidates[i].2 = Some((b, ms));
        }
        let Some(&(win, _)) = singles.iter().min_by(|x, y| x.1.total_cmp(&y.1)) else {
            continue;
        };
        for &(i, ms) in &singles {
            let (kernel, err, _) = candidates[i];
            let mut row = mlp_row(ctx, model, kernel, b);
            row.rel_error = Some(err);
            row.correct = true;
            let t = if i == win {
                row.chosen = true;
                // Already warm from the quick pick above.
                let warm = SamplingBudget { warmup: 0, ..*plan };
                let t = crate::profile::stats::measure(method, &warm, || {
                    bound.run(ctx, timer, kernel)
                })?;
                progress(&format!(
                    "{} {} batch {b}: {} {:.3} ms (cv {:.3})",
                    pre.workload(),
                    model.precision.name(),
                    kernel.variant.name(),
                    t.median_ms,
                    t.cv
                ));
                t
            } else {
                crate::profile::stats::summarize(method, &[ms], plan.target_cv)
            };
            let bytes = (model.upload_bytes
                + 2 * (b * pre.d_model * model.precision.bytes_per_element()) as u64)
                as f64;
            if t.median_ms > 0.0 {
                row.items_per_s = Some(b as f64 / (t.median_ms / 1e3));
            }
            row.set_timing_with(t, pre.flops_per_item() * b as f64, bytes);
            rows.push(row);
        }
    }
    Ok(rows)
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
