//! What the Warm / cold panel and the app's background verification cost on a preset
//! (default `embedding-cache`, the busiest shipped): the day of each default fleet (one
//! after another on this thread) and the verification of the recommendation (4
//! replications of each candidate, on every core), in CPU and wall time.
//! Run: `cargo run --release --example warm_cold_speed [PRESET]`

// An example's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use costscope::app::state::Results;
use costscope::app::verify_job::{REPLICATIONS, candidates};
use costscope::app::warm_cold_fleets::WarmColdSettings;
use costscope::app::warm_cold_run::day_options;
use costscope::plan::presets;
use costscope::sim::simulate;
use costscope::sim::verify::{VerifyOptions, verify};

/// This process's CPU time (user + system, all threads), seconds, from /proc (Linux);
/// `None` elsewhere.
fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and
    // 13th of those, in clock ticks (USER_HZ, 100 on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Runs `f`, printing `what` with its CPU and wall seconds.
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let (cpu0, wall0) = (process_cpu_s(), Instant::now());
    let out = f();
    let wall_s = wall0.elapsed().as_secs_f64();
    match (cpu0, process_cpu_s()) {
        (Some(a), Some(b)) => println!("{what}: {:.2} s CPU, {wall_s:.2} s wall", b - a),
        _ => println!("{what}: {wall_s:.2} s wall (CPU time unavailable)"),
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "embedding-cache".into());
    let plan = presets::load(&name)?;
    let results = Results::compute(&plan);
    let fleets = WarmColdSettings::default().fleets(&plan, &results);
    // As the panel runs it: the day after its warm-up.
    let options = day_options(&plan, &fleets, 1);
    let days = timed(&format!("{name}: a day of {} fleets", fleets.len()), || {
        fleets
            .iter()
            .map(|f| {
                let mut p = plan.clone();
                p.policy = f.candidate.policy.clone();
                p.batching.max_batch = f.candidate.batch;
                simulate(&p, &options)
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    for (f, d) in fleets.iter().zip(&days) {
        println!("  {:<28} {} requests, {} h", f.label(), d.requests, d.hours);
    }
    let chosen = candidates(&results);
    let verify_options = VerifyOptions {
        replications: REPLICATIONS,
        ..VerifyOptions::default()
    };
    let what = format!(
        "{name}: verification, {} candidates × {REPLICATIONS} days",
        chosen.len()
    );
    timed(&what, || verify(&plan, &chosen, &verify_options))?;
    Ok(())
}
