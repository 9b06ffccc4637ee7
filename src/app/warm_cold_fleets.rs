//! App layer: the fleets the Warm / cold panel compares — the plan as written and the
//! recommendation (both follow the plan and the optimiser), then one fleet of each
//! policy family: the optimiser's best of that family, or sizes set by hand (persisted).

use eframe::egui;
use serde::{Deserialize, Serialize};

use super::explore_ui::describe;
use super::state::Results;
use crate::model::objective::candidate_of;
use crate::model::{Candidate, Evaluation, Evaluator, Plan, Policy, PolicyKind};

/// Shortest idle timeout the panel simulates: plans refuse 0 (every request past the
/// warm floor would boot its own server), and settings saved before may hold it.
const MIN_IDLE_TIMEOUT_S: f64 = 1.0;

/// The checkpoint interval of a hand-set spot mix (the optimiser's default).
const SPOT_CHECKPOINT_INTERVAL_S: f64 = crate::model::objective::DEFAULT_CHECKPOINT_INTERVAL_S;

fn yes() -> bool {
    true
}

// serde's skip_serializing_if passes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_true(b: &bool) -> bool {
    *b
}

/// The compared fleets (persisted). The switches added after the first version are
/// left out of the saved text while they hold their defaults, so older state loads and
/// saves in the shape it had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmColdSettings {
    /// Servers of the hand-set always-on fleet.
    pub always_on: u32,
    /// Servers kept warm in the hand-set keep-k-warm fleet.
    pub warm: u32,
    /// Idle timeout of hand-set on-demand servers, seconds.
    pub idle_timeout_s: f64,
    /// Most servers a hand-set elastic fleet may start.
    pub max_servers: u32,
    /// Spot servers in the hand-set spot mix (plus one on-demand).
    pub spot: u32,
    /// Seed of the simulated day.
    pub seed: u64,
    /// The fleet whose busy / booting / idle servers are drawn.
    #[serde(default)]
    pub detail_fleet: usize,
    /// Simulate the plan as written (its own policy and batch).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub plan_as_written: bool,
    /// Simulate the optimiser's recommendation.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub recommendation: bool,
    /// The four comparison fleets are the optimiser's best of each policy family
    /// (true), or the sizes above (false).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub follow_optimum: bool,
}

impl Default for WarmColdSettings {
    fn default() -> Self {
        Self {
            always_on: 4,
            warm: 1,
            idle_timeout_s: 300.0,
            max_servers: 64,
            spot: 3,
            seed: 1,
            detail_fleet: 1,
            plan_as_written: true,
            recommendation: true,
            follow_optimum: true,
        }
    }
}

/// What a fleet stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetRole {
    /// The plan's own policy and batch.
    PlanAsWritten,
    /// The optimiser's recommendation.
    Recommendation,
    /// One policy family's fleet, for comparison.
    Comparison(PolicyKind),
}

impl FleetRole {
    /// The short name in legends and tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::PlanAsWritten => "plan as written",
            Self::Recommendation => "recommendation",
            Self::Comparison(PolicyKind::AlwaysOn) => "always on",
            Self::Comparison(PolicyKind::OnDemand) => "scale to zero",
            Self::Comparison(PolicyKind::Hybrid) => "keep k warm",
            Self::Comparison(PolicyKind::SpotMix) => "spot mix",
        }
    }
}

/// One fleet to simulate: what it stands for, how it runs, and what the model says.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    /// What it stands for.
    pub role: FleetRole,
    /// What else it stands for: later fleets that came out the same (the
    /// recommendation may be the plan as written, and is always its family's best).
    pub also: Vec<FleetRole>,
    /// Its policy and batch.
    pub candidate: Candidate,
    /// The model's evaluation of it on the plan (none when the model cannot run).
    pub model: Option<Evaluation>,
}

impl FleetSpec {
    /// The short name, e.g. "recommendation", or "recommendation = always on" when it
    /// stands for more than one fleet.
    pub fn label(&self) -> String {
        std::iter::once(self.role)
            .chain(self.also.iter().copied())
            .map(FleetRole::label)
            .collect::<Vec<_>>()
            .join(" = ")
    }

    /// True when the fleet stands for `role` (first or also).
    pub fn is(&self, role: FleetRole) -> bool {
        self.role == role || self.also.contains(&role)
    }

    /// The fleet in words, e.g. "1 server always on, batch up to 1".
    pub fn description(&self) -> String {
        self.model
            .as_ref()
            .map_or_else(|| format!("{:?}", self.candidate.policy), describe)
    }
}

impl WarmColdSettings {
    /// A hand-set fleet of `kind`, with the plan's batch.
    fn hand_set(&self, kind: PolicyKind, batch: u32) -> Candidate {
        let idle_timeout_s = self.idle_timeout_s.max(MIN_IDLE_TIMEOUT_S);
        let max_servers = self.max_servers.max(1);
        let policy = match kind {
            PolicyKind::AlwaysOn => Policy::AlwaysOn {
                servers: self.always_on.max(1),
            },
            PolicyKind::OnDemand => Policy::OnDemand {
                idle_timeout_s,
                max_servers,
            },
            PolicyKind::Hybrid => Policy::Hybrid {
                warm: self.warm.min(max_servers),
                idle_timeout_s,
                max_servers,
            },
            PolicyKind::SpotMix => Policy::SpotMix {
                on_demand: 1,
                spot: self.spot,
                checkpoint_interval_s: SPOT_CHECKPOINT_INTERVAL_S,
                checkpoint_s: 0.0,
            },
        };
        Candidate {
            policy,
            batch,
            max_num_seqs: None,
        }
    }

    /// The fleets to simulate on `plan` with its `results`: the plan as written and the
    /// recommendation (when switched on and there is one), then each policy family's
    /// fleet; a fleet identical to one before it is left out (the first names it).
    pub fn fleets(&self, plan: &Plan, results: &Results) -> Vec<FleetSpec> {
        let optimum = results.optimum.as_ref().ok();
        let mut wanted: Vec<(FleetRole, Candidate)> = Vec::new();
        if self.plan_as_written
            && let Some(c) = Candidate::from_plan(plan)
        {
            wanted.push((FleetRole::PlanAsWritten, c));
        }
        if self.recommendation
            && let Some(best) = optimum.and_then(|o| o.best.as_ref())
        {
            wanted.push((FleetRole::Recommendation, candidate_of(plan, best)));
        }
        let batch = plan.batching.max_batch.max(1);
        for kind in PolicyKind::ALL {
            let best_of_kind = optimum
                .filter(|_| self.follow_optimum)
                .and_then(|o| o.candidates.iter().find(|c| c.policy == kind));
            let c =
                best_of_kind.map_or_else(|| self.hand_set(kind, batch), |e| candidate_of(plan, e));
            wanted.push((FleetRole::Comparison(kind), c));
        }
        let evaluator = Evaluator::new(plan).ok();
        let mut fleets: Vec<FleetSpec> = Vec::new();
        for (role, candidate) in wanted {
            if let Some(same) = fleets.iter_mut().find(|f| f.candidate == candidate) {
                same.also.push(role);
                continue;
            }
            let model = evaluator.as_ref().map(|ctx| {
                let mut e = ctx.evaluate(&candidate);
                crate::model::objective::score(&plan.objective, &mut e);
                e
            });
            fleets.push(FleetSpec {
                role,
                also: Vec::new(),
                candidate,
                model,
            });
        }
        fleets
    }
}

/// The fleet switches, the comparison fleets (the optimiser's, or sliders) and the seed.
pub fn fleets_ui(ui: &mut egui::Ui, s: &mut WarmColdSettings, plan: &Plan, results: &Results) {
    let fleets = s.fleets(plan, results);
    // A fleet is described where it first appears, and named there for the rest.
    let described = |role: FleetRole| {
        fleets.iter().find(|f| f.is(role)).map(|f| {
            if f.role == role {
                f.description()
            } else {
                format!("the same as {}", f.role.label())
            }
        })
    };
    ui.checkbox(&mut s.plan_as_written, "the plan as written")
        .on_hover_text("The plan's own policy and batch, as the file says.");
    let plan_fleet = match (described(FleetRole::PlanAsWritten), &plan.policy) {
        (Some(d), _) => d,
        (None, Policy::Optimize { .. }) => "none: the plan asks the optimiser".into(),
        (None, _) => "switched off".into(),
    };
    ui.label(format!("    {plan_fleet}"));
    ui.checkbox(&mut s.recommendation, "the recommendation")
        .on_hover_text("The optimiser's answer (Explore); it follows the plan as you edit it.");
    let rec = described(FleetRole::Recommendation).unwrap_or_else(|| {
        match results.optimum.as_ref().map(|o| o.best.is_some()) {
            Ok(true) => "switched off".into(),
            Ok(false) => "none: no feasible candidate".into(),
            Err(e) => format!("none: {e}"),
        }
    });
    ui.label(format!("    {rec}"));
    ui.checkbox(
        &mut s.follow_optimum,
        "compare with the best of each policy",
    )
    .on_hover_text(
        "On: one fleet per policy family, the optimiser's best of that family. Off: the \
             sizes set below.",
    );
    if s.follow_optimum {
        for kind in PolicyKind::ALL {
            let role = FleetRole::Comparison(kind);
            if let Some(d) = described(role) {
                ui.label(format!("    {}: {d}", role.label()));
            }
        }
    } else {
        sliders_ui(ui, s);
    }
    ui.add(egui::DragValue::new(&mut s.seed).prefix("seed "))
        .on_hover_text("Random seed of the simulation: the same seed gives the same day.");
}

/// The sizes of the hand-set comparison fleets.
fn sliders_ui(ui: &mut egui::Ui, s: &mut WarmColdSettings) {
    ui.add(egui::Slider::new(&mut s.always_on, 1..=256).text("always-on servers"))
        .on_hover_text("The always-on fleet: this many servers all day, never cold.");
    ui.add(egui::Slider::new(&mut s.warm, 0..=64).text("k kept warm"))
        .on_hover_text("The keep-warm fleet: k servers always on, more start on demand.");
    ui.add(
        egui::Slider::new(&mut s.idle_timeout_s, MIN_IDLE_TIMEOUT_S..=3600.0)
            .logarithmic(true)
            .text("idle timeout, s"),
    )
    .on_hover_text(
        "An idle on-demand server stops after this long; the next request pays a cold start.",
    );
    ui.add(
        egui::Slider::new(&mut s.max_servers, 1..=1024)
            .logarithmic(true)
            .text("max servers"),
    )
    .on_hover_text("Cap on servers an on-demand fleet may start; more requests queue.");
    ui.add(egui::Slider::new(&mut s.spot, 0..=64).text("spot servers (+1 on-demand)"))
        .on_hover_text(
            "The spot fleet: this many spot servers (interruptible) plus one on-demand.",
        );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::AppState;

    #[test]
    fn the_fleets_are_the_plan_the_recommendation_and_each_policys_best() {
        let plan = crate::plan::presets::load("embedding-cache").unwrap();
        let results = Results::compute(&plan);
        let fleets = WarmColdSettings::default().fleets(&plan, &results);
        assert_eq!(fleets[0].role, FleetRole::PlanAsWritten);
        assert_eq!(fleets[0].candidate.policy, plan.policy);
        assert_eq!(fleets[1].role, FleetRole::Recommendation);
        let best = results.optimum.as_ref().unwrap().best.clone().unwrap();
        assert_eq!(fleets[1].model.as_ref().unwrap().servers, best.servers);
        assert_eq!(fleets[1].candidate, candidate_of(&plan, &best));
        // No fleet twice: the recommendation is also its family's best, named so.
        for (i, a) in fleets.iter().enumerate() {
            assert!(fleets[..i].iter().all(|b| b.candidate != a.candidate));
        }
        assert_eq!(fleets[1].also, vec![FleetRole::Comparison(best.policy)]);
        assert_eq!(fleets[1].label(), "recommendation = always on");
        assert!(
            PolicyKind::ALL
                .iter()
                .all(|&k| fleets.iter().any(|f| f.is(FleetRole::Comparison(k))))
        );
    }

    #[test]
    fn hand_set_fleets_use_the_sliders_and_the_switches_drop_fleets() {
        let plan = crate::plan::presets::load("startup-transcribe").unwrap();
        let results = Results::compute(&plan);
        let s = WarmColdSettings {
            follow_optimum: false,
            plan_as_written: false,
            recommendation: false,
            always_on: 7,
            ..WarmColdSettings::default()
        };
        let fleets = s.fleets(&plan, &results);
        assert_eq!(fleets.len(), 4);
        assert_eq!(fleets[0].candidate.policy, Policy::AlwaysOn { servers: 7 });
        assert!(
            fleets
                .iter()
                .all(|f| matches!(f.role, FleetRole::Comparison(_)))
        );
    }

    /// Settings saved before the fleets followed the plan (written by hand, as that
    /// version wrote them): they load with every new switch on and save unchanged.
    #[test]
    fn warm_cold_settings_saved_before_the_switches_still_load() {
        let old = "(always_on:7,warm:2,idle_timeout_s:60.0,max_servers:32,spot:5,seed:42,\
                   detail_fleet:3)";
        let s: WarmColdSettings = ron::from_str(old).unwrap();
        assert_eq!((s.always_on, s.warm, s.seed, s.detail_fleet), (7, 2, 42, 3));
        assert!(s.plan_as_written && s.recommendation && s.follow_optimum);
        assert_eq!(ron::to_string(&s).unwrap(), old);
        let off = WarmColdSettings {
            follow_optimum: false,
            ..s
        };
        let text = ron::to_string(&off).unwrap();
        assert!(text.contains("follow_optimum:false"), "{text}");
        assert_eq!(ron::from_str::<WarmColdSettings>(&text).unwrap(), off);
        // And inside the whole app state, as eframe stores it.
        let mut state = AppState::new(crate::plan::presets::default_plan().unwrap(), None);
        state.warm_cold.settings = off.clone();
        let back: AppState = ron::from_str(&ron::to_string(&state).unwrap()).unwrap();
        assert_eq!(back.warm_cold.settings, off);
    }
}
