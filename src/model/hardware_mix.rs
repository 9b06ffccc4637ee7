//! Model layer: the two-class mix chosen by the hardware sweep — a plan's `routing`
//! share (its latency-tolerant traffic) sent to a cheaper catalog offer while the rest
//! stays on the recommended one, each candidate cheaper offer searched as that second
//! class (sized automatically), the mix with the lowest objective kept.

use serde::Serialize;

use super::catalog::Accelerator;
use super::evaluation::PolicyKind;
use super::hardware_sweep::{HardwareSweep, OfferCase, offer_plan};
use super::objective::{SweepOptions, optimize};
use super::{Evaluation, Plan, Routing};

/// The best two-class mix found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MixResult {
    /// The offer serving the rest of the traffic (the single-offer recommendation).
    pub fast: String,
    /// The cheaper offer serving the routed share.
    pub cheap: String,
    /// The routed share, as the plan's `routing.fraction` states it.
    pub fraction: f64,
    /// The best candidate of the mix (its `routing` block reports the second class).
    pub best: Evaluation,
    /// Its objective is below the single-offer recommendation's.
    pub beats_single: bool,
}

/// With a plan whose `routing` sends a share of the same model (`service: None`) to a
/// second class: the recommended offer for the rest and each cheaper searched offer
/// for that share; `None` for other plans, LLM plans, or no feasible mix.
pub fn best_mix(
    plan: &Plan,
    options: &SweepOptions,
    cases: &[OfferCase],
    sweep: &HardwareSweep,
    stated: Option<&Accelerator>,
) -> Option<MixResult> {
    let routing = plan.routing.as_ref()?;
    if routing.service.is_some() || plan.service.llm.is_some() {
        return None;
    }
    let r = sweep.recommendation?;
    let single = sweep.offers[r].best.as_ref()?.objective?;
    let mut opts = options.clone();
    if cases[r].offer.spot_usd_per_hour.is_none() {
        opts.policies.retain(|k| *k != PolicyKind::SpotMix);
    }
    let mut best: Option<(usize, Evaluation)> = None;
    for (j, case) in cases.iter().enumerate() {
        // An offer missing the SLO alone may still carry a tolerant share; a dominated
        // one is no better a second class than the offer that dominates it.
        let searched = sweep.offers[j].dominated_by.is_none();
        let cheaper = sweep.offers[j].server_usd_per_hour < sweep.offers[r].server_usd_per_hour;
        if j == r || !searched || !cheaper || case.curve.is_err() {
            continue;
        }
        let Some(p) = mix_plan(plan, cases, r, j, stated) else {
            continue;
        };
        let Some(e) = optimize(&p, &opts).ok().and_then(|o| o.best) else {
            continue;
        };
        let better = |b: &(usize, Evaluation)| e.objective < b.1.objective;
        if best.as_ref().is_none_or(better) {
            best = Some((j, e));
        }
    }
    let (j, e) = best?;
    Some(MixResult {
        fast: sweep.offers[r].offer.clone(),
        cheap: sweep.offers[j].offer.clone(),
        fraction: routing.fraction,
        beats_single: e.objective.is_some_and(|o| o < single),
        best: e,
    })
}

/// The plan as a two-class mix: `cases[fast]`'s plan for the rest, its `routing` share
/// sent to `cases[cheap]` (that offer's price per accelerator and L(b), sized
/// automatically). `None` without a routing block or a curve on either offer.
pub fn mix_plan(
    plan: &Plan,
    cases: &[OfferCase],
    fast: usize,
    cheap: usize,
    stated: Option<&Accelerator>,
) -> Option<Plan> {
    let routing = plan.routing.as_ref()?;
    let fast_curve = cases.get(fast)?.curve.as_ref().ok()?;
    let cheap_case = cases.get(cheap)?;
    let cheap_curve = cheap_case.curve.as_ref().ok()?;
    let second = offer_plan(plan, cheap_case, cheap_curve, stated);
    let mut p = offer_plan(plan, &cases[fast], fast_curve, stated);
    p.routing = Some(Routing {
        fraction: routing.fraction,
        name: format!("{} (routed share)", cheap_case.offer.label()),
        hardware: second.hardware,
        service: Some(second.service),
        servers: 0,
    });
    Some(p)
}
