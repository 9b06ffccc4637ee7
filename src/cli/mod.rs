//! CLI layer (the edge): clap subcommands over the model, plan, sim and profile layers.
//! Everything terminal lives here: clap, `anyhow` errors with context (here and in
//! `main.rs` only; `main` prints them on one line), tables on stdout, progress on stderr.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::model::PolicyKind;
use crate::plan::{self, Overrides, load, presets};

pub mod bar;
pub mod hardware;
pub mod hardware_plan;
pub mod llm_table;
pub mod ops_table;
pub mod plan_cmd;
pub mod profile;
pub mod project;
pub mod simulate;
pub mod simulate_llm;
pub mod table;
pub mod verify_table;

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
    Plan(plan_cmd::PlanArgs),
    /// Check a plan file; exit 0 if valid, else print the error and exit non-zero.
    Validate {
        /// Plan file (RON), or the name of a shipped preset.
        file: String,
    },
    /// Measure inference kernels on every GPU adapter and the CPU.
    Profile(profile::ProfileArgs),
    /// List the shipped presets, or export one to a file.
    Presets {
        /// `export NAME FILE` writes a preset out.
        #[command(subcommand)]
        action: Option<PresetAction>,
    },
    /// Simulate a plan (discrete-event) and compare it with the analytic model.
    Simulate(simulate::SimulateArgs),
    /// List the hardware catalog: accelerators and the offers that rent them.
    Hardware(hardware::HardwareArgs),
    /// Project a profile report's per-operator times to catalog accelerators.
    Project(project::ProjectArgs),
}

/// `costscope presets export`.
#[derive(Debug, Subcommand)]
pub enum PresetAction {
    /// Write preset NAME to FILE (comments included); an existing FILE is kept unless
    /// --force is given.
    Export {
        /// Preset name (see `costscope presets`).
        name: String,
        /// Where to write it.
        file: PathBuf,
        /// Replace FILE if it exists (its permissions are kept; a link is followed).
        #[arg(long)]
        force: bool,
    },
}

/// Panels on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PanelArg {
    /// Measure kernels.
    Profile,
    /// α/β and the plots.
    Explore,
    /// LLM plans: TTFT and TPOT vs request rate, $ per million tokens, the KV cache.
    Llm,
    /// Caching and lazy evaluation.
    Caching,
    /// Catalog offers: candidates, cost per offer, projection.
    Hardware,
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
            PanelArg::Llm => Tab::Llm,
            PanelArg::Caching => Tab::Caching,
            PanelArg::Hardware => Tab::Hardware,
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
/// `plan` and `simulate`); applied by [`crate::plan::apply_overrides`].
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
    /// An LLM replica's most sequences at once (`service.llm.max_num_seqs`; for
    /// `plan`, search only it).
    #[arg(long)]
    pub max_num_seqs: Option<u32>,
}

impl PlanOverrides {
    /// The plan layer's overrides: these flags plus the objective weights.
    pub fn with_weights(&self, alpha: Option<f64>, beta: Option<f64>) -> Overrides {
        Overrides {
            policy: self.policy.map(PolicyKind::from),
            servers: self.servers,
            batch: self.batch,
            max_num_seqs: self.max_num_seqs,
            alpha,
            beta,
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
        Command::Plan(args) => plan_cmd::run(&args, &mut out),
        Command::Profile(args) => {
            drop(out);
            profile::run(&args)
        }
        Command::Simulate(args) => simulate::run(&args, &mut out),
        Command::Hardware(args) => hardware::run(&args, &mut out),
        Command::Project(args) => project::run(&args, &mut out),
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
            action: Some(PresetAction::Export { name, file, force }),
        } => {
            let preset = presets::find(&name)?;
            let written = if force {
                crate::files::write_atomic(&file, preset.text.as_bytes())
            } else {
                crate::files::write_new(&file, preset.text.as_bytes())
            };
            match written {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
                    "{} already exists; pass --force to replace it",
                    file.display()
                ),
                other => other.with_context(|| format!("cannot write {}", file.display()))?,
            }
            writeln!(out, "wrote preset {name} to {}", file.display())?;
            Ok(())
        }
    }
}
