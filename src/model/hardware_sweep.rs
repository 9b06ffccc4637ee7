//! Model layer: the optimiser choosing hardware — one plan swept over catalog offers.
//! Each offer gets the plan's service carried to its accelerator (a projected L(b)
//! handed in by the caller, or the plan's L(b) scaled by catalog figures), its price
//! per accelerator, and the usual policy × servers × batch search; the best per offer,
//! the recommendation across offers and the Pareto frontier across them come back.

use serde::Serialize;

use super::catalog::{Accelerator, Offer};
use super::evaluation::PolicyKind;
use super::hardware_scale::speedups;
pub use super::hardware_scale::{llm_fits, plan_precision, scaled_curve, stated_accelerator};
use super::objective::{SweepOptions, optimize};
use super::pareto::frontier_indices;
use super::{Evaluation, Plan};

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
    /// Not searched: this offer is as fast or faster at every batch and no dearer, so
    /// each of its candidates beats the same candidate here.
    pub dominated_by: Option<String>,
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
    /// With a plan that routes a share to a second class: the best two-class mix.
    pub mix: Option<super::hardware_mix::MixResult>,
}

/// The plan as it runs on `case`: the offer's price per accelerator, the curve as its
/// L(b) (an LLM's per-token and per-sequence terms scaled by the FLOP-rate speed-up,
/// its weights passes and KV reads by the bandwidth speed-up, memory the
/// accelerator's), no electricity bill.
pub(super) fn offer_plan(
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
        // Each term goes with the resource that bounds it on a roofline: the base of an
        // iteration (prefill or decode) is one pass over the weights, bandwidth-bound; a
        // prompt token's and a running sequence's terms are their matmul FLOPs,
        // compute-bound; a context token's is its KV read, bandwidth-bound.
        let it = &mut llm.iteration;
        it.prefill_base_ms /= old_speed * memory;
        it.prefill_ms_per_token /= old_speed * compute;
        it.decode_base_ms /= old_speed * memory;
        it.decode_ms_per_seq /= old_speed * compute;
        it.decode_ms_per_context_token /= old_speed * memory;
        if let Some(gb) = case.accelerator.memory_gb {
            llm.gpu_memory_gb = gb;
        }
    }
    p
}

/// Does `a` dominate `b`: the same batches, as fast or faster at each, on-demand no
/// dearer per server, and a spot price no dearer wherever `b` has one? Then every
/// candidate on `b` costs at least as much and is no faster than the same one on `a`.
fn dominates(a: &OfferCase, b: &OfferCase) -> bool {
    let (Ok(ca), Ok(cb)) = (&a.curve, &b.curve) else {
        return false;
    };
    let per = |c: &OfferCase, usd: f64| usd / f64::from(c.offer.accelerators_per_instance.max(1));
    let faster = ca.points.len() == cb.points.len()
        && (ca.points.iter().zip(&cb.points))
            .all(|(x, y)| x.batch == y.batch && x.latency_ms <= y.latency_ms);
    let spot_ok = match (a.offer.spot_usd_per_hour, b.offer.spot_usd_per_hour) {
        (_, None) => true,
        (Some(sa), Some(sb)) => per(a, sa) <= per(b, sb),
        (None, Some(_)) => false,
    };
    faster
        && spot_ok
        && per(a, a.offer.on_demand_usd_per_hour) <= per(b, b.offer.on_demand_usd_per_hour)
}

/// For each case, the first other case that dominates it (of two equal, the later one
/// is dominated), whose search covers it.
fn dominated_by(cases: &[OfferCase]) -> Vec<Option<usize>> {
    (0..cases.len())
        .map(|i| {
            (0..cases.len()).find(|&j| {
                j != i
                    && dominates(&cases[j], &cases[i])
                    && (j < i || !dominates(&cases[i], &cases[j]))
            })
        })
        .collect()
}

/// Sweeps every case: policy × servers × batch on each offer (spot mixes only where the
/// offer has a spot price), the best per offer, the recommendation and the frontier. An
/// offer another dominates (as fast or faster, no dearer) is not searched: its result
/// names the one whose candidates each beat its own (not for an LLM plan). The searches run on every core.
/// `stated` is the accelerator the plan's own figures are for (an LLM's iteration time
/// is scaled from it).
pub fn sweep(
    plan: &Plan,
    options: &SweepOptions,
    cases: &[OfferCase],
    stated: Option<&Accelerator>,
) -> HardwareSweep {
    sweep_with(plan, options, cases, stated, true)
}

/// [`sweep`], with `prune` false searching every offer, dominated or not (to check the
/// pruning, and to time the search without it).
pub fn sweep_with(
    plan: &Plan,
    options: &SweepOptions,
    cases: &[OfferCase],
    stated: Option<&Accelerator>,
    prune: bool,
) -> HardwareSweep {
    // An LLM replica's speed is its iteration time and its capacity its memory, neither
    // of which L(b) orders: its offers are all searched.
    let dominated = if prune && plan.service.llm.is_none() {
        dominated_by(cases)
    } else {
        vec![None; cases.len()]
    };
    let searched: Vec<usize> = (0..cases.len())
        .filter(|&i| dominated[i].is_none())
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, searched.len().max(1));
    let share = |t: usize| {
        let mine = searched.iter().skip(t).step_by(threads);
        mine.map(|&i| {
            let (r, p) = sweep_offer(plan, options, &cases[i], stated);
            (i, r, p)
        })
        .collect::<Vec<_>>()
    };
    let mut done: Vec<(usize, OfferResult, Vec<Evaluation>)> = std::thread::scope(|scope| {
        let share = &share;
        let handles: Vec<_> = (1..threads)
            .map(|t| scope.spawn(move || share(t)))
            .collect();
        let mut all = share(0);
        for h in handles {
            // A panic in a sweep thread is a bug; re-raise it rather than hide it.
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    });
    done.sort_by_key(|d| d.0);
    let mut slots: Vec<Option<OfferResult>> = vec![None; cases.len()];
    let mut frontier: Vec<(usize, Evaluation)> = Vec::new();
    for (i, r, p) in done {
        frontier.extend(p.into_iter().map(|e| (i, e)));
        slots[i] = Some(r);
    }
    let offers: Vec<OfferResult> = (0..cases.len())
        .map(|i| match (slots[i].take(), dominated[i]) {
            (Some(r), _) => r,
            (None, by) => {
                let mut r = unsearched(&cases[i]);
                r.dominated_by = by.map(|j| cases[j].offer.label());
                r
            }
        })
        .collect();
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
    let mut out = HardwareSweep {
        evaluated: offers.iter().map(|o| o.evaluated).sum(),
        offers,
        recommendation,
        pareto,
        mix: None,
    };
    out.mix = super::hardware_mix::best_mix(plan, options, cases, &out, stated);
    out
}

/// An offer's result before (or without) its search: prices, no candidate.
fn unsearched(case: &OfferCase) -> OfferResult {
    let n = case.offer.accelerators_per_instance.max(1);
    let curve = case.curve.as_ref().ok();
    let first = curve.and_then(|c| c.points.first());
    OfferResult {
        offer: case.offer.label(),
        accelerator: case.accelerator.name.clone(),
        accelerators_per_instance: n,
        on_demand_usd_per_hour: case.offer.on_demand_usd_per_hour,
        spot_usd_per_hour: case.offer.spot_usd_per_hour,
        server_usd_per_hour: case.offer.on_demand_usd_per_hour / f64::from(n),
        curve: curve.cloned(),
        at_batch: first.map(|p| p.batch),
        projected_latency_ms: first.map(|p| p.latency_ms),
        band_ms: first.map(|p| (p.low_ms, p.high_ms)),
        best: None,
        evaluated: 0,
        reason: None,
        dominated_by: None,
    }
}

/// One offer: its result and its own Pareto points.
fn sweep_offer(
    plan: &Plan,
    options: &SweepOptions,
    case: &OfferCase,
    stated: Option<&Accelerator>,
) -> (OfferResult, Vec<Evaluation>) {
    let mut result = unsearched(case);
    result.curve = None;
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
