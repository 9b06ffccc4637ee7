//! App layer: the Explore panel — α, β, SLO, traffic and price sliders; the objective
//! per policy, the Pareto frontier and a summary of the recommendation.

use eframe::egui;

use super::fleet_change::fleet_change_ui;
use super::format::{fmt_sig, thousands};
use super::log_slider::LogControl;
use super::plot_png::titled_plot;
use super::plots::{metric_name, objective_plot_ui, pareto_plot_ui};
use super::readout::work_text;
use super::selection::{self, Pick, Selection, Which};
use super::state::{Results, Runtime, Tab};
use crate::model::traffic::{peak_rate_rps, scaled};
use crate::model::{Evaluation, Metric, Plan};

/// The Explore panel. The sliders edit the shared plan and the plots read the shared
/// results, so switching tabs loses nothing; it holds only the point clicked on a
/// plot (runtime-only, let go when the plan changes).
#[derive(Debug, Default)]
pub struct ExplorePanel {
    /// The candidate picked by clicking a plot's point.
    pub selection: Option<Selection>,
}

impl ExplorePanel {
    /// The Explore panel: controls mutate `plan`; plots read the runtime's results.
    pub fn ui(&mut self, ui: &mut egui::Ui, plan: &mut Plan, runtime: &Runtime) {
        let results = &runtime.results;
        selection::forget_stale(&mut self.selection, results);
        egui::Panel::left("explore_controls")
            .resizable(false)
            .exact_size(380.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    fleet_change_ui(ui, runtime.fleet_change.as_ref(), Tab::Explore);
                    controls_ui(ui, plan);
                    ui.separator();
                    summary_ui(ui, plan, results);
                    selection::selection_ui(ui, &mut self.selection, plan, results);
                    super::why_card::why_card_ui(ui, plan, results);
                });
            });
        egui::CentralPanel::default().show(ui, |ui| match &results.optimum {
            Ok(optimum) => {
                // Two title rows and two legend rows share the height with the plots.
                let height = ((ui.available_height() - 110.0) / 2.0).max(160.0);
                let both = (results, optimum);
                let sel = &mut self.selection;
                titled_plot(
                    ui,
                    "Objective vs servers, per policy",
                    super::plots::OBJECTIVE_KEY,
                    |ui| {
                        let pick = Pick::new(sel.as_ref());
                        let r =
                            objective_plot_ui(ui, optimum, plan.objective.metric, height, &pick);
                        selection::on_click(sel, &r, pick.into_near(), Which::Objective, both);
                        r
                    },
                );
                let title = format!(
                    "Cost vs {} latency (Pareto frontier)",
                    metric_name(plan.objective.metric)
                );
                titled_plot(ui, &title, super::plots::PARETO_KEY, |ui| {
                    let pick = Pick::new(sel.as_ref());
                    let r = pareto_plot_ui(ui, optimum, plan.objective.metric, height, &pick);
                    selection::on_click(sel, &r, pick.into_near(), Which::Pareto, both);
                    r
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
    let weights_before = (o.alpha, o.beta);
    ui.heading("Objective");
    ui.add(egui::Slider::new(&mut o.alpha, 0.0..=10.0).text("α (weight of $/hour)"))
        .on_hover_text("J = α·cost + β·latency: how much a dollar per hour counts.");
    BETA.ui(ui, &mut o.beta)
        .on_hover_text("How much one millisecond of the chosen latency metric counts.");
    // α = β = 0 weighs nothing: the plan refuses it, so the edit that made it is undone.
    if o.alpha == 0.0 && o.beta == 0.0 {
        (o.alpha, o.beta) = weights_before;
    }
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
        SLO_MS
            .ui(ui, slo)
            .on_hover_text("The largest acceptable value of the latency metric.");
    }
    super::llm_summary::slo_controls_ui(ui, plan);
    ui.heading("Traffic and price");
    let peak = peak_rate_rps(&plan.workload.rate_rps);
    let mut new_peak = peak;
    PEAK_RATE_RPS
        .ui(ui, &mut new_peak)
        .on_hover_text("Scales the whole day's traffic so its busiest hour has this rate.");
    if peak > 0.0 && (new_peak - peak).abs() > 1e-12 * peak {
        plan.workload.rate_rps = scaled(&plan.workload.rate_rps, new_peak / peak);
    }
    let hw = &mut plan.hardware;
    ON_DEMAND_USD_PER_HOUR
        .ui(ui, &mut hw.on_demand_usd_per_hour)
        .on_hover_text("Price of one on-demand server per hour (always-on, on-demand, hybrid).");
    SPOT_USD_PER_HOUR
        .ui(ui, &mut hw.spot_usd_per_hour)
        .on_hover_text("Price of one spot server per hour; spot can be interrupted.");
}

/// β, the weight of one ms: 10^-6 to 10 on the rail; the plan takes 0 to 10^9.
pub const BETA: LogControl = LogControl::new("β (weight of one ms)", (1e-6, 10.0), (0.0, 1e9));
/// The SLO: a millisecond to about 17 minutes on the rail; the plan takes up to 10^9 ms.
pub const SLO_MS: LogControl = LogControl::new("SLO, ms", (1.0, 1e6), (1e-3, 1e9));
/// The busiest hour's rate: 0.01 to 100 000 req/s on the rail; the plan takes
/// (0, 10^6] req/s, so the smallest typed value is one request in 11.6 days.
pub const PEAK_RATE_RPS: LogControl =
    LogControl::new("peak request rate, req/s", (0.01, 1e5), (1e-6, 1e6));
/// An on-demand server's price: 1 cent to 100 $/hour on the rail, 0 to 10 000 typed.
pub const ON_DEMAND_USD_PER_HOUR: LogControl =
    LogControl::new("on-demand $/hour", (0.01, 100.0), (0.0, 10_000.0));
/// A spot server's price, as [`ON_DEMAND_USD_PER_HOUR`].
pub const SPOT_USD_PER_HOUR: LogControl =
    LogControl::new("spot $/hour", (0.01, 100.0), (0.0, 10_000.0));

/// One line of the summary: a label and a value.
pub(super) fn card(ui: &mut egui::Ui, label: &str, value: String, hover: &str) {
    ui.horizontal(|ui| {
        ui.label(format!("{label}:"));
        ui.strong(value).on_hover_text(hover);
    });
}

/// Words for a candidate, e.g. "hybrid: 1 warm, up to 32 servers, batches of up to 4"
/// or "1 server always on, no batching"; large counts grouped ("1 200 servers").
pub fn describe(e: &Evaluation) -> String {
    use crate::model::PolicyKind;
    let n = |count: u32| thousands(u64::from(count));
    let size = match e.policy {
        PolicyKind::AlwaysOn if e.servers == 1 => "1 server always on".to_owned(),
        PolicyKind::AlwaysOn => format!("{} servers always on", n(e.servers)),
        PolicyKind::OnDemand if e.servers == 1 => "on demand, 1 server at most".to_owned(),
        PolicyKind::OnDemand => format!("on demand, up to {} servers", n(e.servers)),
        PolicyKind::Hybrid => format!("{} warm, up to {} servers", n(e.warm), n(e.servers)),
        PolicyKind::SpotMix => format!("{} on-demand + {} spot", n(e.warm), n(e.spot)),
    };
    format!("{size}, {}", work_text(e.batch, e.max_num_seqs))
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
        format!("{} $/hour", fmt_sig(best.cost_usd_per_hour, 3)),
        "Servers held (boots included), cache storage, routed class and electricity.",
    );
    if let Some(c) = best.cost_usd_per_million {
        card(
            ui,
            "per million requests",
            format!("{} $", fmt_sig(c, 3)),
            "Cost per hour over requests per hour.",
        );
    }
    // An LLM request's latency is its whole answer: end to end.
    let m = if best.llm.is_some() {
        format!("{m} E2E")
    } else {
        m.to_owned()
    };
    if let Some(l) = best.latency_ms {
        card(
            ui,
            &format!("{m} latency"),
            format!("{} ms", fmt_sig(l.get(plan.objective.metric), 3)),
            "Response time of needed requests over the whole day (cache hits included).",
        );
        card(
            ui,
            "p95 / p99",
            format!("{} / {} ms", fmt_sig(l.p95, 3), fmt_sig(l.p99, 3)),
            "Percentiles of the day's latency mixture.",
        );
    }
    if let Some(l) = &best.llm {
        super::llm_summary::recommendation_ui(ui, plan, l);
    }
    card(
        ui,
        "utilisation",
        format!("{} %", fmt_sig(best.utilization * 100.0, 3)),
        "Busy server-hours over held server-hours.",
    );
    card(
        ui,
        "cold-start share",
        format!("{} %", fmt_sig(best.cold_start_fraction * 100.0, 3)),
        "Requests that wait for a server to boot.",
    );
    if let Some(j) = best.objective {
        card(ui, "objective J", fmt_sig(j, 4), "α·$/hour + β·latency ms.");
    }
    match results.break_even {
        Some(b) => card(
            ui,
            "break-even",
            super::why_card::break_even_rate(&b),
            "Below this constant rate on-demand is cheaper than the smallest stable always-on fleet.",
        ),
        None => card(
            ui,
            "break-even",
            "none in range".into(),
            "No crossing between 1e-6 and 10× the peak rate.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PolicyKind;
    use crate::plan::presets;

    /// A real evaluation of a preset, to reshape into the fleets described below.
    fn evaluation() -> Evaluation {
        let plan = presets::load("startup-transcribe").unwrap();
        Results::compute(&plan).best().unwrap().clone()
    }

    #[test]
    fn a_fleet_in_plain_words() {
        let mut e = evaluation();
        (e.policy, e.servers, e.batch) = (PolicyKind::AlwaysOn, 1, 1);
        assert_eq!(describe(&e), "1 server always on, no batching");
        (e.servers, e.batch) = (1200, 8);
        assert_eq!(
            describe(&e),
            "1\u{2009}200 servers always on, batches of up to 8"
        );
        (e.policy, e.servers, e.batch) = (PolicyKind::OnDemand, 1, 1);
        assert_eq!(describe(&e), "on demand, 1 server at most, no batching");
        (e.policy, e.warm, e.servers, e.batch) = (PolicyKind::Hybrid, 2, 10_000, 32);
        assert_eq!(
            describe(&e),
            "2 warm, up to 10\u{2009}000 servers, batches of up to 32"
        );
        (e.policy, e.warm, e.spot) = (PolicyKind::SpotMix, 1, 3);
        assert_eq!(describe(&e), "1 on-demand + 3 spot, batches of up to 32");
    }

    #[test]
    fn each_control_types_up_to_the_plans_bound_and_stays_valid() {
        let mut plan = presets::load("startup-transcribe").unwrap();
        plan.objective.slo_ms = Some(SLO_MS.valid.1);
        plan.workload.rate_rps = scaled(
            &plan.workload.rate_rps,
            PEAK_RATE_RPS.valid.1 / peak_rate_rps(&plan.workload.rate_rps),
        );
        plan.hardware.on_demand_usd_per_hour = ON_DEMAND_USD_PER_HOUR.valid.1;
        plan.hardware.spot_usd_per_hour = SPOT_USD_PER_HOUR.valid.1;
        crate::plan::validate::validate(&plan).unwrap();
        plan.objective.slo_ms = Some(SLO_MS.valid.0);
        plan.hardware.on_demand_usd_per_hour = ON_DEMAND_USD_PER_HOUR.valid.0;
        plan.hardware.spot_usd_per_hour = SPOT_USD_PER_HOUR.valid.0;
        crate::plan::validate::validate(&plan).unwrap();
    }
}
