//! App layer: the costscope desktop window (eframe/egui over the model). It never calls
//! wgpu directly. The window state persists between runs; results are recomputed when
//! the plan changes.

pub mod axes;
pub mod caching_figures;
pub mod caching_ui;
pub mod calibrate_dialog;
pub mod explore_ui;
pub mod file_dialog;
pub mod file_list;
pub mod fleet_change;
pub mod format;
pub mod hardware_figures;
pub mod hardware_ops;
pub mod hardware_picker;
pub mod hardware_ui;
pub mod history;
pub mod job;
pub mod legend;
pub mod llm_figures;
pub mod llm_plots;
pub mod llm_summary;
pub mod llm_ui;
pub mod log_slider;
pub mod palette;
pub mod plan_compare;
pub mod plan_csv;
pub mod plan_file;
pub mod plan_file_ui;
pub mod plan_preset;
pub mod plan_ui;
pub mod plot_png;
pub mod plots;
pub mod profile_device;
pub mod profile_estimate;
pub mod profile_live;
pub mod profile_model;
pub mod profile_settings;
pub mod profile_transformer;
pub mod profile_ui;
pub mod profile_view;
pub mod readout;
pub mod screenshot;
pub mod selection;
pub mod state;
pub mod text;
pub mod verify_job;
pub mod warm_cold_fleets;
pub mod warm_cold_legend;
pub mod warm_cold_model_vs_sim;
pub mod warm_cold_plots;
pub mod warm_cold_run;
pub mod warm_cold_ui;
pub mod warm_cold_verdict;
pub mod why_card;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eframe::egui;

use state::{AppState, Runtime, Tab};

/// Key under which eframe stores [`AppState`].
const STORAGE_KEY: &str = "costscope_state";

/// Why the window could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The plan given on the command line is bad.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// eframe could not start (no display, no graphics adapter, …).
    #[error("cannot open the window: {0}")]
    Window(String),
    /// `--screenshot` wrote no PNG (the panel is not offered for the plan, or the
    /// file could not be written).
    #[error("screenshot failed: {0}")]
    Screenshot(String),
}

/// The window: persisted state (the Profile and Warm / cold panels among it), the
/// shared runtime results, and the panels that keep nothing between runs.
pub struct CostscopeApp {
    /// What persists.
    pub state: AppState,
    /// What is rebuilt each run and shared by the panels.
    pub runtime: Runtime,
    /// The Explore panel.
    pub explore: explore_ui::ExplorePanel,
    /// The Caching & lazy panel.
    pub caching: caching_ui::CachingPanel,
    /// The LLM panel (its figures cached by plan).
    pub llm: llm_ui::LlmPanel,
    /// The Plan panel (and the file dialog, which opens over any panel).
    pub plan_panel: plan_ui::PlanPanel,
    /// A screenshot to take before closing (`costscope gui --screenshot`).
    pub screenshot: Option<screenshot::ScreenshotJob>,
    /// The recommendation verified by simulation in the background.
    pub verify: verify_job::VerifyRun,
    /// Undo / redo of plan edits (this run only).
    pub history: history::PlanHistory,
}

impl CostscopeApp {
    /// The app showing `state`.
    pub fn new(mut state: AppState) -> Self {
        let runtime = Runtime::new(&state);
        // The last session's profile report, kept on disk (or a note why not).
        let profile = &mut state.profile;
        profile.run.restore(&profile.settings);
        Self {
            history: history::PlanHistory::new(&state.plan, &runtime.saved_plan),
            runtime,
            plan_panel: plan_ui::PlanPanel::new(&state),
            explore: explore_ui::ExplorePanel::default(),
            caching: caching_ui::CachingPanel::default(),
            llm: llm_ui::LlmPanel::default(),
            state,
            screenshot: None,
            verify: verify_job::VerifyRun::default(),
        }
    }

    /// One frame of the whole window.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.handle_input(ui.ctx());
        // Exports (PNG) go beside the plan file, like its CSV.
        let export_dir = self.state.plan_path.as_ref().and_then(|p| p.parent());
        plot_png::set_export_dir(ui.ctx(), export_dir.map(std::path::Path::to_path_buf));
        self.screenshot_frame(ui.ctx());
        ui.ctx().set_theme(if self.state.dark_mode {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        egui::Panel::top("tabs").show(ui, |ui| self.tabs_ui(ui));
        // A plan changed outside a panel (a test, a dropped file) is shown at once.
        self.runtime.refresh(&self.state.plan, self.state.tab);
        self.verify.update(ui.ctx(), &self.runtime.results);
        let Self {
            state,
            runtime,
            explore,
            caching,
            llm,
            plan_panel,
            screenshot: _,
            verify: _,
            history,
        } = self;
        egui::CentralPanel::default().show(ui, |ui| match state.tab {
            Tab::Profile => state.profile.ui(ui, &mut state.plan),
            Tab::Explore => explore.ui(ui, &mut state.plan, runtime),
            Tab::Llm => llm.ui(ui, &state.plan, &runtime.results),
            Tab::Caching => caching.ui(ui, &mut state.plan, runtime),
            Tab::Hardware => {
                let report = state.profile.run.report.as_ref();
                state.hardware.ui(ui, &mut state.plan, report)
            }
            Tab::WarmCold => state.warm_cold.ui(ui, &state.plan, &runtime.results),
            Tab::Plan => plan_panel.ui(ui, state, runtime),
        });
        // Over whichever panel is showing: Ctrl+O opens it from anywhere.
        plan_panel.file_dialog_ui(ui.ctx(), state, runtime);
        // A control moved in this frame: its panel is the one open now, and the next
        // frame shows the new results (and the change of fleet, if any).
        if runtime.refresh(&state.plan, state.tab) {
            ui.ctx().request_repaint();
        }
        // Whatever changed the plan in this frame is one undo step (or joins the drag's).
        history.end_frame(ui.ctx(), &state.plan, &runtime.saved_plan);
    }

    /// The bar at the top: the tabs, the theme, Save PNG and the plan's name.
    fn tabs_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("costscope");
            ui.separator();
            // The LLM tab only for token workloads.
            for tab in Tab::ALL
                .into_iter()
                .filter(|t| t.shown_for(&self.state.plan))
            {
                ui.selectable_value(&mut self.state.tab, tab, tab.label())
                    .on_hover_text(tab.hover());
            }
            ui.separator();
            ui.checkbox(&mut self.state.dark_mode, "dark theme")
                .on_hover_text("Dark or light colours; remembered between runs.");
            let name = format!(
                "costscope-{}.png",
                self.state
                    .tab
                    .label()
                    .to_lowercase()
                    .replace([' ', '&', '/'], "")
            );
            plot_png::window_png_ui(
                ui,
                &name,
                "Capture the window as costscope-<panel>.png next to the plan file \
                 (or in the current folder), asking before replacing one; each plot has \
                 its own PNG button.",
            );
            if let Some(text) = plot_png::last_message(ui.ctx()) {
                ui.label(text);
            }
            ui.separator();
            self.undo_buttons_ui(ui);
            ui.separator();
            ui.label(text::elide(&self.state.plan.name, text::MAX_NAME_CHARS));
            if self.state.plan != self.runtime.saved_plan {
                ui.label("(unsaved)");
            }
            if let Some(note) = &self.plan_panel.restore_note {
                ui.colored_label(ui.visuals().warn_fg_color, "last session not restored")
                    .on_hover_text(note.as_str());
            }
        });
    }

    /// Undo and Redo, each saying what it would change.
    fn undo_buttons_ui(&mut self, ui: &mut egui::Ui) {
        let (history, plan) = (&mut self.history, &mut self.state.plan);
        // The tooltips diff two plans: only when shown, not every frame.
        let button = ui.add_enabled(history.can_undo(), egui::Button::new("Undo"));
        if button
            .on_hover_ui(|ui| {
                let text = history.undo_text(plan).unwrap_or_default();
                ui.label(format!("{text} (Ctrl+Z)"));
            })
            .on_disabled_hover_text("Nothing to undo: no plan edits in this run.")
            .clicked()
        {
            history.undo(plan);
        }
        let button = ui.add_enabled(history.can_redo(), egui::Button::new("Redo"));
        if button
            .on_hover_ui(|ui| {
                let text = history.redo_text(plan).unwrap_or_default();
                ui.label(format!("{text} (Ctrl+Shift+Z or Ctrl+Y)"));
            })
            .on_disabled_hover_text("Nothing to redo: no edit undone since the last one.")
            .clicked()
        {
            history.redo(plan);
        }
    }

    /// Drives a `--screenshot` run: show the panel, fill it, capture, close.
    fn screenshot_frame(&mut self, ctx: &egui::Context) {
        let Some(job) = &mut self.screenshot else {
            return;
        };
        // eframe reopens a window at its last geometry whatever the options say: a
        // screenshot is taken at its own size.
        let size = egui::vec2(SCREENSHOT_SIZE[0], SCREENSHOT_SIZE[1]);
        if (ctx.content_rect().size() - size).length() > 1.0 {
            ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(size));
        }
        if !job.panel.shown_for(&self.state.plan) {
            // The LLM tab exists only for token workloads: say so rather than capture
            // a panel the window does not offer.
            job.fail(format!(
                "the {} panel is only for plans with workload.tokens (try `costscope gui llm-chatbot`)",
                job.panel.label()
            ));
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        self.state.tab = job.panel;
        let ready = match job.panel {
            Tab::WarmCold => {
                let panel = &mut self.state.warm_cold;
                panel.run.poll();
                // A day that could not be simulated is shown as its error, not waited on.
                let done = panel.run.day.is_some() || panel.run.error.is_some();
                if !done && !panel.running() {
                    panel.start(&self.state.plan, &self.runtime.results, ctx);
                }
                // The verdict's noise bounds come from the background verification.
                done && self.verify.settled(&self.state.plan)
            }
            Tab::Profile => {
                let panel = &mut self.state.profile;
                panel.run.poll();
                let done = panel.run.report.is_some() || panel.run.message.is_some();
                if !done && !panel.running() {
                    panel.start(ctx);
                }
                done
            }
            // The verification line under the recommendation.
            Tab::Explore => self.verify.settled(&self.state.plan),
            _ => true,
        };
        if let Some(outcome) = job.frame(ctx, ready) {
            match outcome {
                Ok(()) => eprintln!("costscope: wrote {}", job.path.display()),
                Err(e) => job.fail(e),
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// Dropped files open as plans (asking first over unsaved changes); Ctrl+S saves
    /// (asking first over a file changed on disk or with comments);
    /// Ctrl+O goes to the Plan panel and opens the file dialog; Ctrl+Z undoes a plan
    /// edit, Ctrl+Shift+Z and Ctrl+Y redo it (not while a text field has the keyboard:
    /// it undoes its own typing).
    fn handle_input(&mut self, ctx: &egui::Context) {
        if !ctx.text_edit_focused() {
            let (history, plan) = (&mut self.history, &mut self.state.plan);
            let redo = egui::Modifiers::COMMAND | egui::Modifiers::SHIFT;
            // Ctrl+Shift+Z first: Ctrl+Z's pattern would also match it.
            if ctx.input_mut(|i| {
                i.consume_key(redo, egui::Key::Z)
                    || i.consume_key(egui::Modifiers::COMMAND, egui::Key::Y)
            }) {
                history.redo(plan);
            } else if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Z)) {
                history.undo(plan);
            }
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        let (state, runtime, plan_panel) =
            (&mut self.state, &mut self.runtime, &mut self.plan_panel);
        if let Some(path) = dropped.into_iter().next() {
            plan_panel.request_open(state, runtime, path);
            state.tab = Tab::Plan;
        }
        let save = ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::S));
        if save {
            match state.plan_path.clone() {
                Some(path) => plan_panel.request_save(state, runtime, path),
                None => state.tab = Tab::Plan,
            }
            // A question about the save is asked in the Plan panel.
            if plan_panel.pending_save.is_some() {
                state.tab = Tab::Plan;
            }
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::O)) {
            state.tab = Tab::Plan;
            plan_panel.open_dialog(state, file_dialog::DialogMode::Open);
        }
        // Ctrl+R runs what the panel runs: the profiler, or a simulated day.
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::R)) {
            match state.tab {
                Tab::Profile if !state.profile.running() => state.profile.start(ctx),
                Tab::WarmCold if !state.warm_cold.running() => {
                    state.warm_cold.start(&state.plan, &runtime.results, ctx);
                }
                _ => {}
            }
        }
    }
}

impl eframe::App for CostscopeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        CostscopeApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.state);
    }
}

/// The window's size for `--screenshot`, points (README's screenshots).
const SCREENSHOT_SIZE: [f32; 2] = [1600.0, 1000.0];

/// Opens the window on `initial` (a plan and the file it came from), else on the state
/// of the last run (checked by [`AppState::restore`]; what it dropped is noted in the
/// window), else on the default preset. With `screenshot` (path, panel) it
/// captures that panel as a PNG and closes. Returns when the window closes.
pub fn run(
    initial: Option<(crate::model::Plan, Option<PathBuf>)>,
    screenshot: Option<(PathBuf, Tab)>,
) -> Result<(), AppError> {
    let started = std::time::Instant::now();
    let failure = Arc::new(Mutex::new(None));
    let from_file = initial.map(|(plan, path)| AppState::new(plan, path));
    let default = AppState::new(crate::plan::presets::default_plan()?, None);
    // README's screenshots are made at 1600 x 1000 (under `xvfb-run -s "-screen 0
    // 1600x1000x24"`); a window opened to work in starts at 1400 x 900.
    let size = if screenshot.is_some() {
        SCREENSHOT_SIZE
    } else {
        [1400.0, 900.0]
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size(size)
            .with_title("costscope"),
        // A screenshot is made at its stated size, not at the last window's geometry.
        persist_window: screenshot.is_none(),
        ..Default::default()
    };
    let failure_in_app = failure.clone();
    eframe::run_native(
        "costscope",
        options,
        Box::new(move |cc| {
            let restored = cc
                .storage
                .and_then(|s| eframe::get_value::<AppState>(s, STORAGE_KEY));
            let (state, note) = match from_file {
                Some(state) => (state, None),
                None => AppState::restore(restored, default),
            };
            let mut app = CostscopeApp::new(state);
            app.plan_panel.restore_note = note;
            app.screenshot = screenshot.map(|(path, panel)| {
                screenshot::ScreenshotJob::new(path, panel, started, failure_in_app)
            });
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| AppError::Window(e.to_string()))?;
    match failure.lock().ok().and_then(|mut f| f.take()) {
        Some(why) => Err(AppError::Screenshot(why)),
        None => Ok(()),
    }
}
