//! App layer: the Warm / cold panel's plots — traffic, servers held, one fleet's busy /
//! booting / idle servers and cumulative cost, on the shared axes (≥ 4 labelled
//! ticks, units), each fleet in its policy's palette colour (the plan as written
//! dashed, the recommendation thick), one legend row above the plots whose entries
//! hide or isolate a fleet (a plot's PNG carries its own row of the fleets shown),
//! hover read-outs of the nearest minute, and the start-up
//! of a fleet that begins with no server alive clipped off the servers' scale and
//! marked.

use eframe::egui::{self, Color32};
use egui_plot::{HoverPosition, Line, LineStyle, Plot, PlotPoint, PlotPoints, Text};

use super::axes::{self, Scale, with_axes};
use super::format::fmt_sig;
use super::palette;
use super::plot_png::{self, plot_with_header, titled_plot};
use super::warm_cold_legend::{FleetStyle, fleet_style, legend_row, png_legend_ui};
use super::warm_cold_run::FleetDay;
use super::warm_cold_ui::thinned;
use crate::sim::{MinuteRow, SimResult};

/// The start-up: the first hour of the day, when a fleet that begins with no server
/// alive boots one for nearly every waiting request. It may not set the servers' scale.
pub const STARTUP_HOURS: f64 = 1.0;

/// The servers' scale is clipped only when the start-up exceeds the rest of the day by
/// more than this factor (a start-up barely above the day is drawn whole).
const CLIP_FACTOR: f64 = 1.1;

/// Headroom above the highest point drawn, so a line does not run along the frame.
const HEADROOM: f64 = 1.08;

/// The arrivals line: neutral, no fleet's colour (every fleet sees the same traffic).
pub const TRAFFIC: Color32 = palette::GREY;

/// Where the start-up is clipped off a plot's scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clip {
    /// The top of the scale: the highest point after the start-up (or the 99th
    /// percentile of all points, if higher).
    pub top: f64,
    /// The start-up's highest point (hour, value), above `top`.
    pub peak: [f64; 2],
}

/// The clip of points (hour, value) whose start-up ([`STARTUP_HOURS`]) exceeds the
/// rest of the day by more than [`CLIP_FACTOR`]; `None` when the start-up is drawn whole.
pub fn startup_clip<'a>(points: impl IntoIterator<Item = &'a [f64; 2]>) -> Option<Clip> {
    let mut all: Vec<[f64; 2]> = points.into_iter().copied().collect();
    all.retain(|p| p[1].is_finite());
    let later = all.iter().filter(|p| p[0] >= STARTUP_HOURS).map(|p| p[1]);
    let later_max = later.fold(f64::NEG_INFINITY, f64::max);
    let peak = all
        .iter()
        .filter(|p| p[0] < STARTUP_HOURS)
        .copied()
        .max_by(|a, b| a[1].total_cmp(&b[1]))?;
    let mut ys: Vec<f64> = all.iter().map(|p| p[1]).collect();
    ys.sort_by(f64::total_cmp);
    let p99 = ys.get((ys.len() * 99 / 100).min(ys.len().saturating_sub(1)))?;
    let top = later_max.max(*p99);
    (top > 0.0 && peak[1] > CLIP_FACTOR * top).then_some(Clip { top, peak })
}

/// "13:05" for 13.0833 h.
pub fn clock(hour: f64) -> String {
    let minutes = (hour * 60.0).round().max(0.0) as u64;
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// What hovering a timeline's point reads out: the series, the time and the value in
/// significant digits with its unit.
pub fn minute_readout(series: &str, at: PlotPoint, unit: &str) -> String {
    let value = fmt_sig(at.y, 3);
    let value = match unit.strip_prefix('$') {
        Some(rest) => format!("${value}{rest}"),
        None => format!("{value} {unit}"),
    };
    format!("{series}\nat {}\n{value}", clock(at.x))
}

/// Reads one quantity from a timeline row.
type MinuteValue = fn(&MinuteRow) -> f64;

/// One line of a plot: its style and its points.
struct Series {
    style: FleetStyle,
    points: Vec<[f64; 2]>,
}

/// One quantity of a plot: its id, its y axis label (with unit) and the unit its
/// read-out names.
struct Quantity<'a> {
    id: &'a str,
    y_label: &'a str,
    unit: &'a str,
}

/// The day's plots of `days` (fleets that ran), below a legend row whose entries
/// hide (click) or isolate (Alt+click) a fleet in every plot; `hidden` holds the
/// hidden fleets' names, `hidden_states` the hidden server states.
pub fn day_plots_ui(
    ui: &mut egui::Ui,
    days: &[FleetDay],
    detail_fleet: &mut usize,
    hidden: &mut Vec<String>,
    hidden_states: &mut Vec<String>,
) {
    let fleets: Vec<(FleetStyle, &SimResult)> = days
        .iter()
        .filter_map(|f| Some((fleet_style(&f.spec), f.sim.as_ref().ok()?)))
        .collect();
    let styles: Vec<FleetStyle> = fleets.iter().map(|f| f.0.clone()).collect();
    legend_row(ui, &styles, hidden);
    let height = ((ui.available_height() - 150.0) / 4.0).max(100.0);
    let shown: Vec<&(FleetStyle, &SimResult)> = (fleets.iter())
        .filter(|f| !hidden.contains(&f.0.label))
        .collect();
    let series = |value: MinuteValue| -> Vec<Series> {
        (shown.iter())
            .map(|(style, r)| Series {
                style: style.clone(),
                points: thinned(&r.timeline, value),
            })
            .collect()
    };
    let traffic: Vec<Series> = (fleets.first().iter())
        .map(|(_, r)| Series {
            style: FleetStyle {
                label: "arrivals".into(),
                color: TRAFFIC,
                width: 1.5,
                style: LineStyle::Solid,
            },
            points: thinned(&r.timeline, |m| f64::from(m.arrivals)),
        })
        .collect();
    let q = |id, y_label, unit| Quantity { id, y_label, unit };
    let mut clips = Vec::new();
    titled_plot(ui, "Traffic: arrivals per minute", "traffic", |ui| {
        timeline_plot_ui(
            ui,
            &q("traffic", "arrivals / minute", "arrivals / minute"),
            height,
            &traffic,
            false,
        )
        .0
    });
    // On screen one legend row names the fleets for every plot; a plot's PNG carries
    // its own, of the fleets shown, between its title and its frame.
    let png_legend = |ui: &mut egui::Ui, key: &str| {
        if plot_png::capturing(ui.ctx(), key) {
            ui.horizontal_wrapped(|ui| png_legend_ui(ui, &styles, hidden));
        }
    };
    let title = "Servers held (busy + booting + idle) per fleet";
    titled_plot(ui, title, "servers", |ui| {
        png_legend(ui, "servers");
        let held = series(|r| f64::from(r.busy + r.booting + r.idle));
        let (response, clip) = timeline_plot_ui(
            ui,
            &q("servers", "servers held", "servers held"),
            height,
            &held,
            true,
        );
        clips.extend(clip);
        response
    });
    if let Some((style, r)) = fleets.get((*detail_fleet).min(fleets.len().saturating_sub(1))) {
        clips.extend(states_plot_ui(
            ui,
            &fleets,
            (style, r),
            detail_fleet,
            hidden_states,
            height,
        ));
    }
    titled_plot(ui, "Cumulative cost, $", "cost", |ui| {
        png_legend(ui, "cost");
        let cost = series(|r| r.cumulative_cost_usd);
        timeline_plot_ui(
            ui,
            &q("cost", "cost so far, $", "$ so far"),
            height,
            &cost,
            false,
        )
        .0
    });
    if let Some(peak) = clips.iter().map(|c| c.peak[1]).reduce(f64::max) {
        ui.weak(format!(
            "In the first hour an elastic fleet holds up to {} servers, more than in the \
             rest of the day. The servers axes are scaled to the rest of the day and the \
             first hour runs off the top (marked \"off the scale\"); the day's totals \
             and the verdict include it.",
            fmt_sig(peak, 3)
        ));
    }
}

/// A timeline plot of `series` over the day; with `clip_startup`, a start-up above the
/// rest of the day runs off the top of the scale, marked. Returns the clip made.
fn timeline_plot_ui(
    ui: &mut egui::Ui,
    q: &Quantity<'_>,
    height: f32,
    series: &[Series],
    clip_startup: bool,
) -> (egui::Response, Option<Clip>) {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let clip = if clip_startup {
        startup_clip(all())
    } else {
        None
    };
    let plot = with_axes(
        Plot::new(q.id),
        (Scale::Linear, "hour of the day"),
        (Scale::Linear, q.y_label),
    );
    let mut plot = axes::include_spans(plot, Some((0.0, 24.0)), axes::y_span(all().copied()))
        .include_y(0.0)
        .height(height)
        .label_formatter(|pos| match pos {
            HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => Some(minute_readout(plot_name, *position, q.unit)),
            HoverPosition::Elsewhere { .. } => None,
        });
    // The day, edge to edge (zooming and a double-click reset still work).
    plot = plot.default_x_bounds(0.0, 24.0);
    if let Some(c) = clip {
        plot = plot.default_y_bounds(0.0, c.top * HEADROOM);
    }
    let warn = ui.visuals().warn_fg_color;
    let response = plot
        .show(ui, |plot| {
            for s in series {
                let line = Line::new(s.style.label.clone(), PlotPoints::from(s.points.clone()))
                    .color(s.style.color)
                    .width(s.style.width)
                    .style(s.style.style);
                plot.line(line);
            }
            if let Some(c) = clip {
                let text = format!(
                    "start-up {} at {}, off the scale",
                    fmt_sig(c.peak[1], 3),
                    clock(c.peak[0])
                );
                let at = PlotPoint::new(c.peak[0], c.top * HEADROOM);
                plot.text(
                    Text::new("start-up clipped", at, text)
                        .anchor(egui::Align2::LEFT_TOP)
                        .color(warn),
                );
            }
        })
        .response;
    (response, clip)
}

/// Busy / booting / idle servers of one fleet, with the fleet picker and the states'
/// legend in its header: busy in the fleet's colour, booting sky blue, idle grey dashed.
fn states_plot_ui(
    ui: &mut egui::Ui,
    fleets: &[(FleetStyle, &SimResult)],
    (style, r): (&FleetStyle, &SimResult),
    detail_fleet: &mut usize,
    hidden: &mut Vec<String>,
    height: f32,
) -> Option<Clip> {
    let state = |label: &str, color, line: LineStyle| FleetStyle {
        label: label.into(),
        color,
        width: 1.5,
        style: line,
    };
    let states: [(FleetStyle, MinuteValue); 3] = [
        (state("busy", style.color, LineStyle::Solid), |m| {
            f64::from(m.busy)
        }),
        (state("booting", palette::SKY, LineStyle::Solid), |m| {
            f64::from(m.booting)
        }),
        (
            state("idle", palette::GREY, LineStyle::dashed_dense()),
            |m| f64::from(m.idle),
        ),
    ];
    let series: Vec<Series> = (states.iter())
        .filter(|s| !hidden.contains(&s.0.label))
        .map(|(style, f)| Series {
            style: style.clone(),
            points: thinned(&r.timeline, f),
        })
        .collect();
    let legend: Vec<FleetStyle> = states.iter().map(|s| s.0.clone()).collect();
    let name = style.label.as_str();
    let header = |ui: &mut egui::Ui| {
        ui.label("Busy / booting / idle servers of")
            .on_hover_text("Every minute: servers serving, starting (cold) and idle.");
        egui::ComboBox::from_label("fleet")
            .selected_text(name)
            .show_ui(ui, |ui| {
                for (i, (s, _)) in fleets.iter().enumerate() {
                    ui.selectable_value(detail_fleet, i, s.label.as_str());
                }
            })
            .response
            .on_hover_text("The fleet whose server states are drawn below.");
        legend_row(ui, &legend, hidden);
    };
    let mut clip = None;
    plot_with_header(ui, "states", header, |ui| {
        let q = Quantity {
            id: "states",
            y_label: "servers",
            unit: "servers",
        };
        let (response, c) = timeline_plot_ui(ui, &q, height, &series, true);
        clip = c;
        response
    });
    clip
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_startup_spike_is_clipped_and_a_plain_day_is_not() {
        let day: Vec<[f64; 2]> = (0..720).map(|i| [f64::from(i) / 30.0, 3.0]).collect();
        assert_eq!(startup_clip(&day), None);
        let mut spiked = day.clone();
        spiked[1][1] = 40.0;
        let c = startup_clip(&spiked).unwrap();
        assert_eq!((c.top, c.peak), (3.0, [1.0 / 30.0, 40.0]));
        // A peak later in the day is the day's, not the start-up's: no clip.
        let mut late = day;
        late[400][1] = 40.0;
        assert_eq!(startup_clip(&late), None);
    }

    #[test]
    fn a_readout_names_the_series_the_time_and_the_value() {
        let at = PlotPoint::new(13.0 + 5.0 / 60.0, 1234.5);
        assert_eq!(
            minute_readout("always on", at, "$ so far"),
            "always on\nat 13:05\n$1\u{2009}234 so far"
        );
        let at = PlotPoint::new(0.5, 12.0);
        assert_eq!(
            minute_readout("idle", at, "servers"),
            "idle\nat 0:30\n12 servers"
        );
    }
}
