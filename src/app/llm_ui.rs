//! App layer: the LLM panel — TTFT and TPOT against the request rate for 1..N
//! replicas with their knees and the SLOs, $ per million output tokens against
//! replicas, and the KV cache at the recommendation; for plans with `workload.tokens`.

use eframe::egui;
use egui_plot::{Bar, BarChart, Plot};

use super::axes::{Scale, with_axes};
use super::format::{fmt_sig, thousands};
use super::legend::{LegendEntry, legend_strip};
use super::llm_figures::{KvFigures, LlmCurves, LlmFigures};
use super::llm_plots::{self, ALWAYS_ON, MISSES_SLO, Quantity, RECOMMENDATION};
use super::palette;
use super::plot_png::titled_plot;
use super::state::Results;
use crate::model::{Evaluation, Plan};

/// The LLM panel: it holds only its figures, cached by the plan they are for.
#[derive(Debug, Default)]
pub struct LlmPanel {
    /// The figures of the last plan shown.
    pub figures: Option<LlmFigures>,
}

impl LlmPanel {
    /// The LLM panel for `plan`, whose model results are `results`.
    pub fn ui(&mut self, ui: &mut egui::Ui, plan: &Plan, results: &Results) {
        let best = results.best();
        LlmFigures::refresh(&mut self.figures, plan, best);
        let Some(figures) = &self.figures else {
            return;
        };
        let c = match &figures.curves {
            Ok(c) => c,
            Err(why) => {
                ui.label(why.as_str());
                return;
            }
        };
        egui::ScrollArea::vertical().show(ui, |ui| {
            header_ui(ui, c, best);
            let height = ((ui.available_height() - 150.0) / 2.0).clamp(180.0, 400.0);
            ui.columns(2, |cols| {
                for (ui, q) in cols.iter_mut().zip([Quantity::Ttft, Quantity::Tpot]) {
                    let title =
                        format!("{} vs request rate, 1 to {} replicas", q.name(), c.replicas);
                    titled_plot(ui, &title, q.key(), |ui| {
                        llm_plots::rate_plot_ui(ui, c, q, height)
                    });
                }
            });
            ui.columns(2, |cols| {
                let [left, right] = cols else { return };
                cost_ui(left, c, best, height);
                kv_ui(right, c.kv.as_ref(), height);
            });
        });
    }
}

/// One replica's limits in words: capacity, knee, the most within the SLOs.
fn header_ui(ui: &mut egui::Ui, c: &LlmCurves, best: Option<&Evaluation>) {
    ui.heading("LLM serving: one replica's steady state, the load split evenly over the replicas");
    let slo = best.and_then(|b| b.llm.as_ref()).map(|l| {
        format!(
            "; within the SLOs at most {} req/s",
            fmt_sig(l.max_requests_per_s_at_slo, 4)
        )
    });
    ui.label(format!(
        "A replica carries at most {} req/s in steady state; its knee (mean TTFT twice its \
         value at light load, {} ms) is at {} req/s{}.",
        fmt_sig(c.capacity_rps, 4),
        fmt_sig(c.knee_ttft_ms, 3),
        fmt_sig(c.knee_rps, 4),
        slo.unwrap_or_default()
    ));
    let slos = [("TTFT", c.ttft_slo_ms), ("TPOT", c.tpot_slo_ms)]
        .iter()
        .filter_map(|(what, slo)| Some(format!("{what} {} ms", fmt_sig((*slo)?, 4))))
        .collect::<Vec<_>>();
    let slos = if slos.is_empty() {
        "no TTFT or TPOT SLO".to_owned()
    } else {
        format!("SLOs ({}): {}", c.metric.name(), slos.join(", "))
    };
    ui.label(format!(
        "{slos}. Curves end where a replica overloads; hover a point for its figures."
    ));
}

/// $ per million output tokens against replicas, and the fleets the day overloads.
fn cost_ui(ui: &mut egui::Ui, c: &LlmCurves, best: Option<&Evaluation>, height: f32) {
    titled_plot(
        ui,
        "$ per million output tokens vs replicas (always on, over the plan's day)",
        llm_plots::COST_KEY,
        |ui| {
            ui.horizontal_wrapped(|ui| {
                legend_strip(
                    ui,
                    &[
                        LegendEntry::line(ALWAYS_ON, palette::BLUE),
                        LegendEntry::marker(MISSES_SLO, palette::GREY),
                        LegendEntry::marker(RECOMMENDATION, palette::OPTIMUM),
                    ],
                );
            });
            llm_plots::cost_plot_ui(ui, &c.cost, best, height - 40.0)
        },
    );
    let overloaded: Vec<_> = (c.cost.iter())
        .filter(|p| p.usd_per_million_output_tokens.is_none())
        .collect();
    for p in overloaded {
        ui.label(format!(
            "x {} always on: {}",
            llm_plots::curve_name(p.replicas),
            p.why.as_deref().unwrap_or("no figures")
        ));
    }
}

/// The KV-cache bars: tokens in use against the capacity, at the recommendation.
fn kv_ui(ui: &mut egui::Ui, kv: Option<&KvFigures>, height: f32) {
    let Some(kv) = kv else {
        ui.label("No recommendation: no KV-cache figures to show.");
        return;
    };
    titled_plot(ui, "KV cache of one replica, tokens", "llm-kv", |ui| {
        kv_plot_ui(ui, kv, height - 80.0)
    });
    ui.label(format!(
        "The recommendation: {} of {} tokens in use on a serving replica over the day \
         ({} %), {} sequences running of the {} that fit ({} tokens each), max_num_seqs {}.",
        thousands(kv.day_used_tokens.round() as u64),
        thousands(kv.capacity_tokens.round() as u64),
        fmt_sig(kv.utilization * 100.0, 3),
        fmt_sig(kv.mean_running_seqs, 3),
        kv.seqs_fit,
        fmt_sig(kv.tokens_per_seq, 4),
        kv.max_num_seqs
    ));
}

/// The rows of the KV chart: name and tokens.
pub fn kv_rows(kv: &KvFigures) -> Vec<(&'static str, f64)> {
    let mut rows = vec![
        ("capacity", kv.capacity_tokens),
        ("in use, the recommendation (day mean)", kv.day_used_tokens),
    ];
    if let Some(t) = kv.at_slo_used_tokens {
        rows.push(("in use at the most within the SLOs", t));
    }
    if let Some(t) = kv.at_capacity_used_tokens {
        rows.push(("in use at the replica's capacity", t));
    }
    rows
}

fn kv_plot_ui(ui: &mut egui::Ui, kv: &KvFigures, height: f32) -> egui::Response {
    let rows = kv_rows(kv);
    let capacity = kv.capacity_tokens;
    let bars: Vec<Bar> = (rows.iter().enumerate())
        .map(|(i, (name, tokens))| {
            let color = if i == 0 {
                palette::GREY
            } else if i == 1 {
                palette::OPTIMUM
            } else {
                palette::BLUE
            };
            Bar::new(i as f64, *tokens)
                .name(*name)
                .fill(color.gamma_multiply(0.7))
        })
        .collect();
    let names: Vec<&'static str> = rows.iter().map(|r| r.0).collect();
    let readout = move |bar: &Bar, _: &BarChart| -> String {
        format!(
            "{}\n{} tokens, {} % of the cache",
            bar.name,
            thousands(bar.value.round() as u64),
            fmt_sig(bar.value / capacity * 100.0, 3)
        )
    };
    with_axes(
        Plot::new("llm_kv"),
        (Scale::Linear, "KV tokens"),
        (Scale::Linear, ""),
    )
    .custom_y_axes(vec![egui_plot::AxisHints::new_y().formatter(
        move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                names
                    .get(i as usize)
                    .map(|s| (*s).to_owned())
                    .unwrap_or_default()
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
    .include_x(0.0)
    .height(height.max(120.0))
    .allow_scroll(false)
    .show(ui, |plot| {
        plot.bar_chart(
            BarChart::new("kv", bars)
                .horizontal()
                .color(palette::BLUE)
                .element_formatter(Box::new(readout)),
        );
    })
    .response
}
