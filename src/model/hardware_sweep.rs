//! Model layer: the optimiser choosing hardware — one plan swept over catalog offers.
//! Each offer gets the plan's service carried to its accelerator (a projected L(b)
//! handed in by the caller, or the plan's L(b) scaled by catalog figures), its price
//! per accelerator, and the usual policy × servers × batch search; the best per offer,
//! the recommendation across offers and the Pareto frontier across them come back.

use serde::Serialize;

use super::catalog::{Accelerator, Catalog, Offer};
use super::evaluation::PolicyKind;
use super::objective::{SweepOptions, optimize};
use super::pareto::frontier_indices;
use super::projection::check_fits;
use super::{Evaluation, Plan, Precision, Source};

/// One point of an offer's L(b): the projected time of a batch and its band.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Batch size.
    pub batch: u32,
    /// Projected ms to serve the batch on one accelerator of the offer.
    pub latency_ms: f64,
    /// Low end of the band, ms.
    pub low_ms: f64,
    /// High end of the band, ms.
    pub high_ms: f64,
}

/// An offer's service curve and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OfferCurve {
    /// How L(b) was obtained (`projected from cpu f32 encoder:tiny-bert rows`, or
    /// `scaled from L4 by catalog figures`).
    pub source: String,
    /// The curve by increasing batch.
    pub points: Vec<CurvePoint>,
    /// Operators that bound the time (with per-operator rows), longest first.
    pub bound_by: Vec<String>,
}

/// An offer to sweep: the offer, its accelerator, and its curve or why it has none.
#[derive(Clone, Debug)]
pub struct OfferCase {
    /// The catalog offer.
    pub offer: Offer,
    /// Its accelerator.
    pub accelerator: Accelerator,
    /// Its L(b), or why the plan cannot run there (does not fit, no FLOP rate).
    pub curve: Result<OfferCurve, String>,
}

/// The sweep's answer for one offer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OfferResult {
    /// `provider instance_type`.
    pub offer: String,
    /// Catalog accelerator.
    pub accelerator: String,
    /// Accelerators in one instance (each serves one replica).
    pub accelerators_per_instance: u32,
    /// On-demand price of the instance, USD per hour.
    pub on_demand_usd_per_hour: f64,
    /// Spot price of the instance, where the catalog has one.
    pub spot_usd_per_hour: Option<f64>,
    /// What one server (one accelerator's share of the instance) costs on demand.
    pub server_usd_per_hour: f64,
    /// The projected L(b) and its source; `None` when the plan cannot run there.
    pub curve: Option<OfferCurve>,
    /// Batch the projected latency is given at: the best candidate's (when a curve
    /// point has it), else the curve's first.
    pub at_batch: Option<u32>,
    /// Projected L(at_batch), ms.
    pub projected_latency_ms: Option<f64>,
    /// Its band, ms (low, high).
    pub band_ms: Option<(f64, f64)>,
    /// The best feasible candidate on this offer.
    pub best: Option<Evaluation>,
    /// Candidates evaluated on this offer.
    pub evaluated: usize,
    /// Why no candidate is feasible here (the model does not fit, the SLO is missed).
    pub reason: Option<String>,
}

/// A Pareto point across offers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParetoPoint {
    /// The offer it runs on.
    pub offer: String,
    /// The candidate.
    pub evaluation: Evaluation,
}

/// Every offer's result, the recommendation and the frontier across offers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HardwareSweep {
    /// Per offer, in the order given.
    pub offers: Vec<OfferResult>,
    /// Index into `offers` of the lowest objective.
    pub recommendation: Option<usize>,
    /// Feasible candidates of every offer not beaten on both cost and latency.
    pub pareto: Vec<ParetoPoint>,
    /// Candidates evaluated over all offers.
    pub evaluated: usize,
}

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
fn speedups(
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

/// The plan as it runs on `case`: the offer's price per accelerator, the curve as its
/// L(b) (an LLM's prefill terms scaled by the FLOP-rate speed-up and its decode terms
/// by the bandwidth speed-up, memory the accelerator's), no electricity bill.
fn offer_plan(
    plan: &Plan,
    case: &OfferCase,
    curve: &OfferCurve,
    stated: Option<&Accelerator>,
) -> Plan {
    let mut p = plan.clone();
    let n = f64::from(case.offer.accelerators_per_instance.max(1));
    let on_demand = case.offer.on_demand_usd_per_hour / n;
    let old_speed = p.hardware.speed_vs_profiled;
    p.hardware.name = case.offer.label();
    p.hardware.on_demand_usd_per_hour = on_demand;
    p.hardware.spot_usd_per_hour = case.offer.spot_usd_per_hour.map_or(on_demand, |s| s / n);
    p.hardware.speed_vs_profiled = 1.0;
    p.hardware.power_w = case.accelerator.tdp_w.unwrap_or(p.hardware.power_w);
    p.energy = None;
    p.service.batch_latency_ms = curve
        .points
        .iter()
        .map(|c| (c.batch, c.latency_ms))
        .collect();
    if let Some(llm) = &mut p.service.llm {
        let precision = llm.precision;
        let (compute, memory) = stated
            .and_then(|s| speedups(s, &case.accelerator, precision).ok())
            .unwrap_or((1.0, 1.0));
        let it = &mut llm.iteration;
        it.prefill_base_ms /= old_speed * compute;
        it.prefill_ms_per_token /= old_speed * compute;
        it.decode_base_ms /= old_speed * memory;
        it.decode_ms_per_seq /= old_speed * memory;
        it.decode_ms_per_context_token /= old_speed * memory;
        if let Some(gb) = case.accelerator.memory_gb {
            llm.gpu_memory_gb = gb;
        }
    }
    p
}

/// Sweeps every case: policy × servers × batch on each offer (spot mixes only where the
/// offer has a spot price), the best per offer, the recommendation and the frontier.
/// `stated` is the accelerator the plan's own figures are for (an LLM's iteration time
/// is scaled from it).
pub fn sweep(
    plan: &Plan,
    options: &SweepOptions,
    cases: &[OfferCase],
    stated: Option<&Accelerator>,
) -> HardwareSweep {
    let mut offers = Vec::with_capacity(cases.len());
    let mut frontier: Vec<(usize, Evaluation)> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let (result, pareto) = sweep_offer(plan, options, case, stated);
        frontier.extend(pareto.into_iter().map(|e| (i, e)));
        offers.push(result);
    }
    let recommendation = offers
        .iter()
        .enumerate()
        .filter_map(|(i, o)| Some((i, o.best.as_ref()?.objective?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i);
    let evals: Vec<Evaluation> = frontier.iter().map(|(_, e)| e.clone()).collect();
    let pareto = frontier_indices(&evals, plan.objective.metric)
        .into_iter()
        .map(|k| ParetoPoint {
            offer: offers[frontier[k].0].offer.clone(),
            evaluation: frontier[k].1.clone(),
        })
        .collect();
    HardwareSweep {
        evaluated: offers.iter().map(|o| o.evaluated).sum(),
        offers,
        recommendation,
        pareto,
    }
}

/// One offer: its result and its own Pareto points.
fn sweep_offer(
    plan: &Plan,
    options: &SweepOptions,
    case: &OfferCase,
    stated: Option<&Accelerator>,
) -> (OfferResult, Vec<Evaluation>) {
    let n = case.offer.accelerators_per_instance.max(1);
    let mut result = OfferResult {
        offer: case.offer.label(),
        accelerator: case.accelerator.name.clone(),
        accelerators_per_instance: n,
        on_demand_usd_per_hour: case.offer.on_demand_usd_per_hour,
        spot_usd_per_hour: case.offer.spot_usd_per_hour,
        server_usd_per_hour: case.offer.on_demand_usd_per_hour / f64::from(n),
        curve: None,
        at_batch: None,
        projected_latency_ms: None,
        band_ms: None,
        best: None,
        evaluated: 0,
        reason: None,
    };
    let curve = match &case.curve {
        Ok(c) if !c.points.is_empty() => c,
        Ok(_) => {
            result.reason = Some("no L(b) points".into());
            return (result, Vec::new());
        }
        Err(why) => {
            result.reason = Some(why.clone());
            return (result, Vec::new());
        }
    };
    let p = offer_plan(plan, case, curve, stated);
    let mut opts = options.clone();
    if case.offer.spot_usd_per_hour.is_none() {
        opts.policies.retain(|k| *k != PolicyKind::SpotMix);
    }
    let optimum = match optimize(&p, &opts) {
        Ok(o) => o,
        Err(e) => {
            result.reason = Some(e.to_string());
            result.curve = Some(curve.clone());
            return (result, Vec::new());
        }
    };
    result.evaluated = optimum.evaluated;
    let at = optimum
        .best
        .as_ref()
        .and_then(|b| curve.points.iter().find(|c| c.batch == b.batch))
        .unwrap_or(&curve.points[0]);
    result.at_batch = Some(at.batch);
    result.projected_latency_ms = Some(at.latency_ms);
    result.band_ms = Some((at.low_ms, at.high_ms));
    if optimum.best.is_none() {
        result.reason = Some(format!(
            "no feasible candidate among {} evaluated (the SLO is missed or the fleet is too small)",
            optimum.evaluated
        ));
    }
    result.best = optimum.best;
    result.curve = Some(curve.clone());
    (result, optimum.pareto)
}

#[cfg(test)]
#[path = "hardware_sweep_tests.rs"]
mod tests;
