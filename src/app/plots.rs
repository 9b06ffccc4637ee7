//! App layer: the plots — objective versus servers per policy, and the cost–latency
//! Pareto frontier with the optimum marked. Plots only read state.

use eframe::egui;
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotPoints, Points};

use crate::model::{Evaluation, Metric, Optimum};

/// Name of a latency metric in labels.
pub fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Mean => "mean",
        Metric::P50 => "p50",
        Metric::P95 => "p95",
        Metric::P99 => "p99",
    }
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
