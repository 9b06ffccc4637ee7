//! CLI layer (the edge): clap subcommands over the model and plan layers. Errors are
//! `anyhow` with context here and only here; `main` prints them on one line.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::model::spot::{JobEstimate, checkpointed_job};
use crate::model::{
    BreakEven, Candidate, Context, Evaluation, Plan, PolicyKind, SweepOptions, break_even, optimize,
};
use crate::plan::{self, presets};

/// costscope: what does it cost to serve this model at this latency?
#[derive(Debug, Parser)]
#[command(name = "costscope", version, about)]
pub struct Cli {
    /// What to do; without a command the desktop window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the desktop window, on FILE when given.
    Gui {
        /// Plan file (RON), or the name of a shipped preset.
        file: Option<String>,
        /// Capture the window as a PNG here and exit.
        #[arg(long, value_name = "OUT.png")]
        screenshot: Option<PathBuf>,
        /// The panel to show (with --screenshot).
        #[arg(long, value_enum, default_value = "explore")]
        panel: PanelArg,
    },
    /// Evaluate a plan as written and search for the best policy, servers and batch.
    Plan(PlanArgs),
    /// Check a plan file; exit 0 if valid, else print the error and exit non-zero.
    Validate {
        /// Plan file (RON), or the name of a shipped preset.
        file: String,
    },
    /// Measure inference kernels on every GPU adapter and the CPU.
    Profile(crate::profile::cli::ProfileArgs),
    /// List the shipped presets, or export one to a file.
    Presets {
        /// `export NAME FILE` writes a preset out.
        #[command(subcommand)]
        action: Option<PresetAction>,
    },
    /// Simulate a plan (discrete-event) and compare it with the analytic model.
    Simulate(crate::sim::cli::SimulateArgs),
}

/// `costscope presets export`.
#[derive(Debug, Subcommand)]
pub enum PresetAction {
    /// Write preset NAME to FILE (comments included).
    Export {
        /// Preset name (see `costscope presets`).
        name: String,
        /// Where to write it.
        file: PathBuf,
    },
}

/// Panels on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PanelArg {
    /// Measure kernels.
    Profile,
    /// α/β and the plots.
    Explore,
    /// Caching and lazy evaluation.
    Caching,
    /// A simulated day of warm and cold servers.
    WarmCold,
    /// The plan file and recommendation.
    Plan,
}

impl From<PanelArg> for crate::app::state::Tab {
    fn from(p: PanelArg) -> Self {
        use crate::app::state::Tab;
        match p {
            PanelArg::Profile => Tab::Profile,
            PanelArg::Explore => Tab::Explore,
            PanelArg::Caching => Tab::Caching,
            PanelArg::WarmCold => Tab::WarmCold,
            PanelArg::Plan => Tab::Plan,
        }
    }
}

/// Policy names on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// A fixed always-on fleet.
    AlwaysOn,
    /// Scale to zero.
    OnDemand,
    /// Keep some warm, burst on demand.
    Hybrid,
    /// On-demand plus spot.
    SpotMix,
}

impl From<PolicyArg> for PolicyKind {
    fn from(p: PolicyArg) -> Self {
        match p {
            PolicyArg::AlwaysOn => PolicyKind::AlwaysOn,
            PolicyArg::OnDemand => PolicyKind::OnDemand,
            PolicyArg::Hybrid => PolicyKind::Hybrid,
            PolicyArg::SpotMix => PolicyKind::SpotMix,
        }
    }
}

/// Changes to a plan's policy, size and batch given on the command line (shared by
/// `plan` and `simulate`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PlanOverrides {
    /// Use this policy (and, for `plan`, search only it).
    #[arg(long, value_enum)]
    pub policy: Option<PolicyArg>,
    /// Servers: the fleet, the cap, the warm count or the total, by policy.
    #[arg(long)]
    pub servers: Option<u32>,
    /// Largest batch.
    #[arg(long)]
    pub batch: Option<u32>,
}

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
    #[arg(long, requires = "profile", value_enum)]
    pub profile_precision: Option<PrecisionArg>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Precisions on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    /// 32-bit float.
    F32,
    /// f16 storage, f32 accumulate.
    F16,
    /// bf16 storage, f32 accumulate.
    Bf16,
}

impl From<PrecisionArg> for crate::model::Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::F32 => Self::F32,
            PrecisionArg::F16 => Self::F16,
            PrecisionArg::Bf16 => Self::Bf16,
        }
    }
}

/// Runs a parsed command line, writing results to stdout.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let command = cli.command.unwrap_or(Command::Gui {
        file: None,
        screenshot: None,
        panel: PanelArg::Explore,
    });
    match command {
        Command::Gui {
            file,
            screenshot,
            panel,
        } => {
            drop(out);
            let initial = match file {
                Some(f) if Path::new(&f).exists() => {
                    let path = PathBuf::from(&f);
                    Some((plan::load_file(&path)?, Some(path)))
                }
                Some(f) => Some((load(&f)?.0, None)),
                None => None,
            };
            crate::app::run(initial, screenshot.map(|p| (p, panel.into())))?;
            Ok(())
        }
        Command::Plan(args) => plan_cmd(&args, &mut out),
        Command::Profile(args) => {
            drop(out);
            crate::profile::cli::run(&args)
        }
        Command::Simulate(args) => crate::sim::cli::run(&args, &mut out),
        Command::Validate { file } => {
            let (plan, label) = load(&file)?;
            writeln!(
                out,
                "{label}: valid plan '{}' (version {})",
                plan.name, plan.version
            )?;
            Ok(())
        }
        Command::Presets { action: None } => {
            for p in presets::PRESETS {
                let plan = presets::load(p.name)?;
                let default = if p.name == presets::DEFAULT_PRESET {
                    " (default)"
                } else {
                    ""
                };
                writeln!(out, "{:<22} {}{default}", p.name, plan.name)?;
            }
            Ok(())
        }
        Command::Presets {
            action: Some(PresetAction::Export { name, file }),
        } => {
            let preset = presets::find(&name)?;
            write_atomic(&file, preset.text)?;
            writeln!(out, "wrote preset {name} to {}", file.display())?;
            Ok(())
        }
    }
}

/// Loads a plan from a file, or from a shipped preset when no such file exists.
pub fn load(file: &str) -> anyhow::Result<(Plan, String)> {
    let path = Path::new(file);
    if !path.exists()
        && let Ok(preset) = presets::find(file)
    {
        return Ok((
            presets::load(preset.name)?,
            format!("preset {}", preset.name),
        ));
    }
    Ok((plan::load_file(path)?, file.to_owned()))
}

fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The JSON `costscope plan --json` prints (DESIGN.md, plus the plan as written,
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
}

/// Applies `--policy`, `--servers`, `--batch`, `--alpha` and `--beta` to a plan and
/// re-validates it (shared by `plan` and `simulate`).
pub(crate) fn apply_overrides(
    plan: &mut Plan,
    args: &PlanOverrides,
    alpha: Option<f64>,
    beta: Option<f64>,
) -> anyhow::Result<()> {
    if let Some(a) = alpha {
        plan.objective.alpha = a;
    }
    if let Some(b) = beta {
        plan.objective.beta = b;
    }
    if let Some(b) = args.batch {
        plan.batching.max_batch = b;
    }
    if args.policy.is_some() || args.servers.is_some() {
        let kind = args.policy.map(PolicyKind::from).unwrap_or_else(|| {
            Candidate::from_plan(plan).map_or(PolicyKind::AlwaysOn, |c| {
                crate::model::evaluate::kind_of(&c.policy)
            })
        });
        let default_n = SweepOptions::for_plan(plan).max_servers;
        let n = args.servers.unwrap_or_else(|| {
            crate::model::evaluate::servers_of(&plan.policy).unwrap_or(default_n)
        });
        plan.policy = crate::model::objective::policy_at(plan, kind, n, n.max(default_n));
    }
    plan::validate(plan).map_err(|v| {
        anyhow::anyhow!(
            "command-line override: {} = {} is out of range (allowed: {})",
            v.path,
            v.value,
            v.allowed
        )
    })
}

fn plan_cmd(args: &PlanArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (mut plan, label) = load(&args.file)?;
    if let Some(path) = &args.profile {
        let report = crate::profile::report::ProfileReport::read(path)
            .with_context(|| format!("profile report {}", path.display()))?;
        let selection = crate::calibrate::Selection {
            device: args.profile_device.clone(),
            precision: args.profile_precision.map(Into::into),
            model: args.profile_model.clone(),
        };
        plan = crate::calibrate::calibrate(&plan, &report, &path.display().to_string(), &selection)
            .with_context(|| format!("calibrating {label} from {}", path.display()))?;
    }
    apply_overrides(&mut plan, &args.overrides, args.alpha, args.beta)?;
    let ctx = Context::new(&plan).with_context(|| format!("plan {label}"))?;
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
    let optimum = optimize(&plan, &options).with_context(|| format!("plan {label}"))?;
    if evaluation.is_none() && optimum.best.is_none() {
        bail!(
            "plan {label}: no feasible candidate among {} evaluated (raise max_servers or relax the SLO)",
            optimum.evaluated
        );
    }
    let job = plan.job.as_ref().and_then(|j| {
        checkpointed_job(
            j.work_hours,
            j.checkpoint_s,
            j.restart_s,
            j.checkpoint_interval_s,
            plan.hardware.spot_interruptions_per_hour,
            plan.hardware.spot_usd_per_hour,
            plan.hardware.on_demand_usd_per_hour,
        )
    });
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
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        crate::cli_table::write_plan_report(out, &plan, &label, &report.as_view(), &options)?;
    }
    Ok(())
}

impl PlanReport<'_> {
    fn as_view(&self) -> crate::cli_table::ReportView<'_> {
        crate::cli_table::ReportView {
            evaluation: self.evaluation,
            best: self.best,
            candidates: self.candidates,
            pareto: self.pareto,
            evaluated: self.evaluated,
            break_even: self.break_even,
            job: self.job.as_ref(),
        }
    }
}
