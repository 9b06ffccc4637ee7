//! Prints the simulator-vs-model tables that docs/simulator.md quotes: M/G/c at service
//! CV 0.2, 1 and 2 (c = 4, 1 ms service, 10⁷ requests per row), and on-demand
//! cold-start fraction and cost (model, simulator and, without boot time, the exact
//! M/M/∞ + MRU result). The assertions live in tests/sim_validation.rs.
//! Run: `cargo run --release --example sim_table`

// An example's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use costscope::model::{Candidate, Evaluation, Evaluator, Plan, Policy, Rate};
use costscope::plan::presets;
use costscope::sim::reference::exact_on_demand_cold_fraction;
use costscope::sim::{SimOptions, SimResult, simulate};

fn base() -> Result<Plan, Box<dyn std::error::Error>> {
    let mut p = presets::load("textbook-mmc")?;
    p.objective.slo_ms = None;
    Ok(p)
}

fn run(p: &Plan, requests: f64) -> Result<(Evaluation, SimResult), Box<dyn std::error::Error>> {
    let e = Evaluator::new(p)?.evaluate(&Candidate::from_plan(p).ok_or("no policy")?);
    let rate = costscope::model::traffic::mean_rate_rps(&p.workload.rate_rps);
    let hours = (requests / rate / 3600.0).min(8_000.0);
    let s = simulate(
        p,
        &SimOptions {
            hours,
            ..SimOptions::default()
        },
    )?;
    Ok((e, s))
}

/// Four decimals, or four significant digits for a small fraction.
fn fraction(x: f64) -> String {
    if x >= 0.01 {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

fn pct(model: f64, sim: f64) -> String {
    format!("{:+.1} %", (model / sim - 1.0) * 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut simulated = 0;
    println!("M/G/4, 1 ms service, 10^7 requests per row, seed 1 (err = model / sim - 1)\n");
    println!(
        "| service CV | ρ | mean model ms | mean sim ms | err | p95 model ms | p95 sim ms | err |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for cv in [0.2, 1.0, 2.0] {
        for rho in [0.5, 0.8, 0.9] {
            let mut p = base()?;
            p.service.batch_latency_ms = vec![(1, 1.0)];
            p.service.service_cv = cv;
            p.workload.rate_rps = Rate::Constant(rho * 4000.0);
            p.policy = Policy::AlwaysOn { servers: 4 };
            let (e, s) = run(&p, 1e7)?;
            simulated += s.requests;
            let (m, l) = (e.latency_ms.ok_or("model")?, s.latency_ms.ok_or("sim")?);
            println!(
                "| {cv} | {rho} | {:.4} | {:.4} | {} | {:.4} | {:.4} | {} |",
                m.mean,
                l.mean,
                pct(m.mean, l.mean),
                m.p95,
                l.p95,
                pct(m.p95, l.p95)
            );
        }
    }
    println!(
        "\nOn demand, exponential service, cap 10 000, up to 2·10^6 requests per row, seed 1\n"
    );
    println!(
        "| λ/s | S ms | T s | boot s | cold exact | cold model | cold sim | err | cost model $/h | cost sim $/h | err |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (rate, s_ms, t_s, boot_s) in [
        (0.01, 10.0, 60.0, 0.0),
        (0.1, 100.0, 10.0, 1.0),
        (1.0, 100.0, 1.0, 0.0),
        (1.0, 1000.0, 1.0, 0.0),
        (5.0, 1000.0, 2.0, 1.0),
        (20.0, 100.0, 0.5, 0.2),
        (20.0, 1000.0, 5.0, 10.0),
        (100.0, 100.0, 1.0, 0.0),
        // Long boots next to a short service, light traffic: the presets' regime.
        (3.6, 10.0, 300.0, 60.0),
    ] {
        let mut p = base()?;
        p.service.batch_latency_ms = vec![(1, s_ms)];
        p.service.cold_start_s = boot_s;
        p.workload.rate_rps = Rate::Constant(rate);
        p.policy = Policy::OnDemand {
            idle_timeout_s: t_s,
            max_servers: 10_000,
        };
        let (e, s) = run(&p, 2e6)?;
        simulated += s.requests;
        let exact = if boot_s == 0.0 {
            fraction(exact_on_demand_cold_fraction(rate, s_ms / 1000.0, t_s))
        } else {
            "-".into()
        };
        println!(
            "| {rate} | {s_ms} | {t_s} | {boot_s} | {exact} | {} | {} | {} | {:.4} | {:.4} | {} |",
            fraction(e.cold_start_fraction),
            fraction(s.cold_start_fraction),
            pct(e.cold_start_fraction, s.cold_start_fraction),
            e.cost_usd_per_hour,
            s.cost_usd_per_hour,
            pct(e.cost_usd_per_hour, s.cost_usd_per_hour)
        );
    }
    let wall_s = started.elapsed().as_secs_f64();
    println!(
        "\n{simulated} requests simulated in {wall_s:.1} s ({:.1} M/s, including the exact reference)",
        simulated as f64 / wall_s / 1e6
    );
    Ok(())
}
