//! CLI layer: plain-text tables for `costscope plan`.

use std::io::Write;

use crate::model::spot::JobEstimate;
use crate::model::{BreakEven, Evaluation, Metric, Plan, SweepOptions};

/// What the plan table shows.
#[derive(Debug, Clone, Copy)]
pub struct ReportView<'a> {
    /// The plan as written (none for `Optimize`).
    pub evaluation: Option<&'a Evaluation>,
    /// The recommendation.
    pub best: Option<&'a Evaluation>,
    /// Best per policy.
    pub candidates: &'a [Evaluation],
    /// Cost–latency frontier.
    pub pareto: &'a [Evaluation],
    /// Candidates evaluated.
    pub evaluated: usize,
    /// On-demand vs always-on break-even.
    pub break_even: Option<BreakEven>,
    /// Spot job estimate.
    pub job: Option<&'a JobEstimate>,
}

fn ms(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// A candidate in words: `on_demand servers=8 batch=4`, with warm and spot when set.
pub(super) fn describe(e: &Evaluation) -> String {
    let mut s = format!("{} servers={}", e.policy.name(), e.servers);
    if e.warm > 0 && e.warm != e.servers {
        s += &format!(" warm={}", e.warm);
    }
    if e.spot > 0 {
        s += &format!(" spot={}", e.spot);
    }
    s + &format!(" batch={}", e.batch)
}

fn write_evaluation(out: &mut dyn Write, e: &Evaluation, metric: Metric) -> std::io::Result<()> {
    let per_million = e
        .cost_usd_per_million
        .map_or_else(|| "-".into(), |v| format!("{v:.2}"));
    writeln!(out, "  {}", describe(e))?;
    writeln!(
        out,
        "  cost             {:.3} $/hour   {per_million} $ per million requests",
        e.cost_usd_per_hour
    )?;
    let l = e.latency_ms;
    writeln!(
        out,
        "  latency (ms)     mean {}   p50 {}   p95 {}   p99 {}",
        ms(l.map(|l| l.mean)),
        ms(l.map(|l| l.p50)),
        ms(l.map(|l| l.p95)),
        ms(l.map(|l| l.p99))
    )?;
    writeln!(out, "  P(wait)          {:.4}", e.p_wait)?;
    writeln!(
        out,
        "  utilisation      {:.1} %   ({:.2} servers held on average)",
        e.utilization * 100.0,
        e.servers_held
    )?;
    writeln!(
        out,
        "  cold starts      {:.2} % of requests",
        e.cold_start_fraction * 100.0
    )?;
    if e.mean_batch > 1.0 {
        writeln!(out, "  mean batch       {:.2}", e.mean_batch)?;
    }
    if e.cache.hit_rate > 0.0 {
        writeln!(
            out,
            "  cache            hit rate {:.1} %, saves {:.3} $/hour",
            e.cache.hit_rate * 100.0,
            e.cache.savings_usd_per_hour
        )?;
    }
    for (label, class) in [("primary", &e.primary), ("routed", &e.routing)] {
        if let Some(r) = class {
            writeln!(
                out,
                "  {label:<16} {:.0} % to {} ({} servers, {:.3} $/hour, {} {} ms)",
                r.fraction * 100.0,
                r.name,
                r.servers,
                r.cost_usd_per_hour,
                metric.name(),
                ms(r.latency_ms.map(|l| l.get(metric)))
            )?;
        }
    }
    writeln!(
        out,
        "  objective        {}",
        e.objective
            .map_or_else(|| "-".into(), |j| format!("{j:.3}"))
    )?;
    match &e.why_infeasible {
        Some(why) => writeln!(out, "  feasible         no: {why}"),
        None => writeln!(out, "  feasible         yes"),
    }
}

/// Frontier points the table shows; `--json` has them all.
const PARETO_ROWS: usize = 12;

/// Writes the human-readable report of `costscope plan`.
pub fn write_plan_report(
    out: &mut dyn Write,
    plan: &Plan,
    label: &str,
    r: &ReportView<'_>,
    options: &SweepOptions,
) -> std::io::Result<()> {
    let o = &plan.objective;
    write_header(out, plan, label)?;
    if let Some(e) = r.evaluation {
        writeln!(out, "\nAs written:")?;
        write_evaluation(out, e, o.metric)?;
    }
    write_candidates(out, plan, r, options)?;
    if let Some(best) = r.best {
        writeln!(out, "\nRecommended:")?;
        write_evaluation(out, best, o.metric)?;
    }
    write_pareto(out, plan, r.pareto)?;
    write_break_even_and_job(out, r)
}

/// The plan's name, objective and (when calibrated) where its service was measured.
fn write_header(out: &mut dyn Write, plan: &Plan, label: &str) -> std::io::Result<()> {
    let o = &plan.objective;
    let m = o.metric.name();
    writeln!(out, "Plan: {}  ({label})", plan.name)?;
    writeln!(
        out,
        "Objective: J = {}·cost($/h) + {}·{m}(ms); SLO {}; one ms is worth {} $/hour",
        o.alpha,
        o.beta,
        o.slo_ms
            .map_or_else(|| "none".into(), |s| format!("{m} ≤ {s} ms")),
        if o.alpha > 0.0 {
            format!("{:.4}", o.beta / o.alpha)
        } else {
            "∞".into()
        }
    )?;
    if let crate::model::Source::Profile {
        report,
        adapter,
        precision,
        model,
    } = &plan.service.source
    {
        let curve: Vec<String> = plan
            .service
            .batch_latency_ms
            .iter()
            .map(|(b, ms)| format!("{b}: {ms:.3}"))
            .collect();
        writeln!(
            out,
            "Service: measured on {adapter} ({precision:?}, model {model}) in {report}; L(b) ms = [{}]; seq_len {} tokens per request; CV {:.3}; cold start {:.2} s",
            curve.join(", "),
            plan.service.seq_len,
            plan.service.service_cv,
            plan.service.cold_start_s
        )?;
    }
    Ok(())
}

/// The best candidate of each policy, one row each.
fn write_candidates(
    out: &mut dyn Write,
    plan: &Plan,
    r: &ReportView<'_>,
    options: &SweepOptions,
) -> std::io::Result<()> {
    let o = &plan.objective;
    let m = o.metric.name();
    let batches: Vec<String> = options.batches.iter().map(u32::to_string).collect();
    writeln!(
        out,
        "\nBest per policy ({} candidates evaluated; servers 1..{}, batch {}):",
        r.evaluated,
        options.max_servers,
        batches.join("/")
    )?;
    writeln!(
        out,
        "  {:<10} {:>7} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>6} {:>7} {:>10}",
        "policy",
        "servers",
        "warm",
        "spot",
        "batch",
        "$/hour",
        "$/1M req",
        format!("{m} ms"),
        "util",
        "cold",
        "objective"
    )?;
    for e in r.candidates {
        writeln!(
            out,
            "  {:<10} {:>7} {:>5} {:>5} {:>5} {:>10.3} {:>10} {:>10} {:>5.1}% {:>6.2}% {:>10}",
            e.policy.name(),
            e.servers,
            e.warm,
            e.spot,
            e.batch,
            e.cost_usd_per_hour,
            e.cost_usd_per_million
                .map_or_else(|| "-".into(), |v| format!("{v:.2}")),
            ms(e.latency_ms.map(|l| l.get(o.metric))),
            e.utilization * 100.0,
            e.cold_start_fraction * 100.0,
            e.objective
                .map_or_else(|| "-".into(), |j| format!("{j:.3}"))
        )?;
    }
    if r.candidates.is_empty() {
        writeln!(out, "  (no feasible candidate)")?;
    }
    Ok(())
}

/// The first points of the cost–latency frontier.
fn write_pareto(out: &mut dyn Write, plan: &Plan, pareto: &[Evaluation]) -> std::io::Result<()> {
    let metric = plan.objective.metric;
    let m = metric.name();
    writeln!(
        out,
        "\nPareto frontier, cost vs {m} ({} points):",
        pareto.len()
    )?;
    for e in pareto.iter().take(PARETO_ROWS) {
        writeln!(
            out,
            "  {:>10.3} $/hour  {:>10} ms  {}",
            e.cost_usd_per_hour,
            ms(e.latency_ms.map(|l| l.get(metric))),
            describe(e)
        )?;
    }
    if pareto.len() > PARETO_ROWS {
        writeln!(out, "  … {} more (see --json)", pareto.len() - PARETO_ROWS)?;
    }
    Ok(())
}

/// The on-demand / always-on break-even and, for plans with a job, the checkpointed
/// spot estimate.
fn write_break_even_and_job(out: &mut dyn Write, r: &ReportView<'_>) -> std::io::Result<()> {
    match r.break_even {
        Some(b) => writeln!(
            out,
            "\nBreak-even: below {:.3} req/s on-demand is cheaper; above it {} always-on server(s) at {:.3} $/hour are.",
            b.rate_rps, b.always_on_servers, b.cost_usd_per_hour
        )?,
        None => writeln!(
            out,
            "\nBreak-even: no crossing between 10⁻⁶ and 10× the peak rate."
        )?,
    }
    if let Some(j) = r.job {
        writeln!(
            out,
            "\nCheckpointed job: {:.1} h on spot ({:.1} interruptions, checkpoint every {:.0} s; Young/Daly optimum {}) = {:.2} $ vs {:.1} h on-demand = {:.2} $",
            j.spot_hours,
            j.interruptions,
            j.checkpoint_interval_s,
            j.optimal_interval_s
                .map_or_else(|| "none".into(), |t| format!("{t:.0} s")),
            j.spot_usd,
            j.on_demand_hours,
            j.on_demand_usd
        )?;
    }
    Ok(())
}
