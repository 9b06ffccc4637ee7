//! App layer: the Warm / cold panel — a simulated day (the discrete-event simulator)
//! of always-on vs scale-to-zero vs keep-k-warm vs a spot mix: traffic, busy / booting
//! / idle servers, cold starts, spot interruptions and cumulative cost.
//!
//! Simulations run on a named worker thread; the panel shows the last finished day.

use std::sync::mpsc::{Receiver, channel};

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};
use serde::{Deserialize, Serialize};

use super::plot_png::{plot_with_header, titled_plot};

use crate::model::{Plan, Policy};
use crate::sim::{SimOptions, SimResult, simulate};

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
                    idle_timeout_s: self.idle_timeout_s,
                    max_servers: self.max_servers.max(1),
                },
            ),
            (
                "keep k warm",
                Policy::Hybrid {
                    warm: self.warm.min(self.max_servers),
                    idle_timeout_s: self.idle_timeout_s,
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

/// The simulations in flight or finished (runtime only).
#[derive(Default)]
pub struct WarmColdRun {
    rx: Option<Receiver<Vec<FleetDay>>>,
    /// The last finished day, one entry per fleet.
    pub days: Vec<FleetDay>,
}

impl WarmColdRun {
    /// True while the worker runs.
    pub fn running(&self) -> bool {
        self.rx.is_some()
    }

    /// Simulates one day of each fleet on a named worker thread.
    pub fn start(&mut self, plan: &Plan, settings: &WarmColdSettings, ctx: &egui::Context) {
        let fleets = settings.fleets();
        let base = plan.clone();
        let options = SimOptions {
            seed: settings.seed,
            hours: 24.0,
            timeline: true,
            // Keeps a day of heavy traffic to seconds; the result warns when it stops early.
            max_requests: 5_000_000,
            ..SimOptions::default()
        };
        let (tx, rx) = channel();
        let repaint = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("costscope-simulator".into())
            .spawn(move || {
                let days: Vec<FleetDay> = fleets
                    .into_iter()
                    .map(|(name, policy)| {
                        let mut p = base.clone();
                        p.policy = policy;
                        (name, simulate(&p, &options).map_err(|e| e.to_string()))
                    })
                    .collect();
                // The window may have closed; then nobody needs the result.
                let _ = tx.send(days);
                repaint.request_repaint();
            });
        if spawned.is_ok() {
            self.rx = Some(rx);
        }
    }

    /// Takes a finished day from the worker.
    pub fn poll(&mut self) {
        if let Some(rx) = &self.rx
            && let Ok(days) = rx.try_recv()
        {
            self.days = days;
            self.rx = None;
        }
    }
}

/// The Warm / cold panel.
pub fn warm_cold_ui(
    ui: &mut egui::Ui,
    s: &mut WarmColdSettings,
    run: &mut WarmColdRun,
    plan: &Plan,
) {
    run.poll();
    egui::Panel::left("warm_cold_controls")
        .resizable(false)
        .exact_size(380.0)
        .show(ui, |ui| {
            ui.heading("Fleets to compare");
            ui.add(egui::Slider::new(&mut s.always_on, 1..=256).text("always-on servers"))
                .on_hover_text("The always-on fleet: this many servers all day, never cold.");
            ui.add(egui::Slider::new(&mut s.warm, 0..=64).text("k kept warm"))
                .on_hover_text("The keep-warm fleet: k servers always on, more start on demand.");
            ui.add(
                egui::Slider::new(&mut s.idle_timeout_s, 0.0..=3600.0)
                    .logarithmic(true)
                    .text("idle timeout, s"),
            )
            .on_hover_text("An idle on-demand server stops after this long; the next request pays a cold start.");
            ui.add(egui::Slider::new(&mut s.max_servers, 1..=1024).logarithmic(true).text("max servers"))
                .on_hover_text("Cap on servers an on-demand fleet may start; more requests queue.");
            ui.add(egui::Slider::new(&mut s.spot, 0..=64).text("spot servers (+1 on-demand)"))
                .on_hover_text("The spot fleet: this many spot servers (interruptible) plus one on-demand.");
            ui.add(egui::DragValue::new(&mut s.seed).prefix("seed "))
                .on_hover_text("Random seed of the simulation: the same seed gives the same day.");
            ui.horizontal(|ui| {
                if run.running() {
                    ui.spinner();
                    ui.label("simulating a day…");
                } else if ui
                    .button("Simulate a day")
                    .on_hover_text("Simulate 24 hours of the plan's traffic for each fleet (Ctrl+R).")
                    .clicked()
                {
                    run.start(plan, s, ui.ctx());
                }
            });
            ui.separator();
            summary_ui(ui, &run.days);
        });
    egui::CentralPanel::default().show(ui, |ui| {
        if run.days.is_empty() {
            ui.label("Simulate a day to see warm, booting and idle servers, cold starts and cost.");
            return;
        }
        let height = ((ui.available_height() - 110.0) / 4.0).max(100.0);
        let fleets: Vec<(&str, &SimResult)> = run
            .days
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
        if let Some((name, r)) = fleets.get(s.detail_fleet.min(fleets.len().saturating_sub(1))) {
            let header = |ui: &mut egui::Ui| {
                let title = format!("Busy / booting / idle servers of \"{name}\"");
                ui.label(title)
                    .on_hover_text("Every minute: servers serving, starting (cold) and idle.");
                egui::ComboBox::from_label("fleet")
                    .selected_text(*name)
                    .show_ui(ui, |ui| {
                        for (i, (n, _)) in fleets.iter().enumerate() {
                            ui.selectable_value(&mut s.detail_fleet, i, *n);
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
        titled_plot(ui, "Cumulative cost, $", "cost", |ui| {
            minute_plot_ui(ui, "cost", "$ so far", height, &fleets, |r| {
                r.cumulative_cost_usd
            })
        });
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
