//! What the cache and lazy evaluation save, as the model states it: the same fleet
//! evaluated with the feature and without it, and the optimum with and without the
//! cache — differences of two evaluations' costs, never a formula that can exceed what
//! the fleet costs.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::cache::{effect, has_cache, without_cache};
use costscope::model::compare::{Baseline, CacheComparison, cache_comparison, lazy_comparison};
use costscope::model::lazy::{is_lazy, without_lazy};
use costscope::model::objective::candidate_of;
use costscope::model::{Candidate, Evaluation, Evaluator, Optimum, Plan, SweepOptions, optimize};
use costscope::plan::presets;

/// The plan as written, the optimum and the options `costscope plan` computes for `plan`.
fn evaluated(plan: &Plan) -> (Option<Evaluation>, Optimum, SweepOptions) {
    let written = Candidate::from_plan(plan).map(|c| Evaluator::new(plan).unwrap().evaluate(&c));
    let options = SweepOptions::for_plan(plan);
    let optimum = optimize(plan, &options).unwrap();
    (written, optimum, options)
}

fn compare(plan: &Plan) -> CacheComparison {
    let (written, optimum, options) = evaluated(plan);
    let base = Baseline {
        plan,
        as_written: written.as_ref(),
        optimum: &optimum,
        options: &options,
    };
    cache_comparison(&base)
        .unwrap()
        .expect("the plan has a cache")
}

#[test]
fn a_plan_without_its_cache_has_none_and_keeps_the_rest() {
    let plan = presets::load("embedding-cache").unwrap();
    assert!(has_cache(&plan.cache));
    let off = without_cache(&plan);
    assert!(!has_cache(&off.cache));
    let e = effect(&off.cache);
    assert_eq!((e.miss_rate, e.miss_lookup_ms), (1.0, 0.0));
    assert_eq!(off.cache.reuse, plan.cache.reuse);
    assert_eq!(
        (&off.workload, &off.service),
        (&plan.workload, &plan.service)
    );
    // A plan without a cache has nothing to compare.
    let bare = presets::load("healthcare-triage").unwrap();
    assert!(!has_cache(&bare.cache));
    let (written, optimum, options) = evaluated(&bare);
    let base = Baseline {
        plan: &bare,
        as_written: written.as_ref(),
        optimum: &optimum,
        options: &options,
    };
    assert_eq!(cache_comparison(&base).unwrap(), None);
    assert_eq!(lazy_comparison(&base).unwrap(), None);
}

/// embedding-cache as written is three always-on T4s: a fixed fleet costs the same
/// with or without the cache, so the cache adds its storage, 0.206 $/h, and saves
/// nothing: 1.578 − 1.784 = −0.206 $/h.
#[test]
fn a_fixed_fleet_pays_the_cache_storage() {
    let plan = presets::load("embedding-cache").unwrap();
    let s = compare(&plan).as_written.unwrap();
    assert_eq!(s.fleet, "always_on servers=3 batch=32");
    assert!((s.with_usd_per_hour - 1.784).abs() < 1e-12, "{s:?}");
    let without = s.without_usd_per_hour.unwrap();
    assert!((without - 3.0 * 0.526).abs() < 1e-12, "{s:?}");
    assert_eq!(s.savings_usd_per_hour, Some(without - s.with_usd_per_hour));
    assert!(
        (s.savings_usd_per_hour.unwrap() + 0.206).abs() < 1e-12,
        "{s:?}"
    );
    assert_eq!(s.without_infeasible, None);
}

/// The defect this replaces: the recommendation (one always-on T4, 0.732 $/h) was said
/// to save 0.762 $/h of compute — more than the 0.526 $/h the fleet's one server
/// costs. Without the cache that server is overloaded (145 req/s at hour 7 needs 1.16
/// servers), so the same fleet has no cost without the cache and no savings are
/// stated; the optima are compared instead: 0.846 − 0.732 = 0.114 $/h.
#[test]
fn a_fleet_that_needs_the_cache_states_no_savings_and_the_optima_do() {
    let plan = presets::load("embedding-cache").unwrap();
    let c = compare(&plan);
    let r = c.recommendation.unwrap();
    assert_eq!(r.fleet, "always_on servers=1 batch=1");
    assert_eq!(
        (r.without_usd_per_hour, r.savings_usd_per_hour),
        (None, None)
    );
    let why = r.without_infeasible.unwrap();
    assert!(why.starts_with("overloaded at hour 7"), "{why}");
    let with = c.optima.with.unwrap();
    let without = c.optima.without.unwrap();
    assert_eq!(with.fleet, r.fleet);
    assert_eq!(with.cost_usd_per_hour, r.with_usd_per_hour);
    assert_ne!(
        with.fleet, without.fleet,
        "without the cache another fleet is best"
    );
    // The optimum without the cache is the optimiser's answer for the plan without it.
    let off = without_cache(&plan);
    let best_off = optimize(&off, &SweepOptions::for_plan(&off))
        .unwrap()
        .best
        .unwrap();
    assert_eq!(without.fleet, best_off.candidate_name());
    assert_eq!(without.cost_usd_per_hour, best_off.cost_usd_per_hour);
    assert_eq!(without.p95_ms, best_off.latency_ms.map(|l| l.p95));
    let saves = c.optima.savings_usd_per_hour.unwrap();
    assert_eq!(saves, without.cost_usd_per_hour - with.cost_usd_per_hour);
    assert!((saves - 0.114).abs() < 1e-9, "{saves}");
}

/// Every same-fleet savings the model states, on every preset with a cache and over a
/// range of hit rates up to 1: exactly the cost without minus the cost with, and so
/// never more than the fleet costs without the cache.
#[test]
fn same_fleet_savings_never_exceed_the_cost_without_the_cache() {
    let mut plans = Vec::new();
    for name in ["embedding-cache", "startup-transcribe"] {
        let plan = presets::load(name).unwrap();
        for hit in [0.0, 0.5, 0.9, 0.999, 1.0] {
            let mut p = plan.clone();
            p.cache.zipf = None;
            p.cache.hit_rate = hit;
            plans.push(p);
        }
        plans.push(plan);
    }
    // startup-transcribe at a hit rate of 0 has no cache at all (no L2, no storage).
    for plan in plans.iter().filter(|p| has_cache(&p.cache)) {
        let c = compare(plan);
        for s in [&c.as_written, &c.recommendation].into_iter().flatten() {
            match (s.without_usd_per_hour, s.savings_usd_per_hour) {
                (Some(cost), Some(saves)) => {
                    assert_eq!(saves, cost - s.with_usd_per_hour, "{s:?}");
                    assert!(saves <= cost, "{}: {s:?}", plan.name);
                }
                (None, None) => assert!(s.without_infeasible.is_some(), "{s:?}"),
                _ => panic!("cost and savings disagree: {s:?}"),
            }
        }
    }
}

/// The recommendation's fleet, as `candidate_of` rebuilds it, is the fleet the
/// optimiser evaluated: the same-fleet comparison compares that fleet and no other.
#[test]
fn the_recommendation_rebuilt_is_the_same_fleet() {
    for name in ["embedding-cache", "startup-transcribe", "spot-sweep"] {
        let plan = presets::load(name).unwrap();
        let best = evaluated(&plan).1.best.unwrap();
        let again = Evaluator::new(&plan)
            .unwrap()
            .evaluate(&candidate_of(&plan, &best));
        assert_eq!(again.candidate_name(), best.candidate_name());
        let rel = (again.cost_usd_per_hour - best.cost_usd_per_hour).abs() / best.cost_usd_per_hour;
        assert!(rel < 1e-12, "{name}: {again:?} vs {best:?}");
    }
}

/// The model sends only p of the traffic to servers, so an evaluation at p already is
/// the lazy cost; the full cost is the same fleet at p = 1, never p × a cost. A fixed
/// fleet costs the same either way; an on-demand one holds fewer servers at p.
#[test]
fn lazy_savings_are_the_same_fleet_at_p_1_minus_at_p() {
    let mut plan = presets::load("startup-transcribe").unwrap();
    plan.lazy.fraction_needed = 0.3;
    assert!(is_lazy(&plan) && !is_lazy(&without_lazy(&plan)));
    let (written, optimum, options) = evaluated(&plan);
    let base = Baseline {
        plan: &plan,
        as_written: written.as_ref(),
        optimum: &optimum,
        options: &options,
    };
    let l = lazy_comparison(&base).unwrap().unwrap();
    assert_eq!(l.fraction_needed, 0.3);
    let full_plan = without_lazy(&plan);
    let full = Evaluator::new(&full_plan).unwrap();
    let w = l.as_written.unwrap();
    let written = written.unwrap();
    let written_full = full.evaluate(&Candidate::from_plan(&plan).unwrap());
    assert_eq!(w.with_usd_per_hour, written.cost_usd_per_hour);
    assert_eq!(w.without_usd_per_hour, Some(written_full.cost_usd_per_hour));
    let saves = w.savings_usd_per_hour.unwrap();
    assert_eq!(
        saves,
        written_full.cost_usd_per_hour - written.cost_usd_per_hour
    );
    assert!(
        saves > 0.0,
        "an on-demand fleet holds fewer servers at p: {w:?}"
    );
    let r = l.recommendation.unwrap();
    assert_eq!(r.with_usd_per_hour, optimum.best.unwrap().cost_usd_per_hour);
    // A fixed fleet: the same servers are held whatever they compute.
    let mut fixed = presets::load("embedding-cache").unwrap();
    fixed.lazy.fraction_needed = 0.3;
    let (written, optimum, options) = evaluated(&fixed);
    let base = Baseline {
        plan: &fixed,
        as_written: written.as_ref(),
        optimum: &optimum,
        options: &options,
    };
    let w = lazy_comparison(&base).unwrap().unwrap().as_written.unwrap();
    assert_eq!(w.savings_usd_per_hour, Some(0.0), "{w:?}");
}
