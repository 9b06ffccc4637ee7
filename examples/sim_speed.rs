//! Simulator throughput on one core measured in CPU time as well as wall time, for a
//! busy shared machine where criterion's wall-clock figure understates the speed.
//! Same M/M/4 plan (ρ 0.8, 1 ms service) as `benches/simulate.rs`, 10⁷ requests × 5.
//! Run: `cargo run --release --example sim_speed`

// An example's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use costscope::model::{Policy, Rate};
use costscope::plan::presets;
use costscope::sim::{SimOptions, simulate};

/// This thread's CPU time (user + system), seconds, from /proc (Linux); `None` elsewhere.
fn thread_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and
    // 13th of those, in clock ticks (USER_HZ, 100 on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut p = presets::load("textbook-mmc")?;
    p.workload.rate_rps = Rate::Constant(3200.0);
    p.service.batch_latency_ms = vec![(1, 1.0)];
    p.policy = Policy::AlwaysOn { servers: 4 };
    let options = SimOptions {
        hours: 1e7 / 3200.0 / 3600.0,
        ..SimOptions::default()
    };
    let (cpu0, wall0) = (thread_cpu_s(), Instant::now());
    let mut requests = 0;
    for seed in 1..=5 {
        requests += simulate(
            &p,
            &SimOptions {
                seed,
                ..options.clone()
            },
        )?
        .requests;
    }
    let wall_s = wall0.elapsed().as_secs_f64();
    println!(
        "{requests} requests, wall {wall_s:.2} s: {:.2} M requests/s",
        requests as f64 / wall_s / 1e6
    );
    match (cpu0, thread_cpu_s()) {
        (Some(a), Some(b)) if b > a => println!(
            "thread CPU {:.2} s: {:.2} M requests/s per CPU-second",
            b - a,
            requests as f64 / (b - a) / 1e6
        ),
        _ => println!("thread CPU time unavailable"),
    }
    Ok(())
}
