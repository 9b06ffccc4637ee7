//! The LLM fleet simulator on the `llm-chatbot` preset: a day of each policy, model
//! beside simulation, with the wall-clock time of each run on one core; then one
//! always-on replica at a constant rate against the iteration-by-iteration replica
//! simulator (same arrivals and lengths). The tables in docs/llm.md.
//! `cargo run --release --example llm_fleet_day`

// An example's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use costscope::model::llm_replica::Replica;
use costscope::model::{Candidate, Evaluator, Plan, Policy, Rate, SweepOptions, optimize};
use costscope::plan::presets;
use costscope::sim::llm::{LlmSimOptions, simulate_replica};
use costscope::sim::{SimOptions, simulate_llm};

fn main() {
    let preset = presets::load("llm-chatbot").unwrap();
    let best = optimize(&preset, &SweepOptions::for_plan(&preset))
        .unwrap()
        .best
        .unwrap();
    let recommended = costscope::model::objective::candidate_of(&preset, &best).policy;
    let policies = [
        ("recommended", recommended),
        ("always-on 3", Policy::AlwaysOn { servers: 3 }),
        (
            "on-demand cap 16, T 300 s",
            Policy::OnDemand {
                idle_timeout_s: 300.0,
                max_servers: 16,
            },
        ),
        (
            "hybrid 1 warm, cap 16, T 300 s",
            Policy::Hybrid {
                warm: 1,
                idle_timeout_s: 300.0,
                max_servers: 16,
            },
        ),
    ];
    println!(
        "policy | wall s | requests | cost $/h model sim | TTFT p95 model sim | TPOT p95 model sim | tok/s model sim | replicas model sim | cold starts | preempt | restarts"
    );
    for (name, policy) in policies {
        let mut plan = preset.clone();
        plan.policy = policy;
        let a = Evaluator::new(&plan)
            .unwrap()
            .evaluate(&Candidate::from_plan(&plan).unwrap());
        let started = Instant::now();
        let s = simulate_llm(&plan, &SimOptions::default()).unwrap();
        let wall = started.elapsed().as_secs_f64();
        let m = a.llm.as_ref();
        let l = &s.llm;
        println!(
            "{name} {:?} | {wall:.2} | {} | {:.3} {:.3} | {:.0} {:.0} | {:.1} {:.1} | {:.0} {:.0} | {:.2} {:.2} | {} | {} | {}",
            plan.policy,
            s.fleet.requests,
            a.cost_usd_per_hour,
            s.fleet.cost_usd_per_hour,
            m.map_or(f64::NAN, |r| r.ttft_ms.p95),
            l.ttft_ms.map_or(f64::NAN, |x| x.p95),
            m.map_or(f64::NAN, |r| r.tpot_ms.p95),
            l.tpot_ms.map_or(f64::NAN, |x| x.p95),
            m.map_or(f64::NAN, |r| r.output_tokens_per_s),
            l.output_tokens_per_s,
            a.servers_held,
            s.fleet.servers_held,
            s.fleet.cold_starts,
            l.preemptions,
            l.restarts,
        );
    }
    one_replica(&preset);
}

/// One always-on replica at 0.1–0.9 of its capacity: fleet vs one-replica simulator.
fn one_replica(preset: &Plan) {
    let llm = preset.service.llm.as_ref().unwrap();
    let r = Replica::new(
        preset.workload.tokens.as_ref().unwrap(),
        llm,
        llm.footprint.unwrap(),
        1.0,
        preset.workload.arrival_cv,
    )
    .unwrap();
    println!(
        "\nload | TTFT fleet one | TPOT fleet one | tok/s fleet one | running fleet one | KV fleet one | preempt fleet one"
    );
    for load in [0.1, 0.5, 0.7, 0.9] {
        let rate = load * r.capacity_rps();
        let mut plan = preset.clone();
        plan.policy = Policy::AlwaysOn { servers: 1 };
        plan.workload.rate_rps = Rate::Constant(rate);
        let f = simulate_llm(
            &plan,
            &SimOptions {
                hours: 20_000.0 / 3600.0,
                warmup_hours: 2_000.0 / 3600.0,
                ..SimOptions::default()
            },
        )
        .unwrap()
        .llm;
        let o = simulate_replica(
            &r,
            &LlmSimOptions {
                rate_rps: rate,
                measure_s: 20_000.0,
                warmup_s: 2_000.0,
                seed: 1,
            },
        );
        println!(
            "{load:.1} | {:.1} {:.1} | {:.2} {:.2} | {:.1} {:.1} | {:.2} {:.2} | {:.4} {:.4} | {} {}",
            f.ttft_ms.unwrap().mean,
            o.ttft_ms.unwrap().mean,
            f.tpot_ms.unwrap().mean,
            o.tpot_ms.unwrap().mean,
            f.output_tokens_per_s,
            o.output_tokens_per_s,
            f.mean_running_seqs,
            o.mean_running_seqs,
            f.kv_utilization,
            o.kv_utilization,
            f.preemptions,
            o.preemptions,
        );
    }
}
