//! Property tests of the model: invariants that must hold for any valid plan.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::cache::without_cache;
use costscope::model::compare::{Baseline, cache_comparison};
use costscope::model::{
    Candidate, Evaluation, Evaluator, Plan, Policy, PolicyKind, Rate, SweepOptions, optimize,
};
use costscope::plan::{presets, validate};
use proptest::prelude::*;

fn base() -> Plan {
    presets::load("textbook-mmc").unwrap()
}

fn eval(plan: &Plan, policy: Policy, batch: u32) -> Evaluation {
    Evaluator::new(plan).unwrap().evaluate(&Candidate {
        policy,
        batch,
        max_num_seqs: None,
    })
}

fn all_finite(e: &Evaluation) -> bool {
    let l = e
        .latency_ms
        .is_none_or(|l| [l.mean, l.p50, l.p95, l.p99].iter().all(|x| x.is_finite()));
    l && [
        e.cost_usd_per_hour,
        e.utilization,
        e.p_wait,
        e.cold_start_fraction,
        e.servers_held,
        e.mean_batch,
        e.energy_kwh_per_hour,
    ]
    .iter()
    .all(|x| x.is_finite())
        && e.objective.is_none_or(f64::is_finite)
        && e.cost_usd_per_million.is_none_or(f64::is_finite)
}

prop_compose! {
    fn plan_strategy()(
        rate in 0.01f64..200.0,
        peak_factor in 1.0f64..5.0,
        diurnal in any::<bool>(),
        arrival_cv in 0.0f64..3.0,
        service_ms in 1.0f64..2000.0,
        batch_gain in 0.1f64..1.0,
        service_cv in 0.0f64..3.0,
        cold_start_s in 0.0f64..120.0,
        window_ms in 0.0f64..50.0,
        max_batch in 1u32..32,
        hit_rate in 0.0f64..0.99,
    ) -> Plan {
        let mut p = base();
        p.workload.rate_rps = if diurnal {
            Rate::Diurnal { peak: rate * peak_factor, trough: rate, peak_hour: 13 }
        } else {
            Rate::Constant(rate)
        };
        p.workload.arrival_cv = arrival_cv;
        p.service.batch_latency_ms = vec![(1, service_ms), (16, service_ms * (1.0 + 15.0 * batch_gain))];
        p.service.service_cv = service_cv;
        p.service.cold_start_s = cold_start_s;
        p.batching.window_ms = window_ms;
        p.batching.max_batch = max_batch;
        p.cache.hit_rate = hit_rate;
        p
    }
}

fn policy_strategy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        (1u32..300).prop_map(|servers| Policy::AlwaysOn { servers }),
        (0.0f64..900.0, 1u32..300).prop_map(|(t, m)| Policy::OnDemand {
            idle_timeout_s: t,
            max_servers: m
        }),
        (0u32..20, 0.0f64..900.0, 20u32..300).prop_map(|(w, t, m)| Policy::Hybrid {
            warm: w,
            idle_timeout_s: t,
            max_servers: m
        }),
        (0u32..10, 1u32..100, 60.0f64..3600.0).prop_map(|(o, s, t)| Policy::SpotMix {
            on_demand: o,
            spot: s,
            checkpoint_interval_s: t,
            checkpoint_s: 5.0
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn outputs_are_finite_and_costs_non_negative(plan in plan_strategy(), policy in policy_strategy(), batch in 1u32..32) {
        prop_assert!(validate(&plan).is_ok());
        let e = eval(&plan, policy, batch);
        prop_assert!(all_finite(&e), "{e:?}");
        prop_assert!(e.cost_usd_per_hour >= 0.0);
        prop_assert!((0.0..=1.0).contains(&e.p_wait) && (0.0..=1.0).contains(&e.cold_start_fraction));
        prop_assert_eq!(e.feasible, e.why_infeasible.is_none());
        if let Some(l) = e.latency_ms {
            prop_assert!(l.p50 <= l.p95 + 1e-9 && l.p95 <= l.p99 + 1e-9, "{l:?}");
        }
    }

    /// p50 ≤ p95 ≤ p99 exactly (not within a tolerance) for every candidate, with
    /// deterministic service half the time: its point masses are where a root find
    /// could land either side of the step.
    #[test]
    fn quantiles_are_ordered(plan in plan_strategy(), deterministic in any::<bool>(), policy in policy_strategy(), batch in 1u32..32) {
        let mut p = plan;
        if deterministic {
            p.service.service_cv = 0.0;
        }
        let e = eval(&p, policy, batch);
        if let Some(l) = e.latency_ms {
            prop_assert!(l.mean.is_finite(), "{l:?}");
            prop_assert!(l.p50 <= l.p95 && l.p95 <= l.p99, "{l:?}");
        }
    }

    /// What the cache saves a fleet is its cost without the cache minus its cost with
    /// it, exactly, so it never exceeds what the fleet costs without the cache; a fleet
    /// overloaded without the cache states no cost and no savings.
    #[test]
    fn same_fleet_cache_savings_are_a_difference_of_costs(plan in plan_strategy(), hit in 0.9f64..=1.0, policy in policy_strategy()) {
        let mut p = plan;
        p.cache.hit_rate = hit;
        p.cache.storage_usd_per_hour = 0.2;
        p.policy = policy;
        let written = Evaluator::new(&p).unwrap().evaluate(&Candidate::from_plan(&p).unwrap());
        // A small sweep: the property is about the same fleet, not the optimum.
        let options = SweepOptions { policies: vec![PolicyKind::AlwaysOn], max_servers: 4, batches: vec![1], max_num_seqs: vec![] };
        let optimum = optimize(&p, &options).unwrap();
        let base = Baseline { plan: &p, as_written: Some(&written), optimum: &optimum, options: &options };
        let c = cache_comparison(&base).unwrap().expect("the plan has a cache");
        let s = c.as_written.expect("the plan names a policy");
        prop_assert_eq!(s.with_usd_per_hour, written.cost_usd_per_hour);
        let without = Evaluator::new(&without_cache(&p)).unwrap().evaluate(&Candidate::from_plan(&p).unwrap());
        match (s.without_usd_per_hour, s.savings_usd_per_hour) {
            (Some(cost), Some(saves)) => {
                prop_assert_eq!(cost, without.cost_usd_per_hour);
                prop_assert_eq!(saves, cost - written.cost_usd_per_hour);
                prop_assert!(saves.is_finite() && saves <= cost, "saves {saves}, costs {cost} without the cache");
            }
            (None, None) => prop_assert!(without.latency_ms.is_none(), "{without:?}"),
            other => prop_assert!(false, "cost and savings disagree: {other:?}"),
        }
    }

    #[test]
    fn more_servers_never_raise_the_wait(plan in plan_strategy(), servers in 1u32..200, batch in 1u32..16) {
        let a = eval(&plan, Policy::AlwaysOn { servers }, batch);
        let b = eval(&plan, Policy::AlwaysOn { servers: servers + 1 }, batch);
        if let (Some(la), Some(lb)) = (a.latency_ms, b.latency_ms) {
            prop_assert!(b.p_wait <= a.p_wait + 1e-12, "{} -> {}", a.p_wait, b.p_wait);
            prop_assert!(lb.mean <= la.mean + 1e-9 * la.mean);
            prop_assert!(lb.p95 <= la.p95 + 1e-6 * la.p95);
        } else {
            // Once a fleet is stable, a bigger one is too.
            prop_assert!(a.latency_ms.is_none());
        }
    }

    /// Caching only removes server traffic, so it never raises what servers cost. With
    /// billed boots an elastic fleet is the exception the model (and the simulator)
    /// shows: less traffic lets instances expire, and each extra cold start bills a boot
    /// — so the property is checked with instant boots, for on-demand and hybrid fleets.
    #[test]
    fn caching_never_raises_compute_cost(plan in plan_strategy(), h1 in 0.0f64..0.9, dh in 0.0f64..0.09, timeout in 0.0f64..900.0, warm in 0u32..4) {
        let mut p = plan.clone();
        p.service.cold_start_s = 0.0;
        for policy in [
            Policy::OnDemand { idle_timeout_s: timeout, max_servers: 10_000 },
            Policy::Hybrid { warm, idle_timeout_s: timeout, max_servers: 10_000 },
        ] {
            p.cache.hit_rate = h1;
            let lo = eval(&p, policy.clone(), 1);
            p.cache.hit_rate = h1 + dh;
            let hi = eval(&p, policy, 1);
            if lo.latency_ms.is_some() {
                prop_assert!(hi.cost_usd_per_hour <= lo.cost_usd_per_hour * (1.0 + 1e-9) + 1e-12,
                    "hit {h1} -> {}: {} -> {}", h1 + dh, lo.cost_usd_per_hour, hi.cost_usd_per_hour);
                // Busy server time (the compute itself) falls too.
                let busy = |e: &Evaluation| e.utilization * e.servers_held;
                prop_assert!(busy(&hi) <= busy(&lo) * (1.0 + 1e-9) + 1e-12);
            }
        }
    }

    #[test]
    fn latency_is_at_least_the_service_time(plan in plan_strategy(), policy in policy_strategy()) {
        let mut p = plan;
        p.cache.hit_rate = 0.0;
        let e = eval(&p, policy, 1);
        let service_ms = p.service.batch_latency_ms[0].1 / p.hardware.speed_vs_profiled;
        if let Some(l) = e.latency_ms {
            prop_assert!(l.mean >= service_ms * (1.0 - 1e-9), "{} < {service_ms}", l.mean);
        }
    }
}

#[test]
fn optimizer_best_is_the_minimum_feasible_objective() {
    let mut plan = presets::load("healthcare-triage").unwrap();
    plan.policy = Policy::Optimize { max_servers: 40 };
    let options = SweepOptions::for_plan(&plan);
    let opt = optimize(&plan, &options).unwrap();
    let best = opt.best.expect("a feasible plan");
    for e in &opt.candidates {
        assert!(best.objective.unwrap() <= e.objective.unwrap() + 1e-12);
    }
    // The frontier is sorted by cost with strictly falling latency.
    for w in opt.pareto.windows(2) {
        assert!(w[0].cost_usd_per_hour <= w[1].cost_usd_per_hour);
        assert!(w[0].latency_ms.unwrap().p99 > w[1].latency_ms.unwrap().p99);
    }
    // Raising beta (latency matters more) never picks a slower best.
    plan.objective.beta *= 100.0;
    let fast = optimize(&plan, &options).unwrap().best.unwrap();
    assert!(fast.latency_ms.unwrap().p99 <= best.latency_ms.unwrap().p99 + 1e-9);
}
