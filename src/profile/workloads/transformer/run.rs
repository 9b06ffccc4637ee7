//! profile layer: transformer workloads inside a profile run — lengths and a weights
//! file checked up front, the CPU sweep per precision with one progress unit per row,
//! and on GPU adapters the verified encoder and decoder passes; a pass an adapter
//! cannot build gets rows saying why (never a silent skip).

use super::{Pass, TransformerConfig, checkpoint};
use crate::profile::cpu::transformer_rows::{base_row, sweep};
use crate::profile::gpu::timer::Bench;
use crate::profile::report::{ProfileReport, ResultRow};
use crate::profile::stats::SamplingBudget;
use crate::profile::workloads::Models;
use crate::profile::{Precision, ProfileError, ProfileOptions, cpu, gpu};

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
        if let Some(&s) = opts.seq_lens.iter().find(|&&s| s > c.usable_positions()) {
            return bad(format!(
                "sequence length {s} is longer than {}'s {} positions",
                c.name,
                c.usable_positions()
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

/// A weights file (`opts.weights`) belongs to exactly one transformer and nothing else
/// is measured beside it; the file's header is checked against that model now, so a
/// wrong file is refused before the run starts, not after its GPU rows.
pub fn check_weights(models: &Models, opts: &ProfileOptions) -> Result<(), ProfileError> {
    let Some(path) = &opts.weights else {
        return Ok(());
    };
    match (models.transformers.as_slice(), models.mlps.is_empty()) {
        ([cfg], true) => checkpoint::check(cfg, path),
        _ => Err(ProfileError::Invalid(format!(
            "a weights file (--weights) needs exactly one model, a transformer; got `{}`",
            opts.models.join(",")
        ))),
    }
}

/// One unsupported row per pass of `c` saying `why` (the caller counts the units).
fn refuse(
    device: &str,
    c: &TransformerConfig,
    precision: Precision,
    opts: &ProfileOptions,
    why: &str,
    report: &mut ProfileReport,
) {
    let plan = opts.sweep_plan();
    for &pass in Pass::for_family(c.family) {
        let len = plan.lens(pass).first().copied().unwrap_or(1);
        let batch = opts.batches.first().copied().unwrap_or(1);
        let mut row = base_row(device, c, precision, pass, (len, batch));
        // No kernel ran: the CPU path's variant name would say otherwise.
        row.variant = "-".into();
        report.results.push(row.unsupported(why));
    }
}

/// Unsupported rows saying `why` for every transformer of the run at `precision` on
/// `device` (e.g. f16 on an adapter without SHADER_F16); the caller counts the units.
pub fn refuse_all(
    device: &str,
    cfgs: &[TransformerConfig],
    precision: Precision,
    opts: &ProfileOptions,
    why: &str,
    report: &mut ProfileReport,
) {
    for c in cfgs {
        refuse(device, c, precision, opts, why, report);
    }
}

/// Every transformer on a GPU adapter at `precision`, encoders and decoders, verified
/// then timed (one progress unit per row; a pass that cannot be built on this adapter
/// is a row per pass saying why).
pub fn gpu(
    bench: Bench<'_>,
    cfgs: &[TransformerConfig],
    precision: Precision,
    opts: &ProfileOptions,
    report: &mut ProfileReport,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ProfileError> {
    let device = bench.ctx.name.clone();
    let plan = opts.sweep_plan();
    for c in cfgs {
        if opts.cancelled() {
            return Ok(());
        }
        let context = if c.family.is_decoder() {
            format!(", context {:?}", plan.context_lens)
        } else {
            String::new()
        };
        let step = format!(
            "{device}: {} {} (seq {:?}{context}, batches {:?})",
            c.name,
            precision.name(),
            plan.seq_lens,
            plan.batches
        );
        opts.meter.begin(&step);
        progress(&step);
        let end = opts.meter.done_units() + plan.rows(c);
        let sweep = if c.family.is_decoder() {
            gpu::decoder_rows::sweep
        } else {
            gpu::transformer_rows::sweep
        };
        let swept = sweep(
            bench,
            c,
            precision,
            plan,
            &|| opts.cancelled(),
            &mut |row| {
                opts.meter.advance(1);
                progress(&row_line(&device, row, precision));
            },
        );
        match swept {
            Ok(rows) => {
                report.results.extend(rows);
                opts.meter.reach(end);
            }
            Err(e @ (ProfileError::DeviceLost(_) | ProfileError::Hung { .. })) => return Err(e),
            Err(e) => {
                refuse(&device, c, precision, opts, &e.to_string(), report);
                opts.meter.reach(end);
            }
        }
    }
    Ok(())
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
                progress(&row_line("cpu", row, precision));
            },
        )?;
        report.results.extend(rows);
    }
    Ok(())
}

/// The progress line of one measured row: device, workload, precision, length, batch
/// and the median.
fn row_line(device: &str, row: &ResultRow, precision: Precision) -> String {
    let ms = row
        .timing
        .as_ref()
        .map_or("-".into(), |t| format!("{:.3} ms", t.median_ms));
    let len = row.seq_len.or(row.context_len).unwrap_or(0);
    format!(
        "{device}: {} {} len {len} batch {}: {ms}",
        row.workload,
        precision.name(),
        row.batch.unwrap_or(0)
    )
}
