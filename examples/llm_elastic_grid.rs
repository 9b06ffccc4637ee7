//! Elastic LLM fleets, model beside simulation: `llm-chatbot`'s replica at constant
//! rates and over its diurnal day, on demand (idle timeout 300 s, cap 16) and keeping
//! one warm; each simulation after a day of warm-up. The grid of docs/llm.md.
//! `cargo run --release --example llm_elastic_grid`

// An example's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use costscope::model::{Candidate, Evaluator, Plan, Policy, Rate, SweepOptions, optimize};
use costscope::plan::presets;
use costscope::sim::{SimOptions, simulate_llm};

fn main() {
    let preset = presets::load("llm-chatbot").unwrap();
    let policies = [
        (
            "on-demand",
            Policy::OnDemand {
                idle_timeout_s: 300.0,
                max_servers: 16,
            },
        ),
        (
            "keep-1",
            Policy::Hybrid {
                warm: 1,
                idle_timeout_s: 300.0,
                max_servers: 16,
            },
        ),
    ];
    let rates = [
        Some(0.005),
        Some(0.02),
        Some(0.1),
        Some(0.5),
        Some(1.5),
        Some(4.0),
        None,
    ];
    println!(
        "policy | rate | cost model sim | held model sim | cold model sim | TTFT p95 model sim | TPOT p95 model sim"
    );
    for (name, policy) in &policies {
        for rate in rates {
            let mut plan = preset.clone();
            plan.policy = policy.clone();
            let hours = match rate {
                Some(r) => {
                    plan.workload.rate_rps = Rate::Constant(r);
                    (100_000.0 / (3600.0 * r)).clamp(48.0, 8000.0)
                }
                None => 24.0 * 4.0,
            };
            let a = Evaluator::new(&plan)
                .unwrap()
                .evaluate(&Candidate::from_plan(&plan).unwrap());
            let s = simulate_llm(
                &plan,
                &SimOptions {
                    hours,
                    warmup_hours: 24.0,
                    ..SimOptions::default()
                },
            )
            .unwrap();
            let m = a.llm.as_ref();
            let l = &s.llm;
            println!(
                "{name} | {} | {:.3} {:.3} | {:.3} {:.3} | {:.4} {:.4} | {:.0} {:.0} | {:.1} {:.1}",
                rate.map_or("day".into(), |r| format!("{r}")),
                a.cost_usd_per_hour,
                s.fleet.cost_usd_per_hour,
                a.servers_held,
                s.fleet.servers_held,
                a.cold_start_fraction,
                s.fleet.cold_start_fraction,
                m.map_or(f64::NAN, |r| r.ttft_ms.p95),
                l.ttft_ms.map_or(f64::NAN, |x| x.p95),
                m.map_or(f64::NAN, |r| r.tpot_ms.p95),
                l.tpot_ms.map_or(f64::NAN, |x| x.p95),
            );
        }
    }
    sweep_speed(&preset);
}

/// The LLM optimiser's sweep (4 policies × replicas 1..64 × max_num_seqs), timed.
fn sweep_speed(preset: &Plan) {
    let mut plan = preset.clone();
    plan.policy = Policy::Optimize { max_servers: 64 };
    let options = SweepOptions::for_plan(&plan);
    let runs = 20;
    let started = Instant::now();
    let mut evaluated = 0;
    for _ in 0..runs {
        evaluated = std::hint::black_box(optimize(&plan, &options).unwrap()).evaluated;
    }
    println!(
        "optimise sweep: {evaluated} candidates, {:.2} ms per run",
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
    );
}
