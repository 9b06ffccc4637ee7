//! App layer: the Profile panel's view of transformer rows — median latency vs batch,
//! one line per (workload, sequence or context length, precision, device), and for
//! the rows picked a stacked horizontal bar of where one pass's time goes, operator by
//! operator, with each operator's milliseconds and share in a table beside it.

use eframe::egui;
use egui_plot::{
    Bar, BarChart, GridInput, GridMark, HoverPosition, Line, Plot, PlotPoints, Points,
};

use super::axes::{self, Scale, linear_grid, y_axis};
use super::format::fmt_sig;
use super::legend::{LegendEntry, plot_legend};
use super::palette::series_color;
use super::plot_png::titled_plot;
use super::profile_view::short;
use super::readout;
use crate::profile::report::{OpTime, ProfileReport, ResultRow};

/// Shown for picked rows whose report carries no operator times.
pub const NO_BREAKDOWN: &str = "no per-operator breakdown in this report";

/// Thickness of one row's bar, in rows.
const BAR_WIDTH: f64 = 0.6;

/// The transformer rows of a report that were measured (verified and timed).
pub fn timed_rows(report: &ProfileReport) -> impl Iterator<Item = &ResultRow> {
    (report.results.iter())
        .filter(|r| r.workload.transformer_name().is_some() && r.timing.is_some())
}

/// `seq 128` for encoder and prefill rows, `ctx 512` for decode rows.
fn length_text(r: &ResultRow) -> String {
    match (r.seq_len, r.context_len) {
        (Some(s), _) => format!("seq {s}"),
        (None, Some(c)) => format!("ctx {c}"),
        (None, None) => "len ?".into(),
    }
}

/// One line of the latency plot: every batch of a (workload, length, precision, device).
pub fn series_name(r: &ResultRow) -> String {
    let (len, precision) = (length_text(r), r.precision);
    format!("{} {len} · {precision} · {}", r.workload, short(&r.device))
}

/// One row: its series and its batch.
pub fn row_name(r: &ResultRow) -> String {
    format!("{} · b{}", series_name(r), r.batch.unwrap_or(0))
}

/// (log2 batch, median ms) per series, in the order the series first appear.
fn latency_series(report: &ProfileReport) -> Vec<(String, Vec<[f64; 2]>)> {
    let mut series: Vec<(String, Vec<[f64; 2]>)> = Vec::new();
    for r in timed_rows(report) {
        let (Some(b), Some(t)) = (r.batch, r.timing.as_ref()) else {
            continue;
        };
        let (name, point) = (series_name(r), [(b as f64).log2(), t.median_ms]);
        match series.iter_mut().find(|s| s.0 == name) {
            Some(s) => s.1.push(point),
            None => series.push((name, vec![point])),
        }
    }
    for s in &mut series {
        s.1.sort_by(|a, b| a[0].total_cmp(&b[0]));
    }
    series
}

/// Grid lines at whole powers of two of the batch (x is log2 of the batch).
fn doubling_grid(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = (input.bounds.0.ceil() as i64, input.bounds.1.floor() as i64);
    // A zoomed-out view could span thousands of doublings; a few dozen lines is enough.
    let step = ((hi - lo) / 24).max(1);
    ((lo..=hi).step_by(step as usize))
        .map(|i| GridMark {
            value: i as f64,
            step_size: step as f64,
        })
        .collect()
}

/// The batch at x = log2(batch), as the axis and the hover label write it.
fn batch_at(x: f64) -> String {
    let b = x.exp2();
    if (b - b.round()).abs() < 1e-6 {
        format!("{}", b.round())
    } else {
        format!("{b:.1}")
    }
}

/// Median latency vs batch (batches doubling along a log2 axis, as they are usually
/// swept), one line with markers per series.
pub fn latency_plot_ui(ui: &mut egui::Ui, report: &ProfileReport, height: f32) -> egui::Response {
    // Each series with its place among all, which picks its colour.
    let mut series: Vec<_> = latency_series(report).into_iter().enumerate().collect();
    let entries: Vec<LegendEntry> = (series.iter())
        .map(|(i, (name, _))| LegendEntry::line(name, series_color(*i)))
        .collect();
    let hidden = plot_legend(ui, "transformer_latency_vs_batch", &entries);
    series.retain(|(_, (name, _))| !hidden.contains(name));
    let span = axes::y_span(series.iter().flat_map(|s| s.1.1.iter().copied()));
    let plot = Plot::new("transformer_latency_vs_batch")
        .x_grid_spacer(doubling_grid)
        .x_axis_formatter(|mark, _| batch_at(mark.value))
        .x_axis_label("batch size, sequences (log scale)")
        .y_grid_spacer(linear_grid)
        .custom_y_axes(vec![y_axis(Scale::Linear, "median latency, ms per pass")]);
    axes::include_spans(plot, None, span)
        .label_formatter(|pos| match pos {
            HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => Some(readout::measured_batch(
                plot_name,
                position.x.exp2(),
                position.y,
            )),
            HoverPosition::Elsewhere { .. } => None,
        })
        .height(height)
        .show(ui, |plot| {
            for (i, (name, pts)) in series {
                // Markers too, so a single batch still shows.
                let color = series_color(i);
                let markers = Points::new(name.clone(), PlotPoints::from(pts.clone()));
                plot.points(markers.color(color).radius(3.0));
                plot.line(Line::new(name, PlotPoints::from(pts)).color(color));
            }
        })
        .response
}

/// Each operator's share of the time its row's operators add up to, in percent.
pub fn shares_pct(ops: &[OpTime]) -> Vec<f64> {
    let total_ms: f64 = ops.iter().map(|o| o.ms).sum();
    let share = |ms: f64| {
        if total_ms > 0.0 {
            100.0 * ms / total_ms
        } else {
            0.0
        }
    };
    ops.iter().map(|o| share(o.ms)).collect()
}

/// The operator names of `rows`, in the order they first appear (one colour each).
fn op_names(rows: &[&ResultRow]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for op in rows.iter().flat_map(|r| &r.ops) {
        if !names.contains(&op.name) {
            names.push(op.name.clone());
        }
    }
    names
}

/// One horizontal bar per row (top to bottom in `rows` order), stacked by operator.
fn breakdown_plot_ui(ui: &mut egui::Ui, rows: &[&ResultRow]) -> egui::Response {
    let all = op_names(rows);
    let entries: Vec<LegendEntry> = (all.iter().enumerate())
        .map(|(k, name)| LegendEntry::block(name, series_color(k)))
        .collect();
    let hidden = plot_legend(ui, "transformer_op_breakdown", &entries);
    // Colours by the operator's place among all, so hiding one recolours none.
    let names: Vec<(usize, &String)> = (all.iter().enumerate())
        .filter(|(_, n)| !hidden.contains(n))
        .collect();
    let labels: Vec<String> = rows.iter().map(|r| row_name(r)).collect();
    let n = rows.len();
    // The first row at the top: row i sits at y = n - 1 - i.
    let y_of = move |i: usize| (n - 1 - i) as f64;
    let mut charts: Vec<BarChart> = Vec::new();
    for &(k, name) in &names {
        let bars = (rows.iter().enumerate()).map(|(i, r)| {
            let shares = shares_pct(&r.ops);
            let found = r.ops.iter().position(|o| &o.name == name);
            let (ms, pct) = found.map_or((0.0, 0.0), |j| (r.ops[j].ms, shares[j]));
            Bar::new(y_of(i), ms).name(format!("{name}: {pct:.1} % of {}", labels[i]))
        });
        let chart = BarChart::new(name.clone(), bars.collect())
            .horizontal()
            .width(BAR_WIDTH)
            .color(series_color(k));
        let below: Vec<&BarChart> = charts.iter().collect();
        let chart = chart.stack_on(&below);
        charts.push(chart);
    }
    let height = 60.0 + 28.0 * n as f32;
    Plot::new("transformer_op_breakdown")
        .x_grid_spacer(linear_grid)
        .x_axis_formatter(axes::linear_label)
        .x_axis_label("ms per pass, by operator")
        .y_axis_formatter(move |mark, _| {
            let i = n as f64 - 1.0 - mark.value;
            let whole = (i - i.round()).abs() < 1e-6 && i >= 0.0;
            let label = whole.then(|| labels.get(i.round() as usize)).flatten();
            label.cloned().unwrap_or_default()
        })
        .show_grid([true, false])
        .include_x(0.0)
        .allow_scroll(false)
        .height(height)
        .show(ui, |plot| {
            for chart in charts {
                plot.bar_chart(chart);
            }
        })
        .response
}

/// The table beside the bars: per row, each operator's ms, share and roofline percent,
/// and how the operators' sum compares with the row's median.
fn breakdown_table_ui(ui: &mut egui::Ui, rows: &[&ResultRow]) {
    egui::Grid::new("op_breakdown_table")
        .striped(true)
        .show(ui, |ui| {
            for h in ["row", "operator", "ms", "share", "GFLOP/s", "% of roofline"] {
                ui.strong(h);
            }
            ui.end_row();
            for r in rows {
                for (op, pct) in r.ops.iter().zip(shares_pct(&r.ops)) {
                    ui.label(row_name(r));
                    ui.label(&op.name);
                    ui.label(format!("{} ms", fmt_sig(op.ms, 4)));
                    ui.label(format!("{pct:.1} %"));
                    let gflops = (op.ms > 0.0).then(|| op.flops / (op.ms * 1e6));
                    ui.label(gflops.map_or("-".into(), |g| fmt_sig(g, 3)));
                    let roof = op
                        .pct_of_roofline
                        .map_or("-".into(), |p| format!("{p:.1} %"));
                    ui.label(roof);
                    ui.end_row();
                }
            }
        });
    for r in rows {
        let sum_ms: f64 = r.ops.iter().map(|o| o.ms).sum();
        if let Some(t) = &r.timing {
            ui.label(format!(
                "{}: operators add up to {sum_ms:.3} ms of the pass's {:.3} ms median",
                row_name(r),
                t.median_ms
            ))
            .on_hover_text(
                "Each operator's time is its own median over the samples, so the sum \
                 need not equal the median of whole passes.",
            );
        }
    }
}

/// The transformer part of the Profile panel's report (runtime only): which rows the
/// breakdown shows.
#[derive(Debug, Default)]
pub struct TransformerView {
    /// The rows picked for the breakdown, by [`row_name`]; `None` (nothing chosen yet,
    /// or none of those chosen is in this report) shows the first row.
    pub picked: Option<Vec<String>>,
}

impl TransformerView {
    /// Latency vs batch, the row picker and the breakdown of the rows picked; nothing
    /// when the report has no timed transformer rows.
    pub fn ui(&mut self, ui: &mut egui::Ui, report: &ProfileReport, height: f32) {
        let rows: Vec<&ResultRow> = timed_rows(report).collect();
        if rows.is_empty() {
            return;
        }
        titled_plot(
            ui,
            "Transformer latency vs batch (median), per pass, length, precision and device",
            "transformer-latency",
            |ui| latency_plot_ui(ui, report, height),
        );
        ui.label("Where the time goes: pick rows for the breakdown");
        egui::ScrollArea::vertical()
            .id_salt("transformer_rows")
            .max_height(120.0)
            .show(ui, |ui| self.picker_ui(ui, &rows));
        let (with_ops, without): (Vec<&ResultRow>, Vec<&ResultRow>) =
            (self.shown(&rows).into_iter()).partition(|r| !r.ops.is_empty());
        for r in &without {
            ui.label(format!("{}: {NO_BREAKDOWN}", row_name(r)));
        }
        if with_ops.is_empty() {
            return;
        }
        titled_plot(
            ui,
            "Time per operator, ms of one pass (stacked)",
            "transformer-ops",
            |ui| breakdown_plot_ui(ui, &with_ops),
        );
        breakdown_table_ui(ui, &with_ops);
    }

    /// The rows the breakdown shows, in the report's order.
    pub fn shown<'a>(&self, rows: &[&'a ResultRow]) -> Vec<&'a ResultRow> {
        let first = || rows.iter().take(1).copied().collect();
        let Some(picked) = &self.picked else {
            return first();
        };
        let shown: Vec<&ResultRow> = (rows.iter())
            .filter(|r| picked.contains(&row_name(r)))
            .copied()
            .collect();
        // Rows picked in an earlier report: start again from the first of this one. An
        // empty pick is the user's own (every box cleared) and shows nothing.
        if shown.is_empty() && !picked.is_empty() {
            first()
        } else {
            shown
        }
    }

    /// One checkbox per timed row, with its median.
    fn picker_ui(&mut self, ui: &mut egui::Ui, rows: &[&ResultRow]) {
        let shown: Vec<String> = self.shown(rows).iter().map(|r| row_name(r)).collect();
        for r in rows {
            let name = row_name(r);
            let mut on = shown.contains(&name);
            let ms = r.timing.as_ref().map_or(0.0, |t| t.median_ms);
            let hover = "Show this row's time per operator in the stacked bar.";
            let text = format!("{name}: {ms:.3} ms");
            if ui.checkbox(&mut on, text).on_hover_text(hover).changed() {
                let mut picked = shown.clone();
                picked.retain(|p| p != &name);
                if on {
                    picked.push(name);
                }
                self.picked = Some(picked);
            }
        }
    }
}
