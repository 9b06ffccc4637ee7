//! App layer: the Hardware panel's figures — the plan swept over catalog offers by the
//! same `model::hardware_cases` + `model::hardware_sweep` calls `costscope plan
//! --hardware` makes (so the panel and the CLI agree), cached by the plan it is for;
//! one bar per offer at the SLO, and the selected offer's scaling breakdown.

use crate::model::catalog::{Accelerator, Catalog};
use crate::model::hardware_cases::scaled_cases;
use crate::model::hardware_sweep::{HardwareSweep, OfferResult, plan_precision, sweep};
use crate::model::projection::Roofline;
use crate::model::{HardwareCandidates, Plan, SweepOptions};

/// The sweep for one plan: which candidates were swept and the answer (or why none).
#[derive(Debug, Clone)]
pub struct HardwareFigures {
    /// The plan these figures are for; a different plan recomputes them.
    pub plan: Plan,
    /// The candidates swept: the plan's, else every offer.
    pub candidates: HardwareCandidates,
    /// The accelerator the plan's L(b) is stated on (catalog name).
    pub stated: Option<Accelerator>,
    /// The sweep, or why it could not run (no catalog accelerator named, unknown offer).
    pub sweep: Result<HardwareSweep, String>,
}

impl HardwareFigures {
    /// Sweeps `plan` over its `hardware_candidates` (every offer when it has none), each
    /// offer's L(b) scaled by catalog figures, as `plan --hardware` does without
    /// `--profile`.
    pub fn compute(plan: &Plan, catalog: &Catalog) -> Self {
        let candidates = (plan.hardware_candidates.clone()).unwrap_or(HardwareCandidates::All);
        let (stated, sweep) = match scaled_cases(plan, catalog, &candidates) {
            Ok((cases, stated)) => {
                let options = SweepOptions::for_plan(plan);
                (
                    Some(stated.clone()),
                    Ok(sweep(plan, &options, &cases, Some(stated))),
                )
            }
            Err(e) => (None, Err(e)),
        };
        Self {
            plan: plan.clone(),
            candidates,
            stated,
            sweep,
        }
    }

    /// `cached` when it is for `plan`, else fresh figures: the sweep runs once per plan
    /// revision, not every frame.
    pub fn refresh(cached: &mut Option<Self>, plan: &Plan, catalog: &Catalog) -> bool {
        if cached.as_ref().is_some_and(|c| &c.plan == plan) {
            return false;
        }
        *cached = Some(Self::compute(plan, catalog));
        true
    }
}

/// One bar of the cost-per-hardware chart.
#[derive(Debug, Clone, PartialEq)]
pub struct CostBar {
    /// The offer, `provider instance_type`.
    pub offer: String,
    /// Its best feasible candidate's $/hour at the SLO; `None` when it has none.
    pub usd_per_hour: Option<f64>,
    /// Why it has none (does not fit, SLO missed, dominated by another offer).
    pub reason: Option<String>,
    /// The recommendation across offers.
    pub recommended: bool,
}

/// The bars in the sweep's offer order.
pub fn cost_bars(sweep: &HardwareSweep) -> Vec<CostBar> {
    (sweep.offers.iter().enumerate())
        .map(|(i, o)| CostBar {
            offer: o.offer.clone(),
            usd_per_hour: o.best.as_ref().map(|b| b.cost_usd_per_hour),
            reason: why_none(o),
            recommended: sweep.recommendation == Some(i),
        })
        .collect()
}

/// Why an offer has no bar, in the table's words.
fn why_none(o: &OfferResult) -> Option<String> {
    if o.best.is_some() {
        return None;
    }
    match (&o.dominated_by, &o.reason) {
        (Some(by), _) => Some(format!(
            "dominated by {by} (as fast or faster at every batch, no dearer): not searched"
        )),
        (None, Some(r)) => Some(r.clone()),
        (None, None) => Some("no feasible candidate".into()),
    }
}

/// Which roofline limit an accelerator's speed-up over the stated one follows.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingBreakdown {
    /// FLOP-rate speed-up over the stated accelerator at the plan's precision.
    pub compute_speedup: f64,
    /// Memory-bandwidth speed-up over it.
    pub memory_speedup: f64,
    /// Ridge point of the target (FLOP per byte where compute and memory meet).
    pub ridge_flops_per_byte: Option<f64>,
    /// The projected time per batch, (batch, ms, low ms, high ms).
    pub points: Vec<(u32, f64, f64, f64)>,
    /// Operators bounding the time, where the curve came from per-operator rows.
    pub bound_by: Vec<String>,
    /// Where the curve came from.
    pub source: String,
}

/// The breakdown of `offer`'s projection: the speed-ups the scaled L(b) took the lesser
/// of, the target's ridge point and the curve; `None` without a curve there.
pub fn breakdown(
    figures: &HardwareFigures,
    offer: &str,
    catalog: &Catalog,
) -> Option<ScalingBreakdown> {
    let sweep = figures.sweep.as_ref().ok()?;
    let o = sweep.offers.iter().find(|o| o.offer == offer)?;
    let curve = o.curve.as_ref()?;
    let target = catalog.accelerator(&o.accelerator)?;
    let stated = figures.stated.as_ref()?;
    let precision = plan_precision(&figures.plan);
    let compute = target.tflops(precision)? / stated.tflops(precision)?;
    let memory = target.memory_bandwidth_gbytes_per_s / stated.memory_bandwidth_gbytes_per_s;
    Some(ScalingBreakdown {
        compute_speedup: compute,
        memory_speedup: memory,
        ridge_flops_per_byte: Roofline::of(target, precision).map(|r| r.ridge_flops_per_byte()),
        points: (curve.points.iter())
            .map(|p| (p.batch, p.latency_ms, p.low_ms, p.high_ms))
            .collect(),
        bound_by: curve.bound_by.clone(),
        source: curve.source.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(preset: &str) -> (HardwareFigures, Catalog) {
        let catalog = crate::plan::catalog::shipped().unwrap();
        let plan = crate::plan::presets::load(preset).unwrap();
        (HardwareFigures::compute(&plan, &catalog), catalog)
    }

    #[test]
    fn every_offer_has_a_bar_or_a_reason_and_one_is_recommended() {
        let (f, _) = figures("healthcare-triage");
        let bars = cost_bars(f.sweep.as_ref().unwrap());
        assert_eq!(bars.len(), 30);
        assert_eq!(bars.iter().filter(|b| b.recommended).count(), 1);
        for b in &bars {
            assert_eq!(b.usd_per_hour.is_some(), b.reason.is_none(), "{b:?}");
        }
        let best = bars.iter().find(|b| b.recommended).unwrap();
        let cheapest_j = best.usd_per_hour.unwrap();
        assert!(cheapest_j > 0.0);
        assert!(
            bars.iter()
                .any(|b| (b.reason.as_deref()).is_some_and(|r| r.starts_with("dominated by")))
        );
    }

    #[test]
    fn the_sweep_runs_again_only_for_another_plan() {
        let (f, catalog) = figures("healthcare-triage");
        let mut cached = Some(f.clone());
        assert!(!HardwareFigures::refresh(&mut cached, &f.plan, &catalog));
        let mut plan = f.plan.clone();
        plan.hardware_candidates = Some(HardwareCandidates::Offers(vec!["Modal L4".into()]));
        assert!(HardwareFigures::refresh(&mut cached, &plan, &catalog));
        let c = cached.unwrap();
        assert_eq!(c.sweep.unwrap().offers.len(), 1);
    }

    #[test]
    fn a_plan_on_no_catalog_accelerator_says_why() {
        let (f, _) = figures("textbook-mmc");
        let e = f.sweep.unwrap_err();
        assert!(e.contains("names no catalog accelerator"), "{e}");
    }

    #[test]
    fn the_breakdown_takes_the_lesser_speed_up() {
        let (f, catalog) = figures("healthcare-triage");
        let s = f.sweep.as_ref().unwrap();
        let o = &s.offers[s.recommendation.unwrap()];
        let b = breakdown(&f, &o.offer, &catalog).unwrap();
        let slow = b.compute_speedup.min(b.memory_speedup);
        let (batch, ms) = f.plan.service.batch_latency_ms[0];
        assert_eq!(b.points[0].0, batch);
        let expect = ms / f.plan.hardware.speed_vs_profiled / slow;
        assert!((b.points[0].1 - expect).abs() < 1e-9 * expect);
        assert!(b.ridge_flops_per_byte.unwrap() > 0.0);
    }
}
