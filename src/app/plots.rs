//! App layer: the plots — objective versus servers per policy, and the cost–latency
//! Pareto frontier with the optimum marked. Plots only read state.

use eframe::egui;
use egui_plot::{HoverPosition, Line, MarkerShape, Plot, PlotPoints, Points};

use super::legend::{LegendEntry, plot_legend};

use super::axes::{self, Scale, with_axes};
use super::selection::{Pick, objective_xy};
use super::{palette, readout};
use crate::model::objective::CurvePoint;
use crate::model::{Evaluation, Metric, Optimum, PolicyKind};

/// The colour of the `i`-th series: [`palette::series_color`], kept here for callers
/// that name it through this module.
pub fn series_color(i: usize) -> egui::Color32 {
    palette::series_color(i)
}

/// Grid marks for a linear axis: [`axes::linear_grid`].
pub fn nice_grid(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    axes::linear_grid(input)
}

/// The label of a [`nice_grid`] mark: [`axes::linear_label`].
pub fn nice_label(mark: egui_plot::GridMark, range: &std::ops::RangeInclusive<f64>) -> String {
    axes::linear_label(mark, range)
}

/// Name of a latency metric in labels.
pub fn metric_name(metric: Metric) -> &'static str {
    metric.name()
}

/// One policy's feasible points on the objective plot, in its palette colour.
#[derive(Debug)]
pub struct PolicySeries<'a> {
    /// The policy.
    pub policy: PolicyKind,
    /// Its colour, [`palette::policy_color`].
    pub color: egui::Color32,
    /// Its feasible points with an objective, by increasing servers.
    pub points: Vec<&'a CurvePoint>,
}

/// The objective plot's series: one per policy with a feasible point (infeasible
/// sizes are left out).
pub fn objective_series(optimum: &Optimum) -> Vec<PolicySeries<'_>> {
    (optimum.curves.iter())
        .map(|curve| PolicySeries {
            policy: curve.policy,
            color: palette::policy_color(curve.policy),
            points: (curve.points.iter())
                .filter(|p| p.feasible && p.objective.is_some())
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// The name of the optimum's marker, in both plots.
pub const OPTIMUM: &str = "optimum";

/// The objective plot's key: its PNG file name and its legend's memory.
pub const OBJECTIVE_KEY: &str = "objective";

/// The Pareto plot's key: its PNG file name and its legend's memory.
pub const PARETO_KEY: &str = "pareto";

/// What hovering the objective plot near a point reads out: the point of the series
/// called `name` at `index`.
pub fn objective_readout(
    optimum: &Optimum,
    metric: Metric,
    name: &str,
    index: usize,
) -> Option<String> {
    if name == OPTIMUM {
        return Some(readout::evaluation(optimum.best.as_ref()?, metric));
    }
    let series = objective_series(optimum);
    let s = series.iter().find(|s| s.policy.name() == name)?;
    Some(readout::curve_point(s.policy, s.points.get(index)?, metric))
}

/// Objective J = α·C + β·L versus servers, one line per policy in its colour
/// (feasible points only); hovering a point reads out its fleet and notes it in
/// `pick`, whose selection is drawn ringed.
pub fn objective_plot_ui(
    ui: &mut egui::Ui,
    optimum: &Optimum,
    metric: Metric,
    height: f32,
    pick: &Pick<'_>,
) -> egui::Response {
    let series = objective_series(optimum);
    // No feasible point: a message, not axes from −0.5 to 0.5.
    if series.is_empty() {
        return ui.label("No feasible fleet to plot: see Why this recommendation.");
    }
    let mut entries: Vec<LegendEntry> = (series.iter())
        .map(|s| LegendEntry::line(s.policy.name(), s.color))
        .collect();
    if optimum.best.as_ref().is_some_and(|b| b.objective.is_some()) {
        entries.push(LegendEntry::marker(OPTIMUM, palette::OPTIMUM));
    }
    let hidden = plot_legend(ui, OBJECTIVE_KEY, &entries);
    let shown = |name: &str| !hidden.iter().any(|h| h == name);
    let all = series.iter().flat_map(|s| s.points.iter());
    let span = axes::y_span(all.filter_map(|p| Some([0.0, p.objective?])));
    let plot = with_axes(
        Plot::new("objective_vs_servers"),
        (
            Scale::Linear,
            "servers (always-on fleet, on-demand cap, hybrid warm, spot-mix total)",
        ),
        (Scale::Linear, "objective J = α·$/hour + β·ms"),
    );
    axes::include_spans(plot, None, span)
        .label_formatter(|pos| match pos {
            HoverPosition::NearDataPoint {
                plot_name, index, ..
            } => (pick.note(plot_name, *index, metric))
                .or_else(|| objective_readout(optimum, metric, plot_name, *index)),
            HoverPosition::Elsewhere { .. } => None,
        })
        .height(height)
        .show(ui, |plot| {
            for s in series.iter().filter(|s| shown(s.policy.name())) {
                let points: Vec<[f64; 2]> = (s.points.iter())
                    .filter_map(|p| Some([f64::from(p.servers), p.objective?]))
                    .collect();
                let name = s.policy.name();
                plot.line(Line::new(name, PlotPoints::from(points)).color(s.color));
            }
            if let Some(best) = &optimum.best
                && let Some(j) = best.objective
                && shown(OPTIMUM)
            {
                plot.points(
                    Points::new(OPTIMUM, vec![[f64::from(best.servers), j]])
                        .shape(MarkerShape::Diamond)
                        .color(palette::OPTIMUM)
                        .radius(6.0),
                );
            }
            pick.draw(plot, objective_xy);
        })
        .response
}

fn cost_latency(e: &Evaluation, metric: Metric) -> Option<[f64; 2]> {
    Some([e.cost_usd_per_hour, e.latency_ms?.get(metric)])
}

/// The Pareto frontier's line and its points share this name's evaluations.
const FRONTIER: &str = "Pareto frontier";

/// The frontier's evaluations that have a latency, by increasing cost.
fn frontier(optimum: &Optimum, metric: Metric) -> Vec<&Evaluation> {
    (optimum.pareto.iter())
        .filter(|e| cost_latency(e, metric).is_some())
        .collect()
}

/// The name of a policy's best point on the Pareto plot.
fn best_name(policy: PolicyKind) -> String {
    format!("best {}", policy.name())
}

/// The colour of a policy's best point on the Pareto plot: its palette colour, as
/// on the objective plot.
pub fn pareto_policy_color(policy: PolicyKind) -> egui::Color32 {
    palette::policy_color(policy)
}

/// The evaluation at a point of the Pareto plot: series `name` at `index`.
pub fn pareto_point<'o>(
    optimum: &'o Optimum,
    metric: Metric,
    name: &str,
    index: usize,
) -> Option<&'o Evaluation> {
    match name {
        OPTIMUM => optimum.best.as_ref(),
        FRONTIER => frontier(optimum, metric).get(index).copied(),
        _ => (optimum.candidates.iter()).find(|e| best_name(e.policy) == name),
    }
}

/// What hovering the Pareto plot near a point reads out.
pub fn pareto_readout(
    optimum: &Optimum,
    metric: Metric,
    name: &str,
    index: usize,
) -> Option<String> {
    let e = pareto_point(optimum, metric, name, index)?;
    Some(readout::evaluation(e, metric))
}

/// Cost ($/hour) versus latency (the objective's metric, ms): the Pareto frontier as
/// a grey line with points, each policy's best in its colour, the optimum as a
/// diamond; hovering a point reads out its fleet and notes it in `pick`, whose
/// selection is drawn ringed.
pub fn pareto_plot_ui(
    ui: &mut egui::Ui,
    optimum: &Optimum,
    metric: Metric,
    height: f32,
    pick: &Pick<'_>,
) -> egui::Response {
    let m = metric_name(metric);
    let front: Vec<[f64; 2]> = (frontier(optimum, metric).into_iter())
        .filter_map(|e| cost_latency(e, metric))
        .collect();
    let everything = || {
        let picked = optimum.candidates.iter().chain(optimum.best.as_ref());
        front
            .iter()
            .copied()
            .chain(picked.filter_map(|e| cost_latency(e, metric)))
    };
    if everything().next().is_none() {
        return ui.label("No feasible fleet to plot: see Why this recommendation.");
    }
    let mut entries = Vec::new();
    if !front.is_empty() {
        entries.push(LegendEntry::line(FRONTIER, palette::FRONTIER));
    }
    for e in &optimum.candidates {
        if cost_latency(e, metric).is_some() {
            entries.push(LegendEntry::marker(
                best_name(e.policy),
                pareto_policy_color(e.policy),
            ));
        }
    }
    if optimum
        .best
        .as_ref()
        .and_then(|e| cost_latency(e, metric))
        .is_some()
    {
        entries.push(LegendEntry::marker(OPTIMUM, palette::OPTIMUM));
    }
    let hidden = plot_legend(ui, PARETO_KEY, &entries);
    let shown = |name: &str| !hidden.iter().any(|h| h == name);
    let y = axes::y_span(everything());
    let x = axes::y_span(everything().map(|p| [p[1], p[0]]));
    let plot = with_axes(
        Plot::new("pareto"),
        (Scale::Linear, "cost, $/hour"),
        (Scale::Linear, &format!("{m} latency, ms")),
    );
    axes::include_spans(plot, x, y)
        .label_formatter(|pos| match pos {
            HoverPosition::NearDataPoint {
                plot_name, index, ..
            } => (pick.note(plot_name, *index, metric))
                .or_else(|| pareto_readout(optimum, metric, plot_name, *index)),
            HoverPosition::Elsewhere { .. } => None,
        })
        .height(height)
        .show(ui, |plot| {
            let color = palette::FRONTIER;
            if shown(FRONTIER) {
                plot.line(Line::new(FRONTIER, PlotPoints::from(front.clone())).color(color));
                let markers = Points::new(FRONTIER, PlotPoints::from(front));
                plot.points(markers.color(color).radius(3.0));
            }
            for e in &optimum.candidates {
                if let Some(p) = cost_latency(e, metric)
                    && shown(&best_name(e.policy))
                {
                    let color = pareto_policy_color(e.policy);
                    plot.points(
                        Points::new(best_name(e.policy), vec![p])
                            .color(color)
                            .radius(5.0),
                    );
                }
            }
            if let Some(p) = optimum.best.as_ref().and_then(|e| cost_latency(e, metric))
                && shown(OPTIMUM)
            {
                plot.points(
                    Points::new(OPTIMUM, vec![p])
                        .shape(MarkerShape::Diamond)
                        .color(palette::OPTIMUM)
                        .radius(8.0),
                );
            }
            pick.draw(plot, |e| cost_latency(e, metric));
        })
        .response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SweepOptions, optimize};

    fn optimum() -> (Optimum, Metric) {
        let plan = crate::plan::presets::load("healthcare-triage").expect("preset");
        let metric = plan.objective.metric;
        let o = optimize(&plan, &SweepOptions::for_plan(&plan)).expect("optimum");
        (o, metric)
    }

    #[test]
    fn each_policy_has_one_colour_in_both_explore_plots() {
        let (o, _) = optimum();
        let series = objective_series(&o);
        assert!(!series.is_empty());
        for s in &series {
            assert_eq!(s.color, palette::policy_color(s.policy));
            assert_eq!(
                s.color,
                pareto_policy_color(s.policy),
                "{}",
                s.policy.name()
            );
        }
        for p in PolicyKind::ALL {
            assert_eq!(pareto_policy_color(p), palette::policy_color(p));
        }
    }

    #[test]
    fn hovering_a_point_reads_out_its_fleet() {
        let (o, metric) = optimum();
        let series = objective_series(&o);
        let s = &series[0];
        let p = s.points[0];
        let text = objective_readout(&o, metric, s.policy.name(), 0).expect("a read-out");
        assert!(text.starts_with(&format!("{} · {} server", s.policy.name(), p.servers)));
        assert!(text.contains(&readout::batch_text(p.batch)), "{text}");
        assert!(text.contains(" per hour") && text.contains(" ms") && text.contains("J = "));
        assert_eq!(
            objective_readout(&o, metric, s.policy.name(), 100_000),
            None
        );
        let best = o.best.as_ref().expect("a best fleet");
        let text = pareto_readout(&o, metric, OPTIMUM, 0).expect("the optimum's read-out");
        assert_eq!(text, readout::evaluation(best, metric));
        let first = frontier(&o, metric)[0];
        assert_eq!(
            pareto_readout(&o, metric, FRONTIER, 0),
            Some(readout::evaluation(first, metric))
        );
        let c = &o.candidates[0];
        assert_eq!(
            pareto_readout(&o, metric, &best_name(c.policy), 0),
            Some(readout::evaluation(c, metric))
        );
    }
}
