//! CLI layer: `costscope project` — a profile report's per-operator rows carried to
//! catalog accelerators by the roofline (`model::projection`), printed as L(b) per
//! target with its band, the operators that bound it, or why the model does not fit.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::model::catalog::{Accelerator, Catalog};
use crate::model::projection::{
    Bound, Infeasible, Projection, ProjectionOptions, Roofline, project,
};
use crate::plan::catalog;
use crate::profile::projection_input;
use crate::profile::report::{ProfileReport, ResultRow};

/// `costscope project`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProjectArgs {
    /// A profile report (JSON or RON) with transformer rows (`ops`) and measured peaks.
    #[arg(long, value_name = "REPORT")]
    pub profile: PathBuf,
    /// Catalog accelerators to project to, comma-separated (`H100-SXM,L4`).
    #[arg(long, value_name = "NAMES", value_delimiter = ',', required = true)]
    pub hardware: Vec<String>,
    /// Extend the shipped catalog with this RON file (see `costscope hardware`).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// The most of a target's roofline an operator is assumed to reach.
    #[arg(long, default_value_t = 0.9)]
    pub ceiling: f64,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// One row projected to one target, or why not.
#[derive(Debug, Serialize)]
struct Row<'a> {
    device: &'a str,
    workload: String,
    precision: &'static str,
    batch: usize,
    measured_ms: f64,
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    projection: Option<Projection>,
    /// The model does not fit the target's memory: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    infeasible: Option<String>,
    /// No projection for another reason (no verified FLOP rate at this precision).
    #[serde(skip_serializing_if = "Option::is_none")]
    not_projected: Option<String>,
}

/// The measured roofline of the row's device at its precision.
pub(super) fn local_roofline(report: &ProfileReport, row: &ResultRow) -> anyhow::Result<Roofline> {
    projection_input::local_roofline(report, row).map_err(anyhow::Error::msg)
}

fn targets<'a>(catalog: &'a Catalog, names: &[String]) -> anyhow::Result<Vec<&'a Accelerator>> {
    names
        .iter()
        .map(|n| {
            catalog.accelerator(n.trim()).with_context(|| {
                format!("--hardware: no accelerator '{n}' in the catalog (see costscope hardware)")
            })
        })
        .collect()
}

/// Projects every timed transformer row with ops to every target.
pub fn run(args: &ProjectArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if !(args.ceiling > 0.0 && args.ceiling <= 1.0) {
        bail!("--ceiling = {} must be in (0, 1]", args.ceiling);
    }
    let catalog = catalog::load(args.catalog.as_deref()).context("hardware catalog")?;
    let targets = targets(&catalog, &args.hardware)?;
    let report = ProfileReport::read(&args.profile)
        .with_context(|| format!("reading {}", args.profile.display()))?;
    let options = ProjectionOptions {
        efficiency_ceiling: args.ceiling,
        ..ProjectionOptions::default()
    };
    let mut rows = Vec::new();
    for r in report
        .results
        .iter()
        .filter(|r| !r.ops.is_empty() && r.timing.is_some())
    {
        let local = local_roofline(&report, r)?;
        let ops = projection_input::op_measurements(r);
        let batch = r.batch.unwrap_or(1);
        let measured_ms = r.timing.as_ref().map_or(0.0, |t| t.median_ms);
        for acc in &targets {
            let result = project(
                &ops,
                local,
                acc,
                r.precision,
                projection_input::memory_of(r, batch),
                options,
            );
            let (infeasible, not_projected) = match &result {
                Err(e @ Infeasible::DoesNotFit { .. }) => (Some(e.to_string()), None),
                Err(e) => (None, Some(e.to_string())),
                Ok(_) => (None, None),
            };
            rows.push(Row {
                device: &r.device,
                workload: r.workload.label(),
                precision: r.precision.name(),
                batch,
                measured_ms,
                target: acc.name.clone(),
                infeasible,
                not_projected,
                projection: result.ok(),
            });
        }
    }
    if rows.is_empty() {
        bail!(
            "{}: no timed transformer rows with per-operator times (profile with --models)",
            args.profile.display()
        );
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    write_table(out, &rows, args.ceiling)?;
    Ok(())
}

fn bound_list(p: &Projection) -> String {
    p.bound_by
        .iter()
        .map(|name| {
            let kind = p
                .ops
                .iter()
                .find(|o| &o.name == name)
                .map(|o| match o.bound {
                    Bound::Compute => "compute",
                    Bound::Memory => "memory",
                    Bound::Unscaled => "unscaled",
                });
            format!("{name} ({})", kind.unwrap_or("-"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_table(out: &mut dyn Write, rows: &[Row<'_>], ceiling: f64) -> std::io::Result<()> {
    let mut last = String::new();
    for r in rows {
        let head = format!("{} {} on {}", r.workload, r.precision, r.device);
        if head != last {
            writeln!(out, "{head}")?;
            writeln!(
                out,
                "  {:<14} {:>5} {:>12} {:>13} {:>21}  bound by",
                "target", "batch", "measured ms", "projected ms", "band ms"
            )?;
            last = head;
        }
        match (&r.projection, &r.infeasible) {
            (Some(p), _) => writeln!(
                out,
                "  {:<14} {:>5} {:>12.4} {:>13.5} {:>10.5} - {:<8.5}  {}",
                r.target,
                r.batch,
                r.measured_ms,
                p.latency_ms,
                p.low_ms,
                p.high_ms,
                bound_list(p)
            )?,
            (None, Some(why)) => writeln!(
                out,
                "  {:<14} {:>5} {:>12.4}  infeasible: {why}",
                r.target, r.batch, r.measured_ms,
            )?,
            (None, None) => writeln!(
                out,
                "  {:<14} {:>5} {:>12.4}  not projected: {}",
                r.target,
                r.batch,
                r.measured_ms,
                r.not_projected.as_deref().unwrap_or("-")
            )?,
        }
    }
    writeln!(
        out,
        "(operator times scaled by the roofline at the locally measured efficiency, at most {ceiling} of the target's data-sheet peak; see docs/hardware.md)"
    )
}
