//! App layer: the window's state — what persists between runs (the plan, the open tab,
//! the theme, the Profile and Warm / cold panels' settings) apart from what is rebuilt
//! each run (results, the saved copy; each panel keeps its own runtime part).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::fleet_change::FleetChange;
use super::hardware_ui::HardwarePanel;
use super::plan_file::{FileStamp, absolute};
use super::profile_ui::ProfilePanel;
use super::warm_cold_ui::WarmColdPanel;
use crate::model::compare::{
    Baseline, CacheComparison, FleetFigures, LazyComparison, cache_comparison, lazy_comparison,
};
use crate::model::{BreakEven, Evaluation, Optimum, Plan, SweepOptions, break_even, optimize};

/// The panels of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    /// Measure kernels on this machine; move the numbers into the plan.
    Profile,
    /// α/β, SLO, traffic and price sliders; objective and Pareto plots.
    Explore,
    /// LLM plans: TTFT and TPOT vs request rate, $ per million tokens, the KV cache.
    Llm,
    /// Cache hit rate, Zipf curve, reuse savings, lazy evaluation.
    Caching,
    /// The cheapest catalog offer at the SLO: candidates, cost per offer, projection.
    Hardware,
    /// A simulated day of always-on vs scale-to-zero vs keep-k-warm vs spot.
    WarmCold,
    /// The recommended plan; open, save, revert.
    Plan,
}

impl Tab {
    /// All tabs in display order.
    pub const ALL: [Tab; 7] = [
        Tab::Profile,
        Tab::Explore,
        Tab::Llm,
        Tab::Caching,
        Tab::Hardware,
        Tab::WarmCold,
        Tab::Plan,
    ];

    /// The tab's label (also its accessibility name, so tests can find it).
    pub fn label(self) -> &'static str {
        match self {
            Tab::Profile => "Profile",
            Tab::Explore => "Explore",
            Tab::Llm => "LLM",
            Tab::Caching => "Caching & lazy",
            Tab::Hardware => "Hardware",
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
            Tab::Llm => {
                "TTFT and TPOT against the request rate for one to a few replicas, $ per million \
                 output tokens against replicas, and the KV cache at the recommendation."
            }
            Tab::Caching => {
                "Cache hit rate from Zipf popularity, reuse savings and lazy evaluation."
            }
            Tab::Hardware => {
                "Pick the catalog offers the optimiser may choose among, see each one's cheapest \
                 fleet at the SLO and how its L(b) was projected."
            }
            Tab::WarmCold => {
                "Simulate a day of always-on, scale-to-zero, keep-warm and spot fleets: cold \
                 starts, servers held and cost."
            }
            Tab::Plan => "The recommendation in words; open, save, export and compare plans.",
        }
    }
}

impl Tab {
    /// Whether the tab is offered for `plan`: the LLM tab only for token workloads.
    pub fn shown_for(self, plan: &Plan) -> bool {
        self != Tab::Llm || plan.workload.tokens.is_some()
    }
}

/// What eframe persists between runs. The two panels with settings live here whole:
/// they serialize as their settings alone and rebuild their runs empty, so the saved
/// text has the same shape as before the panels held their runs.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct AppState {
    /// The plan being explored (edited by the sliders).
    pub plan: Plan,
    /// Where it was loaded from or last saved to: always absolute (see
    /// [`AppState::restore`] for a relative one from an older state).
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
    /// The Hardware panel: its picker's filters persist, its sweep does not (left out
    /// of the text while at its defaults, so older state saves in the same shape).
    #[serde(default, skip_serializing_if = "HardwarePanel::is_default")]
    pub hardware: HardwarePanel,
    /// The folder the file dialog last opened or saved in, where it starts next time
    /// (default: state saved before the dialog existed still loads).
    #[serde(default)]
    pub dialog_dir: Option<PathBuf>,
    /// The plan file as it was opened or last saved, to tell when something else has
    /// changed it since. Left out of the text when unknown, so state saved before it
    /// existed loads, and saves, in the same shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_stamp: Option<FileStamp>,
}

impl AppState {
    /// Fresh state for `plan` loaded from `plan_path` (`costscope gui plan.ron`): the
    /// path is made absolute and the file stamped as it is now.
    pub fn new(plan: Plan, plan_path: Option<PathBuf>) -> Self {
        let plan_path = plan_path.as_deref().map(absolute);
        let plan_stamp = (plan_path.as_deref()).and_then(|p| FileStamp::read(p).ok().map(|s| s.0));
        Self {
            plan,
            plan_path,
            plan_stamp,
            tab: Tab::Explore,
            dark_mode: true,
            profile: ProfilePanel::default(),
            warm_cold: WarmColdPanel::default(),
            hardware: HardwarePanel::default(),
            dialog_dir: None,
        }
    }

    /// The state to open with, from the last session's (`restored`, read from eframe's
    /// storage) or else `default`, and a note for the window when something of the last
    /// session was dropped. Its plan is checked exactly like a plan file; an invalid one
    /// is replaced by `default`'s plan (and its file forgotten), the other settings
    /// kept. A relative plan path (saved by versions before paths were made absolute) is
    /// forgotten: which folder it was relative to is unknown, and saving to it from
    /// another folder would overwrite an unrelated file; Save as… asks where instead.
    pub fn restore(restored: Option<AppState>, default: AppState) -> (AppState, Option<String>) {
        let Some(mut state) = restored else {
            return (default, None);
        };
        let mut notes = Vec::new();
        if let Err(why) = check_plan(&state.plan) {
            notes.push(format!(
                "the last session's plan was invalid ({why}); opened the default plan"
            ));
            (state.plan, state.plan_path, state.plan_stamp) = (default.plan, None, None);
        }
        // Absolute paths are compared with the file being saved to, so symlinks resolve.
        state.plan_path = state
            .plan_path
            .map(|p| if p.is_absolute() { absolute(&p) } else { p });
        if let Some(path) = state.plan_path.take_if(|p| !p.is_absolute()) {
            notes.push(format!(
                "the last session's plan file {} was a relative path, so its folder is \
                 unknown; use Save as… to choose where to save",
                path.display()
            ));
            state.plan_stamp = None;
        }
        (state, (!notes.is_empty()).then(|| notes.join("; ")))
    }
}

/// What the last session left is text in eframe's storage that anyone could edit: its
/// plan gets the checks a plan file gets, the range checks (their violation named
/// field = value) and then the round trip through RON text a file takes.
fn check_plan(plan: &Plan) -> Result<(), String> {
    crate::plan::validate(plan).map_err(|v| {
        format!(
            "{} = {} out of range, allowed {}",
            v.path, v.value, v.allowed
        )
    })?;
    let text = crate::plan::to_ron_string(plan).map_err(|e| e.to_string())?;
    crate::plan::load_str(&text, "the last session's plan")
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The model's answer for one plan, recomputed whenever the plan changes: the same
/// figures `costscope plan --json` prints for that plan.
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
    /// What the cache saves the plan as written, the recommendation and the optimum
    /// (none without a cache).
    pub cache_comparison: Option<CacheComparison>,
    /// What lazy evaluation saves the plan as written and the recommendation (none
    /// when every result is computed).
    pub lazy_comparison: Option<LazyComparison>,
}

impl Results {
    /// Runs the model on `plan`.
    pub fn compute(plan: &Plan) -> Self {
        let evaluation = crate::model::Evaluator::new(plan)
            .ok()
            .and_then(|ctx| crate::model::Candidate::from_plan(plan).map(|c| ctx.evaluate(&c)));
        let options = SweepOptions::for_plan(plan);
        let optimum = optimize(plan, &options).map_err(|e| e.to_string());
        // A plan the model cannot evaluate has its error in `optimum`; nothing to compare.
        let (cache, lazy) = match &optimum {
            Ok(optimum) => {
                let base = Baseline {
                    plan,
                    as_written: evaluation.as_ref(),
                    optimum,
                    options: &options,
                };
                (
                    cache_comparison(&base).ok().flatten(),
                    lazy_comparison(&base).ok().flatten(),
                )
            }
            Err(_) => (None, None),
        };
        Self {
            plan: plan.clone(),
            evaluation,
            optimum,
            break_even: break_even(plan),
            cache_comparison: cache,
            lazy_comparison: lazy,
        }
    }

    /// The recommendation: the optimum's best, if any is feasible.
    pub fn best(&self) -> Option<&Evaluation> {
        self.optimum.as_ref().ok().and_then(|o| o.best.as_ref())
    }
}

/// Runtime-only state shared by the panels: the results, the saved copy and the last
/// change of the best fleet. Each panel's own runtime state lives in the panel.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Results for the current plan (recomputed when the plan changes).
    pub results: Results,
    /// The plan as last loaded or saved, to tell unsaved changes.
    pub saved_plan: Plan,
    /// The last change of the plan that changed the recommended fleet, while it is
    /// the latest change.
    pub fleet_change: Option<FleetChange>,
}

impl Runtime {
    /// Runtime state for `state`'s plan.
    pub fn new(state: &AppState) -> Self {
        Self {
            results: Results::compute(&state.plan),
            saved_plan: state.plan.clone(),
            fleet_change: None,
        }
    }

    /// Recomputes the results if the plan changed since they were computed, noting a
    /// change of the best fleet as made on `tab`; returns whether it recomputed.
    pub fn refresh(&mut self, plan: &Plan, tab: Tab) -> bool {
        if &self.results.plan == plan {
            return false;
        }
        let from = self.results.best().map(FleetFigures::of);
        self.results = Results::compute(plan);
        let to = self.results.best().map(FleetFigures::of);
        self.fleet_change = FleetChange::after(self.fleet_change.take(), tab, from, to);
        true
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
        // Lengths came later: the profiler's defaults, and no config folder yet.
        assert_eq!(
            (p.seq_lens.as_str(), p.context_lens.as_str()),
            ("128", "512")
        );
        assert_eq!(p.config_dir, None);
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
        // And it saves in the same shape: the runs add nothing to the text, the
        // settings only their new lengths.
        let again = ron::to_string(&back).unwrap();
        let squash = |t: &str| t.split_whitespace().collect::<String>();
        let with_lengths = text.replace(
            "budget_s: 0.5",
            r#"budget_s: 0.5, seq_lens: "128", context_lens: "512""#,
        );
        assert_eq!(squash(&again), squash(&with_lengths));
    }

    #[test]
    fn a_transformer_picked_in_the_profile_panel_persists() {
        let mut state = AppState::new(crate::plan::presets::default_plan().unwrap(), None);
        let p = &mut state.profile.settings;
        (p.model, p.seq_lens, p.context_lens) =
            ("/models/mine.json".into(), "16, 64".into(), "96".into());
        p.config_dir = Some("/models".into());
        let text = ron::to_string(&state).unwrap();
        let back: AppState = ron::from_str(&text).unwrap();
        assert_eq!(back, state);
        let p = &back.profile.settings;
        assert_eq!(p.model, "/models/mine.json");
        assert_eq!(
            (p.seq_lens.as_str(), p.context_lens.as_str()),
            ("16, 64", "96")
        );
        assert_eq!(p.config_dir.as_deref(), Some(Path::new("/models")));
    }

    /// The last session's state holding `plan` (saved beside `/plans/mine.ron`), and
    /// what restoring it gives.
    fn restore_with(edit: impl FnOnce(&mut Plan)) -> (AppState, Option<String>) {
        let mut plan = crate::plan::presets::default_plan().unwrap();
        edit(&mut plan);
        let mut last = AppState::new(plan, None);
        (last.plan_path, last.tab, last.dark_mode) =
            (Some("/plans/mine.ron".into()), Tab::Caching, false);
        let default = AppState::new(crate::plan::presets::load("textbook-mmc").unwrap(), None);
        AppState::restore(Some(last), default)
    }

    /// An invalid plan falls back to the default, says which field, and keeps the rest.
    fn assert_falls_back(restored: &(AppState, Option<String>), field: &str, value: &str) {
        let (state, note) = restored;
        assert_eq!(
            state.plan,
            crate::plan::presets::load("textbook-mmc").unwrap()
        );
        assert_eq!(state.plan_path, None, "the default plan has no file");
        assert_eq!((state.tab, state.dark_mode), (Tab::Caching, false));
        let note = note.as_deref().expect("a note");
        assert!(
            note.starts_with("the last session's plan was invalid (")
                && note.ends_with("); opened the default plan"),
            "{note}"
        );
        assert!(note.contains(&format!("{field} = {value}")), "{note}");
    }

    #[test]
    fn a_restored_nan_rate_opens_the_default_plan() {
        let restored =
            restore_with(|p| p.workload.rate_rps = crate::model::Rate::Constant(f64::NAN));
        assert_falls_back(&restored, "workload.rate_rps", "NaN");
    }

    #[test]
    fn a_restored_negative_cold_start_opens_the_default_plan() {
        let restored = restore_with(|p| p.service.cold_start_s = -1.0);
        assert_falls_back(&restored, "service.cold_start_s", "-1");
    }

    #[test]
    fn restored_four_billion_servers_open_the_default_plan() {
        let restored = restore_with(|p| {
            p.policy = crate::model::Policy::AlwaysOn {
                servers: 4_000_000_000,
            }
        });
        assert_falls_back(&restored, "policy.servers", "4000000000");
    }

    #[test]
    fn a_valid_restored_plan_is_kept_and_a_relative_path_is_dropped() {
        let (state, note) = restore_with(|_| {});
        assert_eq!(state.plan, crate::plan::presets::default_plan().unwrap());
        assert_eq!(
            state.plan_path.as_deref(),
            Some(Path::new("/plans/mine.ron"))
        );
        assert_eq!(note, None);
        let mut last = AppState::new(crate::plan::presets::default_plan().unwrap(), None);
        last.plan_path = Some("plan.ron".into());
        let default = AppState::new(crate::plan::presets::load("textbook-mmc").unwrap(), None);
        let (state, note) = AppState::restore(Some(last), default);
        assert_eq!(state.plan, crate::plan::presets::default_plan().unwrap());
        assert_eq!(
            state.plan_path, None,
            "a relative path is not trusted for saving"
        );
        let note = note.expect("a note");
        assert!(note.contains("plan.ron"), "{note}");
        let default = AppState::new(crate::plan::presets::load("textbook-mmc").unwrap(), None);
        let (state, note) = AppState::restore(None, default);
        assert_eq!(
            state.plan.name,
            crate::plan::presets::load("textbook-mmc").unwrap().name
        );
        assert_eq!(note, None);
    }

    #[test]
    fn a_stamp_persists_and_state_without_one_saves_in_the_old_shape() {
        let mut state = AppState::new(crate::plan::presets::default_plan().unwrap(), None);
        assert!(!ron::to_string(&state).unwrap().contains("plan_stamp"));
        state.plan_path = Some("/plans/mine.ron".into());
        state.plan_stamp = Some(FileStamp {
            modified: Some(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::new(7, 9)),
            len_bytes: 3,
            hash: 42,
        });
        let back: AppState = ron::from_str(&ron::to_string(&state).unwrap()).unwrap();
        assert_eq!(back, state);
    }
}
