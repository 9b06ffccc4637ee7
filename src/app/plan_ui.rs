//! App layer: the Plan panel — the recommendation in words and numbers, the plan file
//! (`plan_file_ui.rs`: open, save, save as, revert, each asking before it would lose
//! something), Export CSV (`plan_csv.rs`) and the comparison (`plan_compare.rs`).

use std::path::PathBuf;

use eframe::egui;

use super::explore_ui::describe;
use super::file_dialog::FileDialog;
use super::format::fmt_sig;
use super::plan_compare::compare_ui;
use super::state::{AppState, Results, Runtime};
use super::text::{MAX_NAME_CHARS, MAX_NOTES_CHARS, NOTES_MAX_HEIGHT_PX, elide};
use crate::model::Plan;

pub use super::plan_file_ui::file_name_for;

/// A save held back until the user answers: what saving over `path` would lose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSave {
    /// The file (absolute) the plan would be written to.
    pub path: PathBuf,
    /// It changed on disk since it was opened or last saved (or that is unknown).
    pub changed_on_disk: bool,
    /// It has comments, which the plan written anew would not keep.
    pub has_comments: bool,
}

/// The Plan panel: what it holds between frames (runtime only) — the paths being typed,
/// the plan compared with, the last file message or error, the file dialog while open
/// and a file waiting for the user to agree to drop unsaved changes. The plan, its file
/// and the saved copy are the app's, passed in.
#[derive(Debug, Default)]
pub struct PlanPanel {
    /// The path typed in the Plan panel.
    pub path_input: String,
    /// The path of a plan to compare with.
    pub compare_input: String,
    /// Results of the plan being compared with, if any.
    pub compare: Option<Results>,
    /// The last file error, shown until the next successful load or save.
    pub file_error: Option<String>,
    /// The last file message ("saved to …").
    pub file_message: Option<String>,
    /// The Open / Save as dialog, while it is open.
    pub file_dialog: Option<FileDialog>,
    /// A file to open once the user agrees to replace the unsaved changes.
    pub pending_open: Option<PathBuf>,
    /// A save waiting for the user to agree to overwrite what it would lose.
    pub pending_save: Option<PendingSave>,
    /// What of the last session could not be restored, until a plan is opened or saved.
    pub restore_note: Option<String>,
    /// The shipped preset the plan was opened from, until it is saved to a file or
    /// another plan is opened: it has no file, so Save gives way to Save as….
    pub preset: Option<&'static str>,
    /// A preset to open once the user agrees to replace the unsaved changes.
    pub pending_preset: Option<&'static str>,
    /// A CSV export waiting for the user to agree to replace the file there.
    pub pending_csv: Option<PathBuf>,
}

impl PlanPanel {
    /// The panel for `state`: the path field shows the plan's file.
    pub fn new(state: &AppState) -> Self {
        Self {
            path_input: state
                .plan_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            ..Self::default()
        }
    }
}

/// The plan's name and notes, the recommendation in words, and the plan as written.
fn recommendation_ui(ui: &mut egui::Ui, plan: &Plan, results: &Results) {
    ui.heading(elide(&plan.name, MAX_NAME_CHARS));
    if !plan.notes.is_empty() {
        // Long notes scroll in a bounded box instead of pushing the panel down.
        egui::ScrollArea::vertical()
            .id_salt("plan_notes")
            .max_height(NOTES_MAX_HEIGHT_PX)
            .show(ui, |ui| ui.label(elide(&plan.notes, MAX_NOTES_CHARS)));
    }
    ui.separator();
    ui.heading("Recommended plan");
    match results.optimum.as_ref().ok().and_then(|o| o.best.as_ref()) {
        Some(best) => {
            ui.label(format!("Run it as: {}.", describe(best)));
            if let Some(l) = best.latency_ms {
                let sig = |x: f64| fmt_sig(x, 3);
                ui.label(format!(
                    "Cost {} $/hour ({} $ per million requests); latency mean {} ms, p95 {} ms, p99 {} ms; utilisation {} %; cold starts {} %.",
                    sig(best.cost_usd_per_hour),
                    best.cost_usd_per_million.map_or_else(|| "-".into(), sig),
                    sig(l.mean),
                    sig(l.p95),
                    sig(l.p99),
                    sig(best.utilization * 100.0),
                    sig(best.cold_start_fraction * 100.0)
                ));
            }
        }
        None => {
            ui.label("No feasible candidate: relax the SLO or allow more servers.");
        }
    }
    if let Some(e) = &results.evaluation {
        ui.label(format!(
            "As written ({}): {} $/hour{}",
            describe(e),
            fmt_sig(e.cost_usd_per_hour, 3),
            e.why_infeasible
                .as_ref()
                .map_or_else(String::new, |w| format!(" — infeasible: {w}"))
        ));
    }
}

/// Shown while the path field, the dialog or a drop names an existing file to open.
/// What a file button without a path says.
pub(super) const NO_PATH: &str = "Type a path above, or use Open… / Save as….";

impl PlanPanel {
    /// The Plan panel: the recommendation, the plan file, the comparison, and the last
    /// file message or error. `state.plan` is the plan being edited, `runtime` holds its
    /// results and the copy last saved.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &mut AppState, runtime: &mut Runtime) {
        recommendation_ui(ui, &state.plan, &runtime.results);
        ui.separator();
        ui.heading("Plan file");
        self.preset_picker_ui(ui, state, runtime);
        self.path_bar_ui(ui, state);
        // Read once, as typed before this frame's clicks: every button acts on it.
        let typed = self.typed_path();
        self.file_buttons_ui(ui, typed.as_deref(), state, runtime);
        self.pending_open_ui(ui, state, runtime);
        self.pending_preset_ui(ui, state, runtime);
        self.pending_save_ui(ui, state, runtime);
        self.export_ui(ui, typed.as_deref(), &runtime.results);
        ui.separator();
        ui.heading("Compare with another plan");
        self.compare_bar_ui(ui);
        let Self {
            path_input: _,
            compare_input: _,
            compare,
            file_error,
            file_message,
            file_dialog: _,
            pending_open: _,
            pending_save: _,
            restore_note,
            preset: _,
            pending_preset: _,
            pending_csv: _,
        } = self;
        if let Some(note) = restore_note {
            ui.colored_label(ui.visuals().warn_fg_color, note.as_str());
        }
        if let Some(other) = compare {
            compare_ui(ui, &runtime.results, other);
        }
        if let Some(err) = file_error {
            ui.colored_label(ui.visuals().error_fg_color, err.as_str());
        }
        if let Some(msg) = file_message {
            ui.label(msg.as_str());
        }
    }
}
