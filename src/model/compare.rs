//! Model layer: a feature on versus off — the same fleet evaluated with and without the
//! cache (or lazy evaluation), and the optimum with and without the cache — so every
//! saving shown is one evaluation's cost minus another's, never a formula.

use serde::Serialize;

use super::cache::{has_cache, without_cache};
use super::evaluate::{Candidate, Evaluation, Evaluator, ModelError};
use super::lazy::{is_lazy, without_lazy};
use super::objective::{Optimum, SweepOptions, candidate_of, optimize};
use super::types::Plan;

/// A fleet, named, with its cost and tail latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetFigures {
    /// The fleet, as [`Evaluation::candidate_name`] writes it.
    pub fleet: String,
    /// Its cost, dollars per hour.
    pub cost_usd_per_hour: f64,
    /// Its 95th percentile response time, ms; null when it is overloaded.
    pub p95_ms: Option<f64>,
}

impl FleetFigures {
    /// The figures of an evaluation.
    pub fn of(e: &Evaluation) -> Self {
        Self {
            fleet: e.candidate_name(),
            cost_usd_per_hour: e.cost_usd_per_hour,
            p95_ms: e.latency_ms.map(|l| l.p95),
        }
    }
}

/// One fleet evaluated with a feature and without it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SameFleet {
    /// The fleet, as [`Evaluation::candidate_name`] writes it.
    pub fleet: String,
    /// Its cost with the feature, dollars per hour (the evaluation's own cost).
    pub with_usd_per_hour: f64,
    /// Its cost without the feature, dollars per hour; null when the fleet is
    /// overloaded without it (an overloaded day has no cost to state).
    pub without_usd_per_hour: Option<f64>,
    /// `without − with`: negative when the feature costs this fleet more than it saves;
    /// null when the fleet is overloaded without the feature (it needs the feature to
    /// run at all: compare the optima).
    pub savings_usd_per_hour: Option<f64>,
    /// Why this fleet is infeasible without the feature (overloaded, or over the SLO
    /// with its cost still stated); null when it is feasible.
    pub without_infeasible: Option<String>,
}

impl SameFleet {
    /// `with`, compared with the same candidate evaluated by `off` (the plan without
    /// the feature).
    fn new(with: &Evaluation, off: &Evaluator<'_>, candidate: &Candidate) -> Self {
        let without = off.evaluate(candidate);
        // Overloaded hours hold no server-hours, so an overloaded day's cost is not a
        // cost of serving the plan: only a fleet with a latency has one.
        let without_usd_per_hour = without
            .latency_ms
            .is_some()
            .then_some(without.cost_usd_per_hour);
        Self {
            fleet: with.candidate_name(),
            with_usd_per_hour: with.cost_usd_per_hour,
            without_usd_per_hour,
            savings_usd_per_hour: without_usd_per_hour.map(|c| c - with.cost_usd_per_hour),
            without_infeasible: without.why_infeasible,
        }
    }
}

/// The optimum with the feature and the optimum without it: each may be a different fleet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Optima {
    /// The recommendation (the optimum with the feature); null when none is feasible.
    pub with: Option<FleetFigures>,
    /// The optimum without the feature; null when none is feasible.
    pub without: Option<FleetFigures>,
    /// `without − with` of their costs; null unless both exist.
    pub savings_usd_per_hour: Option<f64>,
}

/// What the plan's cache saves: the plan as written and the recommendation each
/// evaluated without it, and the optimum found without it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheComparison {
    /// The plan as written, with and without the cache; null when it asks to optimise.
    pub as_written: Option<SameFleet>,
    /// The recommendation's fleet, with and without the cache; null when none is feasible.
    pub recommendation: Option<SameFleet>,
    /// The optimum with the cache and the optimum without it.
    pub optima: Optima,
}

/// What lazy evaluation saves: the plan as written and the recommendation each
/// evaluated computing every result (p = 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LazyComparison {
    /// p, the fraction of results computed.
    pub fraction_needed: f64,
    /// The plan as written at p and at p = 1; null when it asks to optimise.
    pub as_written: Option<SameFleet>,
    /// The recommendation's fleet at p and at p = 1; null when none is feasible.
    pub recommendation: Option<SameFleet>,
}

/// The evaluations a comparison starts from, as `costscope plan` and the app compute them.
#[derive(Debug, Clone, Copy)]
pub struct Baseline<'a> {
    /// The plan (overrides applied).
    pub plan: &'a Plan,
    /// The plan as written, evaluated; none when it asks to optimise.
    pub as_written: Option<&'a Evaluation>,
    /// The optimiser's answer for the plan.
    pub optimum: &'a Optimum,
    /// What that optimum searched; the optimum without a feature searches the same.
    pub options: &'a SweepOptions,
}

impl Baseline<'_> {
    /// The plan as written and the recommendation, each beside `off` (the plan without
    /// a feature).
    fn same_fleets(&self, off: &Evaluator<'_>) -> (Option<SameFleet>, Option<SameFleet>) {
        let as_written = self
            .as_written
            .zip(Candidate::from_plan(self.plan))
            .map(|(e, c)| SameFleet::new(e, off, &c));
        let recommendation = self
            .optimum
            .best
            .as_ref()
            .map(|e| SameFleet::new(e, off, &candidate_of(self.plan, e)));
        (as_written, recommendation)
    }
}

/// What the cache saves, or `None` when the plan has no cache to turn off.
pub fn cache_comparison(base: &Baseline<'_>) -> Result<Option<CacheComparison>, ModelError> {
    if !has_cache(&base.plan.cache) {
        return Ok(None);
    }
    let off_plan = without_cache(base.plan);
    let off = Evaluator::new(&off_plan)?;
    let (as_written, recommendation) = base.same_fleets(&off);
    let with = base.optimum.best.as_ref().map(FleetFigures::of);
    let without = optimize(&off_plan, base.options)?
        .best
        .as_ref()
        .map(FleetFigures::of);
    let savings_usd_per_hour = with
        .as_ref()
        .zip(without.as_ref())
        .map(|(w, o)| o.cost_usd_per_hour - w.cost_usd_per_hour);
    Ok(Some(CacheComparison {
        as_written,
        recommendation,
        optima: Optima {
            with,
            without,
            savings_usd_per_hour,
        },
    }))
}

/// What lazy evaluation saves, or `None` when the plan computes every result.
pub fn lazy_comparison(base: &Baseline<'_>) -> Result<Option<LazyComparison>, ModelError> {
    if !is_lazy(base.plan) {
        return Ok(None);
    }
    let full_plan = without_lazy(base.plan);
    let full = Evaluator::new(&full_plan)?;
    let (as_written, recommendation) = base.same_fleets(&full);
    Ok(Some(LazyComparison {
        fraction_needed: base.plan.lazy.fraction_needed,
        as_written,
        recommendation,
    }))
}
