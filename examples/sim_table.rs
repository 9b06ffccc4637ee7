//! Prints the simulator-vs-model validation tables that SIMULATOR.md quotes:
//! M/G/c at service CV 0.2, 1 and 2, and on-demand regimes.
//! Run: `cargo run --release --example sim_table`

use costscope::model::{Candidate, Context, Plan, Policy, Rate};
use costscope::plan::presets;
use costscope::sim::{SimOptions, simulate};

fn base() -> Plan {
    let mut p = presets::load("textbook-mmc").expect("preset");
    p.objective.slo_ms = None;
    p
}

/// c servers, 1 ms service of CV `cv`, load ρ.
fn mgc(c: u32, rho: f64, cv: f64) -> Plan {
    let mut p = base();
    p.service.batch_latency_ms = vec![(1, 1.0)];
    p.service.service_cv = cv;
    p.workload.rate_rps = Rate::Constant(rho * f64::from(c) * 1000.0);
    p.policy = Policy::AlwaysOn { servers: c };
    p
}

fn od(rate: f64, service_ms: f64, timeout_s: f64, cold_s: f64, cap: u32) -> Plan {
    let mut p = base();
    p.service.batch_latency_ms = vec![(1, service_ms)];
    p.service.cold_start_s = cold_s;
    p.workload.rate_rps = Rate::Constant(rate);
    p.policy = Policy::OnDemand {
        idle_timeout_s: timeout_s,
        max_servers: cap,
    };
    p
}

fn main() {
    let n = 10_000_000.0;
    println!("| c | ρ | service CV | mean model | mean sim | err | p95 model | p95 sim | err |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for cv in [0.2, 1.0, 2.0] {
        for rho in [0.5, 0.8, 0.9] {
            let c = 4;
            let p = mgc(c, rho, cv);
            let e = Context::new(&p)
                .unwrap()
                .evaluate(&Candidate::from_plan(&p).unwrap());
            let hours = n / (rho * 4000.0) / 3600.0;
            let s = simulate(
                &p,
                &SimOptions {
                    hours,
                    ..Default::default()
                },
            )
            .unwrap();
            let (m, sl) = (e.latency_ms.unwrap(), s.latency_ms.unwrap());
            println!(
                "| {c} | {rho} | {cv} | {:.4} | {:.4} | {:+.1} % | {:.4} | {:.4} | {:+.1} % |",
                m.mean,
                sl.mean,
                (m.mean / sl.mean - 1.0) * 100.0,
                m.p95,
                sl.p95,
                (m.p95 / sl.p95 - 1.0) * 100.0
            );
        }
    }
    println!();
    println!(
        "| λ/s | S ms | T s | cold s | cold frac model | sim | cost model | sim | held model | sim |"
    );
    for (rate, s_ms, t_s, cold_s) in [
        (0.01, 10.0, 60.0, 0.0),
        (0.1, 100.0, 10.0, 1.0),
        (1.0, 100.0, 1.0, 0.0),
        (1.0, 1000.0, 1.0, 0.0),
        (5.0, 1000.0, 2.0, 1.0),
        (20.0, 100.0, 0.5, 0.2),
        (20.0, 1000.0, 5.0, 10.0),
        (100.0, 100.0, 1.0, 0.0),
    ] {
        let p = od(rate, s_ms, t_s, cold_s, 10_000);
        let e = Context::new(&p)
            .unwrap()
            .evaluate(&Candidate::from_plan(&p).unwrap());
        let hours = (2e6 / rate / 3600.0).min(24.0 * 30.0);
        let s = simulate(
            &p,
            &SimOptions {
                hours,
                ..Default::default()
            },
        )
        .unwrap();
        println!(
            "| {rate} | {s_ms} | {t_s} | {cold_s} | {:.4} | {:.4} | {:.4} | {:.4} | {:.3} | {:.3} |",
            e.cold_start_fraction,
            s.cold_start_fraction,
            e.cost_usd_per_hour,
            s.cost_usd_per_hour,
            e.servers_held,
            s.servers_held
        );
    }
}
