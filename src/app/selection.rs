//! App layer: a candidate picked by clicking a point of the Explore plots — the
//! point's fleet beside the recommendation with the difference, and "Apply to plan",
//! which writes its policy and batch into the plan (undone like any plan edit).

use std::cell::RefCell;

use eframe::egui;
use egui_plot::{MarkerShape, PlotUi, Points};

use super::explore_ui::describe;
use super::format::fmt_sig;
use super::plots::{OPTIMUM, objective_series, pareto_point};
use super::state::Results;
use crate::model::objective::{candidate_of, policy_at};
use crate::model::{
    Candidate, Evaluation, Evaluator, Metric, Optimum, Plan, PolicyKind, SweepOptions,
};

/// The name of the picked point's marker, in both plots.
pub const SELECTED: &str = "selected";

/// The colour of the picked point's marker: white ringed by its size, so it stands
/// out against every policy's colour.
const SELECTED_COLOR: egui::Color32 = egui::Color32::WHITE;

/// A candidate picked on a plot, with the results' plan it was picked from, so a
/// later edit of the plan (which moves every point) lets it go.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The fleet as the plan writes it: policy and batch.
    pub candidate: Candidate,
    /// The model's figures for it, in full.
    pub evaluation: Evaluation,
    /// The plan whose results it was picked from.
    for_plan: Plan,
}

/// Which of the two Explore plots a click was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Objective versus servers, one line per policy.
    Objective,
    /// Cost versus latency with the Pareto frontier.
    Pareto,
}

/// What a plot reads and records for picking: the current selection, to draw, and
/// the point its hover read-out found nearest the pointer this frame.
#[derive(Debug, Default)]
pub struct Pick<'a> {
    selected: Option<&'a Evaluation>,
    near: RefCell<Option<(String, usize)>>,
}

impl<'a> Pick<'a> {
    /// A pick that draws `selected`, if any.
    pub fn new(selected: Option<&'a Selection>) -> Self {
        Self {
            selected: selected.map(|s| &s.evaluation),
            near: RefCell::new(None),
        }
    }

    /// Records the point the hover read-out found nearest (series `name` at `index`);
    /// on the selection's own ring, its read-out in `metric`, for the ring hides the
    /// point under it.
    pub fn note(&self, name: &str, index: usize, metric: Metric) -> Option<String> {
        *self.near.borrow_mut() = Some((name.to_owned(), index));
        let selected = self.selected.filter(|_| name == SELECTED)?;
        Some(super::readout::evaluation(selected, metric))
    }

    /// Draws the selection, at `xy` of its evaluation, as a large white ring.
    pub fn draw(&self, plot: &mut PlotUi<'_>, xy: impl Fn(&Evaluation) -> Option<[f64; 2]>) {
        if let Some(p) = self.selected.and_then(xy) {
            let ring = Points::new(SELECTED, vec![p])
                .shape(MarkerShape::Circle)
                .filled(false)
                .color(SELECTED_COLOR)
                .radius(10.0);
            plot.points(ring);
        }
    }

    /// The nearest point recorded this frame, if any; ends the pick.
    pub fn into_near(self) -> Option<(String, usize)> {
        self.near.into_inner()
    }
}

/// Where a selection lies on the objective plot: the curve's server count (warm
/// servers for hybrid, as its sweep counts them) and J.
pub fn objective_xy(e: &Evaluation) -> Option<[f64; 2]> {
    let n = match e.policy {
        PolicyKind::Hybrid => e.warm,
        _ => e.servers,
    };
    Some([f64::from(n), e.objective?])
}

/// The candidate at a point of a plot: series `name` at `index`.
pub fn resolve(
    results: &Results,
    optimum: &Optimum,
    which: Which,
    name: &str,
    index: usize,
) -> Option<Selection> {
    let plan = &results.plan;
    let metric = plan.objective.metric;
    let evaluated = |e: &Evaluation| Selection {
        candidate: candidate_of(plan, e),
        evaluation: e.clone(),
        for_plan: plan.clone(),
    };
    match which {
        Which::Pareto => pareto_point(optimum, metric, name, index).map(evaluated),
        Which::Objective if name == OPTIMUM => optimum.best.as_ref().map(evaluated),
        Which::Objective => {
            let series = objective_series(optimum);
            let s = series.iter().find(|s| s.policy.name() == name)?;
            let p = s.points.get(index)?;
            // As the sweep built this point: the plan's timeouts, its server cap.
            let max_servers = SweepOptions::for_plan(plan).max_servers;
            let candidate = Candidate {
                policy: policy_at(plan, s.policy, p.servers, max_servers),
                batch: p.batch,
                max_num_seqs: p.max_num_seqs,
            };
            let evaluation = Evaluator::new(plan).ok()?.evaluate(&candidate);
            Some(Selection {
                candidate,
                evaluation,
                for_plan: plan.clone(),
            })
        }
    }
}

/// After a plot is shown: a click on a point selects its candidate, a click on the
/// selected marker keeps it, a click far from every point clears the selection.
pub fn on_click(
    selection: &mut Option<Selection>,
    response: &egui::Response,
    near: Option<(String, usize)>,
    which: Which,
    (results, optimum): (&Results, &Optimum),
) {
    if !response.clicked() {
        return;
    }
    match near {
        Some((name, _)) if name == SELECTED => {}
        Some((name, index)) => *selection = resolve(results, optimum, which, &name, index),
        None => *selection = None,
    }
}

/// Lets a selection go once the results are for another plan: its point moved.
pub fn forget_stale(selection: &mut Option<Selection>, results: &Results) {
    if selection
        .as_ref()
        .is_some_and(|s| s.for_plan != results.plan)
    {
        *selection = None;
    }
}

/// Writes the candidate into the plan: its policy, its batch as the largest batch and
/// an LLM replica's `max_num_seqs`, so the plan as written becomes that fleet.
pub fn apply(plan: &mut Plan, candidate: &Candidate) {
    *plan = candidate.apply_to(plan);
}

/// A signed difference in significant digits: "+1.2", "−0.5", "0".
fn signed(delta: f64) -> String {
    if delta > 0.0 {
        format!("+{}", fmt_sig(delta, 3))
    } else if delta < 0.0 {
        format!("−{}", fmt_sig(-delta, 3))
    } else {
        "0".to_owned()
    }
}

/// The selection's $/hour, latency and J, each with its difference to `best`.
pub fn comparison(s: &Evaluation, best: &Evaluation, metric: Metric) -> Vec<String> {
    let mut lines = vec![format!(
        "{} $/hour (Δ {} $/h)",
        fmt_sig(s.cost_usd_per_hour, 3),
        signed(s.cost_usd_per_hour - best.cost_usd_per_hour)
    )];
    let ms = |e: &Evaluation| e.latency_ms.map(|l| l.get(metric));
    match (ms(s), ms(best)) {
        (Some(a), Some(b)) => lines.push(format!(
            "{} latency {} ms (Δ {} ms)",
            metric.name(),
            fmt_sig(a, 3),
            signed(a - b)
        )),
        (Some(a), None) => lines.push(format!("{} latency {} ms", metric.name(), fmt_sig(a, 3))),
        (None, _) => lines.push("latency: overloaded".to_owned()),
    }
    match (s.objective, best.objective) {
        (Some(a), Some(b)) => lines.push(format!("J = {} (Δ {})", fmt_sig(a, 4), signed(a - b))),
        (Some(a), None) => lines.push(format!("J = {}", fmt_sig(a, 4))),
        (None, _) => {}
    }
    lines
}

/// The summary's "Selected:" card: the picked fleet, its difference to the
/// recommendation and "Apply to plan"; a hint to click when nothing is picked.
pub fn selection_ui(
    ui: &mut egui::Ui,
    selection: &mut Option<Selection>,
    plan: &mut Plan,
    results: &Results,
) {
    let Some(s) = selection.as_ref() else {
        ui.weak("Click a point on a plot to compare its fleet with the recommendation.");
        return;
    };
    ui.separator();
    ui.label(format!("Selected: {}", describe(&s.evaluation)));
    match results.best() {
        Some(best) => {
            for line in comparison(&s.evaluation, best, plan.objective.metric) {
                ui.label(line);
            }
        }
        None => {
            ui.weak("No recommendation to compare with.");
        }
    }
    let apply_button = ui
        .button("Apply to plan")
        .on_hover_text("Write this fleet's policy and batch into the plan (Ctrl+Z undoes).");
    if apply_button.clicked() {
        apply(plan, &s.candidate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::presets;

    #[test]
    fn a_difference_reads_signed() {
        assert_eq!(signed(1.234_56), "+1.23");
        assert_eq!(signed(-0.5), "−0.5");
        assert_eq!(signed(0.0), "0");
    }

    #[test]
    fn each_point_of_either_plot_is_the_fleet_it_reads_out() {
        let plan = presets::load("healthcare-triage").unwrap();
        let results = Results::compute(&plan);
        let optimum = results.optimum.as_ref().unwrap();
        let metric = plan.objective.metric;
        let best = optimum.best.as_ref().unwrap();
        let s = resolve(&results, optimum, Which::Pareto, OPTIMUM, 0).unwrap();
        assert_eq!(&s.evaluation, best);
        assert_eq!(s.candidate, candidate_of(&plan, best));
        let lines = comparison(&s.evaluation, best, metric);
        assert_eq!(
            lines[0],
            format!("{} $/hour (Δ 0 $/h)", fmt_sig(best.cost_usd_per_hour, 3))
        );
        for series in objective_series(optimum) {
            for (i, p) in series.points.iter().enumerate() {
                let name = series.policy.name();
                let s = resolve(&results, optimum, Which::Objective, name, i).unwrap();
                let e = &s.evaluation;
                assert_eq!((e.policy, e.batch), (series.policy, p.batch));
                assert_eq!(e.cost_usd_per_hour, p.cost_usd_per_hour, "{name} {i}");
                let j = e.objective.unwrap();
                assert!(
                    (j - p.objective.unwrap()).abs() <= 1e-9 * j.abs(),
                    "{name} {i}"
                );
                assert_eq!(objective_xy(e), Some([f64::from(p.servers), j]));
            }
        }
        assert!(resolve(&results, optimum, Which::Objective, "nothing", 0).is_none());
    }

    #[test]
    fn applying_writes_the_policy_and_batch_and_nothing_else() {
        let before = presets::load("healthcare-triage").unwrap();
        let results = Results::compute(&before);
        let optimum = results.optimum.as_ref().unwrap();
        let c = &optimum.candidates[0];
        let s = resolve(
            &results,
            optimum,
            Which::Pareto,
            &format!("best {}", c.policy.name()),
            0,
        )
        .unwrap();
        let mut plan = before.clone();
        apply(&mut plan, &s.candidate);
        assert_eq!(Candidate::from_plan(&plan), Some(s.candidate.clone()));
        (plan.policy, plan.batching.max_batch) = (before.policy.clone(), before.batching.max_batch);
        assert_eq!(plan, before);
    }
}
