//! CLI layer: the `costscope plan --verify` table — each candidate's analytic and
//! simulated cost, objective metric and cold-start share, with 95 % intervals, and
//! whether the simulation ranks them as the model does.

use std::io::Write;

use super::plan_cmd::VerificationReport;
use crate::model::Plan;
use crate::sim::verify::Verification;

/// Writes the verification section after the plan table.
pub fn write_verification(
    out: &mut dyn Write,
    plan: &Plan,
    v: &VerificationReport,
) -> std::io::Result<()> {
    let m = plan.objective.metric.name();
    writeln!(
        out,
        "\nVerified by simulation ({} replications × {} h, seeds {}..{}; model | simulated ± 95 %):",
        v.replications,
        v.hours,
        v.seed,
        v.seed
            .saturating_add(u64::from(v.replications.saturating_sub(1)))
    )?;
    writeln!(
        out,
        "  {:<44} {:>26} {:>28} {:>22}  agrees",
        "candidate",
        "$/hour",
        format!("{m} ms"),
        "cold"
    )?;
    for (i, c) in v.candidates.iter().enumerate() {
        write_row(out, plan, c, i == 0)?;
    }
    for c in v.candidates.iter().filter(|c| !c.agrees) {
        for d in &c.disagreements {
            writeln!(out, "  {}: {d}", c.candidate.candidate_name())?;
        }
    }
    for w in v
        .candidates
        .iter()
        .flat_map(|c| c.simulated.warnings.iter())
    {
        writeln!(out, "  simulation: {w}")?;
    }
    match v.simulation_prefers.and_then(|i| v.candidates.get(i)) {
        Some(better) => writeln!(
            out,
            "The simulation ranks {} above the recommendation (simulated J {:.3} vs {:.3}).",
            better.candidate.candidate_name(),
            better.simulated.objective,
            v.candidates
                .first()
                .map_or(f64::NAN, |c| c.simulated.objective)
        ),
        None => writeln!(out, "The simulation ranks the recommendation first."),
    }
}

fn write_row(
    out: &mut dyn Write,
    plan: &Plan,
    c: &Verification,
    recommended: bool,
) -> std::io::Result<()> {
    let e = &c.candidate;
    let s = &c.simulated;
    let metric = e.latency_ms.map_or_else(
        || "-".into(),
        |l| format!("{:.1}", l.get(plan.objective.metric)),
    );
    let label = format!(
        "{}{}",
        if recommended { "* " } else { "  " },
        c.candidate.candidate_name()
    );
    writeln!(
        out,
        "  {label:<44} {:>26} {:>28} {:>22}  {}",
        format!(
            "{:.3} | {:.3} ± {:.3}",
            e.cost_usd_per_hour, s.cost_usd_per_hour.mean, s.cost_usd_per_hour.ci95
        ),
        format!(
            "{metric} | {:.1} ± {:.1}",
            s.metric_ms.mean, s.metric_ms.ci95
        ),
        format!(
            "{:.2}% | {:.2} ± {:.2}%",
            e.cold_start_fraction * 100.0,
            s.cold_start_fraction.mean * 100.0,
            s.cold_start_fraction.ci95 * 100.0
        ),
        if c.agrees { "yes" } else { "no" }
    )
}
