//! App layer: the Warm / cold panel — a whole simulated day (the discrete-event
//! simulator) of the plan as written, the recommendation and one fleet of each policy
//! family: traffic, busy / booting / idle servers, cold starts, spot interruptions,
//! cumulative cost, and a verdict: the cheapest fleet at the SLO and where the model
//! and the simulation disagree.
//!
//! Simulations run as a `BackgroundJob` on a named worker thread, with their progress
//! in simulated hours and a Cancel; the panel shows the last finished day, or why the
//! worker gave none.

use eframe::egui;
use serde::{Deserialize, Serialize};

use super::format::fmt_sig;
use super::state::Results;
pub use super::warm_cold_fleets::WarmColdSettings;
use super::warm_cold_run::{Day, WarmColdRun, stopped_short};
use crate::model::Plan;
use crate::model::traffic::DAY_HOURS;
use crate::sim::MinuteRow;

/// Most points a timeline line is drawn with: longer timelines are drawn as the means of
/// equal buckets of minutes, so a plot's cost does not grow with the horizon (a day's
/// 1440 minutes are drawn as 720 two-minute buckets).
pub const MAX_PLOTTED_POINTS: usize = 720;

/// The Warm / cold panel: the persisted fleets and the simulated day (runtime only).
/// It persists as its settings alone, in the shape they always had.
#[derive(Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WarmColdPanel {
    /// The fleets compared (the only part that persists).
    pub settings: WarmColdSettings,
    /// The simulation in flight or last finished.
    #[serde(skip)]
    pub run: WarmColdRun,
    /// Fleets hidden from the plots (their legend entries clicked).
    #[serde(skip)]
    pub hidden: Vec<String>,
    /// Server states hidden from the busy / booting / idle plot.
    #[serde(skip)]
    pub hidden_states: Vec<String>,
}

impl std::fmt::Debug for WarmColdPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmColdPanel")
            .field("settings", &self.settings)
            .field("running", &self.run.running())
            .finish_non_exhaustive()
    }
}

/// Panels compare by what persists: a day being simulated is not part of the saved
/// state.
impl PartialEq for WarmColdPanel {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

impl From<WarmColdSettings> for WarmColdPanel {
    fn from(settings: WarmColdSettings) -> Self {
        Self {
            settings,
            run: WarmColdRun::default(),
            hidden: Vec::new(),
            hidden_states: Vec::new(),
        }
    }
}

impl WarmColdPanel {
    /// True while the simulator runs.
    pub fn running(&self) -> bool {
        self.run.running()
    }

    /// Simulates a day of each fleet on `plan`; `results` are the model's for it (they
    /// are recomputed when they are for another plan).
    pub fn start(&mut self, plan: &Plan, results: &Results, ctx: &egui::Context) {
        let fresh;
        let results = if results.plan == *plan {
            results
        } else {
            fresh = Results::compute(plan);
            &fresh
        };
        let fleets = self.settings.fleets(plan, results);
        self.run.start(plan, fleets, self.settings.seed, ctx);
    }

    /// The Warm / cold panel: fleets, the run button, the summary and the verdict on
    /// the left, the day's plots in the middle.
    pub fn ui(&mut self, ui: &mut egui::Ui, plan: &Plan, results: &Results) {
        self.run.poll();
        egui::Panel::left("warm_cold_controls")
            .resizable(false)
            .exact_size(440.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    ui.heading("Fleets to compare");
                    super::warm_cold_fleets::fleets_ui(ui, &mut self.settings, plan, results);
                    self.run_ui(ui, plan, results);
                    ui.separator();
                    ui.horizontal_wrapped(|ui| {
                        ui.label("Recommendation:");
                        super::verify_job::status_line_ui(ui, &results.plan);
                    });
                    if let Some(day) = &self.run.day {
                        ui.separator();
                        summary_ui(ui, day);
                        ui.separator();
                        super::warm_cold_verdict::verdict_ui(ui, day);
                    }
                });
            });
        let Self {
            settings,
            run,
            hidden,
            hidden_states,
        } = self;
        egui::CentralPanel::default().show(ui, |ui| match &run.day {
            Some(day) => {
                if let Some(note) = warmup_note(day) {
                    ui.weak(note);
                }
                super::warm_cold_plots::day_plots_ui(
                    ui,
                    &day.fleets,
                    &mut settings.detail_fleet,
                    hidden,
                    hidden_states,
                );
            }
            None => {
                ui.label(
                    "Simulate a day to see warm, booting and idle servers, cold starts and cost.",
                );
            }
        });
    }

    /// "Simulate a day", or its progress and Cancel while it runs; then why the last
    /// run failed or stopped.
    fn run_ui(&mut self, ui: &mut egui::Ui, plan: &Plan, results: &Results) {
        let run = &mut self.run;
        if run.running() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(if run.cancelling {
                    "cancelling…"
                } else {
                    "simulating a day…"
                });
                if ui
                    .add_enabled(!run.cancelling, egui::Button::new("Cancel"))
                    .on_hover_text("Stop this run; the last finished day stays.")
                    .clicked()
                {
                    run.cancel();
                }
            });
            let (hour, warmup) = (run.hour(), run.warmup_hours);
            let text = if hour < 0.0 {
                format!(
                    "warm-up: hour {:.1} of {warmup} (slowest fleet)",
                    hour + warmup
                )
            } else {
                format!("hour {hour:.1} of {DAY_HOURS} (slowest fleet)")
            };
            ui.add(
                egui::ProgressBar::new(((hour + warmup) / (DAY_HOURS + warmup)) as f32).text(text),
            );
        } else if ui
            .button("Simulate a day")
            .on_hover_text(
                "Simulate 24 hours of the plan's traffic for each fleet, to the end of the \
                 day (Ctrl+R).",
            )
            .clicked()
        {
            self.start(plan, results, ui.ctx());
        }
        if let Some(e) = &self.run.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if let Some(n) = &self.run.note {
            ui.colored_label(ui.visuals().warn_fg_color, n);
        }
    }
}

/// What the plots leave out: the warm-up before the day, if there was one.
pub fn warmup_note(day: &Day) -> Option<String> {
    (day.warmup_hours > 0.0).then(|| {
        format!(
            "Each fleet starts the day from its steady state (warm-up of {} h not \
             plotted): the end of the previous day was simulated first and is left out \
             of the plots and the totals.",
            fmt_sig(day.warmup_hours, 3)
        )
    })
}

/// `value` of the timeline as plot points (hour of the day, value): every minute up to
/// [`MAX_PLOTTED_POINTS`], else the mean of each bucket of consecutive minutes (at
/// the bucket's middle).
pub fn thinned(rows: &[MinuteRow], value: impl Fn(&MinuteRow) -> f64) -> Vec<[f64; 2]> {
    let bucket = rows.len().div_ceil(MAX_PLOTTED_POINTS).max(1);
    rows.chunks(bucket)
        .map(|c| {
            let n = c.len() as f64;
            let minute = c.iter().map(|m| f64::from(m.minute)).sum::<f64>() / n;
            [minute / 60.0, c.iter().map(&value).sum::<f64>() / n]
        })
        .collect()
}

/// Each fleet's day: cost, p95, cold starts, interruptions; then what stopped a fleet
/// short of the day and the simulator's other warnings.
fn summary_ui(ui: &mut egui::Ui, day: &Day) {
    egui::Grid::new("warm_cold_summary")
        .striped(true)
        .show(ui, |ui| {
            for (h, tip) in [
                ("fleet", "The fleets compared over the same simulated day."),
                (
                    "$/day",
                    "The day's cost: servers held, boots included, cache and energy.",
                ),
                ("p95 ms", "95th percentile of request latency over the day."),
                ("cold", "Cold starts: servers started for waiting requests."),
                (
                    "spot lost",
                    "Spot interruptions: spot servers taken away during the day.",
                ),
            ] {
                ui.strong(h).on_hover_text(tip);
            }
            ui.end_row();
            for f in &day.fleets {
                ui.label(f.spec.label()).on_hover_text(f.spec.description());
                match &f.sim {
                    Ok(r) => {
                        ui.label(format!("{:.2}", r.cost_usd_per_hour * r.hours));
                        ui.label(
                            r.latency_ms
                                .as_ref()
                                .map_or_else(|| "-".into(), |l| format!("{:.1}", l.p95)),
                        );
                        ui.label(r.cold_starts.to_string());
                        ui.label(r.spot_interruptions.to_string());
                    }
                    Err(e) => {
                        ui.label(e);
                    }
                }
                ui.end_row();
            }
        });
    for f in &day.fleets {
        let Ok(r) = &f.sim else { continue };
        let name = f.spec.label();
        let stop = r.stopped.as_ref().map(|s| s.warning);
        if let Some(short) = stopped_short(r) {
            ui.colored_label(ui.visuals().warn_fg_color, format!("{name}: {short}"));
        }
        for (i, w) in r.warnings.iter().enumerate() {
            // The stop is said above in the panel's words, not the command line's.
            if Some(i) != stop {
                ui.colored_label(ui.visuals().warn_fg_color, format!("{name}: {w}"));
            }
        }
    }
}
