//! App layer: the window's state — what persists between runs (the plan, the open tab,
//! the theme, the Profile and Warm / cold panels' settings) apart from what is rebuilt
//! each run (results, the saved copy; each panel keeps its own runtime part).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::profile_ui::ProfilePanel;
use super::warm_cold_ui::WarmColdPanel;
use crate::model::{BreakEven, Evaluation, Optimum, Plan, SweepOptions, break_even, optimize};

/// The panels of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    /// Measure kernels on this machine; move the numbers into the plan.
    Profile,
    /// α/β, SLO, traffic and price sliders; objective and Pareto plots.
    Explore,
    /// Cache hit rate, Zipf curve, reuse savings, lazy evaluation.
    Caching,
    /// A simulated day of always-on vs scale-to-zero vs keep-k-warm vs spot.
    WarmCold,
    /// The recommended plan; open, save, revert.
    Plan,
}

impl Tab {
    /// All tabs in display order.
    pub const ALL: [Tab; 5] = [
        Tab::Profile,
        Tab::Explore,
        Tab::Caching,
        Tab::WarmCold,
        Tab::Plan,
    ];

    /// The tab's label (also its accessibility name, so tests can find it).
    pub fn label(self) -> &'static str {
        match self {
            Tab::Profile => "Profile",
            Tab::Explore => "Explore",
            Tab::Caching => "Caching & lazy",
            Tab::WarmCold => "Warm / cold",
            Tab::Plan => "Plan",
        }
    }

    /// What the panel is for, shown when hovering its tab.
    pub fn hover(self) -> &'static str {
        match self {
            Tab::Profile => {
                "Measure inference kernels on this machine's GPUs and CPU (L(b), cold start, \
                 peaks) and move the figures into the plan."
            }
            Tab::Explore => {
                "Weigh cost against latency with α and β: the optimiser picks the server count, \
                 policy and batch minimising J = α·$/hour + β·latency."
            }
            Tab::Caching => {
                "Cache hit rate from Zipf popularity, reuse savings and lazy evaluation."
            }
            Tab::WarmCold => {
                "Simulate a day of always-on, scale-to-zero, keep-warm and spot fleets: cold \
                 starts, servers held and cost."
            }
            Tab::Plan => "The recommendation in words; open, save, export and compare plans.",
        }
    }
}

/// What eframe persists between runs. The two panels with settings live here whole:
/// they serialize as their settings alone and rebuild their runs empty, so the saved
/// text has the same shape as before the panels held their runs.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct AppState {
    /// The plan being explored (edited by the sliders).
    pub plan: Plan,
    /// Where it was loaded from or last saved to.
    pub plan_path: Option<PathBuf>,
    /// The open panel.
    pub tab: Tab,
    /// Dark (true) or light theme.
    pub dark_mode: bool,
    /// The Profile panel: its settings persist, its run does not.
    #[serde(default)]
    pub profile: ProfilePanel,
    /// The Warm / cold panel: its fleets persist, its simulated day does not.
    #[serde(default)]
    pub warm_cold: WarmColdPanel,
    /// The folder the file dialog last opened or saved in, where it starts next time
    /// (default: state saved before the dialog existed still loads).
    #[serde(default)]
    pub dialog_dir: Option<PathBuf>,
}

impl AppState {
    /// Fresh state for `plan` loaded from `plan_path`.
    pub fn new(plan: Plan, plan_path: Option<PathBuf>) -> Self {
        Self {
            plan,
            plan_path,
            tab: Tab::Explore,
            dark_mode: true,
            profile: ProfilePanel::default(),
            warm_cold: WarmColdPanel::default(),
            dialog_dir: None,
        }
    }
}

/// The model's answer for one plan, recomputed whenever the plan changes.
#[derive(Debug, Clone)]
pub struct Results {
    /// The plan these results are for.
    pub plan: Plan,
    /// The plan as written, when it names a concrete policy.
    pub evaluation: Option<Evaluation>,
    /// The optimiser's answer, or why there is none.
    pub optimum: Result<Optimum, String>,
    /// On-demand vs always-on break-even.
    pub break_even: Option<BreakEven>,
}

impl Results {
    /// Runs the model on `plan`.
    pub fn compute(plan: &Plan) -> Self {
        let evaluation = crate::model::Evaluator::new(plan)
            .ok()
            .and_then(|ctx| crate::model::Candidate::from_plan(plan).map(|c| ctx.evaluate(&c)));
        Self {
            plan: plan.clone(),
            evaluation,
            optimum: optimize(plan, &SweepOptions::for_plan(plan)).map_err(|e| e.to_string()),
            break_even: break_even(plan),
        }
    }
}

/// Runtime-only state shared by the panels: the results and the saved copy. Each
/// panel's own runtime state lives in the panel.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Results for the current plan (recomputed when the plan changes).
    pub results: Results,
    /// The plan as last loaded or saved, to tell unsaved changes.
    pub saved_plan: Plan,
}

impl Runtime {
    /// Runtime state for `state`'s plan.
    pub fn new(state: &AppState) -> Self {
        Self {
            results: Results::compute(&state.plan),
            saved_plan: state.plan.clone(),
        }
    }

    /// Recomputes the results if the plan changed since they were computed.
    pub fn refresh(&mut self, plan: &Plan) {
        if &self.results.plan != plan {
            self.results = Results::compute(plan);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn state_persisted_before_the_file_dialog_still_loads() {
        let state = AppState::new(crate::plan::presets::default_plan().unwrap(), None);
        let text = ron::to_string(&state).unwrap();
        let old = text.replace(",dialog_dir:None", "");
        assert_ne!(old, text, "the field was in the text: {text}");
        let back: AppState = ron::from_str(&old).unwrap();
        assert_eq!(back, state);
    }

    /// The text saved before the panels held their runs (written out by hand, as that
    /// version wrote it, less the plan), with settings that differ from the defaults.
    const SAVED_BEFORE_PANELS: &str = r#"(
        plan_path: Some("/plans/mine.ron"),
        tab: WarmCold,
        dark_mode: false,
        profile: (
            cpu_only: true,
            adapter: "llvmpipe",
            model: "distilled",
            precisions: (true, false, true),
            batches: "1,16",
            budget_s: 0.5
        ),
        warm_cold: (
            always_on: 7,
            warm: 2,
            idle_timeout_s: 60.0,
            max_servers: 32,
            spot: 5,
            seed: 42,
            detail_fleet: 3
        ),
        dialog_dir: Some("/plans")
    )"#;

    #[test]
    fn state_saved_before_the_panels_held_their_runs_still_loads() {
        let plan = crate::plan::presets::default_plan().unwrap();
        let plan_text = ron::to_string(&plan).unwrap();
        let text = SAVED_BEFORE_PANELS.replacen('(', &format!("(plan: {plan_text},"), 1);
        let back: AppState = ron::from_str(&text).unwrap();
        assert_eq!(back.plan, plan);
        assert_eq!(
            back.plan_path.as_deref(),
            Some(Path::new("/plans/mine.ron"))
        );
        assert_eq!(back.tab, Tab::WarmCold);
        assert!(!back.dark_mode);
        let p = &back.profile.settings;
        assert!(p.cpu_only);
        assert_eq!(p.adapter, "llvmpipe");
        assert_eq!(p.model, "distilled");
        assert_eq!(p.precisions, [true, false, true]);
        assert_eq!(p.batches, "1,16");
        assert_eq!(p.budget_s, 0.5);
        let w = &back.warm_cold.settings;
        assert_eq!(
            (
                w.always_on,
                w.warm,
                w.max_servers,
                w.spot,
                w.seed,
                w.detail_fleet
            ),
            (7, 2, 32, 5, 42, 3)
        );
        assert_eq!(w.idle_timeout_s, 60.0);
        assert_eq!(back.dialog_dir.as_deref(), Some(Path::new("/plans")));
        assert!(!back.profile.running() && !back.warm_cold.running());
        // And it saves in the same shape: the runs add nothing to the text.
        let again = ron::to_string(&back).unwrap();
        let squash = |t: &str| t.split_whitespace().collect::<String>();
        assert_eq!(squash(&again), squash(&text));
    }
}
