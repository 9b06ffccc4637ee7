//! App layer: the plots — objective versus servers per policy, and the cost–latency
//! Pareto frontier with the optimum marked. Plots only read state.

use eframe::egui;
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotPoints, Points};

use crate::model::{Evaluation, Metric, Optimum};

/// The colour of the `i`-th series, as egui_plot would pick it; set explicitly where a
/// band, markers and a line share one name and must share one colour.
pub fn series_color(i: usize) -> egui::Color32 {
    let golden = std::f32::consts::GOLDEN_RATIO - 1.0;
    egui::epaint::Hsva::new(i as f32 * golden, 0.85, 0.5, 1.0).into()
}

/// Grid marks at 1–2–5 steps, about four labelled lines over the visible range. The
/// default spacer steps by powers of ten only, which on a short plot spanning, say,
/// 0–700 leaves just the 0 labelled.
pub fn nice_grid(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    let span = (input.bounds.1 - input.bounds.0).abs();
    let rough = (span / 4.0)
        .max(input.base_step_size)
        .max(f64::MIN_POSITIVE);
    let decade = 10f64.powf(rough.log10().floor());
    let major = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * decade);
    let mut marks = Vec::new();
    for (step, every) in [(major / 5.0, 5), (major, 1)] {
        let first = (input.bounds.0 / step).ceil() as i64;
        let last = (input.bounds.1 / step).floor() as i64;
        // A degenerate range could ask for millions of marks; a plot needs a few dozen.
        if last - first > 200 {
            continue;
        }
        // A minor mark on a major one would be labelled twice ("2" over "2.0").
        let minor_only = (first..=last).filter(|i| every == 1 || i % every != 0);
        marks.extend(minor_only.map(|i| egui_plot::GridMark {
            value: i as f64 * step,
            step_size: step,
        }));
    }
    marks
}

/// The label of a [`nice_grid`] mark, with as many decimals as its step needs: egui's
/// own formatter rounds the decimals of a 0.5 step down to none, labelling 0.5 as "0".
pub fn nice_label(mark: egui_plot::GridMark, _range: &std::ops::RangeInclusive<f64>) -> String {
    // A hair below the decade, so a step of exactly 0.1 asks for one decimal, not two.
    let decimals = (-mark.step_size.log10() - 1e-9).ceil().max(0.0) as usize;
    format!("{:.decimals$}", mark.value)
}

/// Name of a latency metric in labels.
pub fn metric_name(metric: Metric) -> &'static str {
    metric.name()
}

/// Objective J = α·C + β·L versus servers, one line per policy (feasible points only;
/// infeasible sizes leave gaps).
pub fn objective_plot_ui(ui: &mut egui::Ui, optimum: &Optimum, height: f32) -> egui::Response {
    Plot::new("objective_vs_servers")
        .legend(Legend::default())
        .x_axis_label("servers (always-on fleet, on-demand cap, hybrid warm, spot-mix total)")
        .y_axis_label("objective J = α·$/hour + β·ms")
        .height(height)
        .show(ui, |plot| {
            for curve in &optimum.curves {
                let points: Vec<[f64; 2]> = curve
                    .points
                    .iter()
                    .filter(|p| p.feasible)
                    .filter_map(|p| Some([f64::from(p.servers), p.objective?]))
                    .collect();
                if !points.is_empty() {
                    plot.line(Line::new(curve.policy.name(), PlotPoints::from(points)));
                }
            }
            if let Some(best) = &optimum.best
                && let Some(j) = best.objective
            {
                plot.points(
                    Points::new("optimum", vec![[f64::from(best.servers), j]])
                        .shape(MarkerShape::Diamond)
                        .radius(6.0),
                );
            }
        })
        .response
}

fn cost_latency(e: &Evaluation, metric: Metric) -> Option<[f64; 2]> {
    Some([e.cost_usd_per_hour, e.latency_ms?.get(metric)])
}

/// Cost ($/hour) versus latency (the objective's metric, ms): the Pareto frontier as
/// a line, each policy's best as a point, the optimum as a diamond.
pub fn pareto_plot_ui(
    ui: &mut egui::Ui,
    optimum: &Optimum,
    metric: Metric,
    height: f32,
) -> egui::Response {
    let m = metric_name(metric);
    Plot::new("pareto")
        .legend(Legend::default())
        .x_axis_label("cost, $/hour")
        .y_axis_label(format!("{m} latency, ms"))
        .height(height)
        .show(ui, |plot| {
            let frontier: Vec<[f64; 2]> = optimum
                .pareto
                .iter()
                .filter_map(|e| cost_latency(e, metric))
                .collect();
            plot.line(Line::new(
                "Pareto frontier",
                PlotPoints::from(frontier.clone()),
            ));
            plot.points(Points::new("frontier points", PlotPoints::from(frontier)).radius(3.0));
            for e in &optimum.candidates {
                if let Some(p) = cost_latency(e, metric) {
                    plot.points(
                        Points::new(format!("best {}", e.policy.name()), vec![p]).radius(5.0),
                    );
                }
            }
            if let Some(p) = optimum.best.as_ref().and_then(|e| cost_latency(e, metric)) {
                plot.points(
                    Points::new("optimum", vec![p])
                        .shape(MarkerShape::Diamond)
                        .radius(8.0),
                );
            }
        })
        .response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(value: f64, step_size: f64) -> String {
        nice_label(egui_plot::GridMark { value, step_size }, &(0.0..=1.0))
    }

    #[test]
    fn grid_marks_fall_once_on_each_value() {
        let input = egui_plot::GridInput {
            bounds: (0.0, 4.0),
            base_step_size: 1e-3,
        };
        let marks = nice_grid(input);
        let mut values: Vec<f64> = marks.iter().map(|m| m.value).collect();
        let n = values.len();
        values.sort_by(f64::total_cmp);
        values.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        assert_eq!(values.len(), n, "{marks:?}");
        // Majors every 1 (four over the span), minors every 0.2 between them.
        let majors = marks.iter().filter(|m| m.step_size == 1.0).count();
        assert_eq!((majors, n), (5, 21));
    }

    #[test]
    fn grid_labels_keep_the_decimals_their_step_needs() {
        assert_eq!(label(0.5, 0.5), "0.5");
        assert_eq!(label(2.0, 0.5), "2.0");
        assert_eq!(label(0.3, 0.1), "0.3");
        assert_eq!(label(0.05, 0.05), "0.05");
        assert_eq!(label(40.0, 20.0), "40");
        assert_eq!(label(3.0, 1.0), "3");
    }
}
