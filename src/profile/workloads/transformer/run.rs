//! profile layer: transformer workloads inside a profile run — lengths checked up
//! front, the CPU sweep per precision with one progress unit per row, and on GPU
//! adapters a row that says the GPU forward pass is not built yet (never a silent skip).

use super::{Pass, TransformerConfig};
use crate::profile::cpu::transformer_rows::{base_row, sweep};
use crate::profile::report::ProfileReport;
use crate::profile::stats::SamplingBudget;
use crate::profile::{Precision, ProfileError, ProfileOptions, cpu};

/// Why GPU adapters have no transformer rows yet.
pub const GPU_NOT_BUILT: &str = "the GPU transformer forward pass is not built yet";

/// Every length fits every model: 1 ≤ seq_len ≤ positions, and a decode step's
/// position (context_len) inside them too.
pub fn check_lengths(
    cfgs: &[TransformerConfig],
    opts: &ProfileOptions,
) -> Result<(), ProfileError> {
    let bad = |m: String| Err(ProfileError::Invalid(m));
    if cfgs.is_empty() {
        return Ok(());
    }
    if opts.seq_lens.is_empty() || opts.seq_lens.contains(&0) {
        return bad("sequence lengths (--seq-len) must be given and at least 1".into());
    }
    let decoders = cfgs.iter().any(|c| c.family.is_decoder());
    if decoders && (opts.context_lens.is_empty() || opts.context_lens.contains(&0)) {
        return bad("context lengths (--context-len) must be given and at least 1".into());
    }
    for c in cfgs {
        if let Some(&s) = opts.seq_lens.iter().find(|&&s| s > c.max_positions) {
            return bad(format!(
                "sequence length {s} is longer than {}'s {} positions",
                c.name, c.max_positions
            ));
        }
        let ctx = opts.context_lens.iter().find(|&&n| n + 1 > c.max_positions);
        if let (true, Some(&n)) = (c.family.is_decoder(), ctx) {
            return bad(format!(
                "context length {n} leaves no position for a decoded token in {}'s {} positions",
                c.name, c.max_positions
            ));
        }
    }
    Ok(())
}

/// One unsupported row per (model, pass) on a GPU adapter, and the units they stand for.
pub fn gpu_not_built(
    device: &str,
    cfgs: &[TransformerConfig],
    precision: Precision,
    opts: &ProfileOptions,
    report: &mut ProfileReport,
) {
    let plan = opts.sweep_plan();
    for c in cfgs {
        for &pass in Pass::for_family(c.family) {
            let len = plan.lens(pass).first().copied().unwrap_or(1);
            let batch = opts.batches.first().copied().unwrap_or(1);
            let row = base_row(device, c, precision, pass, (len, batch));
            report.results.push(row.unsupported(GPU_NOT_BUILT));
        }
        opts.meter.advance(plan.rows(c));
    }
}

/// The CPU sweep of every transformer at `precision`, one progress unit per row.
pub fn cpu(
    cfgs: &[TransformerConfig],
    precision: Precision,
    (opts, budget): (&ProfileOptions, &SamplingBudget),
    report: &mut ProfileReport,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ProfileError> {
    let plan = opts.sweep_plan();
    for c in cfgs {
        if opts.cancelled() {
            return Ok(());
        }
        if let Some(why) = cpu::why_unsupported(precision) {
            for &pass in Pass::for_family(c.family) {
                let len = plan.lens(pass).first().copied().unwrap_or(1);
                let batch = opts.batches.first().copied().unwrap_or(1);
                let row = base_row("cpu", c, precision, pass, (len, batch));
                report.results.push(row.unsupported(why.clone()));
            }
            opts.meter.advance(plan.rows(c));
            continue;
        }
        let step = format!(
            "cpu: {} {} (seq {:?}, context {:?}, batches {:?})",
            c.name,
            precision.name(),
            plan.seq_lens,
            plan.context_lens,
            plan.batches
        );
        opts.meter.begin(&step);
        progress(&step);
        let rows = sweep(
            c,
            precision,
            plan,
            budget,
            &|| opts.cancelled(),
            &mut |row| {
                opts.meter.advance(1);
                let ms = row
                    .timing
                    .as_ref()
                    .map_or("-".into(), |t| format!("{:.3} ms", t.median_ms));
                let len = row.seq_len.or(row.context_len).unwrap_or(0);
                progress(&format!(
                    "cpu: {} {} len {len} batch {}: {ms}",
                    row.workload,
                    precision.name(),
                    row.batch.unwrap_or(0)
                ));
            },
        )?;
        report.results.extend(rows);
    }
    Ok(())
}
