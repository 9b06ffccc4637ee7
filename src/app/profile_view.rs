//! App layer: the Profile panel's read-only views of a report — the table of chosen
//! kernels (throughput, GFLOP/s, % of peak, error, speed-up over f32), latency and
//! throughput vs batch, the roofline and the cold-start stages.

use eframe::egui;
use egui_plot::{
    Bar, BarChart, FilledArea, HoverPosition, Line, MarkerShape, Plot, PlotPoints, Points,
};

use super::axes::{self, Scale, with_axes};
use super::format::fmt_sig;
use super::legend::{LegendEntry, plot_legend};
use super::{palette, readout};

use crate::model::Precision;
use crate::profile::report::{ColdStart, ProfileReport, ResultRow};

/// Shortens `llvmpipe (LLVM 15.0.6, 256 bits) [vulkan]` to `llvmpipe`.
pub fn short(device: &str) -> &str {
    device.split(" (").next().unwrap_or(device)
}

/// The f32 row of the same device, workload and shape, for a speed-up.
fn f32_twin<'a>(report: &'a ProfileReport, r: &ResultRow) -> Option<&'a ResultRow> {
    report.results.iter().find(|o| {
        o.chosen
            && o.precision == Precision::F32
            && o.device == r.device
            && o.workload == r.workload
            && (o.m, o.n, o.k, o.batch) == (r.m, r.n, r.k, r.batch)
    })
}

/// The autotune winners: one row each, with f16/bf16 speed-up and error next to f32.
pub fn chosen_table_ui(ui: &mut egui::Ui, report: &ProfileReport) {
    // Both ways: a wide cell (an adapter's "does not offer SHADER_F16") scrolls the
    // table sideways instead of widening the report and pushing its plots off-window.
    egui::ScrollArea::both()
        .id_salt("chosen_rows")
        .max_height(220.0)
        .max_width(ui.available_width())
        .show(ui, |ui| {
            egui::Grid::new("chosen_table")
                .striped(true)
                .show(ui, |ui| {
                    for h in [
                        "device",
                        "workload",
                        "prec",
                        "batch / shape",
                        "variant",
                        "median ms",
                        "items/s",
                        "GFLOP/s",
                        "% peak",
                        "rel error",
                        "vs f32",
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for r in report.results.iter().filter(|r| r.chosen || !r.supported) {
                        ui.label(short(&r.device));
                        ui.label(r.workload.label());
                        ui.label(r.precision.name());
                        ui.label(match r.batch {
                            Some(b) => format!("b={b}"),
                            None => format!("{}×{}×{}", r.m, r.n, r.k),
                        });
                        if !r.supported {
                            ui.label(r.why_unsupported.as_deref().unwrap_or("unsupported"));
                            ui.end_row();
                            continue;
                        }
                        ui.label(&r.variant);
                        // Significant digits: a 0.0123 ms kernel and a 1 234 ms one
                        // both show three figures, thousands grouped.
                        let num = |x: Option<f64>, digits: usize| {
                            x.map_or_else(|| "-".to_owned(), |v| fmt_sig(v, digits))
                        };
                        ui.label(num(r.timing.as_ref().map(|t| t.median_ms), 4));
                        ui.label(num(r.items_per_s, 3));
                        ui.label(num(r.gflops, 3));
                        ui.label(num(r.pct_of_peak, 3));
                        ui.label(
                            r.rel_error
                                .map_or_else(|| "-".into(), |e| format!("{e:.1e}")),
                        );
                        let speedup = f32_twin(report, r)
                            .filter(|_| r.precision != Precision::F32)
                            .and_then(|f| {
                                Some(f.timing.as_ref()?.median_ms / r.timing.as_ref()?.median_ms)
                            });
                        ui.label(speedup.map_or_else(|| "-".into(), |s| format!("{s:.2}×")))
                            .on_hover_text("f32 median / this median, same device and shape");
                        ui.end_row();
                    }
                });
        });
}

/// The (device, precision) series of a report, in the order they first appear: the
/// index of one is its colour in every Profile plot (latency, throughput, roofline).
pub fn series_keys(report: &ProfileReport) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let peaks = (report.peaks.iter()).map(|p| format!("{} {}", short(&p.device), p.precision));
    let rows = (report.results.iter()).map(|r| format!("{} {}", short(&r.device), r.precision));
    for key in rows.chain(peaks) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// The colour of the series `key` (a [`series_keys`] entry).
pub fn series_color(keys: &[String], key: &str) -> egui::Color32 {
    let i = keys.iter().position(|k| k == key).unwrap_or(keys.len());
    palette::series_color(i)
}

/// What hovering a roofline point reads out (x and y are log10 of the values).
fn roofline_readout(name: &str, x: f64, y: f64) -> String {
    let (ai, gflops) = (10f64.powf(x), 10f64.powf(y));
    format!(
        "{name}\n{} FLOP/byte\n{} GFLOP/s",
        fmt_sig(ai, 3),
        fmt_sig(gflops, 3)
    )
}

/// Roofline: each timed kernel at its arithmetic intensity (FLOP per byte of compulsory
/// traffic) against the device's measured FMA peak and bandwidth, log–log.
pub fn roofline_ui(ui: &mut egui::Ui, report: &ProfileReport, height: f32) -> egui::Response {
    let keys = series_keys(report);
    // Each device × precision: its roof (a line) and its kernels (points).
    let mut roofs: Vec<(String, Vec<[f64; 2]>)> = Vec::new();
    for peak in &report.peaks {
        let roof = peak.fma_gflops.max(1e-9).log10();
        let pts: Vec<[f64; 2]> = (-20..=40)
            .map(|i| {
                let ai = 10f64.powf(f64::from(i) / 10.0);
                let bw_bound = peak
                    .bandwidth_gbytes_per_s
                    .map_or(f64::INFINITY, |bw| bw * ai);
                [ai.log10(), bw_bound.log10().min(roof)]
            })
            .collect();
        roofs.push((format!("{} {}", short(&peak.device), peak.precision), pts));
    }
    let mut by_device: Vec<(String, Vec<[f64; 2]>)> = Vec::new();
    for r in report.results.iter().filter(|r| r.timing.is_some()) {
        let (Some(g), Some(ai)) = (r.gflops, r.flops_per_byte) else {
            continue;
        };
        if g <= 0.0 || ai <= 0.0 {
            continue;
        }
        let key = format!("{} {}", short(&r.device), r.precision);
        match by_device.iter_mut().find(|d| d.0 == key) {
            Some(d) => d.1.push([ai.log10(), g.log10()]),
            None => by_device.push((key, vec![[ai.log10(), g.log10()]])),
        }
    }
    let peak_name = |key: &str| format!("{key} peak");
    let entries: Vec<LegendEntry> = (roofs.iter())
        .map(|(k, _)| LegendEntry::line(peak_name(k), series_color(&keys, k)))
        .chain((by_device.iter()).map(|(k, _)| LegendEntry::marker(k, series_color(&keys, k))))
        .collect();
    let hidden = plot_legend(ui, "roofline", &entries);
    let shown = |name: &str| !hidden.iter().any(|h| h == name);
    let plot = with_axes(
        Plot::new("roofline"),
        (Scale::Log10, "arithmetic intensity, FLOP/byte (log scale)"),
        (Scale::Log10, "GFLOP/s (log scale)"),
    );
    plot.label_formatter(|pos| match pos {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => Some(roofline_readout(plot_name, position.x, position.y)),
        HoverPosition::Elsewhere { .. } => None,
    })
    .height(height)
    .show(ui, |plot| {
        for (key, pts) in roofs.into_iter().filter(|(k, _)| shown(&peak_name(k))) {
            let color = series_color(&keys, &key);
            plot.line(Line::new(peak_name(&key), PlotPoints::from(pts)).color(color));
        }
        for (name, pts) in by_device.into_iter().filter(|(k, _)| shown(k)) {
            let color = series_color(&keys, &name);
            plot.points(
                Points::new(name, PlotPoints::from(pts))
                    .shape(MarkerShape::Circle)
                    .color(color)
                    .radius(3.0),
            );
        }
    })
    .response
}

/// What hovering a latency or throughput point reads out: the series and batch
/// `x`, with `ms` per batch.
fn batch_readout(pos: &HoverPosition<'_>, ms_of: impl Fn(f64, f64) -> f64) -> Option<String> {
    match pos {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => Some(readout::measured_batch(
            plot_name,
            position.x,
            ms_of(position.x, position.y),
        )),
        HoverPosition::Elsewhere { .. } => None,
    }
}

/// Items per second versus batch size, one line per device × precision (chosen MLP
/// kernels): where batching stops paying.
pub fn throughput_plot_ui(
    ui: &mut egui::Ui,
    report: &ProfileReport,
    height: f32,
) -> egui::Response {
    let mut series: Vec<(String, Vec<[f64; 2]>)> = Vec::new();
    for r in report
        .results
        .iter()
        .filter(|r| r.chosen && r.workload.mlp_name().is_some())
    {
        let (Some(b), Some(items)) = (r.batch, r.items_per_s) else {
            continue;
        };
        let name = format!("{} {}", short(&r.device), r.precision);
        match series.iter_mut().find(|s| s.0 == name) {
            Some(s) => s.1.push([b as f64, items]),
            None => series.push((name, vec![[b as f64, items]])),
        }
    }
    let keys = series_keys(report);
    let entries: Vec<LegendEntry> = (series.iter())
        .map(|(k, _)| LegendEntry::line(k, series_color(&keys, k)))
        .collect();
    let hidden = plot_legend(ui, "throughput_vs_batch", &entries);
    series.retain(|(k, _)| !hidden.contains(k));
    let span = axes::y_span(series.iter().flat_map(|s| s.1.iter().copied()));
    let plot = with_axes(
        Plot::new("throughput_vs_batch"),
        (Scale::Linear, "batch size, items"),
        (Scale::Linear, "throughput, items/s"),
    );
    axes::include_spans(plot, None, span)
        // items/s = batch · 1000 / ms, so ms = batch · 1000 / items/s.
        .label_formatter(|pos| batch_readout(pos, |b, items| b * 1000.0 / items.max(1e-12)))
        .height(height)
        .show(ui, |plot| {
            for (name, mut pts) in series {
                pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
                // Markers too, so a single batch size still shows; colours as in the
                // latency plot and the roofline (one per device × precision).
                let color = series_color(&keys, &name);
                plot.points(
                    Points::new(name.clone(), PlotPoints::from(pts.clone()))
                        .color(color)
                        .radius(3.0),
                );
                plot.line(Line::new(name, PlotPoints::from(pts)).color(color));
            }
        })
        .response
}

/// Median latency per batch with the p5–p95 band, one series per device × precision.
pub fn latency_plot_ui(ui: &mut egui::Ui, report: &ProfileReport, height: f32) -> egui::Response {
    let keys = series_keys(report);
    let mut series: Vec<(String, Vec<BandPoint>)> = Vec::new();
    for r in report
        .results
        .iter()
        .filter(|r| r.chosen && r.workload.mlp_name().is_some())
    {
        let (Some(b), Some(t)) = (r.batch, r.timing.as_ref()) else {
            continue;
        };
        let name = format!("{} {}", short(&r.device), r.precision);
        let point = (b as f64, t.median_ms, t.p5_ms, t.p95_ms);
        match series.iter_mut().find(|s| s.0 == name) {
            Some(entry) => entry.1.push(point),
            None => series.push((name, vec![point])),
        }
    }
    let entries: Vec<LegendEntry> = (series.iter())
        .map(|(k, _)| LegendEntry::line(k, series_color(&keys, k)))
        .collect();
    let hidden = plot_legend(ui, "latency_vs_batch", &entries);
    series.retain(|(k, _)| !hidden.contains(k));
    let plot = with_axes(
        Plot::new("latency_vs_batch"),
        (Scale::Linear, "batch size, items"),
        (Scale::Linear, "latency, ms per batch"),
    );
    plot.label_formatter(|pos| batch_readout(pos, |_, ms| ms))
        .height(height)
        .show(ui, |plot| {
            for (name, mut pts) in series {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
                let lo: Vec<f64> = pts.iter().map(|p| p.2).collect();
                let hi: Vec<f64> = pts.iter().map(|p| p.3).collect();
                // One name and colour for band, markers and line: one legend entry.
                let color = series_color(&keys, &name);
                let med: Vec<[f64; 2]> = pts.iter().map(|p| [p.0, p.1]).collect();
                plot.line(Line::new(name.clone(), PlotPoints::from(med.clone())).color(color));
                plot.points(
                    Points::new(name.clone(), PlotPoints::from(med))
                        .color(color)
                        .radius(3.0),
                );
                plot.add(
                    FilledArea::new(name, &xs, &lo, &hi)
                        .fill_color(color.gamma_multiply(0.3))
                        .stroke(egui::Stroke::NONE),
                );
            }
        })
        .response
}

/// One bar per cold-start stage, in ms.
pub fn cold_start_plot_ui(ui: &mut egui::Ui, c: &ColdStart, height: f32) -> egui::Response {
    let parts = [
        ("instance", c.instance),
        ("adapter", c.adapter),
        ("device", c.device_create),
        ("shader", c.shader_module),
        ("pipeline", c.pipeline),
        ("1st dispatch", c.first_dispatch),
        ("upload", c.weight_upload),
        ("1st result", c.first_result),
    ];
    let names: Vec<&'static str> = parts.iter().map(|p| p.0).collect();
    let bars: Vec<Bar> = parts
        .iter()
        .enumerate()
        .map(|(i, (name, ms))| Bar::new(i as f64, *ms).name(*name))
        .collect();
    Plot::new("cold_start")
        .y_grid_spacer(axes::linear_grid)
        .y_axis_formatter(axes::linear_label)
        .x_axis_label("cold-start stage")
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                names
                    .get(i as usize)
                    .map_or_else(String::new, |n| (*n).to_owned())
            } else {
                String::new()
            }
        })
        .y_axis_label("time, ms")
        .height(height)
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("cold start", bars).color(palette::series_color(0)))
        })
        .response
}

/// (batch, median ms, p5 ms, p95 ms) of one chosen row.
type BandPoint = (f64, f64, f64, f64);
