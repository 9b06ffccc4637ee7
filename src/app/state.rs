//! App layer: the window's state — what persists between runs (the plan, the open tab,
//! the theme) apart from what is rebuilt each run (results, errors, text being typed).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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

/// What eframe persists between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppState {
    /// The plan being explored (edited by the sliders).
    pub plan: Plan,
    /// Where it was loaded from or last saved to.
    pub plan_path: Option<PathBuf>,
    /// The open panel.
    pub tab: Tab,
    /// Dark (true) or light theme.
    pub dark_mode: bool,
    /// The Profile panel's settings.
    #[serde(default)]
    pub profile: super::profile_ui::ProfileSettings,
    /// The Warm / cold panel's fleets.
    #[serde(default)]
    pub warm_cold: super::warm_cold_ui::WarmColdSettings,
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
            profile: super::profile_ui::ProfileSettings::default(),
            warm_cold: super::warm_cold_ui::WarmColdSettings::default(),
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

/// Runtime-only state: results, the last error, text being typed, the saved copy.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Results for the current plan (recomputed when the plan changes).
    pub results: Results,
    /// The plan as last loaded or saved, to tell unsaved changes.
    pub saved_plan: Plan,
    /// The last file error, shown until the next successful load or save.
    pub file_error: Option<String>,
    /// The last file message ("saved to …").
    pub file_message: Option<String>,
    /// The path typed in the Plan panel.
    pub path_input: String,
    /// The path of a plan to compare with.
    pub compare_input: String,
    /// Results of the plan being compared with, if any.
    pub compare: Option<Results>,
    /// The Open / Save as dialog, while it is open.
    pub file_dialog: Option<super::file_dialog::FileDialog>,
    /// A file to open once the user agrees to replace the unsaved changes.
    pub pending_open: Option<PathBuf>,
}

impl Runtime {
    /// Runtime state for `state`'s plan.
    pub fn new(state: &AppState) -> Self {
        Self {
            results: Results::compute(&state.plan),
            saved_plan: state.plan.clone(),
            file_error: None,
            file_message: None,
            path_input: state
                .plan_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            compare_input: String::new(),
            compare: None,
            file_dialog: None,
            pending_open: None,
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

    #[test]
    fn state_persisted_before_the_file_dialog_still_loads() {
        let state = AppState::new(crate::plan::presets::default_plan().unwrap(), None);
        let text = ron::to_string(&state).unwrap();
        let old = text.replace(",dialog_dir:None", "");
        assert_ne!(old, text, "the field was in the text: {text}");
        let back: AppState = ron::from_str(&old).unwrap();
        assert_eq!(back, state);
    }
}
