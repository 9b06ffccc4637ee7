#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
use costscope::model::{Candidate, Evaluator, Policy, Rate};
use costscope::plan::presets;
fn main() {
    let a: Vec<f64> = std::env::args().skip(1).map(|x| x.parse().unwrap()).collect();
    let (rate, s_ms, t_s, boot_s, cap, warm, req) = (a[0], a[1], a[2], a[3], a[4] as u32, a[5] as u32, a[6]);
    let mut p = presets::load("textbook-mmc").unwrap();
    p.objective.slo_ms = None;
    p.service.batch_latency_ms = vec![(1, s_ms)];
    p.service.cold_start_s = boot_s;
    p.workload.rate_rps = Rate::Constant(rate);
    p.policy = if warm == 0 { Policy::OnDemand { idle_timeout_s: t_s, max_servers: cap } } else { Policy::Hybrid { warm, idle_timeout_s: t_s, max_servers: cap } };
    let e = Evaluator::new(&p).unwrap().evaluate(&Candidate::from_plan(&p).unwrap());
    let hours = (req / rate / 3600.0).min(8000.0);
    let s = costscope::sim::steady::steady_state(&p, 1, 10.0 * (t_s + boot_s) / 3600.0, hours).unwrap();
    let (ml, sl) = (e.latency_ms.map(|l| l.mean).unwrap_or(f64::NAN), s.mean_latency_ms);
    println!("cold model {:.5e} sim {:.5e} ({:+.1}%) | cost {:.4} {:.4} ({:+.1}%) | mean {:.2} {:.2} ({:+.1}%) | held sim {:.3} {:?}",
        e.cold_start_fraction, s.cold_start_fraction, (e.cold_start_fraction/s.cold_start_fraction-1.0)*100.0,
        e.cost_usd_per_hour, s.cost_usd_per_hour, (e.cost_usd_per_hour/s.cost_usd_per_hour-1.0)*100.0,
        ml, sl, (ml/sl-1.0)*100.0, s.servers_held, s.warnings);
}
