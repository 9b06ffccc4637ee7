//! CLI layer: plain-text tables for `costscope plan`.

use std::io::Write;

use crate::model::compare::{CacheComparison, FleetFigures, LazyComparison, SameFleet};
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
    /// What the cache saves (none without a cache).
    pub cache: Option<&'a CacheComparison>,
    /// What lazy evaluation saves (none when every result is computed).
    pub lazy: Option<&'a LazyComparison>,
}

/// One evaluation and what turning the cache and lazy evaluation off does to its fleet.
#[derive(Debug, Clone, Copy)]
struct Block<'a> {
    e: &'a Evaluation,
    cache: Option<&'a SameFleet>,
    lazy: Option<(f64, &'a SameFleet)>,
}

fn ms(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn write_evaluation(out: &mut dyn Write, b: Block<'_>, metric: Metric) -> std::io::Result<()> {
    let e = b.e;
    let per_million = e
        .cost_usd_per_million
        .map_or_else(|| "-".into(), |v| format!("{v:.2}"));
    writeln!(out, "  {}", e.candidate_name())?;
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
    if let Some(r) = &e.llm {
        super::llm_table::write_llm(out, r)?;
    }
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
    if let Some(c) = b.cache {
        writeln!(
            out,
            "  cache            hit rate {:.1} %; {}",
            e.cache.hit_rate * 100.0,
            same_fleet_words(c, "without the cache", "the cache")
        )?;
    }
    if let Some((p, l)) = b.lazy {
        writeln!(
            out,
            "  lazy             p = {p:.3} of results computed; {}",
            same_fleet_words(l, "computing every result", "lazy evaluation")
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

/// "<off> this fleet costs X $/hour, so <feature> saves Y $/hour", with why the fleet
/// is infeasible without the feature; or why it cannot run at all without it.
fn same_fleet_words(s: &SameFleet, off: &str, feature: &str) -> String {
    let why = s.without_infeasible.as_deref().unwrap_or("infeasible");
    match (s.without_usd_per_hour, s.savings_usd_per_hour) {
        (Some(cost), Some(saves)) => {
            let short = s
                .without_infeasible
                .as_ref()
                .map_or_else(String::new, |why| format!(" (infeasible: {why})"));
            format!(
                "{off} this fleet costs {cost:.3} $/hour{short}, so {feature} saves {saves:.3} $/hour"
            )
        }
        _ => format!("{off} this fleet cannot serve the plan ({why})"),
    }
}

/// The optimum with the cache beside the optimum without it.
fn write_cache_optima(out: &mut dyn Write, c: &CacheComparison) -> std::io::Result<()> {
    writeln!(out, "\nCache, each one's optimum:")?;
    let row = |f: &Option<FleetFigures>| match f {
        Some(f) => format!(
            "{}   {:.3} $/hour   p95 {} ms",
            f.fleet,
            f.cost_usd_per_hour,
            ms(f.p95_ms)
        ),
        None => "no feasible fleet".into(),
    };
    writeln!(out, "  with the cache     {}", row(&c.optima.with))?;
    writeln!(out, "  without the cache  {}", row(&c.optima.without))?;
    if let Some(s) = c.optima.savings_usd_per_hour {
        writeln!(out, "  the cache saves    {s:.3} $/hour")?;
    }
    Ok(())
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
    let lazy = |pick: fn(&LazyComparison) -> Option<&SameFleet>| {
        r.lazy.and_then(|l| pick(l).map(|s| (l.fraction_needed, s)))
    };
    if let Some(e) = r.evaluation {
        writeln!(out, "\nAs written:")?;
        let block = Block {
            e,
            cache: r.cache.and_then(|c| c.as_written.as_ref()),
            lazy: lazy(|l| l.as_written.as_ref()),
        };
        write_evaluation(out, block, o.metric)?;
    }
    write_candidates(out, plan, r, options)?;
    if let Some(best) = r.best {
        writeln!(out, "\nRecommended:")?;
        let block = Block {
            e: best,
            cache: r.cache.and_then(|c| c.recommendation.as_ref()),
            lazy: lazy(|l| l.recommendation.as_ref()),
        };
        write_evaluation(out, block, o.metric)?;
    }
    if let Some(c) = r.cache {
        write_cache_optima(out, c)?;
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
        match o.slo_ms {
            Some(s) => format!("{m} ≤ {s} ms"),
            // TTFT / TPOT SLOs have their own line below; this one is the request's.
            None if o.ttft_slo_ms.is_some() || o.tpot_slo_ms.is_some() => {
                "none on the whole request".into()
            }
            None => "none".into(),
        },
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
    if let Some(p) = &plan.service.cold_start_parts {
        writeln!(out, "Cold start: {}", p.describe())?;
    }
    super::llm_table::write_llm_header(out, plan)
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
    let join = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join("/");
    // An LLM replica batches continuously: its knob is max_num_seqs, not a batch.
    let llm = plan.service.llm.is_some();
    let (knob, swept) = if llm {
        (
            "seqs",
            format!("max_num_seqs {}", join(&options.max_num_seqs)),
        )
    } else {
        ("batch", format!("batch {}", join(&options.batches)))
    };
    writeln!(
        out,
        "\nBest per policy ({} candidates evaluated; servers 1..{}, {swept}):",
        r.evaluated, options.max_servers,
    )?;
    writeln!(
        out,
        "  {:<10} {:>7} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>6} {:>7} {:>10}",
        "policy",
        "servers",
        "warm",
        "spot",
        knob,
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
            if llm {
                e.max_num_seqs.unwrap_or(e.batch)
            } else {
                e.batch
            },
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
            e.candidate_name()
        )?;
    }
    if pareto.len() > PARETO_ROWS {
        writeln!(out, "  … {} more (see --json)", pareto.len() - PARETO_ROWS)?;
    }
    Ok(())
}

/// The break-even rate in words: "0.250 req/s", and for an LLM plan, whose rate is
/// often a few thousandths, "0.00527 req/s = 1.35 output tokens/s" (three
/// significant digits of the rate).
pub fn break_even_rate(b: &BreakEven) -> String {
    match b.output_tokens_per_s {
        Some(t) => {
            // Decimals for three significant digits, none past the units for ≥ 100.
            let magnitude = b.rate_rps.abs().max(f64::MIN_POSITIVE).log10().floor();
            let decimals = (2.0 - magnitude).clamp(0.0, 12.0) as usize;
            format!("{:.decimals$} req/s = {t:.2} output tokens/s", b.rate_rps)
        }
        None => format!("{:.3} req/s", b.rate_rps),
    }
}

/// The on-demand / always-on break-even and, for plans with a job, the checkpointed
/// spot estimate.
fn write_break_even_and_job(out: &mut dyn Write, r: &ReportView<'_>) -> std::io::Result<()> {
    match r.break_even {
        Some(b) => writeln!(
            out,
            "\nBreak-even: below {} on-demand is cheaper; above it {} always-on server(s) at {:.3} $/hour are.",
            break_even_rate(&b),
            b.always_on_servers,
            b.cost_usd_per_hour
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
