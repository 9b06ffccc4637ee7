//! App layer: the Explore panel — α, β, SLO, traffic and price sliders; the objective
//! per policy, the Pareto frontier and a summary of the recommendation.

use eframe::egui;

use super::fleet_change::fleet_change_ui;
use super::format::fmt_sig;
use super::plot_png::titled_plot;
use super::plots::{metric_name, objective_plot_ui, pareto_plot_ui};
use super::state::{Results, Runtime, Tab};
use crate::model::traffic::{peak_rate_rps, scaled};
use crate::model::{Evaluation, Metric, Plan};

/// The Explore panel. It holds nothing of its own: the sliders edit the shared plan
/// and the plots read the shared results, so switching tabs loses nothing.
#[derive(Debug, Default)]
pub struct ExplorePanel {}

impl ExplorePanel {
    /// The Explore panel: controls mutate `plan`; plots read the runtime's results.
    pub fn ui(&mut self, ui: &mut egui::Ui, plan: &mut Plan, runtime: &Runtime) {
        let results = &runtime.results;
        egui::Panel::left("explore_controls")
            .resizable(false)
            .exact_size(380.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    fleet_change_ui(ui, runtime.fleet_change.as_ref(), Tab::Explore);
                    controls_ui(ui, plan);
                    ui.separator();
                    summary_ui(ui, plan, results);
                });
            });
        egui::CentralPanel::default().show(ui, |ui| match &results.optimum {
            Ok(optimum) => {
                let height = ((ui.available_height() - 60.0) / 2.0).max(160.0);
                titled_plot(ui, "Objective vs servers, per policy", "objective", |ui| {
                    objective_plot_ui(ui, optimum, plan.objective.metric, height)
                });
                let title = format!(
                    "Cost vs {} latency (Pareto frontier)",
                    metric_name(plan.objective.metric)
                );
                titled_plot(ui, &title, "pareto", |ui| {
                    pareto_plot_ui(ui, optimum, plan.objective.metric, height)
                });
            }
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("Model error: {e}"));
            }
        });
    }
}

fn controls_ui(ui: &mut egui::Ui, plan: &mut Plan) {
    let o = &mut plan.objective;
    ui.heading("Objective");
    ui.add(egui::Slider::new(&mut o.alpha, 0.0..=10.0).text("α (weight of $/hour)"))
        .on_hover_text("J = α·cost + β·latency: how much a dollar per hour counts.");
    ui.add(
        egui::Slider::new(&mut o.beta, 1e-6..=10.0)
            .logarithmic(true)
            .text("β (weight of one ms)"),
    )
    .on_hover_text("How much one millisecond of the chosen latency metric counts.");
    let worth = if o.alpha > 0.0 {
        format!(
            "{} $ per hour worth one ms (β/α)",
            fmt_sig(o.beta / o.alpha, 3)
        )
    } else {
        "α = 0: only latency counts".to_owned()
    };
    ui.label(worth).on_hover_text(
        "β/α: the dollars per hour you would pay to cut the latency metric by one ms. \
         Only the ratio matters to which plan wins.",
    );
    egui::ComboBox::from_label("latency metric")
        .selected_text(metric_name(o.metric))
        .show_ui(ui, |ui| {
            for m in Metric::ALL {
                ui.selectable_value(&mut o.metric, m, metric_name(m));
            }
        })
        .response
        .on_hover_text(
            "The latency L in J = α·C + β·L and in the SLO: the mean or a percentile of \
             queueing + batching + service + cold-start time.",
        );
    let mut has_slo = o.slo_ms.is_some();
    ui.checkbox(&mut has_slo, "SLO on the latency metric")
        .on_hover_text("Plans whose latency metric exceeds the SLO are infeasible.");
    match (has_slo, o.slo_ms) {
        (true, None) => o.slo_ms = Some(1000.0),
        (false, Some(_)) => o.slo_ms = None,
        _ => {}
    }
    if let Some(slo) = &mut o.slo_ms {
        ui.add(
            egui::Slider::new(slo, 1.0..=1e6)
                .logarithmic(true)
                .text("SLO, ms"),
        )
        .on_hover_text("The largest acceptable value of the latency metric.");
    }
    ui.heading("Traffic and price");
    let peak = peak_rate_rps(&plan.workload.rate_rps);
    let mut new_peak = peak;
    ui.add(
        egui::Slider::new(&mut new_peak, 1e-3..=1e5)
            .logarithmic(true)
            .text("peak request rate, req/s"),
    )
    .on_hover_text("Scales the whole day's traffic so its busiest hour has this rate.");
    if peak > 0.0 && (new_peak - peak).abs() > 1e-12 * peak {
        plan.workload.rate_rps = scaled(&plan.workload.rate_rps, new_peak / peak);
    }
    let hw = &mut plan.hardware;
    ui.add(
        egui::Slider::new(&mut hw.on_demand_usd_per_hour, 0.0..=100.0)
            .logarithmic(true)
            .text("on-demand $/hour"),
    )
    .on_hover_text("Price of one on-demand server per hour (always-on, on-demand, hybrid).");
    ui.add(
        egui::Slider::new(&mut hw.spot_usd_per_hour, 0.0..=100.0)
            .logarithmic(true)
            .text("spot $/hour"),
    )
    .on_hover_text("Price of one spot server per hour; spot can be interrupted.");
}

/// One line of the summary: a label and a value.
fn card(ui: &mut egui::Ui, label: &str, value: String, hover: &str) {
    ui.horizontal(|ui| {
        ui.label(format!("{label}:"));
        ui.strong(value).on_hover_text(hover);
    });
}

/// Words for a candidate, e.g. "hybrid: 1 warm, up to 32 servers, batch 4".
pub fn describe(e: &Evaluation) -> String {
    use crate::model::PolicyKind;
    let size = match e.policy {
        PolicyKind::AlwaysOn if e.servers == 1 => "1 server always on".to_owned(),
        PolicyKind::AlwaysOn => format!("{} servers always on", e.servers),
        PolicyKind::OnDemand => format!("on demand, up to {} servers", e.servers),
        PolicyKind::Hybrid => format!("{} warm, up to {} servers", e.warm, e.servers),
        PolicyKind::SpotMix => format!("{} on-demand + {} spot", e.warm, e.spot),
    };
    format!("{size}, batch up to {}", e.batch)
}

fn summary_ui(ui: &mut egui::Ui, plan: &Plan, results: &Results) {
    ui.heading("Recommendation");
    let best = results.optimum.as_ref().ok().and_then(|o| o.best.as_ref());
    let Some(best) = best else {
        ui.label("No feasible way to run this plan: relax the SLO or allow more servers.");
        return;
    };
    let m = metric_name(plan.objective.metric);
    ui.label(format!("Recommended: {}", describe(best)));
    super::verify_job::status_line_ui(ui, &results.plan);
    card(
        ui,
        "cost",
        format!("{:.3} $/hour", best.cost_usd_per_hour),
        "Servers held (boots included), cache storage, routed class and electricity.",
    );
    if let Some(c) = best.cost_usd_per_million {
        card(
            ui,
            "per million requests",
            format!("{c:.2} $"),
            "Cost per hour over requests per hour.",
        );
    }
    if let Some(l) = best.latency_ms {
        card(
            ui,
            &format!("{m} latency"),
            format!("{:.1} ms", l.get(plan.objective.metric)),
            "Response time of needed requests over the whole day (cache hits included).",
        );
        card(
            ui,
            "p95 / p99",
            format!("{:.1} / {:.1} ms", l.p95, l.p99),
            "Percentiles of the day's latency mixture.",
        );
    }
    card(
        ui,
        "utilisation",
        format!("{:.1} %", best.utilization * 100.0),
        "Busy server-hours over held server-hours.",
    );
    card(
        ui,
        "cold-start share",
        format!("{:.2} %", best.cold_start_fraction * 100.0),
        "Requests that wait for a server to boot.",
    );
    if let Some(j) = best.objective {
        card(
            ui,
            "objective J",
            format!("{j:.3}"),
            "α·$/hour + β·latency ms.",
        );
    }
    match results.break_even {
        Some(b) => card(
            ui,
            "break-even",
            format!("{:.3} req/s", b.rate_rps),
            "Below this constant rate on-demand is cheaper than the smallest stable always-on fleet.",
        ),
        None => card(
            ui,
            "break-even",
            "none in range".into(),
            "No crossing between 10⁻⁶ and 10× the peak rate.",
        ),
    }
}
