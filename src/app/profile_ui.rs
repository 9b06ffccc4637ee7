//! App layer: the Profile panel — pick device, model (an MLP micro-benchmark, a shipped
//! transformer or a `config.json`), precisions, batches and lengths; run the profiler
//! on a named worker thread with progress and cancel; plot latency vs batch (median
//! and p5–p95 band), throughput, the transformer rows and their time per operator, and
//! cold start; "use in plan" reviews the calibration in a dialog before applying it.
//!
//! The worker owns its own wgpu device (created inside the profiler); the UI thread
//! only polls its [`BackgroundJob`], so the window never blocks on the GPU, and a
//! worker that dies shows its error instead of a run that never ends.

use std::sync::Arc;

use eframe::egui;
use serde::{Deserialize, Serialize};

use super::calibrate_dialog::{CalibrateDialog, use_in_plan_ui};
use super::job::BackgroundJob;
use super::plot_png::titled_plot;
use super::profile_device::AdapterList;
use super::profile_estimate::{
    budget_share, default_report_path, estimate, keep_report, restore_report,
};
use super::profile_live::{LiveView, live_ui, progress_ui};
use super::profile_model::ModelPicker;
pub use super::profile_settings::ProfileSettings;
use super::profile_transformer::TransformerView;
use crate::calibrate::Selection;
use crate::model::Plan;
use crate::profile::progress::ProgressMeter;
use crate::profile::report::ProfileReport;
use crate::profile::workloads::Models;

/// The profiler's job: its report (or why it failed) and progress lines.
pub type ProfileJob = BackgroundJob<Result<ProfileReport, String>, String>;

/// The Profile panel: the persisted settings, the run, the adapter list, the model
/// picker and the transformer view (runtime only). It persists as its settings alone.
#[derive(Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProfilePanel {
    /// What the user asked the profiler for (the only part that persists).
    pub settings: ProfileSettings,
    /// The run in flight or last finished.
    #[serde(skip)]
    pub run: ProfileRun,
    /// The adapters to pick from.
    #[serde(skip)]
    pub adapters: AdapterList,
    /// The model picker: its config dialog and the selection resolved.
    #[serde(skip)]
    pub picker: ModelPicker,
    /// Which transformer rows the per-operator breakdown shows.
    #[serde(skip)]
    pub transformers: TransformerView,
}

impl std::fmt::Debug for ProfilePanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfilePanel")
            .field("settings", &self.settings)
            .field("running", &self.run.running())
            .finish_non_exhaustive()
    }
}

/// Panels compare by what persists: a run in flight is not part of the saved state.
impl PartialEq for ProfilePanel {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

impl From<ProfileSettings> for ProfilePanel {
    fn from(settings: ProfileSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }
}

impl ProfilePanel {
    /// True while the profiler runs.
    pub fn running(&self) -> bool {
        self.run.running()
    }

    /// Starts the profiler on the panel's settings.
    pub fn start(&mut self, ctx: &egui::Context) {
        self.run.start(&self.settings, ctx);
    }

    /// The Profile panel: settings and run controls on the left, the report in the
    /// middle. "Use in plan" reviews a calibration of `plan` from the report (a
    /// dialog over the panel) and applies the fields ticked.
    pub fn ui(&mut self, ui: &mut egui::Ui, plan: &mut Plan) {
        let Self {
            settings,
            run,
            adapters,
            picker,
            transformers,
        } = self;
        if run.poll() {
            run.keep(settings);
        }
        if run.running() {
            // Live telemetry arrives every 100 ms without a message to wake the window.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        egui::Panel::left("profile_controls")
            .resizable(false)
            .exact_size(380.0)
            .show(ui, |ui| {
                ui.heading("Measure");
                super::profile_device::device_picker_ui(ui, settings, adapters);
                picker.ui(ui, settings);
                let (blocked, opts) = match picker.models(&settings.model) {
                    Ok(models) => {
                        let checked = super::profile_settings::settings_ui(ui, settings, models);
                        let blocked = checked.first_error().map(str::to_owned);
                        (blocked, settings.options_for(models).ok())
                    }
                    Err(e) => {
                        super::profile_settings::settings_ui(ui, settings, &Models::default());
                        (Some(e.clone()), None)
                    }
                };
                let model = picker.report_name(&settings.model);
                let listed = settings.cpu_only || matches!(adapters, AdapterList::Ready(_));
                if !listed && blocked.is_none() {
                    ui.weak("Estimate: once the adapters are listed.");
                } else if let Some(opts) = opts.filter(|_| blocked.is_none() && !run.running()) {
                    let e = estimate(&opts, adapters.labels(), settings.budget_share);
                    ui.label(e.line(opts.budget_per_row.as_secs_f64()))
                        .on_hover_text(
                            "An estimate: each measurement repeats until its timing settles or \
                         its budget runs out; a first run also compiles shaders.",
                        );
                }
                run.controls_ui(ui, settings, plan, (blocked, model));
            });
        egui::CentralPanel::default().show(ui, |ui| match &run.report {
            Some(report) => {
                // Plot heights from the window's height (a scroll area's is unbounded):
                // three rows of plots fit when the report has no transformer rows.
                let height = ((ui.available_height() - 90.0) / 3.0).max(120.0);
                egui::ScrollArea::vertical()
                    .id_salt("profile_report")
                    .show(ui, |ui| report_ui(ui, report, transformers, height));
            }
            None => {
                ui.label("Run the profiler to measure L(b) on this machine.");
            }
        });
        // Over the whole panel: Apply writes the ticked fields, Cancel nothing.
        if let Some(dialog) = &mut run.calibrate
            && let Some(said) = dialog.ui(ui.ctx(), plan)
        {
            run.calibrate = None;
            run.message = Some(said);
        }
    }
}

/// A run in flight, or its outcome (runtime only).
#[derive(Default)]
pub struct ProfileRun {
    /// The worker, while it runs.
    pub job: Option<ProfileJob>,
    /// Progress lines so far.
    pub log: Vec<String>,
    /// The finished report.
    pub report: Option<ProfileReport>,
    /// Why the last run failed, or what "use in plan" said.
    pub message: Option<String>,
    /// Progress bar and live telemetry of the current or last run.
    pub live: LiveView,
    /// "Use in plan"'s review of the calibration, while open.
    pub calibrate: Option<CalibrateDialog>,
}

impl ProfileRun {
    /// True while the worker runs.
    pub fn running(&self) -> bool {
        self.job.as_ref().is_some_and(BackgroundJob::running)
    }

    /// Starts the profiler on a named worker thread; settings it cannot run say why in
    /// the message instead.
    pub fn start(&mut self, settings: &ProfileSettings, ctx: &egui::Context) {
        let opts = match settings.options() {
            Ok(opts) => opts,
            Err(e) => {
                self.message = Some(format!("cannot profile: {e}"));
                return;
            }
        };
        let meter = opts.meter.clone();
        let cancel = opts.cancel.clone();
        let spawned = BackgroundJob::spawn_with_cancel("profiler", ctx, cancel, move |worker| {
            crate::profile::runner::run_profile(&opts, &mut |line| {
                worker.progress(line.to_owned());
            })
            .map_err(|e| e.to_string())
        });
        match spawned {
            Ok(job) => self.follow(job, meter),
            Err(e) => self.message = Some(format!("cannot start the profiler thread: {e}")),
        }
    }

    /// Shows `job` as the run in flight, its progress read from `meter`; what the last
    /// run said is forgotten (its report stays until a new one arrives).
    pub fn follow(&mut self, job: ProfileJob, meter: Arc<ProgressMeter>) {
        self.job = Some(job);
        self.live.follow(meter);
        self.log.clear();
        self.message = None;
    }

    /// Takes the worker's messages; returns true when a run finished this frame. A
    /// worker that died says so in the message, and its progress bar stops.
    pub fn poll(&mut self) -> bool {
        self.live.update();
        let Some(job) = &mut self.job else {
            return false;
        };
        self.log.extend(job.progress());
        let Some(outcome) = job.poll() else {
            return false;
        };
        self.job = None;
        match outcome {
            Ok(Ok(report)) => self.report = Some(report),
            Ok(Err(e)) => self.message = Some(format!("profile failed: {e}")),
            Err(died) => {
                self.live.stop();
                self.message = Some(died.to_string());
            }
        }
        true
    }

    /// After a run ended: a finished report is kept on disk for the next start (its
    /// path in `settings`), and the run's pace for the next estimate.
    fn keep(&mut self, settings: &mut ProfileSettings) {
        let Some(report) = &self.report else { return };
        if self.message.is_some() {
            return; // The run failed: the report shown is an older one, already kept.
        }
        if let Some((elapsed_s, units)) = self.live.finished_pace() {
            settings.budget_share = budget_share(elapsed_s, units, settings.budget_s);
        }
        let Some(path) = settings.last_report.clone().or_else(default_report_path) else {
            return;
        };
        match keep_report(report, &path) {
            Ok(()) => settings.last_report = Some(path),
            Err(e) => self.message = Some(e),
        }
    }

    /// Shows the report kept by the last session at `settings.last_report`, if any;
    /// one that is gone or unreadable is a one-line note instead.
    pub fn restore(&mut self, settings: &ProfileSettings) {
        if let Some(path) = &settings.last_report {
            match restore_report(path) {
                Ok(report) => self.report = Some(report),
                Err(e) => self.message = Some(e),
            }
        }
    }

    /// Asks the worker to stop after the current measurement.
    pub fn cancel(&self) {
        if let Some(job) = &self.job {
            job.cancel();
        }
    }

    /// Run / Cancel, the progress bar, live telemetry, "Use in plan" and the message.
    /// `blocked`: why the settings cannot run (Run is disabled); `model`: the selected
    /// model's name in the report, for "Use in plan".
    fn controls_ui(
        &mut self,
        ui: &mut egui::Ui,
        s: &ProfileSettings,
        plan: &Plan,
        (blocked, model): (Option<String>, Option<String>),
    ) {
        ui.horizontal(|ui| {
            if self.running() {
                ui.spinner();
                if ui
                    .button("Cancel")
                    .on_hover_text("Stop after the current measurement; what was measured stays.")
                    .clicked()
                {
                    self.cancel();
                }
            } else {
                let why_not = blocked.as_deref().unwrap_or_default();
                let run = ui
                    .add_enabled(blocked.is_none(), egui::Button::new("Run profile"))
                    .on_hover_text("Measure on a worker thread (Ctrl+R).")
                    .on_disabled_hover_text(why_not);
                if run.clicked() {
                    self.start(s, ui.ctx());
                }
            }
        });
        if let Some(snap) = &self.live.snapshot {
            progress_ui(ui, snap);
        }
        live_ui(ui, &self.live);
        if let Some(report) = &self.report {
            let selection = Selection {
                device: s.cpu_only.then(|| "cpu".to_owned()),
                precision: None,
                model: Some(model.unwrap_or_else(|| s.model.clone())),
            };
            let (dialog, message) = (&mut self.calibrate, &mut self.message);
            use_in_plan_ui(ui, (report, &selection), plan, dialog, message);
        }
        if let Some(m) = &self.message {
            ui.label(m);
        }
    }
}

/// The report: the chosen kernels, the MLP plots (when it has MLP rows), the
/// transformer rows (when it has them), the roofline, cold start and telemetry.
fn report_ui(
    ui: &mut egui::Ui,
    report: &ProfileReport,
    transformers: &mut TransformerView,
    height: f32,
) {
    ui.label(
        "Chosen kernels: throughput, GFLOP/s, % of the measured peak, error and speed-up over f32",
    );
    super::profile_view::chosen_table_ui(ui, report);
    if report
        .results
        .iter()
        .any(|r| r.workload.mlp_name().is_some())
    {
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
    }
    transformers.ui(ui, report, height);
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
