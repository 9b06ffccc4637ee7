//! Elastic LLM fleets (scale to zero, keep one warm), model against the fleet
//! simulator: `llm-chatbot`'s replica at constant rates from almost idle to several
//! replicas, and over its diurnal day, each simulated after a day of warm-up (the
//! steady day the model describes). The held replicas, the cost, the utilisation and
//! the share of requests that wait on a boot must agree; `docs/llm.md` has the table
//! (`cargo run --release --example llm_elastic_grid`).

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::{Candidate, Evaluator, Plan, Policy, Rate};
use costscope::plan::presets;
use costscope::sim::verify::steady_warmup_hours;
use costscope::sim::{SimOptions, simulate_llm};

/// Requests a constant-rate run simulates (enough to see rare boots at low rates).
const REQUESTS: f64 = 60_000.0;

fn plan_at(policy: &Policy, rate_rps: Option<f64>) -> Plan {
    let mut plan = presets::load("llm-chatbot").unwrap();
    plan.policy = policy.clone();
    if let Some(r) = rate_rps {
        plan.workload.rate_rps = Rate::Constant(r);
    }
    plan
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

#[test]
fn elastic_llm_fleets_hold_the_replicas_the_simulation_holds() {
    let on_demand = Policy::OnDemand {
        idle_timeout_s: 300.0,
        max_servers: 16,
    };
    let keep_one = Policy::Hybrid {
        warm: 1,
        idle_timeout_s: 300.0,
        max_servers: 16,
    };
    // (policy, constant rate or the preset's day). Rates: nearly idle (a boot for
    // most requests), light, one busy replica, and several replicas.
    let cases = [
        (&on_demand, Some(0.005)),
        (&on_demand, Some(0.1)),
        (&on_demand, Some(1.5)),
        (&on_demand, Some(4.0)),
        (&on_demand, None),
        (&keep_one, Some(0.02)),
        (&keep_one, Some(1.5)),
        (&keep_one, None),
    ];
    for (policy, rate) in cases {
        let plan = plan_at(policy, rate);
        let warmup_hours = steady_warmup_hours(&plan);
        assert_eq!(warmup_hours, 24.0, "an elastic LLM fleet warms up a day");
        let hours = rate.map_or(48.0, |r| (REQUESTS / (3600.0 * r)).clamp(24.0, 4000.0));
        let model = Evaluator::new(&plan)
            .unwrap()
            .evaluate(&Candidate::from_plan(&plan).unwrap());
        // Stable (nearly idle, the boots break the TTFT SLO: infeasible but evaluated).
        assert!(model.llm.is_some(), "{rate:?}: {:?}", model.why_infeasible);
        let sim = simulate_llm(
            &plan,
            &SimOptions {
                hours,
                warmup_hours,
                ..SimOptions::default()
            },
        )
        .unwrap();
        let s = &sim.fleet;
        let what = format!("{policy:?} at {rate:?} req/s");
        assert!(
            rel(model.servers_held, s.servers_held) < 0.03,
            "{what}: held {} vs simulated {}",
            model.servers_held,
            s.servers_held
        );
        assert!(
            rel(model.cost_usd_per_hour, s.cost_usd_per_hour) < 0.03,
            "{what}: cost {} vs simulated {}",
            model.cost_usd_per_hour,
            s.cost_usd_per_hour
        );
        let (mc, sc) = (model.cold_start_fraction, s.cold_start_fraction);
        assert!(
            rel(mc, sc) < 0.1 || (mc - sc).abs() < 0.002,
            "{what}: cold starts {mc} vs simulated {sc}"
        );
        // Utilisation: the share of held replica time with a sequence in it, both sides.
        let (mu, su) = (model.utilization, s.utilization);
        assert!(
            rel(mu, su) < 0.05 || (mu - su).abs() < 0.02,
            "{what}: utilisation {mu} vs simulated {su}"
        );
        // Nearly idle, most requests boot a replica: the model must see them.
        if rate == Some(0.005) {
            assert!(mc > 0.2 && sc > 0.2, "{what}: {mc} / {sc}");
        }
        // TPOT follows from the replicas serving: within 10 % at p95.
        let (mt, st) = (
            model.llm.as_ref().unwrap().tpot_ms.p95,
            sim.llm.tpot_ms.unwrap().p95,
        );
        assert!(rel(mt, st) < 0.1, "{what}: TPOT p95 {mt} vs simulated {st}");
    }
}

#[test]
fn only_elastic_llm_fleets_warm_up_a_day() {
    let always_on = plan_at(&Policy::AlwaysOn { servers: 3 }, None);
    assert_eq!(steady_warmup_hours(&always_on), 0.0);
    let mut request_level = presets::load("startup-transcribe").unwrap();
    request_level.policy = Policy::OnDemand {
        idle_timeout_s: 300.0,
        max_servers: 16,
    };
    // A request-level fleet forgets its start within a boot and a timeout.
    assert!(request_level.workload.tokens.is_none());
    assert_eq!(steady_warmup_hours(&request_level), 0.0);
}

#[test]
fn tokens_of_replicas_that_stopped_still_count() {
    // Nearly idle on demand: a replica boots, serves a few requests and stops, and the
    // next boot reuses its slot; what the stopped one produced belongs to the run.
    let on_demand = Policy::OnDemand {
        idle_timeout_s: 60.0,
        max_servers: 4,
    };
    let rate_rps = 0.02;
    let plan = plan_at(&on_demand, Some(rate_rps));
    let hours = 200.0;
    let sim = simulate_llm(
        &plan,
        &SimOptions {
            hours,
            warmup_hours: 24.0,
            timeline: true,
            ..SimOptions::default()
        },
    )
    .unwrap();
    assert!(sim.fleet.cold_starts > 1000, "{}", sim.fleet.cold_starts);
    // Every request's answer is produced: the tokens are the requests' (14 400
    // requests, output CV 0.8: the mean is within 0.7 % of the plan's at one sigma).
    let tokens = plan.workload.tokens.as_ref().unwrap();
    let expected = rate_rps * tokens.output_mean;
    let got = sim.llm.output_tokens_per_s;
    assert!(
        rel(got, expected) < 0.03,
        "{got} output tokens/s, expected {expected}"
    );
    // The per-minute rows add up to the run's total: none wraps below zero.
    let total: f64 = sim
        .llm_timeline
        .iter()
        .map(|r| r.output_tokens as f64)
        .sum();
    assert!(
        rel(total, got * hours * 3600.0) < 1e-3,
        "timeline {total} vs {}",
        got * hours * 3600.0
    );
    let per_minute_max = 60.0 * 1000.0 * 4.0 * 64.0 / 50.0;
    assert!(
        sim.llm_timeline
            .iter()
            .all(|r| (r.output_tokens as f64) < per_minute_max),
        "a minute claims more tokens than 4 replicas can make"
    );
}
