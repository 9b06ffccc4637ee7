//! App layer: the Hardware panel — a picker over the catalog's offers (search, memory
//! and price filters) that sets the plan's `hardware_candidates` (an ordinary, undoable
//! plan edit), the best candidate's $/hour per offer at the SLO as bars (infeasible
//! offers listed with their reason, the recommendation highlighted), and the selected
//! offer's projection: the speed-ups its L(b) was scaled by and its curve.

use eframe::egui;
use egui_plot::{Bar, BarChart, Plot};
use serde::{Deserialize, Serialize};

use super::axes::{Scale, with_axes};
use super::format::fmt_sig;
use super::hardware_figures::{CostBar, HardwareFigures, breakdown, cost_bars};
use super::hardware_picker::picker_ui;
use super::palette;
use crate::model::catalog::Catalog;
use crate::model::{HardwareCandidates, Plan};
use crate::profile::report::ProfileReport;

/// What the Hardware panel keeps between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HardwareSettings {
    /// Text an offer's label or accelerator must contain (case ignored).
    pub search: String,
    /// Only accelerators with at least this much memory, GB (0: any).
    pub min_memory_gb: f64,
    /// Only offers at most this on-demand $/hour per instance (0: any).
    pub max_usd_per_hour: f64,
    /// The cost axis on a log scale.
    pub log_axis: bool,
    /// The offer whose projection is shown.
    pub selected: Option<String>,
}

/// The Hardware panel: its settings persist; the catalog and the sweep (cached by the
/// plan they are for) are rebuilt each run.
#[derive(Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HardwarePanel {
    /// The picker's filters, the axis and the selected offer.
    pub settings: HardwareSettings,
    /// The shipped catalog, or why it would not load.
    #[serde(skip)]
    catalog: Option<Result<Catalog, String>>,
    /// The sweep for the plan it was computed for.
    #[serde(skip)]
    pub figures: Option<HardwareFigures>,
}

impl std::fmt::Debug for HardwarePanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HardwarePanel")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Panels compare by what persists.
impl PartialEq for HardwarePanel {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

impl HardwarePanel {
    /// True when nothing differs from a fresh panel (then the saved state leaves it out).
    pub fn is_default(&self) -> bool {
        self.settings == HardwareSettings::default()
    }

    /// The panel: the picker on the left edits `plan.hardware_candidates`; the chart and
    /// the selected offer's projection on the right. The catalog loads on first use.
    pub fn ui(&mut self, ui: &mut egui::Ui, plan: &mut Plan, report: Option<&ProfileReport>) {
        let Self {
            settings,
            catalog,
            figures,
        } = self;
        let loaded = catalog
            .get_or_insert_with(|| crate::plan::catalog::shipped().map_err(|e| e.to_string()));
        let catalog = match loaded {
            Ok(c) => &*c,
            Err(e) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("hardware catalog: {e}"),
                );
                return;
            }
        };
        egui::Panel::left("hardware_picker")
            .resizable(false)
            .exact_size(380.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    picker_ui(ui, settings, catalog, plan);
                });
            });
        // The sweep reruns only when a picker tick (or any other edit) changed the plan.
        HardwareFigures::refresh(figures, plan, catalog);
        let Some(figures) = figures.as_ref() else {
            return;
        };
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                results_ui(ui, figures, settings, catalog, report);
            });
        });
    }
}

/// The chart, the offers without a bar and the selected offer's projection.
fn results_ui(
    ui: &mut egui::Ui,
    figures: &HardwareFigures,
    settings: &mut HardwareSettings,
    catalog: &Catalog,
    report: Option<&ProfileReport>,
) {
    let sweep = match &figures.sweep {
        Ok(s) => s,
        Err(e) => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("No hardware sweep: {e}"),
            );
            return;
        }
    };
    let what = match &figures.candidates {
        HardwareCandidates::All => "every catalog offer (the plan names no candidates)".into(),
        HardwareCandidates::Offers(n) => format!("the plan's {} candidate offers", n.len()),
    };
    ui.label(format!(
        "Cheapest fleet meeting the SLO on {what}: {} candidates evaluated, the same sweep as costscope plan --hardware.",
        sweep.evaluated
    ));
    match sweep.recommendation {
        Some(r) => {
            let o = &sweep.offers[r];
            let b = o.best.as_ref();
            ui.strong(format!(
                "Recommended: {} - {} at ${}/hour",
                o.offer,
                b.map_or(String::new(), |b| b.candidate_name()),
                b.map_or("-".into(), |b| fmt_sig(b.cost_usd_per_hour, 4))
            ));
        }
        None => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "No offer has a feasible candidate.",
            );
        }
    }
    if let Some(m) = &sweep.mix {
        ui.label(format!(
            "Two-class mix: {:.0} % routed to {}, the rest on {}: ${}/hour, J {} ({} the single offer).",
            m.fraction * 100.0,
            m.cheap,
            m.fast,
            fmt_sig(m.best.cost_usd_per_hour, 4),
            m.best.objective.map_or("-".into(), |j| fmt_sig(j, 4)),
            if m.beats_single { "beats" } else { "does not beat" }
        ));
    }
    let bars = cost_bars(sweep);
    ui.checkbox(&mut settings.log_axis, "log $/hour axis")
        .on_hover_text(
            "Show the cost axis on a log scale, to compare offers an order of magnitude apart.",
        );
    super::plot_png::titled_plot(
        ui,
        "Cost per hardware at the SLO, $/hour",
        "hardware-cost",
        |ui| cost_plot_ui(ui, &bars, settings.log_axis),
    );
    infeasible_ui(ui, &bars);
    ui.separator();
    selected_ui(ui, figures, settings, &bars, (catalog, report));
}

/// The horizontal bars: one row per offer with a feasible candidate, the recommendation
/// in the optimum's colour; hovering a bar reads out the offer and its fleet.
fn cost_plot_ui(ui: &mut egui::Ui, bars: &[CostBar], log: bool) -> egui::Response {
    let shown: Vec<(usize, &CostBar, f64)> = (bars.iter().enumerate())
        .filter_map(|(i, b)| Some((i, b, b.usd_per_hour?)))
        .collect();
    let scale = if log { Scale::Log10 } else { Scale::Linear };
    let base = if log {
        shown
            .iter()
            .map(|s| s.2.log10())
            .fold(f64::INFINITY, f64::min)
            .floor()
    } else {
        0.0
    };
    let value = |usd: f64| if log { usd.log10() } else { usd };
    let names: Vec<String> = shown.iter().map(|s| s.1.offer.clone()).collect();
    let make = |recommended: bool, color: egui::Color32| -> Vec<Bar> {
        (shown.iter().enumerate())
            .filter(|(_, s)| s.1.recommended == recommended)
            .map(|(row, s)| {
                Bar::new(row as f64, value(s.2) - base)
                    .base_offset(base)
                    .fill(color.gamma_multiply(0.7))
                    .name(&s.1.offer)
            })
            .collect()
    };
    let readout = move |bar: &Bar, _: &BarChart| -> String {
        let usd = if log {
            10f64.powf(bar.value + base)
        } else {
            bar.value
        };
        format!("{}\n${} per hour at the SLO", bar.name, fmt_sig(usd, 4))
    };
    let height = (shown.len() as f32 * 22.0).clamp(160.0, 700.0);
    let plot = with_axes(
        Plot::new("hardware_cost"),
        (scale, "$/hour (best fleet at the SLO)"),
        (Scale::Linear, ""),
    );
    plot.custom_y_axes(vec![egui_plot::AxisHints::new_y().formatter(
        move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        },
    )])
    .y_grid_spacer(|input| {
        let (lo, hi) = (input.bounds.0.ceil() as i64, input.bounds.1.floor() as i64);
        (lo..=hi)
            .map(|v| egui_plot::GridMark {
                value: v as f64,
                step_size: 1.0,
            })
            .collect()
    })
    .include_x(if log { base } else { 0.0 })
    .height(height)
    .allow_scroll(false)
    .show(ui, |plot| {
        plot.bar_chart(
            BarChart::new("offers", make(false, palette::BLUE))
                .horizontal()
                .color(palette::BLUE)
                .element_formatter(Box::new(readout)),
        );
        plot.bar_chart(
            BarChart::new("recommended", make(true, palette::OPTIMUM))
                .horizontal()
                .color(palette::OPTIMUM)
                .element_formatter(Box::new(readout)),
        );
    })
    .response
}

/// The offers without a bar, each with its reason.
fn infeasible_ui(ui: &mut egui::Ui, bars: &[CostBar]) {
    let none: Vec<&CostBar> = bars.iter().filter(|b| b.usd_per_hour.is_none()).collect();
    if none.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("{} offers without a bar (why)", none.len()))
        .id_salt("hardware_infeasible")
        .default_open(true)
        .show(ui, |ui| {
            for b in none {
                ui.label(format!(
                    "x {}: {}",
                    b.offer,
                    b.reason.as_deref().unwrap_or("-")
                ));
            }
        });
}

/// Pick an offer; its projection: speed-ups, ridge point, the curve and its band.
fn selected_ui(
    ui: &mut egui::Ui,
    figures: &HardwareFigures,
    settings: &mut HardwareSettings,
    bars: &[CostBar],
    (catalog, report): (&Catalog, Option<&ProfileReport>),
) {
    let current = settings
        .selected
        .clone()
        .filter(|s| bars.iter().any(|b| &b.offer == s));
    let rec = bars.iter().find(|b| b.recommended).map(|b| b.offer.clone());
    let Some(offer) = current
        .or(rec)
        .or_else(|| bars.first().map(|b| b.offer.clone()))
    else {
        return;
    };
    egui::ComboBox::from_label("projection for")
        .selected_text(&offer)
        .show_ui(ui, |ui| {
            for b in bars {
                let mark = if b.recommended { " (recommended)" } else { "" };
                if ui
                    .selectable_label(b.offer == offer, format!("{}{mark}", b.offer))
                    .clicked()
                {
                    settings.selected = Some(b.offer.clone());
                }
            }
        });
    let Some(b) = breakdown(figures, &offer, catalog) else {
        ui.label("No projection for this offer (the model does not fit, or the catalog has no FLOP rate at the plan's precision).");
        return;
    };
    let (bound, why) = if b.memory_speedup <= b.compute_speedup {
        ("memory-bound", "bandwidth")
    } else {
        ("compute-bound", "FLOP-rate")
    };
    ui.label(&b.source);
    ui.label(format!(
        "FLOP rate x{} and bandwidth x{} of the plan's accelerator: L(b) takes the lesser ({why}, so read as {bound}); the band runs to the greater.",
        fmt_sig(b.compute_speedup, 3),
        fmt_sig(b.memory_speedup, 3)
    ));
    if let Some(r) = b.ridge_flops_per_byte {
        ui.label(format!("ridge point {} FLOP/byte: operators below it are memory-bound there, above it compute-bound.", fmt_sig(r, 3)));
    }
    if !b.bound_by.is_empty() {
        ui.label(format!("bounded by: {}", b.bound_by.join(", ")));
    }
    egui::Grid::new("hardware_curve")
        .striped(true)
        .show(ui, |ui| {
            for h in ["batch", "projected ms", "band ms"] {
                ui.strong(h);
            }
            ui.end_row();
            for (batch, ms, lo, hi) in &b.points {
                ui.label(batch.to_string());
                ui.label(fmt_sig(*ms, 4));
                ui.label(format!("{} - {}", fmt_sig(*lo, 4), fmt_sig(*hi, 4)));
                ui.end_row();
            }
        });
    let sweep = figures.sweep.as_ref().ok();
    let acc = (sweep.and_then(|s| s.offers.iter().find(|o| o.offer == offer)))
        .and_then(|o| catalog.accelerator(&o.accelerator));
    if let Some(acc) = acc {
        super::hardware_ops::ops_ui(ui, &figures.plan, report, acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_persist_and_a_fresh_panel_is_default() {
        let mut p = HardwarePanel::default();
        assert!(p.is_default());
        p.settings.search = "h100".into();
        p.settings.log_axis = true;
        let text = ron::to_string(&p).unwrap();
        let back: HardwarePanel = ron::from_str(&text).unwrap();
        assert_eq!(back, p);
        assert!(!back.is_default());
    }
}
