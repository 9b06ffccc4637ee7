//! Model layer: where an offer's L(b) comes from without per-operator rows — the
//! catalog accelerator a plan's `hardware.name` names, the plan's L(b) on it scaled to
//! another accelerator by the catalog's FLOP-rate and bandwidth ratios, and whether an
//! LLM (weights plus one sequence's KV) fits an accelerator's memory.

use super::catalog::{Accelerator, Catalog};
use super::hardware_sweep::{CurvePoint, OfferCurve};
use super::projection::check_fits;
use super::{Plan, Precision, Source};

/// Catalog accelerator a plan's `hardware.name` names: the catalog name's words
/// (split at spaces, `-`, `_`, `(`, `)`, `/`, `,`) appearing in a row among the plan
/// name's, case ignored; the longest such name wins ("L4 (g6.xlarge)" is L4, "A100
/// 40GB (a2-highgpu-1g)" is A100-40GB, "RTX 4090 workstation" is RTX-4090).
pub fn stated_accelerator<'a>(
    catalog: &'a Catalog,
    hardware_name: &str,
) -> Option<&'a Accelerator> {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| c.is_whitespace() || "-_()/,".contains(c))
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect()
    };
    let plan_words = words(hardware_name);
    catalog
        .accelerators
        .iter()
        .filter_map(|a| {
            let w = words(&a.name);
            let found = !w.is_empty() && plan_words.windows(w.len()).any(|win| win == w.as_slice());
            found.then_some((w.len(), a))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, a)| a)
}

/// The precision a plan's L(b) is at: the profile's, the LLM's, else FP32.
pub fn plan_precision(plan: &Plan) -> Precision {
    match (&plan.service.source, &plan.service.llm) {
        (Source::Profile { precision, .. }, _) => *precision,
        (_, Some(llm)) => llm.precision,
        _ => Precision::F32,
    }
}

/// Does the plan's LLM (weights plus one whole sequence's KV) fit `acc`? `Ok` for a
/// plan without an LLM or without a known footprint.
pub fn llm_fits(plan: &Plan, acc: &Accelerator) -> Result<(), String> {
    let (Some(llm), Some(tokens)) = (&plan.service.llm, &plan.workload.tokens) else {
        return Ok(());
    };
    let Some(fp) = llm.footprint else {
        return Ok(());
    };
    let seq_tokens = tokens.prompt_mean + tokens.output_mean;
    check_fits(acc, fp.weights_bytes, fp.kv_bytes_per_token * seq_tokens)
        .map_err(|e| format!("does not fit: {e} for {} and one sequence's KV", llm.model))
}

/// Speed-ups of `target` over `stated` at `precision`: (FLOP rate, bandwidth).
pub(super) fn speedups(
    stated: &Accelerator,
    target: &Accelerator,
    precision: Precision,
) -> Result<(f64, f64), String> {
    let rate = |a: &Accelerator| {
        a.tflops(precision).ok_or_else(|| {
            format!(
                "{}: the catalog has no verified {} FLOP rate",
                a.name,
                precision.name()
            )
        })
    };
    let compute = rate(target)? / rate(stated)?;
    let memory = target.memory_bandwidth_gbytes_per_s / stated.memory_bandwidth_gbytes_per_s;
    Ok((compute, memory))
}

/// The plan's L(b) on `stated` (its `speed_vs_profiled` applied) carried to `target` by
/// the catalog's figures. Without per-operator rows the bound is unknown, so the
/// projection takes the lesser of the FLOP-rate and bandwidth speed-ups and the band
/// runs to the greater.
pub fn scaled_curve(
    plan: &Plan,
    stated: &Accelerator,
    target: &Accelerator,
) -> Result<OfferCurve, String> {
    llm_fits(plan, target)?;
    let precision = plan_precision(plan);
    let (compute, memory) = speedups(stated, target, precision)?;
    let (slow, fast) = (compute.min(memory), compute.max(memory));
    let speed = plan.hardware.speed_vs_profiled;
    let points = plan
        .service
        .batch_latency_ms
        .iter()
        .map(|&(batch, ms)| CurvePoint {
            batch,
            latency_ms: ms / speed / slow,
            low_ms: ms / speed / fast,
            high_ms: ms / speed / slow,
        })
        .collect();
    Ok(OfferCurve {
        source: format!(
            "scaled from {} by catalog {} FLOP rate x{compute:.3}, bandwidth x{memory:.3}",
            stated.name,
            precision.name()
        ),
        points,
        bound_by: Vec::new(),
    })
}

#[cfg(test)]
#[path = "hardware_scale_tests.rs"]
mod tests;
