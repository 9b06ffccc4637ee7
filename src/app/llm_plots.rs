//! App layer: the LLM panel's plots — TTFT and TPOT against the fleet's request rate,
//! one colour per replica count with its knee marked and the SLO drawn, and $ per
//! million output tokens against replicas; hover read-outs name each point.

use eframe::egui;
use egui_plot::{
    HLine, HoverPosition, Line, LineStyle, MarkerShape, Plot, PlotPoints, Points, VLine,
};

use super::axes::{self, Scale, with_axes};
use super::format::fmt_sig;
use super::legend::{LegendEntry, Swatch, plot_legend};
use super::llm_figures::{CostPoint, LlmCurves, RatePoint};
use super::palette;
use crate::model::{Evaluation, LatencyStats, Metric};

/// Which latency a rate plot shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Time to first token.
    Ttft,
    /// Time per output token.
    Tpot,
}

impl Quantity {
    /// Its short name.
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Ttft => "TTFT",
            Quantity::Tpot => "TPOT",
        }
    }

    /// Its statistics at one point.
    pub fn stats(self, p: &RatePoint) -> &LatencyStats {
        match self {
            Quantity::Ttft => &p.ttft_ms,
            Quantity::Tpot => &p.tpot_ms,
        }
    }

    /// Its SLO, ms.
    pub fn slo_ms(self, c: &LlmCurves) -> Option<f64> {
        match self {
            Quantity::Ttft => c.ttft_slo_ms,
            Quantity::Tpot => c.tpot_slo_ms,
        }
    }

    /// The plot's key: its PNG file name and its legend's memory.
    pub fn key(self) -> &'static str {
        match self {
            Quantity::Ttft => "llm-ttft",
            Quantity::Tpot => "llm-tpot",
        }
    }

    /// TTFT spans orders of magnitude towards the capacity: a log axis.
    fn scale(self) -> Scale {
        match self {
            Quantity::Ttft => Scale::Log10,
            Quantity::Tpot => Scale::Linear,
        }
    }
}

/// The name of the curve of `n` replicas (its mean line and legend entry).
pub fn curve_name(n: u32) -> String {
    if n == 1 {
        "1 replica".into()
    } else {
        format!("{n} replicas")
    }
}

/// The name of the line of the objective's percentile beside the mean.
fn metric_line_name(n: u32, metric: Metric) -> String {
    format!("{} {}", curve_name(n), metric.name())
}

/// The series of the knees, one point per replica count.
pub const KNEE: &str = "knee";

/// Whether the objective's metric gets a dashed line beside the mean.
fn has_metric_line(metric: Metric) -> bool {
    metric != Metric::Mean
}

/// What hovering the rate plot of `q` near point `index` of series `name` reads out.
pub fn rate_readout(c: &LlmCurves, q: Quantity, name: &str, index: usize) -> Option<String> {
    if name == KNEE {
        let n = u32::try_from(index + 1).ok()?;
        return Some(format!(
            "knee of {}: {} req/s ({} per replica)\nmean TTFT {} ms, twice its value at light \
             load; overloads at {} req/s",
            curve_name(n),
            fmt_sig(c.fleet_knee_rps(n), 3),
            fmt_sig(c.knee_rps, 3),
            fmt_sig(c.knee_ttft_ms, 3),
            fmt_sig(c.fleet_capacity_rps(n), 3),
        ));
    }
    let n = (1..=c.replicas)
        .find(|&n| name == curve_name(n) || name == metric_line_name(n, c.metric))?;
    let p = c.points.get(index)?;
    let line = |q: Quantity| {
        let s = q.stats(p);
        format!(
            "{} mean {} ms, {} {} ms",
            q.name(),
            fmt_sig(s.mean, 3),
            c.metric.name(),
            fmt_sig(s.get(c.metric), 3)
        )
    };
    let (first, second) = match q {
        Quantity::Ttft => (line(Quantity::Ttft), line(Quantity::Tpot)),
        Quantity::Tpot => (line(Quantity::Tpot), line(Quantity::Ttft)),
    };
    Some(format!(
        "{}: {} req/s ({} per replica)\n{first}\n{second}",
        curve_name(n),
        fmt_sig(f64::from(n) * p.replica_rps, 3),
        fmt_sig(p.replica_rps, 3),
    ))
}

/// `q` (mean solid, the objective's percentile dashed) against the fleet's request
/// rate for 1..N replicas, the knees marked, the SLO and the plan's rates drawn.
pub fn rate_plot_ui(ui: &mut egui::Ui, c: &LlmCurves, q: Quantity, height: f32) -> egui::Response {
    let mut entries: Vec<LegendEntry> = (1..=c.replicas)
        .map(|n| LegendEntry::line(curve_name(n), palette::series_color(n as usize - 1)))
        .collect();
    if q == Quantity::Ttft {
        entries.push(LegendEntry::marker(KNEE, palette::OPTIMUM));
    }
    let slo = q.slo_ms(c).map(|ms| (slo_name(q, ms), ms));
    let slo_color = ui.visuals().error_fg_color;
    let rates = reference_rates(c);
    entries.extend(slo.iter().map(|(name, _)| dashed(name, slo_color)));
    entries.extend(rates.iter().map(|(name, _)| dashed(name, palette::GREY)));
    let hidden = plot_legend(ui, q.key(), &entries);
    let shown = |name: &str| !hidden.iter().any(|h| h == name);
    let log = q.scale() == Scale::Log10;
    let y = |ms: f64| {
        if log {
            ms.max(f64::MIN_POSITIVE).log10()
        } else {
            ms
        }
    };
    let unit = if log { "ms, log scale" } else { "ms" };
    let y_label = if has_metric_line(c.metric) {
        format!(
            "{} {unit} (mean solid, {} dashed)",
            q.name(),
            c.metric.name()
        )
    } else {
        format!("{} mean, {unit}", q.name())
    };
    let plot = with_axes(
        Plot::new(q.key()),
        (
            Scale::Linear,
            "fleet request rate, req/s (split evenly over the replicas)",
        ),
        (q.scale(), &y_label),
    );
    let floor = q.stats(&c.points[0]).mean;
    plot.include_x(0.0)
        .include_y(y(slo.as_ref().map_or(floor, |s| s.1.max(floor))))
        .label_formatter(|pos| match pos {
            HoverPosition::NearDataPoint {
                plot_name, index, ..
            } => rate_readout(c, q, plot_name, *index),
            HoverPosition::Elsewhere { .. } => None,
        })
        .height(height)
        .allow_scroll(false)
        .show(ui, |plot| {
            for n in (1..=c.replicas).filter(|&n| shown(&curve_name(n))) {
                let color = palette::series_color(n as usize - 1);
                let at = |stat: fn(&LatencyStats) -> f64| -> Vec<[f64; 2]> {
                    (c.fleet_curve(n))
                        .map(|(rate, p)| [rate, y(stat(q.stats(p)))])
                        .collect()
                };
                plot.line(Line::new(curve_name(n), PlotPoints::from(at(|s| s.mean))).color(color));
                if has_metric_line(c.metric) {
                    let metric = c.metric;
                    let points: Vec<[f64; 2]> = (c.fleet_curve(n))
                        .map(|(rate, p)| [rate, y(q.stats(p).get(metric))])
                        .collect();
                    plot.line(
                        Line::new(metric_line_name(n, metric), PlotPoints::from(points))
                            .color(color)
                            .style(LineStyle::dashed_loose()),
                    );
                }
            }
            if q == Quantity::Ttft && shown(KNEE) {
                let knees: Vec<[f64; 2]> = (1..=c.replicas)
                    .map(|n| [c.fleet_knee_rps(n), y(c.knee_ttft_ms)])
                    .collect();
                plot.points(
                    Points::new(KNEE, knees)
                        .shape(MarkerShape::Diamond)
                        .color(palette::OPTIMUM)
                        .radius(5.0),
                );
            }
            if let Some((name, ms)) = slo.filter(|s| shown(&s.0)) {
                let line = HLine::new(name, y(ms)).color(slo_color);
                plot.hline(line.style(LineStyle::dashed_dense()));
            }
            for (name, rate) in rates.into_iter().filter(|r| shown(&r.0)) {
                let line = VLine::new(name, rate).color(palette::GREY);
                plot.vline(line.style(LineStyle::dotted_loose()));
            }
        })
        .response
}

/// The SLO line's name: "TTFT SLO 2 000 ms" (at the objective's metric, which the
/// axis names).
fn slo_name(q: Quantity, ms: f64) -> String {
    format!("{} SLO {} ms", q.name(), fmt_sig(ms, 4))
}

/// The plan's offered rates drawn as vertical lines: (name, req/s).
fn reference_rates(c: &LlmCurves) -> Vec<(String, f64)> {
    vec![
        (
            format!("peak hour {} req/s", fmt_sig(c.peak_rps, 3)),
            c.peak_rps,
        ),
        (
            format!("day mean {} req/s", fmt_sig(c.mean_rps, 3)),
            c.mean_rps,
        ),
    ]
}

/// A dashed line's legend entry.
fn dashed(name: &str, color: egui::Color32) -> LegendEntry {
    LegendEntry {
        label: name.to_owned(),
        color,
        swatch: Swatch::Line {
            width: 1.5,
            dashed: true,
        },
    }
}

/// The series of always-on fleets on the cost plot.
pub const ALWAYS_ON: &str = "always-on fleets";

/// The series of always-on fleets that miss an SLO.
pub const MISSES_SLO: &str = "always-on, misses an SLO";

/// The recommendation's marker on the cost plot.
pub const RECOMMENDATION: &str = "the recommendation";

/// The cost plot's key: its PNG file name.
pub const COST_KEY: &str = "llm-cost";

/// The cost plot's points of series `name`: (replicas, $ per million output tokens).
fn cost_series(cost: &[CostPoint], feasible: bool) -> Vec<(&CostPoint, f64)> {
    (cost.iter())
        .filter(|p| p.feasible == feasible)
        .filter_map(|p| Some((p, p.usd_per_million_output_tokens?)))
        .collect()
}

/// What hovering the cost plot near point `index` of series `name` reads out.
pub fn cost_readout(
    cost: &[CostPoint],
    best: Option<&Evaluation>,
    name: &str,
    index: usize,
) -> Option<String> {
    if name == RECOMMENDATION {
        let b = best?;
        let l = b.llm.as_ref()?;
        return Some(format!(
            "the recommendation: {}\n{} replicas held on average, {} $/hour\n{} $ per million output tokens",
            b.candidate_name(),
            fmt_sig(b.servers_held, 3),
            fmt_sig(b.cost_usd_per_hour, 3),
            fmt_sig(l.cost_usd_per_million_output_tokens, 3)
        ));
    }
    let feasible = name == ALWAYS_ON;
    if !feasible && name != MISSES_SLO {
        return None;
    }
    let (p, usd) = *cost_series(cost, feasible).get(index)?;
    let why = p
        .why
        .as_deref()
        .map(|w| format!("\n{w}"))
        .unwrap_or_default();
    Some(format!(
        "{} always on: {} $ per million output tokens{why}",
        curve_name(p.replicas),
        fmt_sig(usd, 3)
    ))
}

/// $ per million output tokens against replicas: always-on fleets over the plan's day
/// (those missing an SLO in grey) and the recommendation.
pub fn cost_plot_ui(
    ui: &mut egui::Ui,
    cost: &[CostPoint],
    best: Option<&Evaluation>,
    height: f32,
) -> egui::Response {
    let ok = cost_series(cost, true);
    let miss = cost_series(cost, false);
    let xy = |s: &[(&CostPoint, f64)]| -> Vec<[f64; 2]> {
        s.iter()
            .map(|(p, usd)| [f64::from(p.replicas), *usd])
            .collect()
    };
    let rec = best.and_then(|b| {
        Some([
            b.servers_held,
            b.llm.as_ref()?.cost_usd_per_million_output_tokens,
        ])
    });
    let span = axes::y_span(xy(&ok).into_iter().chain(xy(&miss)).chain(rec));
    let plot = with_axes(
        Plot::new(COST_KEY),
        (Scale::Linear, "replicas"),
        (Scale::Linear, "$ per million output tokens (day mean)"),
    );
    axes::include_spans(plot, None, span)
        .include_x(0.0)
        .include_y(0.0)
        .label_formatter(|pos| match pos {
            HoverPosition::NearDataPoint {
                plot_name, index, ..
            } => cost_readout(cost, best, plot_name, *index),
            HoverPosition::Elsewhere { .. } => None,
        })
        .height(height)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(Line::new(ALWAYS_ON, PlotPoints::from(xy(&ok))).color(palette::BLUE));
            plot.points(
                Points::new(ALWAYS_ON, xy(&ok))
                    .color(palette::BLUE)
                    .radius(3.0),
            );
            if !miss.is_empty() {
                plot.points(
                    Points::new(MISSES_SLO, xy(&miss))
                        .color(palette::GREY)
                        .radius(3.0),
                );
            }
            if let Some(r) = rec {
                plot.points(
                    Points::new(RECOMMENDATION, vec![r])
                        .shape(MarkerShape::Diamond)
                        .color(palette::OPTIMUM)
                        .radius(6.0),
                );
            }
        })
        .response
}
