//! App layer: the Warm / cold panel — a simulated day (the discrete-event simulator)
//! of always-on vs scale-to-zero vs keep-k-warm vs a spot mix: traffic, busy / booting
//! / idle servers, cold starts, spot interruptions and cumulative cost.
//!
//! Simulations run as a [`BackgroundJob`] on a named worker thread; the panel shows
//! the last finished day, or why the worker gave none.

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};
use serde::{Deserialize, Serialize};

use super::job::BackgroundJob;
use super::plot_png::{plot_with_header, titled_plot};

use crate::model::{Plan, Policy};
use crate::sim::{SimOptions, SimResult, simulate};

/// Shortest idle timeout the panel simulates: plans refuse 0 (every request past the
/// warm floor would boot its own server), and settings saved before may hold it.
const MIN_IDLE_TIMEOUT_S: f64 = 1.0;

/// The compared fleets (persisted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmColdSettings {
    /// Servers of the always-on fleet.
    pub always_on: u32,
    /// Servers kept warm in the keep-k-warm fleet.
    pub warm: u32,
    /// Idle timeout of on-demand servers, seconds.
    pub idle_timeout_s: f64,
    /// Most servers an elastic fleet may start.
    pub max_servers: u32,
    /// Spot servers in the spot mix (plus one on-demand).
    pub spot: u32,
    /// Seed of the simulated day.
    pub seed: u64,
    /// The fleet whose busy / booting / idle servers are drawn.
    #[serde(default)]
    pub detail_fleet: usize,
}

impl Default for WarmColdSettings {
    fn default() -> Self {
        Self {
            always_on: 4,
            warm: 1,
            idle_timeout_s: 300.0,
            max_servers: 64,
            spot: 3,
            seed: 1,
            detail_fleet: 1,
        }
    }
}

impl WarmColdSettings {
    /// The four fleets, labelled.
    pub fn fleets(&self) -> [(&'static str, Policy); 4] {
        [
            (
                "always on",
                Policy::AlwaysOn {
                    servers: self.always_on.max(1),
                },
            ),
            (
                "scale to zero",
                Policy::OnDemand {
                    idle_timeout_s: self.idle_timeout_s.max(MIN_IDLE_TIMEOUT_S),
                    max_servers: self.max_servers.max(1),
                },
            ),
            (
                "keep k warm",
                Policy::Hybrid {
                    warm: self.warm.min(self.max_servers),
                    idle_timeout_s: self.idle_timeout_s.max(MIN_IDLE_TIMEOUT_S),
                    max_servers: self.max_servers.max(1),
                },
            ),
            (
                "spot mix",
                Policy::SpotMix {
                    on_demand: 1,
                    spot: self.spot,
                    checkpoint_interval_s: 600.0,
                    checkpoint_s: 0.0,
                },
            ),
        ]
    }
}

/// Reads one quantity from a timeline row.
type MinuteValue = fn(&crate::sim::MinuteRow) -> f64;

/// One simulated fleet, or why it could not run.
pub type FleetDay = (&'static str, Result<SimResult, String>);

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
        }
    }
}

impl WarmColdPanel {
    /// True while the simulator runs.
    pub fn running(&self) -> bool {
        self.run.running()
    }

    /// Simulates a day of each fleet on `plan`.
    pub fn start(&mut self, plan: &Plan, ctx: &egui::Context) {
        self.run.start(plan, &self.settings, ctx);
    }

    /// The Warm / cold panel: fleets, the run button and the summary on the left, the
    /// day's plots in the middle.
    pub fn ui(&mut self, ui: &mut egui::Ui, plan: &Plan) {
        let Self { settings, run } = self;
        run.poll();
        egui::Panel::left("warm_cold_controls")
            .resizable(false)
            .exact_size(380.0)
            .show(ui, |ui| {
                ui.heading("Fleets to compare");
                fleets_ui(ui, settings);
                run.run_ui(ui, plan, settings);
                ui.separator();
                summary_ui(ui, &run.days);
            });
        egui::CentralPanel::default().show(ui, |ui| {
            if run.days.is_empty() {
                ui.label(
                    "Simulate a day to see warm, booting and idle servers, cold starts and cost.",
                );
                return;
            }
            day_ui(ui, &run.days, &mut settings.detail_fleet);
        });
    }
}

/// The day's job: one simulated day per fleet.
pub type WarmColdJob = BackgroundJob<Vec<FleetDay>>;

/// The simulations in flight or finished (runtime only).
#[derive(Default)]
pub struct WarmColdRun {
    /// The worker, while it runs.
    pub job: Option<WarmColdJob>,
    /// The last finished day, one entry per fleet.
    pub days: Vec<FleetDay>,
    /// Why the last simulation gave no day (its worker died, or never started).
    pub error: Option<String>,
}

impl WarmColdRun {
    /// True while the worker runs.
    pub fn running(&self) -> bool {
        self.job.as_ref().is_some_and(BackgroundJob::running)
    }

    /// Simulates one day of each fleet on a named worker thread.
    pub fn start(&mut self, plan: &Plan, settings: &WarmColdSettings, ctx: &egui::Context) {
        let fleets = settings.fleets();
        let base = plan.clone();
        let options = SimOptions {
            seed: settings.seed,
            hours: crate::model::traffic::DAY_HOURS,
            timeline: true,
            // Keeps a day of heavy traffic to seconds; the result warns when it stops early.
            max_requests: 5_000_000,
            ..SimOptions::default()
        };
        let spawned = BackgroundJob::spawn("simulator", ctx, move |_| {
            fleets
                .into_iter()
                .map(|(name, policy)| {
                    let mut p = base.clone();
                    p.policy = policy;
                    (name, simulate(&p, &options).map_err(|e| e.to_string()))
                })
                .collect()
        });
        match spawned {
            Ok(job) => self.follow(job),
            Err(e) => self.error = Some(format!("cannot start the simulator thread: {e}")),
        }
    }

    /// Shows `job` as the simulation in flight (the last day stays until it ends).
    pub fn follow(&mut self, job: WarmColdJob) {
        self.job = Some(job);
        self.error = None;
    }

    /// Takes a finished day from the worker, or says why there is none.
    pub fn poll(&mut self) {
        let Some(outcome) = self.job.as_mut().and_then(BackgroundJob::poll) else {
            return;
        };
        self.job = None;
        match outcome {
            Ok(days) => self.days = days,
            Err(died) => self.error = Some(died.to_string()),
        }
    }

    /// "Simulate a day", or a spinner while it runs; then why the last run failed.
    fn run_ui(&mut self, ui: &mut egui::Ui, plan: &Plan, s: &WarmColdSettings) {
        ui.horizontal(|ui| {
            if self.running() {
                ui.spinner();
                ui.label("simulating a day…");
            } else if ui
                .button("Simulate a day")
                .on_hover_text("Simulate 24 hours of the plan's traffic for each fleet (Ctrl+R).")
                .clicked()
            {
                self.start(plan, s, ui.ctx());
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    }
}

/// The sliders of the four fleets and the seed.
fn fleets_ui(ui: &mut egui::Ui, s: &mut WarmColdSettings) {
    ui.add(egui::Slider::new(&mut s.always_on, 1..=256).text("always-on servers"))
        .on_hover_text("The always-on fleet: this many servers all day, never cold.");
    ui.add(egui::Slider::new(&mut s.warm, 0..=64).text("k kept warm"))
        .on_hover_text("The keep-warm fleet: k servers always on, more start on demand.");
    ui.add(
        egui::Slider::new(&mut s.idle_timeout_s, MIN_IDLE_TIMEOUT_S..=3600.0)
            .logarithmic(true)
            .text("idle timeout, s"),
    )
    .on_hover_text(
        "An idle on-demand server stops after this long; the next request pays a cold start.",
    );
    ui.add(
        egui::Slider::new(&mut s.max_servers, 1..=1024)
            .logarithmic(true)
            .text("max servers"),
    )
    .on_hover_text("Cap on servers an on-demand fleet may start; more requests queue.");
    ui.add(egui::Slider::new(&mut s.spot, 0..=64).text("spot servers (+1 on-demand)"))
        .on_hover_text(
            "The spot fleet: this many spot servers (interruptible) plus one on-demand.",
        );
    ui.add(egui::DragValue::new(&mut s.seed).prefix("seed "))
        .on_hover_text("Random seed of the simulation: the same seed gives the same day.");
}

/// The day's plots: traffic, servers held, one fleet's server states, cumulative cost.
fn day_ui(ui: &mut egui::Ui, days: &[FleetDay], detail_fleet: &mut usize) {
    let height = ((ui.available_height() - 110.0) / 4.0).max(100.0);
    let fleets: Vec<(&str, &SimResult)> = days
        .iter()
        .filter_map(|(name, d)| Some((*name, d.as_ref().ok()?)))
        .collect();
    let traffic: Vec<(&str, &SimResult)> =
        fleets.iter().take(1).map(|f| ("arrivals", f.1)).collect();
    titled_plot(ui, "Traffic: arrivals per minute", "traffic", |ui| {
        minute_plot_ui(ui, "traffic", "arrivals / minute", height, &traffic, |r| {
            f64::from(r.arrivals)
        })
    });
    let title = "Servers held (busy + booting + idle) per fleet";
    titled_plot(ui, title, "servers", |ui| {
        minute_plot_ui(ui, "servers", "servers", height, &fleets, |r| {
            f64::from(r.busy + r.booting + r.idle)
        })
    });
    if let Some((name, r)) = fleets.get((*detail_fleet).min(fleets.len().saturating_sub(1))) {
        states_plot_ui(ui, &fleets, (*name, *r), detail_fleet, height);
    }
    titled_plot(ui, "Cumulative cost, $", "cost", |ui| {
        minute_plot_ui(ui, "cost", "$ so far", height, &fleets, |r| {
            r.cumulative_cost_usd
        })
    });
}

/// Busy / booting / idle servers of one fleet, with the fleet picker in its header.
fn states_plot_ui(
    ui: &mut egui::Ui,
    fleets: &[(&str, &SimResult)],
    (name, r): (&str, &SimResult),
    detail_fleet: &mut usize,
    height: f32,
) {
    let header = |ui: &mut egui::Ui| {
        let title = format!("Busy / booting / idle servers of \"{name}\"");
        ui.label(title)
            .on_hover_text("Every minute: servers serving, starting (cold) and idle.");
        egui::ComboBox::from_label("fleet")
            .selected_text(name)
            .show_ui(ui, |ui| {
                for (i, (n, _)) in fleets.iter().enumerate() {
                    ui.selectable_value(detail_fleet, i, *n);
                }
            })
            .response
            .on_hover_text("The fleet whose server states are drawn below.");
    };
    let states: [(&str, MinuteValue); 3] = [
        ("busy", |m| f64::from(m.busy)),
        ("booting", |m| f64::from(m.booting)),
        ("idle", |m| f64::from(m.idle)),
    ];
    plot_with_header(ui, "states", header, |ui| {
        Plot::new("states")
            .legend(Legend::default())
            .x_axis_label("hour of the day")
            .y_axis_label("servers")
            .height(height)
            .show(ui, |plot| {
                for (label, f) in states {
                    let pts: Vec<[f64; 2]> = r
                        .timeline
                        .iter()
                        .map(|m| [f64::from(m.minute) / 60.0, f(m)])
                        .collect();
                    plot.line(Line::new(label, PlotPoints::from(pts)));
                }
            })
            .response
    });
}

fn minute_plot_ui(
    ui: &mut egui::Ui,
    id: &str,
    y_label: &str,
    height: f32,
    series: &[(&str, &SimResult)],
    value: impl Fn(&crate::sim::MinuteRow) -> f64,
) -> egui::Response {
    Plot::new(id)
        .legend(Legend::default())
        .x_axis_label("hour of the day")
        .y_axis_label(y_label)
        .height(height)
        .show(ui, |plot| {
            for (name, r) in series {
                let pts: Vec<[f64; 2]> = r
                    .timeline
                    .iter()
                    .map(|m| [f64::from(m.minute) / 60.0, value(m)])
                    .collect();
                plot.line(Line::new(name.to_string(), PlotPoints::from(pts)));
            }
        })
        .response
}

fn summary_ui(ui: &mut egui::Ui, days: &[FleetDay]) {
    egui::Grid::new("warm_cold_summary")
        .striped(true)
        .show(ui, |ui| {
            for (h, tip) in [
                ("fleet", "The fleets compared over the same simulated day."),
                (
                    "$/hour",
                    "Mean cost per hour over the day: servers held, boots included.",
                ),
                ("p95 ms", "95th percentile of request latency over the day."),
                ("cold starts", "Requests that waited for a server to start."),
                ("interrupts", "Spot servers taken away during the day."),
            ] {
                ui.strong(h).on_hover_text(tip);
            }
            ui.end_row();
            for (name, day) in days {
                ui.label(*name);
                match day {
                    Ok(r) => {
                        ui.label(format!("{:.3}", r.cost_usd_per_hour));
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
    for (name, day) in days {
        if let Ok(r) = day {
            for w in &r.warnings {
                ui.colored_label(ui.visuals().warn_fg_color, format!("{name}: {w}"));
            }
        }
    }
}
