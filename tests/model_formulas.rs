//! Model formulas against hand-computed values: M/M/1, M/M/c (Erlang C table),
//! exact M/M/c quantiles, Young/Daly, Zipf hit rates, and the issue's example plan.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::cache::zipf_hit_rate;
use costscope::model::queue::{
    allen_cunneen_wait_s, erlang_c, mmc_response_quantile_s, mmc_response_survival,
};
use costscope::model::spot::young_daly_interval_s;
use costscope::model::{Candidate, Evaluator, Policy};
use costscope::plan::presets;

#[test]
fn erlang_c_matches_textbook_table() {
    // Erlang C table (e.g. Gross & Harris): (servers, offered load, P(wait)).
    let table = [
        (2, 1.0, 0.3333),
        (3, 2.0, 0.4444),
        (5, 4.0, 0.5541),
        (10, 8.0, 0.4092),
    ];
    for (c, a, expected) in table {
        let got = erlang_c(c, a).unwrap();
        assert!(
            (got - expected).abs() < 5e-5,
            "C({c}, {a}) = {got}, table {expected}"
        );
    }
}

#[test]
fn erlang_c_is_stable_for_ten_thousand_servers() {
    let c = erlang_c(10_000, 9_900.0).unwrap();
    assert!(c.is_finite() && c > 0.0 && c < 1.0, "{c}");
    // Square-root staffing: with c = a + β√a, P(wait) depends on β only (Halfin–Whitt);
    // β = 1 gives ≈ 0.2 whether a is 100 or 9 900.
    let small = erlang_c(110, 100.0).unwrap();
    let large = erlang_c(9_900 + 99, 9_900.0).unwrap();
    assert!((small - large).abs() < 0.02, "{small} vs {large}");
}

#[test]
fn mm1_mean_and_quantiles_by_hand() {
    // λ = 0.5, μ = 1: W_q = ρ/(μ − λ) = 1 s; T ~ Exp(0.5), p95 = ln(20)/0.5.
    let wq = allen_cunneen_wait_s(1, 0.5, 1.0, 1.0, 1.0).unwrap();
    assert!((wq - 1.0).abs() < 1e-12);
    let p95 = mmc_response_quantile_s(1, 0.5, 1.0, 0.95).unwrap();
    assert!((p95 - 20f64.ln() / 0.5).abs() < 1e-9);
    // Allen–Cunneen halves the wait for deterministic service (M/D/1: c_s = 0).
    let md1 = allen_cunneen_wait_s(1, 0.5, 1.0, 1.0, 0.0).unwrap();
    assert!((md1 - 0.5).abs() < 1e-12);
}

#[test]
fn mmc_quantile_inverts_the_design_formula() {
    for q in [0.5, 0.95, 0.99] {
        let t = mmc_response_quantile_s(10, 8.0, 1.0, q).unwrap();
        let tail = mmc_response_survival(10, 8.0, 1.0, t).unwrap();
        assert!((tail - (1.0 - q)).abs() < 1e-9, "q{q}: P(T > {t}) = {tail}");
    }
}

#[test]
fn young_daly_by_hand() {
    // δ = 30 s, one interruption every 2 hours: τ* = √(2·30·7200) = √432000 = 657.27 s.
    let tau = young_daly_interval_s(30.0, 0.5).unwrap();
    assert!((tau - 657.267_069).abs() < 1e-5, "{tau}");
}

#[test]
fn zipf_hit_rate_by_hand() {
    // s = 1, N = 10, k = 3: (1 + 1/2 + 1/3)/H(10) = 1.833333/2.928968 = 0.625931.
    let h = zipf_hit_rate(1.0, 10, 3).unwrap();
    assert!((h - 0.625_931).abs() < 1e-6, "{h}");
}

#[test]
fn the_issue_example_plan() {
    // λ = 8/s, 1 s exponential service, AlwaysOn(10): P(wait) 0.4092, mean 1204.6 ms.
    let plan = presets::load("textbook-mmc").unwrap();
    let ctx = Evaluator::new(&plan).unwrap();
    let e = ctx.evaluate(&Candidate::from_plan(&plan).unwrap());
    assert!((e.p_wait - 0.4092).abs() < 5e-5, "{}", e.p_wait);
    let l = e.latency_ms.unwrap();
    assert!((l.mean - 1204.6).abs() < 0.05, "{}", l.mean);
    let p95 = mmc_response_quantile_s(10, 8.0, 1.0, 0.95).unwrap() * 1000.0;
    assert!((l.p95 - p95).abs() < 1e-6 * p95);
    assert!((e.utilization - 0.8).abs() < 1e-12);
    assert!((e.cost_usd_per_hour - 10.0).abs() < 1e-12);
    assert!(e.feasible);
    // Nine servers still carry 8 Erlangs; eight do not.
    let overloaded = ctx.evaluate(&Candidate {
        policy: Policy::AlwaysOn { servers: 8 },
        batch: 1,
        max_num_seqs: None,
    });
    assert!(!overloaded.feasible && overloaded.latency_ms.is_none());
    assert!(overloaded.why_infeasible.unwrap().contains("overloaded"));
}

#[test]
fn caching_and_lazy_scale_server_traffic() {
    let mut plan = presets::load("textbook-mmc").unwrap();
    plan.cache.hit_rate = 0.5;
    plan.cache.hit_latency_ms = 1.0;
    let ctx = Evaluator::new(&plan).unwrap();
    let e = ctx.evaluate(&Candidate::from_plan(&plan).unwrap());
    // Half the traffic reaches the servers: 4 Erlangs on 10 servers.
    assert!((e.utilization - 0.4).abs() < 1e-12);
    assert!((e.p_wait - erlang_c(10, 4.0).unwrap()).abs() < 1e-12);
    plan.cache.hit_rate = 0.0;
    plan.lazy.fraction_needed = 0.25;
    let e = Evaluator::new(&plan)
        .unwrap()
        .evaluate(&Candidate::from_plan(&plan).unwrap());
    assert!((e.utilization - 0.2).abs() < 1e-12);
}

#[test]
fn break_even_is_where_the_costs_cross() {
    use costscope::model::objective::policy_at;
    use costscope::model::{PolicyKind, Rate, break_even};
    let plan = presets::load("startup-transcribe").unwrap();
    let be = break_even(&plan).expect("a crossing");
    let cost = |rate: f64, kind: PolicyKind| {
        let mut p = plan.clone();
        p.workload.rate_rps = Rate::Constant(rate);
        let policy = match kind {
            PolicyKind::AlwaysOn => Policy::AlwaysOn {
                servers: be.always_on_servers,
            },
            _ => policy_at(&p, kind, 32, 32),
        };
        Evaluator::new(&p)
            .unwrap()
            .evaluate(&Candidate {
                policy,
                batch: 4,
                max_num_seqs: None,
            })
            .cost_usd_per_hour
    };
    let (od, ao) = (
        cost(be.rate_rps, PolicyKind::OnDemand),
        cost(be.rate_rps, PolicyKind::AlwaysOn),
    );
    assert!(
        (od - ao).abs() < 1e-3 * ao,
        "{od} vs {ao} at {}",
        be.rate_rps
    );
    assert!(
        cost(be.rate_rps / 3.0, PolicyKind::OnDemand)
            < cost(be.rate_rps / 3.0, PolicyKind::AlwaysOn)
    );
    assert!(
        cost(be.rate_rps * 3.0, PolicyKind::OnDemand)
            > cost(be.rate_rps * 3.0, PolicyKind::AlwaysOn)
    );
}

#[test]
fn rates_too_small_to_resolve_are_infeasible_saying_where_and_why() {
    use costscope::model::Rate;
    let mut hourly = vec![0.0; 24];
    hourly[23] = 1e-300;
    for (rate, hour) in [
        (Rate::Constant(5e-324), "hour 0"),
        (Rate::Hourly(hourly), "hour 23"),
    ] {
        let mut plan = presets::load("healthcare-triage").unwrap();
        plan.workload.rate_rps = rate;
        let e = Evaluator::new(&plan)
            .unwrap()
            .evaluate(&Candidate::from_plan(&plan).unwrap());
        assert!(e.cost_usd_per_million.is_none_or(f64::is_finite), "{e:?}");
        assert!(e.mean_batch >= 1.0, "{}", e.mean_batch);
        assert!(!e.feasible);
        let why = e.why_infeasible.unwrap();
        assert!(why.contains(hour) && why.contains("req/s"), "{why}");
    }
}

#[test]
fn quantiles_are_ordered_at_a_cold_start_atom() {
    // Deterministic service: the cold starts are a point mass that p50 and p95 share.
    let mut plan = presets::load("startup-transcribe").unwrap();
    plan.service.service_cv = 0.0;
    let ctx = Evaluator::new(&plan).unwrap();
    for (idle_timeout_s, max_servers) in [(120.0, 7), (60.0, 8)] {
        let e = ctx.evaluate(&Candidate {
            policy: Policy::OnDemand {
                idle_timeout_s,
                max_servers,
            },
            batch: 1,
            max_num_seqs: None,
        });
        let l = e.latency_ms.unwrap();
        assert!(l.p50 <= l.p95 && l.p95 <= l.p99, "{l:?}");
    }
}

#[test]
fn an_elastic_fleet_overloaded_by_its_boots_says_so() {
    // Light traffic, a day-long boot: the servers held while booting, not the serving
    // load, exceed the cap; the reason must say that (it once read "needs 0.11 servers
    // busy, more than the cap of 32").
    let mut plan = presets::load("healthcare-triage").unwrap();
    plan.policy = Policy::OnDemand {
        idle_timeout_s: 300.0,
        max_servers: 32,
    };
    plan.service.cold_start_s = 86_400.0;
    let e = Evaluator::new(&plan)
        .unwrap()
        .evaluate(&Candidate::from_plan(&plan).unwrap());
    let why = e.why_infeasible.expect("infeasible");
    assert!(why.contains("booting"), "{why}");
    assert!(why.contains("86400 s"), "{why}");
    assert!(why.contains("cap of 32"), "{why}");
}

#[test]
fn a_reported_candidate_evaluates_again_to_the_same_numbers() {
    use costscope::model::objective::candidate_of;
    use costscope::model::{SweepOptions, optimize};
    for p in presets::PRESETS {
        let plan = presets::load(p.name).unwrap();
        let o = optimize(&plan, &SweepOptions::for_plan(&plan)).unwrap();
        let ctx = Evaluator::new(&plan).unwrap();
        for e in o.candidates.iter().chain(o.best.iter()) {
            let again = ctx.evaluate(&candidate_of(&plan, e));
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
            assert!(
                close(again.cost_usd_per_hour, e.cost_usd_per_hour),
                "{}: {:?} {} vs {}",
                p.name,
                e.policy,
                again.cost_usd_per_hour,
                e.cost_usd_per_hour
            );
            let (a, b) = (again.latency_ms.unwrap(), e.latency_ms.unwrap());
            assert!(
                close(a.p95, b.p95) && close(a.mean, b.mean),
                "{}: {a:?} vs {b:?}",
                p.name
            );
            assert_eq!(
                (again.servers, again.warm, again.spot, again.batch),
                (e.servers, e.warm, e.spot, e.batch)
            );
        }
    }
}
