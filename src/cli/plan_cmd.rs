//! CLI layer: `costscope plan` — calibrate from a profile report if asked, apply the
//! command-line overrides, evaluate the plan as written, optimise, and print tables or
//! JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use serde::Serialize;

use super::PlanOverrides;
use crate::model::compare::{
    Baseline, CacheComparison, LazyComparison, cache_comparison, lazy_comparison,
};
use crate::model::spot::{JobEstimate, plan_job};
use crate::model::{
    BreakEven, Candidate, Evaluation, Evaluator, Precision, SweepOptions, break_even, optimize,
};
use crate::plan::{apply_overrides, load};
use crate::sim::verify::{Verification, VerifyOptions, reversal, verify};

/// `costscope plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Plan file (RON), or the name of a shipped preset.
    pub file: String,
    /// Policy, servers and batch of the plan as evaluated.
    #[command(flatten)]
    pub overrides: PlanOverrides,
    /// Weight of cost in the objective.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Weight of latency (per ms) in the objective.
    #[arg(long)]
    pub beta: Option<f64>,
    /// Calibrate the plan's service from a `costscope profile` report (JSON or RON).
    #[arg(long, value_name = "REPORT")]
    pub profile: Option<PathBuf>,
    /// With --profile: the device to take (adapter name substring, or "cpu").
    #[arg(long, requires = "profile")]
    pub profile_device: Option<String>,
    /// With --profile: the MLP model to take (e.g. bert-base, distilled, small).
    #[arg(long, requires = "profile")]
    pub profile_model: Option<String>,
    /// With --profile: the precision to take.
    #[arg(long, requires = "profile", value_parser = precision_parser())]
    pub profile_precision: Option<Precision>,
    /// Choose the hardware too: `all` catalog offers, or offer names, comma-separated
    /// (overrides the plan's `hardware_candidates`; see `costscope hardware`).
    #[arg(long, value_name = "OFFERS", value_delimiter = ',')]
    pub hardware: Vec<String>,
    /// With --hardware: extend the shipped catalog with this RON file.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Check the recommendation and the best of each other policy by simulation.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: seeded replications per candidate (at least 2).
    #[arg(long, requires = "verify", default_value_t = 8)]
    pub replications: u32,
    /// With --verify: simulated hours per replication.
    #[arg(long, requires = "verify", default_value_t = crate::model::traffic::DAY_HOURS)]
    pub hours: f64,
    /// With --verify: seed of the first replication (replication i uses seed + i).
    #[arg(long, requires = "verify", default_value_t = 1)]
    pub seed: u64,
}

/// `--verify`: the candidates simulated, in the order recommendation first.
#[derive(Debug, Serialize)]
pub struct VerificationReport {
    /// Replications per candidate.
    pub replications: u32,
    /// Simulated hours per replication.
    pub hours: f64,
    /// Seed of the first replication.
    pub seed: u64,
    /// The recommendation, then the best of each other policy.
    pub candidates: Vec<Verification>,
    /// Index into `candidates` of the one the simulation ranks first, when that is not
    /// the recommendation.
    pub simulation_prefers: Option<usize>,
}

/// The JSON `costscope plan --json` prints (the shape in ARCHITECTURE.md, plus the plan as written,
/// the break-even rate and the spot job estimate).
#[derive(Debug, Serialize)]
struct PlanReport<'a> {
    plan: &'a str,
    service: &'a crate::model::Service,
    alpha: f64,
    beta: f64,
    evaluation: Option<&'a Evaluation>,
    best: Option<&'a Evaluation>,
    candidates: &'a [Evaluation],
    pareto: &'a [Evaluation],
    evaluated: usize,
    break_even: Option<BreakEven>,
    job: Option<JobEstimate>,
    cache_comparison: Option<CacheComparison>,
    lazy_comparison: Option<LazyComparison>,
    #[serde(skip_serializing_if = "Option::is_none")]
    calibration: Option<CalibrationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<VerificationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hardware: Option<super::hardware_plan::HardwareReport>,
}

/// `--profile`: what calibration changed, from which rows, and its warnings.
#[derive(Debug, Serialize)]
struct CalibrationReport {
    report: String,
    changes: Vec<crate::calibrate::review::Change>,
    rows_used: Vec<String>,
    warnings: Vec<String>,
}

/// Reads the report at `path` and calibrates `plan` from it by the `--profile-*` flags.
fn calibrate(
    plan: &crate::model::Plan,
    args: &PlanArgs,
    path: &std::path::Path,
) -> anyhow::Result<crate::calibrate::Calibration> {
    let report = crate::profile::report::ProfileReport::read(path)
        .with_context(|| format!("profile report {}", path.display()))?;
    let selection = crate::calibrate::Selection {
        device: args.profile_device.clone(),
        precision: args.profile_precision,
        model: args.profile_model.clone(),
    };
    Ok(crate::calibrate::calibrate_with_warnings(
        plan,
        &report,
        &path.display().to_string(),
        &selection,
    )?)
}

/// The before → after of a calibration, above the plan's table.
fn write_calibration(out: &mut dyn Write, c: &CalibrationReport) -> std::io::Result<()> {
    writeln!(out, "Calibrated from {}:", c.report)?;
    for ch in &c.changes {
        if ch.before == ch.after {
            writeln!(out, "  {:<26} {} ({})", ch.field, ch.after, ch.why)?;
        } else {
            writeln!(
                out,
                "  {:<26} {} → {} ({})",
                ch.field, ch.before, ch.after, ch.why
            )?;
        }
    }
    writeln!(out, "  rows used:")?;
    for r in &c.rows_used {
        writeln!(out, "    {r}")?;
    }
    for w in &c.warnings {
        writeln!(out, "  warning: {w}")?;
    }
    writeln!(out)
}

/// Runs `costscope plan`, writing to `out`.
pub fn run(args: &PlanArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (mut plan, label) = load(&args.file)?;
    let calibration = match &args.profile {
        Some(path) => {
            let c = calibrate(&plan, args, path)
                .with_context(|| format!("calibrating {label} from {}", path.display()))?;
            for w in &c.warnings {
                eprintln!("warning: {w}");
            }
            plan = c.plan.clone();
            Some(CalibrationReport {
                report: path.display().to_string(),
                changes: c.changes,
                rows_used: c.rows_used,
                warnings: c.warnings,
            })
        }
        None => None,
    };
    apply_overrides(
        &mut plan,
        &args.overrides.with_weights(args.alpha, args.beta),
    )?;
    let ctx = Evaluator::new(&plan).with_context(|| format!("plan {label}"))?;
    let evaluation = Candidate::from_plan(&plan).map(|c| ctx.evaluate(&c));
    if let Some(e) = &evaluation
        && e.latency_ms.is_none()
    {
        bail!(
            "plan {label}: {}",
            e.why_infeasible.as_deref().unwrap_or("infeasible")
        );
    }
    let mut options = SweepOptions::for_plan(&plan);
    if let Some(p) = args.overrides.policy {
        options.policies = vec![p.into()];
    }
    if let Some(n) = args.overrides.max_num_seqs {
        options.max_num_seqs = vec![n];
    }
    let optimum = optimize(&plan, &options).with_context(|| format!("plan {label}"))?;
    if evaluation.is_none() && optimum.best.is_none() {
        bail!(
            "plan {label}: no feasible candidate among {} evaluated (raise max_servers or relax the SLO)",
            optimum.evaluated
        );
    }
    let hardware = super::hardware_plan::candidates(&plan, &args.hardware)
        .map(|c| {
            let profile = args.profile.as_deref();
            super::hardware_plan::run(&plan, &c, args.catalog.as_deref(), profile, &options)
        })
        .transpose()
        .with_context(|| format!("plan {label}"))?;
    let job = plan_job(&plan);
    let base = Baseline {
        plan: &plan,
        as_written: evaluation.as_ref(),
        optimum: &optimum,
        options: &options,
    };
    let report = PlanReport {
        plan: &plan.name,
        service: &plan.service,
        alpha: plan.objective.alpha,
        beta: plan.objective.beta,
        evaluation: evaluation.as_ref(),
        best: optimum.best.as_ref(),
        candidates: &optimum.candidates,
        pareto: &optimum.pareto,
        evaluated: optimum.evaluated,
        break_even: break_even(&plan),
        job,
        cache_comparison: cache_comparison(&base).with_context(|| format!("plan {label}"))?,
        lazy_comparison: lazy_comparison(&base).with_context(|| format!("plan {label}"))?,
        calibration,
        verification: args
            .verify
            .then(|| verification(&plan, &optimum, args))
            .transpose()
            .with_context(|| format!("verifying plan {label}"))?,
        hardware,
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        if let Some(c) = &report.calibration {
            write_calibration(out, c)?;
        }
        super::table::write_plan_report(out, &plan, &label, &report.as_view(), &options)?;
        if let Some(v) = &report.verification {
            super::verify_table::write_verification(out, &plan, v)?;
        }
        if let Some(h) = &report.hardware {
            super::hardware_plan::write_table(out, h)?;
        }
    }
    Ok(())
}

/// Simulates the recommendation and the best candidate of each other policy.
fn verification(
    plan: &crate::model::Plan,
    optimum: &crate::model::Optimum,
    args: &PlanArgs,
) -> Result<VerificationReport, crate::sim::SimError> {
    let mut chosen: Vec<Evaluation> = optimum.best.iter().cloned().collect();
    for c in &optimum.candidates {
        let same = |b: &Evaluation| {
            (b.policy, b.servers, b.warm, b.spot, b.batch)
                == (c.policy, c.servers, c.warm, c.spot, c.batch)
        };
        if c.latency_ms.is_some() && !chosen.iter().any(same) {
            chosen.push(c.clone());
        }
    }
    let options = VerifyOptions {
        replications: args.replications,
        hours: args.hours,
        seed: args.seed,
    };
    let candidates = verify(plan, &chosen, &options)?;
    Ok(VerificationReport {
        replications: options.replications,
        hours: options.hours,
        seed: options.seed,
        simulation_prefers: reversal(plan, &candidates),
        candidates,
    })
}

impl PlanReport<'_> {
    fn as_view(&self) -> super::table::ReportView<'_> {
        super::table::ReportView {
            evaluation: self.evaluation,
            best: self.best,
            candidates: self.candidates,
            pareto: self.pareto,
            evaluated: self.evaluated,
            break_even: self.break_even,
            job: self.job.as_ref(),
            cache: self.cache_comparison.as_ref(),
            lazy: self.lazy_comparison.as_ref(),
        }
    }
}

/// `--profile-precision`: one of the precision names, parsed into [`Precision`].
fn precision_parser() -> impl TypedValueParser<Value = Precision> {
    PossibleValuesParser::new(Precision::ALL.map(Precision::name))
        .try_map(|s| s.parse::<Precision>())
}
