//! CLI layer: `costscope plan --hardware all|OFFER,…` — the plan's candidate offers
//! resolved in the catalog, each offer's L(b) (projected from the `--profile` report's
//! per-operator rows, or the plan's scaled by catalog figures), the model layer's sweep
//! over them, and its table: best per offer, the recommendation, the frontier.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;

use crate::model::catalog::Accelerator;
use crate::model::hardware_cases::{candidate_offers, no_stated_accelerator, scaled_cases};
use crate::model::hardware_sweep::{
    CurvePoint, HardwareSweep, OfferCase, OfferCurve, stated_accelerator, sweep,
};
use crate::model::projection::{ProjectionOptions, project};
use crate::model::{HardwareCandidates, Plan, SweepOptions};
use crate::profile::report::{ProfileReport, ResultRow};

/// What `plan --json` gains under `hardware`.
#[derive(Debug, Serialize)]
pub struct HardwareReport {
    /// How each offer's L(b) was obtained.
    pub latency_from: String,
    /// The sweep: per offer, the recommendation, the frontier.
    #[serde(flatten)]
    pub sweep: HardwareSweep,
}

/// `--hardware` (overriding the plan's `hardware_candidates`): `all`, or offer names.
pub fn candidates(plan: &Plan, flag: &[String]) -> Option<HardwareCandidates> {
    match flag {
        [] => plan.hardware_candidates.clone(),
        [one] if one.trim().eq_ignore_ascii_case("all") => Some(HardwareCandidates::All),
        names => Some(HardwareCandidates::Offers(
            names.iter().map(|n| n.trim().to_owned()).collect(),
        )),
    }
}

/// The report's rows the calibrated plan's L(b) came from, with per-operator times.
fn profile_rows<'a>(plan: &Plan, report: &'a ProfileReport) -> anyhow::Result<Vec<&'a ResultRow>> {
    crate::profile::projection_input::plan_rows(plan, report)
        .map_err(|e| {
            anyhow!(
                "--hardware with --profile: {e}; leave out --profile to scale the plan's L(b) by catalog figures"
            )
        })
}

/// Every row projected to `acc` by `model::projection`: one curve point per batch.
fn projected_curve(
    report: &ProfileReport,
    rows: &[&ResultRow],
    acc: &Accelerator,
) -> anyhow::Result<Result<OfferCurve, String>> {
    let mut points = Vec::with_capacity(rows.len());
    let mut bound_by = Vec::new();
    for r in rows {
        let local = super::project::local_roofline(report, r)?;
        let ops = crate::profile::projection_input::op_measurements(r);
        let batch = r.batch.unwrap_or(1);
        let memory = crate::profile::projection_input::memory_of(r, batch);
        let p = match project(
            &ops,
            local,
            acc,
            r.precision,
            memory,
            ProjectionOptions::default(),
        ) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e.to_string())),
        };
        if bound_by.is_empty() {
            bound_by.clone_from(&p.bound_by);
        }
        points.push(CurvePoint {
            batch: u32::try_from(batch).unwrap_or(u32::MAX),
            latency_ms: p.latency_ms,
            low_ms: p.low_ms,
            high_ms: p.high_ms,
        });
    }
    let r = rows[0];
    Ok(Ok(OfferCurve {
        source: format!(
            "projected from {} {} {} rows",
            r.device,
            r.precision.name(),
            r.workload.label()
        ),
        points,
        bound_by,
    }))
}

/// Resolves the plan's candidates and sweeps them. `profile`: the report the plan was
/// calibrated from, whose per-operator rows are projected (not for an LLM plan, whose
/// iteration time is scaled by catalog figures).
pub fn run(
    plan: &Plan,
    candidates: &HardwareCandidates,
    catalog_file: Option<&Path>,
    profile: Option<&Path>,
    options: &SweepOptions,
) -> anyhow::Result<HardwareReport> {
    let catalog = crate::plan::catalog::load(catalog_file).context("hardware catalog")?;
    let offers = candidate_offers(&catalog, candidates).map_err(|e| anyhow!("--hardware: {e}"))?;
    let stated = stated_accelerator(&catalog, &plan.hardware.name);
    let report = match profile {
        Some(path) if plan.service.llm.is_none() => Some(
            ProfileReport::read(path)
                .with_context(|| format!("profile report {}", path.display()))?,
        ),
        _ => None,
    };
    let rows = report.as_ref().map(|r| profile_rows(plan, r)).transpose()?;
    let latency_from = match (&rows, stated) {
        (Some(rows), _) => format!(
            "per-operator rows of {} projected by the roofline (docs/hardware.md)",
            rows[0].device
        ),
        (None, Some(a)) => format!(
            "the plan's L(b) on its hardware '{}' (catalog {}) scaled by catalog figures",
            plan.hardware.name, a.name
        ),
        (None, None) => bail!("--hardware: {}", no_stated_accelerator(plan)),
    };
    let cases = match (&report, &rows) {
        (Some(rep), Some(rows)) => {
            let mut cases = Vec::with_capacity(offers.len());
            for o in offers {
                let acc = catalog
                    .accelerator(&o.accelerator)
                    .with_context(|| format!("offer '{}': unknown accelerator", o.label()))?;
                cases.push(OfferCase {
                    offer: o.clone(),
                    accelerator: acc.clone(),
                    curve: projected_curve(rep, rows, acc)?,
                });
            }
            cases
        }
        // The same cases the app's Hardware panel sweeps.
        _ => {
            scaled_cases(plan, &catalog, candidates)
                .map_err(|e| anyhow!("--hardware: {e}"))?
                .0
        }
    };
    Ok(HardwareReport {
        latency_from,
        sweep: sweep(plan, options, &cases, stated),
    })
}

/// The table: one line per offer, then the recommendation and the frontier.
pub fn write_table(out: &mut dyn Write, h: &HardwareReport) -> std::io::Result<()> {
    writeln!(
        out,
        "\nHardware ({} offers; L(b) from {}):",
        h.sweep.offers.len(),
        h.latency_from
    )?;
    writeln!(
        out,
        "  {:<36} {:>9} {:>7} {:>10} {:>19} {:>9} {:>9} {:>10}  best / why not",
        "offer", "$/h od", "spot", "L(b) ms", "band ms", "p95 ms", "$/h", "J"
    )?;
    for (i, o) in h.sweep.offers.iter().enumerate() {
        let mark = if h.sweep.recommendation == Some(i) {
            "*"
        } else {
            " "
        };
        let spot = o
            .spot_usd_per_hour
            .map_or("-".into(), |s| format!("{s:.3}"));
        let (lat, band) = match (o.projected_latency_ms, o.band_ms) {
            (Some(l), Some((lo, hi))) => (format!("{l:.4}"), format!("{lo:.4}-{hi:.4}")),
            _ => ("-".into(), "-".into()),
        };
        write!(
            out,
            "{mark} {:<36} {:>9.3} {:>7} {:>10} {:>19}",
            o.offer, o.on_demand_usd_per_hour, spot, lat, band
        )?;
        if let Some(by) = &o.dominated_by {
            writeln!(out, " {:>9} {:>9} {:>10}  dominated by {by}", "-", "-", "-")?;
            continue;
        }
        match (&o.best, &o.reason) {
            (Some(b), _) => writeln!(
                out,
                " {:>9.2} {:>9.3} {:>10.4}  {}",
                b.latency_ms.map_or(f64::NAN, |l| l.p95),
                b.cost_usd_per_hour,
                b.objective.unwrap_or(f64::NAN),
                b.candidate_name()
            )?,
            (None, Some(why)) => {
                writeln!(out, " {:>9} {:>9} {:>10}  infeasible: {why}", "-", "-", "-")?
            }
            (None, None) => writeln!(out, " {:>9} {:>9} {:>10}  infeasible", "-", "-", "-")?,
        }
    }
    match h.sweep.recommendation.map(|i| &h.sweep.offers[i]) {
        Some(o) => writeln!(
            out,
            "* recommended: {} ({}), L({}) = {:.4} ms projected (band {:.4}-{:.4})",
            o.offer,
            o.accelerator,
            o.at_batch.unwrap_or(1),
            o.projected_latency_ms.unwrap_or(f64::NAN),
            o.band_ms.map_or(f64::NAN, |b| b.0),
            o.band_ms.map_or(f64::NAN, |b| b.1),
        )?,
        None => writeln!(out, "no offer has a feasible candidate")?,
    }
    if let Some(m) = &h.sweep.mix {
        let verdict = if m.beats_single {
            "beats"
        } else {
            "does not beat"
        };
        writeln!(
            out,
            "two-class mix: {:.0} % routed to {}, the rest on {}: {}, ${:.3}/h, J {:.4} ({verdict} the single offer)",
            m.fraction * 100.0,
            m.cheap,
            m.fast,
            m.best.candidate_name(),
            m.best.cost_usd_per_hour,
            m.best.objective.unwrap_or(f64::NAN)
        )?;
    }
    writeln!(out, "Pareto frontier across offers (cost vs latency):")?;
    for p in &h.sweep.pareto {
        let e = &p.evaluation;
        writeln!(
            out,
            "  {:<36} {:<28} ${:>9.3}/h  p95 {:>9.2} ms",
            p.offer,
            e.candidate_name(),
            e.cost_usd_per_hour,
            e.latency_ms.map_or(f64::NAN, |l| l.p95)
        )?;
    }
    writeln!(
        out,
        "(one replica per accelerator; an instance of n accelerators is priced per accelerator, its price / n;\n a dominated offer is as slow or slower at every batch and no cheaper than the one named, so it is not searched)"
    )
}
