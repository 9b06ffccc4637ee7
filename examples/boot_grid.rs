//! Prints the on-demand / hybrid grid of docs/simulator.md ("With boot time: the
//! grid"): for each cell the model's cold-start fraction, cost and mean latency beside
//! the simulator's steady state (`sim::steady`: a warm-up run subtracted from a longer
//! one with the same seed), the errors, and whether the cell meets the targets (cold
//! within 5 % relative or 0.0005 absolute below 1 %, cost within 2 %, mean latency
//! within 5 %). tests/boot_grid.rs asserts a subset.
//! Run: `cargo run --release --example boot_grid`

// An example's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use costscope::model::{Candidate, Evaluator, Plan, Policy, Rate};
use costscope::plan::presets;
use costscope::sim::steady::steady_state;

/// One cell: warm floor (0 = on demand), rate (constant, or diurnal peak/trough),
/// service ms, idle timeout s, boot s, cap.
struct Cell {
    warm: u32,
    rate: Rate,
    service_ms: f64,
    timeout_s: f64,
    boot_s: f64,
    cap: u32,
}

fn plan(c: &Cell) -> Plan {
    let mut p = presets::load("textbook-mmc").unwrap();
    p.objective.slo_ms = None;
    p.service.batch_latency_ms = vec![(1, c.service_ms)];
    p.service.cold_start_s = c.boot_s;
    p.workload.rate_rps = c.rate.clone();
    p.policy = if c.warm == 0 {
        Policy::OnDemand {
            idle_timeout_s: c.timeout_s,
            max_servers: c.cap,
        }
    } else {
        Policy::Hybrid {
            warm: c.warm,
            idle_timeout_s: c.timeout_s,
            max_servers: c.cap,
        }
    };
    p
}

fn cell(warm: u32, rate: f64, service_ms: f64, timeout_s: f64, boot_s: f64, cap: u32) -> Cell {
    Cell {
        warm,
        rate: Rate::Constant(rate),
        service_ms,
        timeout_s,
        boot_s,
        cap,
    }
}

fn diurnal(warm: u32, peak: f64, trough: f64, service_ms: f64, t: f64, boot: f64) -> Cell {
    Cell {
        rate: Rate::Diurnal {
            peak,
            trough,
            peak_hour: 14,
        },
        ..cell(warm, 0.0, service_ms, t, boot, 64)
    }
}

fn grid() -> Vec<Cell> {
    vec![
        cell(0, 0.1, 100.0, 10.0, 1.0, 64),
        cell(0, 1.0, 10.0, 600.0, 300.0, 64),
        cell(0, 3.6, 10.0, 300.0, 60.0, 64),
        cell(0, 3.6, 10.0, 60.0, 60.0, 64),
        cell(0, 1.0, 1000.0, 60.0, 30.0, 64),
        cell(0, 5.0, 1000.0, 10.0, 10.0, 64),
        cell(0, 5.0, 1000.0, 120.0, 60.0, 64),
        cell(0, 20.0, 1000.0, 60.0, 30.0, 64),
        cell(0, 1.0, 10_000.0, 600.0, 300.0, 64),
        cell(0, 0.5, 10_000.0, 60.0, 120.0, 64),
        cell(0, 1000.0, 10.0, 30.0, 5.0, 64),
        cell(0, 50_000.0, 1.0, 10.0, 1.0, 64),
        cell(0, 0.05, 1000.0, 30.0, 20.0, 1),
        cell(0, 2.0, 1000.0, 60.0, 30.0, 4),
        cell(1, 3.6, 10.0, 300.0, 60.0, 64),
        cell(2, 3.6, 100.0, 60.0, 60.0, 8),
        cell(4, 5.0, 1000.0, 30.0, 30.0, 16),
        diurnal(0, 10.0, 1.0, 100.0, 120.0, 60.0),
        diurnal(1, 7.2, 0.5, 10.0, 300.0, 60.0),
    ]
}

fn pct(model: f64, sim: f64) -> f64 {
    (model / sim - 1.0) * 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    println!(
        "| k | λ/s | S ms | T s | boot s | cap | colds sim | cold model | cold sim | err | cost model $/h | cost sim $/h | err | mean model ms | mean sim ms | err | target |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for c in grid() {
        let p = plan(&c);
        let e = Evaluator::new(&p)?.evaluate(&Candidate::from_plan(&p).ok_or("no policy")?);
        let mean_rate = costscope::model::traffic::mean_rate_rps(&p.workload.rate_rps);
        let diurnal = matches!(c.rate, Rate::Diurnal { .. });
        // Enough requests for ~3000 cold starts (the model's count), within 10⁶–3·10⁷.
        let requests = (3000.0 / e.cold_start_fraction.max(1e-9)).clamp(1e6, 3e7);
        let (warmup_h, hours) = if diurnal {
            (
                24.0,
                (requests / mean_rate / 86_400.0).ceil().max(1.0) * 24.0,
            )
        } else {
            (
                10.0 * (c.timeout_s + c.boot_s) / 3600.0,
                requests / mean_rate / 3600.0,
            )
        };
        let s = steady_state(&p, 1, warmup_h, hours.min(8_000.0))?;
        let rate = match c.rate {
            Rate::Constant(r) => format!("{r}"),
            Rate::Diurnal { peak, trough, .. } => format!("{trough}–{peak} diurnal"),
            _ => "-".into(),
        };
        let model_mean = e.latency_ms.map_or(f64::NAN, |l| l.mean);
        let (cold_err, cost_err, mean_err) = (
            pct(e.cold_start_fraction, s.cold_start_fraction),
            pct(e.cost_usd_per_hour, s.cost_usd_per_hour),
            pct(model_mean, s.mean_latency_ms),
        );
        let cold_ok = cold_err.abs() <= 5.0
            || (s.cold_start_fraction < 0.01
                && (e.cold_start_fraction - s.cold_start_fraction).abs() <= 5e-4);
        let ok = cold_ok && cost_err.abs() <= 2.0 && mean_err.abs() <= 5.0;
        let warn = if s.warnings.is_empty() {
            ""
        } else {
            " (sim warned)"
        };
        println!(
            "| {} | {rate} | {} | {} | {} | {} | {:.0} | {:.4e} | {:.4e} | {cold_err:+.1} % | {:.4} | {:.4} | {cost_err:+.1} % | {model_mean:.2} | {:.2} | {mean_err:+.1} % | {}{warn} |",
            c.warm,
            c.service_ms,
            c.timeout_s,
            c.boot_s,
            c.cap,
            s.cold_start_fraction * s.server_requests,
            e.cold_start_fraction,
            s.cold_start_fraction,
            e.cost_usd_per_hour,
            s.cost_usd_per_hour,
            s.mean_latency_ms,
            if ok { "met" } else { "missed" },
        );
    }
    println!("\n{:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
