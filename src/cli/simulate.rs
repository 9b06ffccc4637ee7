//! CLI layer: `costscope simulate` — the analytic evaluation and a simulated run side
//! by side, as a table or JSON, with an optional per-minute timeline CSV.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;

use super::PlanOverrides;
use crate::model::{Candidate, Evaluation, Evaluator};
use crate::plan::{apply_overrides, load};
use crate::sim::{SimLatency, SimOptions, SimResult, simulate, simulate_llm};

/// `costscope simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Plan file (RON), or the name of a shipped preset.
    pub file: String,
    /// Policy, servers and batch to simulate instead of the plan's.
    #[command(flatten)]
    pub overrides: PlanOverrides,
    /// Simulated hours (the plan's day repeats after 24).
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Hours simulated first and left out of every figure and the timeline: the run
    /// starts this long before the plan's midnight, so the measured hours begin from
    /// the fleet's steady state instead of its start-up (0: measured from the start).
    #[arg(long, default_value_t = 0.0)]
    pub warmup_hours: f64,
    /// Seed of the random streams; the same seed gives the same result.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop arrivals after this many requests (a guard against huge runs).
    #[arg(long, default_value_t = 100_000_000)]
    pub max_requests: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write the per-minute timeline to this CSV file.
    #[arg(long)]
    pub timeline: Option<PathBuf>,
}

/// The JSON `costscope simulate --json` prints (the shape in ARCHITECTURE.md).
#[derive(Debug, Serialize)]
struct SimReport<'a, S: Serialize> {
    plan: &'a str,
    analytic: &'a Evaluation,
    /// A [`SimResult`], or for an LLM plan an `LlmFleetResult` (the same fields and an
    /// `llm` block).
    simulated: &'a S,
    seed: u64,
    wall_s: f64,
}

/// Runs `costscope simulate`, writing to `out`.
pub fn run(args: &SimulateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (mut plan, label) = load(&args.file)?;
    apply_overrides(&mut plan, &args.overrides.with_weights(None, None))?;
    let candidate = Candidate::from_plan(&plan).with_context(|| {
        format!("plan {label} asks to Optimize: pass --policy (and --servers) to simulate one")
    })?;
    let analytic = Evaluator::new(&plan)
        .with_context(|| format!("plan {label}"))?
        .evaluate(&candidate);
    if let Some(path) = &args.timeline {
        crate::files::check_writable(path)
            .with_context(|| format!("cannot write the timeline to {}", path.display()))?;
    }
    let options = SimOptions {
        seed: args.seed,
        hours: args.hours,
        warmup_hours: args.warmup_hours,
        timeline: args.timeline.is_some(),
        max_requests: args.max_requests,
        ..SimOptions::default()
    };
    if plan.workload.tokens.is_some() {
        return run_llm(args, out, &plan, &label, &analytic, &options);
    }
    let started = Instant::now();
    let simulated = simulate(&plan, &options).with_context(|| format!("plan {label}"))?;
    let wall_s = started.elapsed().as_secs_f64();
    if let Some(path) = &args.timeline {
        write_timeline(path, &simulated)?;
    }
    if args.json {
        let report = SimReport {
            plan: &plan.name,
            analytic: &analytic,
            simulated: &simulated,
            seed: args.seed,
            wall_s,
        };
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        write_table(
            out, &label, &plan.name, &analytic, &simulated, args.seed, wall_s,
        )?;
    }
    Ok(())
}

/// An LLM plan: the fleet of replicas simulated, its `llm` block beside the model's.
fn run_llm(
    args: &SimulateArgs,
    out: &mut dyn Write,
    plan: &crate::model::Plan,
    label: &str,
    analytic: &Evaluation,
    options: &SimOptions,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let simulated = simulate_llm(plan, options).with_context(|| format!("plan {label}"))?;
    let wall_s = started.elapsed().as_secs_f64();
    if let Some(path) = &args.timeline {
        super::simulate_llm::write_llm_timeline(path, &simulated)?;
    }
    if args.json {
        let report = SimReport {
            plan: &plan.name,
            analytic,
            simulated: &simulated,
            seed: args.seed,
            wall_s,
        };
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    write_table(
        out,
        label,
        &plan.name,
        analytic,
        &simulated.fleet,
        args.seed,
        wall_s,
    )?;
    writeln!(out)?;
    writeln!(out, "LLM (latency above is E2E; a server is a replica)")?;
    super::simulate_llm::write_llm_rows(out, analytic, &simulated)?;
    let steady_h = crate::sim::verify::steady_warmup_hours(plan);
    if options.warmup_hours < steady_h {
        writeln!(
            out,
            "\nnote: the analytic figures are a steady day; an elastic LLM fleet remembers the \
             previous day, so this run from the start-up fleet can differ \
             (--warmup-hours {steady_h} simulates the steady day)"
        )?;
    }
    Ok(())
}

fn write_timeline(path: &std::path::Path, r: &SimResult) -> anyhow::Result<()> {
    let mut text = String::from("minute,arrivals,busy,booting,idle,queue,cumulative_cost_usd\n");
    for m in &r.timeline {
        text.push_str(&format!(
            "{},{},{},{},{},{},{:.6}\n",
            m.minute, m.arrivals, m.busy, m.booting, m.idle, m.queue, m.cumulative_cost_usd
        ));
    }
    crate::files::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn write_table(
    out: &mut dyn Write,
    label: &str,
    name: &str,
    a: &Evaluation,
    s: &SimResult,
    seed: u64,
    wall_s: f64,
) -> anyhow::Result<()> {
    writeln!(out, "{name} ({label}), policy {}", a.policy.name())?;
    let warmup = if s.warmup_hours > 0.0 {
        format!(" after a {:.2} h warm-up", s.warmup_hours)
    } else {
        String::new()
    };
    writeln!(
        out,
        "simulated {:.2} h{warmup}, seed {seed}: {} requests ({} to servers) in {wall_s:.2} s",
        s.hours, s.requests, s.server_requests
    )?;
    writeln!(out)?;
    writeln!(out, "{:<22} {:>14} {:>14}", "", "analytic", "simulated")?;
    let num = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    let lat = |f: fn(&crate::model::LatencyStats) -> f64| a.latency_ms.as_ref().map(f);
    let sim = |f: fn(&SimLatency) -> f64| s.latency_ms.as_ref().map(f);
    let rows: [(&str, Option<f64>, Option<f64>); 11] = [
        (
            "cost $/hour",
            Some(a.cost_usd_per_hour),
            Some(s.cost_usd_per_hour),
        ),
        ("latency mean ms", lat(|l| l.mean), sim(|l| l.mean)),
        ("latency p50 ms", lat(|l| l.p50), sim(|l| l.p50)),
        ("latency p95 ms", lat(|l| l.p95), sim(|l| l.p95)),
        ("latency p99 ms", lat(|l| l.p99), sim(|l| l.p99)),
        ("latency max ms", None, sim(|l| l.max)),
        ("servers held", Some(a.servers_held), Some(s.servers_held)),
        ("utilization", Some(a.utilization), Some(s.utilization)),
        ("P(wait)", Some(a.p_wait), Some(s.p_wait)),
        (
            "cold-start fraction",
            Some(a.cold_start_fraction),
            Some(s.cold_start_fraction),
        ),
        ("mean batch", Some(a.mean_batch), Some(s.mean_batch)),
    ];
    for (what, x, y) in rows {
        writeln!(out, "{what:<22} {:>14} {:>14}", num(x), num(y))?;
    }
    writeln!(
        out,
        "{:<22} {:>14} {:>14}",
        "cold starts", "-", s.cold_starts
    )?;
    writeln!(
        out,
        "{:<22} {:>14} {:>14}",
        "SLO violations", "-", s.slo_violations
    )?;
    writeln!(
        out,
        "server-hours           busy {:.2}, idle {:.2}, booting {:.2}; spot interruptions {}",
        s.server_hours.busy, s.server_hours.idle, s.server_hours.booting, s.spot_interruptions
    )?;
    if let Some(why) = &a.why_infeasible {
        writeln!(out, "analytic: {why}")?;
    }
    for w in &s.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}
