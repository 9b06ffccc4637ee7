//! App layer: the Profile panel — pick device, model, precisions and batches; run the
//! profiler on a named worker thread with progress and cancel; plot latency vs batch
//! (median and p5–p95 band), throughput and cold start; "use in plan" calibrates.
//!
//! The worker owns its own wgpu device (created inside the profiler); the UI thread
//! only receives messages, so the window never blocks on the GPU.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};

use eframe::egui;
use serde::{Deserialize, Serialize};

use super::plot_png::titled_plot;
use super::profile_live::{LiveView, live_ui, progress_ui};
use crate::calibrate::{Selection, calibrate};
use crate::model::Plan;
use crate::profile::report::ProfileReport;
use crate::profile::{DeviceChoice, Precision, ProfileOptions};

/// What the user asked the profiler for (persisted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSettings {
    /// Only the native CPU path (no GPU adapters).
    pub cpu_only: bool,
    /// Adapter name filter (empty = every adapter).
    pub adapter: String,
    /// MLP preset: small, distilled or bert-base.
    pub model: String,
    /// Precisions to run: f32, f16, bf16.
    pub precisions: [bool; 3],
    /// Batch sizes, comma-separated.
    pub batches: String,
    /// Seconds per measured row.
    pub budget_s: f64,
}

impl Default for ProfileSettings {
    fn default() -> Self {
        Self {
            cpu_only: false,
            adapter: String::new(),
            model: "small".into(),
            precisions: [true, true, true],
            batches: "1,2,4,8".into(),
            budget_s: 0.25,
        }
    }
}

/// Messages from the worker.
enum Msg {
    Progress(String),
    Done(Box<Result<ProfileReport, String>>),
}

/// A run in flight, or its outcome (runtime only).
#[derive(Default)]
pub struct ProfileRun {
    rx: Option<Receiver<Msg>>,
    cancel: Option<Arc<AtomicBool>>,
    /// Progress lines so far.
    pub log: Vec<String>,
    /// The finished report.
    pub report: Option<ProfileReport>,
    /// Why the last run failed, or what "use in plan" said.
    pub message: Option<String>,
    /// Progress bar and live telemetry of the current or last run.
    pub live: LiveView,
    /// The adapters to pick from.
    pub adapters: super::profile_device::AdapterList,
}

impl ProfileRun {
    /// True while the worker runs.
    pub fn running(&self) -> bool {
        self.rx.is_some()
    }

    /// Starts the profiler on a named worker thread.
    pub fn start(&mut self, settings: &ProfileSettings, ctx: &egui::Context) {
        let mut opts = ProfileOptions::quick();
        opts.device = if settings.cpu_only {
            DeviceChoice::Cpu
        } else if settings.adapter.trim().is_empty() {
            DeviceChoice::All
        } else {
            DeviceChoice::Adapter(settings.adapter.trim().to_owned())
        };
        opts.models = vec![settings.model.clone()];
        opts.precisions = Precision::ALL
            .iter()
            .zip(settings.precisions)
            .filter_map(|(p, on)| on.then_some(*p))
            .collect();
        opts.batches = settings
            .batches
            .split(',')
            .filter_map(|b| b.trim().parse().ok())
            .collect();
        opts.budget_per_row =
            std::time::Duration::from_secs_f64(settings.budget_s.clamp(0.01, 60.0));
        let cancel = opts.cancel.clone();
        let meter = opts.meter.clone();
        let (tx, rx) = channel();
        let repaint = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("costscope-profiler".into())
            .spawn(move || {
                let progress_tx = tx.clone();
                let progress_ctx = repaint.clone();
                let result = crate::profile::runner::run_profile(&opts, &mut |line| {
                    // The window may have closed; a lost progress line is harmless.
                    let _ = progress_tx.send(Msg::Progress(line.to_owned()));
                    progress_ctx.request_repaint();
                });
                let _ = tx.send(Msg::Done(Box::new(result.map_err(|e| e.to_string()))));
                repaint.request_repaint();
            });
        match spawned {
            Ok(_) => {
                self.rx = Some(rx);
                self.cancel = Some(cancel);
                self.live.follow(meter);
                self.log.clear();
                self.message = None;
            }
            Err(e) => self.message = Some(format!("cannot start the profiler thread: {e}")),
        }
    }

    /// Takes the worker's messages; returns true when a run finished this frame.
    pub fn poll(&mut self) -> bool {
        self.live.update();
        let Some(rx) = &self.rx else { return false };
        let mut finished = false;
        while let Ok(msg) = rx.try_recv() {
            match msg {
                Msg::Progress(line) => self.log.push(line),
                Msg::Done(result) => {
                    match *result {
                        Ok(report) => self.report = Some(report),
                        Err(e) => self.message = Some(format!("profile failed: {e}")),
                    }
                    finished = true;
                }
            }
        }
        if finished {
            self.rx = None;
            self.cancel = None;
        }
        finished
    }

    /// Asks the worker to stop after the current measurement.
    pub fn cancel(&self) {
        if let Some(c) = &self.cancel {
            c.store(true, Ordering::Relaxed);
        }
    }
}

/// The Profile panel.
pub fn profile_ui(
    ui: &mut egui::Ui,
    settings: &mut ProfileSettings,
    run: &mut ProfileRun,
    plan: &mut Plan,
) {
    run.poll();
    if run.running() {
        // Live telemetry arrives every 100 ms without a message to wake the window.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
    }
    egui::Panel::left("profile_controls")
        .resizable(false)
        .exact_size(380.0)
        .show(ui, |ui| {
            controls_ui(ui, settings, run, plan);
        });
    egui::CentralPanel::default().show(ui, |ui| match &run.report {
        Some(report) => report_ui(ui, report),
        None => {
            ui.label("Run the profiler to measure L(b) on this machine.");
        }
    });
}

fn controls_ui(ui: &mut egui::Ui, s: &mut ProfileSettings, run: &mut ProfileRun, plan: &mut Plan) {
    ui.heading("Measure");
    super::profile_device::device_picker_ui(ui, s, &mut run.adapters);
    egui::ComboBox::from_label("model")
        .selected_text(&s.model)
        .show_ui(ui, |ui| {
            for m in crate::profile::workloads::mlp::PRESETS.iter().rev() {
                ui.selectable_value(&mut s.model, m.name.to_owned(), m.name)
                    .on_hover_text(format!(
                        "{}→{}→{} (GEMM + bias + GELU) × {} layers",
                        m.d_model, m.d_hidden, m.d_model, m.layers
                    ));
            }
        })
        .response
        .on_hover_text("The MLP whose forward pass is timed at each batch size: L(b).");
    ui.horizontal(|ui| {
        let tips = [
            "32-bit float storage and math.",
            "Half-precision storage, f32 accumulate (needs SHADER_F16 on a GPU).",
            "bfloat16 storage packed in u32, f32 math (any adapter; not on the CPU path).",
        ];
        for ((on, name), tip) in s
            .precisions
            .iter_mut()
            .zip(["f32", "f16", "bf16"])
            .zip(tips)
        {
            ui.checkbox(on, name).on_hover_text(tip);
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("batches:");
        ui.text_edit_singleline(&mut s.batches)
            .labelled_by(label.id)
            .on_hover_text("Batch sizes to sweep, comma-separated, e.g. 1,2,4,8.");
    });
    ui.add(
        egui::Slider::new(&mut s.budget_s, 0.05..=10.0)
            .logarithmic(true)
            .text("seconds per row"),
    )
    .on_hover_text("Time budget of one measurement; sampling stops earlier once the CV is ≤ 2 %.");
    ui.horizontal(|ui| {
        if run.running() {
            ui.spinner();
            if ui
                .button("Cancel")
                .on_hover_text("Stop after the current measurement; what was measured stays.")
                .clicked()
            {
                run.cancel();
            }
        } else if ui
            .button("Run profile")
            .on_hover_text("Measure on a worker thread (Ctrl+R).")
            .clicked()
        {
            run.start(s, ui.ctx());
        }
    });
    if let Some(snap) = &run.live.snapshot {
        progress_ui(ui, snap);
    }
    live_ui(ui, &run.live);
    if let Some(report) = &run.report
        && ui
            .button("Use in plan")
            .on_hover_text("Move the measured L(b), CV, cold start and power into the plan.")
            .clicked()
    {
        let selection = Selection {
            device: s.cpu_only.then(|| "cpu".to_owned()),
            precision: None,
            model: Some(s.model.clone()),
        };
        match calibrate(plan, report, "(this session's profile)", &selection) {
            Ok(p) => {
                *plan = p;
                run.message = Some("plan calibrated from the profile".into());
            }
            Err(e) => run.message = Some(e.to_string()),
        }
    }
    if let Some(m) = &run.message {
        ui.label(m);
    }
}

fn report_ui(ui: &mut egui::Ui, report: &ProfileReport) {
    ui.label(
        "Chosen kernels: throughput, GFLOP/s, % of the measured peak, error and speed-up over f32",
    );
    super::profile_view::chosen_table_ui(ui, report);
    let height = ((ui.available_height() - 90.0) / 3.0).max(120.0);
    ui.columns(2, |cols| {
        let title = "Latency vs batch (median, p5–p95 band), chosen kernels";
        titled_plot(&mut cols[0], title, "latency-vs-batch", |ui| {
            super::profile_view::latency_plot_ui(ui, report, height)
        });
        let title = "Throughput vs batch, chosen kernels";
        titled_plot(&mut cols[1], title, "throughput", |ui| {
            super::profile_view::throughput_plot_ui(ui, report, height)
        });
    });
    titled_plot(
        ui,
        "Roofline: kernels against the measured FMA peak and bandwidth",
        "roofline",
        |ui| super::profile_view::roofline_ui(ui, report, height),
    );
    if let Some(c) = &report.cold_start_ms {
        titled_plot(
            ui,
            "Cold start, ms (first GPU device)",
            "cold-start",
            |ui| super::profile_view::cold_start_plot_ui(ui, c, height),
        );
    } else {
        ui.label("Cold start: no GPU device was measured.");
    }
    ui.label(if report.telemetry.available {
        "NVML telemetry: available".to_owned()
    } else {
        format!(
            "NVML telemetry: unavailable ({})",
            report
                .telemetry
                .why_unavailable
                .as_deref()
                .unwrap_or("no reason given")
        )
    });
}
