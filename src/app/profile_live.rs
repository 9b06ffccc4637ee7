//! App layer: a profile run as it happens — the progress bar (share done, step, elapsed
//! and remaining time) and live telemetry (GPU power and utilisation through NVML, the
//! profiler's CPU use) drawn from the run's [`ProgressMeter`].

use std::sync::Arc;

use eframe::egui;
use egui_plot::{HoverPosition, Line, Plot, PlotPoints};

use super::legend::{LegendEntry, plot_legend};

/// The live plot's CPU series.
const CPU: &str = "CPU, cores busy";

/// The live plot's GPU utilisation series.
const UTIL: &str = "GPU utilisation ÷ 100";

use super::axes::{Scale, with_axes};
use super::format::fmt_sig;
use super::palette;

use crate::profile::progress::{ProgressMeter, ProgressSnapshot, clock};

/// Live readings kept for the plot: at most this many (10 minutes at 10 per second).
const MAX_POINTS: usize = 6_000;

/// One live reading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LivePoint {
    /// Seconds since the run started.
    pub t_s: f64,
    /// Cores the profiler kept busy (1.0 = one core).
    pub cpu_cores_busy: Option<f64>,
    /// GPU board power, from NVML.
    pub gpu_power_w: Option<f64>,
    /// GPU utilisation percent, from NVML.
    pub gpu_util_pct: Option<f64>,
}

/// The progress of the current (or last) run and the telemetry seen during it
/// (runtime only).
#[derive(Default)]
pub struct LiveView {
    meter: Option<Arc<ProgressMeter>>,
    /// The latest snapshot, taken once per frame.
    pub snapshot: Option<ProgressSnapshot>,
    /// Readings so far, one per distinct live sample.
    pub points: Vec<LivePoint>,
    /// Measurements the run followed planned.
    total_units: u64,
}

impl LiveView {
    /// Seconds per measurement of the run followed, once it has finished all of its
    /// planned measurements (a cancelled or failed run tells nothing), and how many.
    pub fn finished_pace(&self) -> Option<(f64, u64)> {
        let snap = self.snapshot.as_ref()?;
        let units = self.total_units;
        (snap.finished && snap.fraction >= 1.0 && units > 0).then_some((snap.elapsed_s, units))
    }

    /// Follows a new run's meter, forgetting the last run's readings.
    pub fn follow(&mut self, meter: Arc<ProgressMeter>) {
        self.meter = Some(meter);
        self.snapshot = None;
        self.points.clear();
    }

    /// Ends the followed run as it stands (its worker died without finishing the
    /// meter), so the bar reads "stopped" and the view stops polling.
    pub fn stop(&mut self) {
        if let Some(meter) = &self.meter {
            meter.finish();
        }
        self.update();
    }

    /// Reads the meter (once per frame) and keeps a new live reading if there is one.
    pub fn update(&mut self) {
        let Some(meter) = &self.meter else { return };
        let snap = meter.snapshot();
        self.total_units = meter.total_units();
        let live = &snap.live;
        let point = LivePoint {
            t_s: snap.elapsed_s,
            cpu_cores_busy: live.process_cpu_pct.map(|p| p / 100.0),
            gpu_power_w: live.gpu.as_ref().and_then(|g| g.power_w),
            gpu_util_pct: live.gpu.as_ref().and_then(|g| g.util_pct.map(f64::from)),
        };
        // The sampler publishes every 100 ms; frames come faster, so keep a reading only
        // when it changed.
        let changed = self.snapshot.as_ref().is_none_or(|s| s.live != snap.live);
        let has_data = point.cpu_cores_busy.is_some() || point.gpu_power_w.is_some();
        if changed && has_data && !snap.finished && self.points.len() < MAX_POINTS {
            self.points.push(point);
        }
        if snap.finished {
            // The run ended: nothing more will arrive.
            self.meter = None;
        }
        self.snapshot = Some(snap);
    }
}

/// The progress bar with step, elapsed and remaining time.
pub fn progress_ui(ui: &mut egui::Ui, snap: &ProgressSnapshot) {
    let mut text = format!("{:.0} % · {}", 100.0 * snap.fraction, clock(snap.elapsed_s));
    if let Some(eta) = snap.eta_s {
        text += &format!(" · ~{} left", clock(eta));
    }
    if snap.finished && snap.fraction < 1.0 {
        text += " · stopped";
    }
    ui.add(
        egui::ProgressBar::new(snap.fraction as f32)
            .text(text)
            .animate(!snap.finished),
    )
    .on_hover_text(
        "Share of the planned work done: one unit per GEMM size and per MLP batch, plus \
         cold start and peaks per device. Time left assumes the pace so far.",
    );
    if !snap.step.is_empty() {
        ui.label(egui::RichText::new(&snap.step).small())
            .on_hover_text("The measurement running now.");
    }
}

/// Live telemetry: a line of the latest readings and a plot of them over the run.
pub fn live_ui(ui: &mut egui::Ui, view: &LiveView) {
    let Some(snap) = &view.snapshot else { return };
    ui.label("Live telemetry")
        .on_hover_text("Sampled every 100 ms on a thread while the profiler runs.");
    let summary = snap.live.summary();
    if !summary.is_empty() {
        ui.label(summary).on_hover_text(
            "GPU power, utilisation, temperature and SM clock come from NVML; CPU is the \
             profiler's CPU time over the last 100 ms, in cores.",
        );
    }
    if let Some(why) = &snap.live.gpu_unavailable {
        ui.label(egui::RichText::new(format!("GPU: {why}")).small())
            .on_hover_text("Without NVML there is no GPU power or utilisation; the run goes on.");
    }
    if view.points.is_empty() {
        return;
    }
    let series = |f: fn(&LivePoint) -> Option<f64>| -> Vec<[f64; 2]> {
        view.points
            .iter()
            .filter_map(|p| Some([p.t_s, f(p)?]))
            .collect()
    };
    let cpu = series(|p| p.cpu_cores_busy);
    let power = series(|p| p.gpu_power_w);
    let util = series(|p| p.gpu_util_pct.map(|u| u / 100.0));
    let y_label = if power.is_empty() {
        "cores busy"
    } else {
        "cores busy · GPU util ÷ 100"
    };
    let x_axis = (Scale::Linear, "time since start, s");
    let mut entries = Vec::new();
    if !cpu.is_empty() {
        entries.push(LegendEntry::line(CPU, palette::series_color(0)));
    }
    if !util.is_empty() {
        entries.push(LegendEntry::line(UTIL, palette::series_color(1)));
    }
    let hidden = plot_legend(ui, "live_telemetry", &entries);
    let shown = |name: &str| !hidden.iter().any(|h| h == name);
    // Busy cores and power count from zero: a steady run stays a flat line near its
    // level, not a zoom into its noise.
    with_axes(
        Plot::new("live_telemetry"),
        x_axis,
        (Scale::Linear, y_label),
    )
    .include_y(0.0)
    .label_formatter(|pos| live_readout(pos, ""))
    .height(110.0)
    .allow_scroll(false)
    .show(ui, |plot| {
        if !cpu.is_empty() && shown(CPU) {
            let line = Line::new(CPU, PlotPoints::from(cpu));
            plot.line(line.color(palette::series_color(0)));
        }
        if !util.is_empty() && shown(UTIL) {
            let line = Line::new(UTIL, PlotPoints::from(util));
            plot.line(line.color(palette::series_color(1)));
        }
    })
    .response
    .on_hover_text("The profiler's CPU use and the GPU's utilisation over this run.");
    if !power.is_empty() {
        with_axes(
            Plot::new("live_power"),
            x_axis,
            (Scale::Linear, "GPU power, W"),
        )
        .include_y(0.0)
        .label_formatter(|pos| live_readout(pos, " W"))
        .height(90.0)
        .allow_scroll(false)
        .show(ui, |plot| {
            let line = Line::new("GPU power, W", PlotPoints::from(power));
            plot.line(line.color(palette::series_color(2)));
        })
        .response
        .on_hover_text("Board power from NVML; energy per inference is in the report.");
    }
}

/// What hovering a telemetry sample reads out: its series, time and value.
fn live_readout(pos: &HoverPosition<'_>, unit: &str) -> Option<String> {
    match pos {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => Some(format!(
            "{plot_name}\nat {} s: {}{unit}",
            fmt_sig(position.x, 3),
            fmt_sig(position.y, 3)
        )),
        HoverPosition::Elsewhere { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::progress::LiveTelemetry;

    #[test]
    fn keeps_one_point_per_new_sample_and_stops_when_finished() {
        let meter = Arc::new(ProgressMeter::default());
        let mut view = LiveView::default();
        view.follow(meter.clone());
        meter.start(4);
        view.update();
        assert!(view.points.is_empty(), "no sample yet");
        let live = |pct| LiveTelemetry {
            process_cpu_pct: Some(pct),
            cores: 2,
            ..LiveTelemetry::default()
        };
        meter.set_live(live(150.0));
        view.update();
        view.update();
        assert_eq!(view.points.len(), 1);
        assert_eq!(view.points[0].cpu_cores_busy, Some(1.5));
        meter.set_live(live(50.0));
        meter.advance(2);
        view.update();
        assert_eq!(view.points.len(), 2);
        assert_eq!(view.snapshot.as_ref().map(|s| s.fraction), Some(0.5));
        meter.finish();
        view.update();
        assert!(view.snapshot.as_ref().is_some_and(|s| s.finished));
        meter.set_live(live(10.0));
        view.update();
        assert_eq!(view.points.len(), 2, "nothing is read after the run ended");
    }
}
