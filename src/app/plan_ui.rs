//! App layer: the Plan panel — the recommendation in words and numbers, and the plan
//! file: open, save, save as, revert. A bad file shows its error and keeps the current
//! plan; opening over unsaved changes asks first, and so does saving over a file that
//! changed on disk since it was opened or that has comments (saving drops them).

use std::path::{Path, PathBuf};

use eframe::egui;

use super::explore_ui::describe;
use super::file_dialog::{DialogMode, FileDialog, Outcome, unsaved_warning};
use super::format::fmt_sig;
use super::plan_compare::{compare_ui, load_other};
use super::plan_csv::export_csv;
use super::plan_file::{FileStamp, absolute, has_comments, read_plan};
use super::state::{AppState, Results, Runtime};
use super::text::{MAX_NAME_CHARS, MAX_NOTES_CHARS, NOTES_MAX_HEIGHT_PX, elide};
use crate::model::Plan;
use crate::plan::presets::PRESETS;
use crate::plan::save_file;

/// Longest file name offered for a plan never saved, before `.ron`.
const MAX_FILE_STEM_CHARS: usize = 64;

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

    /// Opens `path` into `state`; on error keeps the plan and records the message.
    /// The path kept is absolute, with the stamp of the bytes the plan was read from.
    pub fn open_plan(&mut self, state: &mut AppState, runtime: &mut Runtime, path: PathBuf) {
        match read_plan(&path) {
            Ok((plan, path, stamp)) => {
                runtime.saved_plan = plan.clone();
                state.plan = plan;
                self.path_input = path.display().to_string();
                self.file_message = Some(format!("opened {}", path.display()));
                (self.file_error, self.restore_note) = (None, None);
                (self.pending_open, self.pending_save) = (None, None);
                state.plan_path = Some(path);
                state.plan_stamp = Some(stamp);
                (self.preset, self.pending_preset) = (None, None);
            }
            Err(e) => {
                self.file_error = Some(e.to_string());
                self.file_message = None;
            }
        }
    }

    /// Opens `path`, unless that would drop unsaved changes: then the Plan panel asks
    /// first (the path field, drag-and-drop; the file dialog asks in itself with the same
    /// words).
    pub fn request_open(&mut self, state: &mut AppState, runtime: &mut Runtime, path: PathBuf) {
        if state.plan != runtime.saved_plan {
            self.pending_preset = None;
            self.pending_open = Some(path);
        } else {
            self.open_plan(state, runtime, path);
        }
    }

    /// Saves the plan to `path` atomically, asking nothing (the callers have asked);
    /// on error records the message. The file is stamped as written.
    pub fn save_plan(&mut self, state: &mut AppState, runtime: &mut Runtime, path: PathBuf) {
        match save_file(&state.plan, &path) {
            Ok(()) => {
                // Made absolute once it exists, so a symbolic link resolves to its target.
                let path = absolute(&path);
                runtime.saved_plan = state.plan.clone();
                self.file_message = Some(format!("saved to {}", path.display()));
                // The path field follows the file the plan now lives in (after Save as too).
                self.path_input = path.display().to_string();
                (self.file_error, self.restore_note, self.pending_save) = (None, None, None);
                state.plan_stamp = FileStamp::read(&path).ok().map(|(stamp, _)| stamp);
                state.plan_path = Some(path);
                self.preset = None;
            }
            Err(e) => {
                self.file_error = Some(e.to_string());
                self.file_message = None;
            }
        }
    }

    /// Saves the plan to `path` (Ctrl+S, Save), unless that would lose something the
    /// user has not seen: then the Plan panel asks first. It asks when `path` is the
    /// plan's file and that changed on disk since it was opened or saved (stamp, size or
    /// bytes differ; no stamp, from an older state, counts as changed), and when the
    /// file has comments. A file that cannot be read is left for the save to report.
    pub fn request_save(&mut self, state: &mut AppState, runtime: &mut Runtime, path: PathBuf) {
        let path = absolute(&path);
        let Ok((on_disk, bytes)) = FileStamp::read(&path) else {
            self.save_plan(state, runtime, path);
            return;
        };
        let is_plan_file = state.plan_path.as_deref() == Some(path.as_path());
        let changed_on_disk = is_plan_file && state.plan_stamp.as_ref() != Some(&on_disk);
        let has_comments = has_comments(&String::from_utf8_lossy(&bytes));
        if changed_on_disk || has_comments {
            self.pending_save = Some(PendingSave {
                path,
                changed_on_disk,
                has_comments,
            });
        } else {
            self.save_plan(state, runtime, path);
        }
    }

    /// Opens the file dialog in `mode` (kept as it is if one in that mode is already
    /// open). It starts in the folder last used, else the plan file's folder, else the
    /// working one.
    pub fn open_dialog(&mut self, state: &AppState, mode: DialogMode) {
        if self.file_dialog.as_ref().is_some_and(|d| d.mode == mode) {
            return;
        }
        let plan_dir = state
            .plan_path
            .as_deref()
            .and_then(Path::parent)
            .filter(|p| !p.as_os_str().is_empty());
        let dir = state
            .dialog_dir
            .as_deref()
            .or(plan_dir)
            .unwrap_or(Path::new("."));
        let file_name = state
            .plan_path
            .as_deref()
            .and_then(Path::file_name)
            .map_or_else(
                || file_name_for(&state.plan.name),
                |n| n.to_string_lossy().into_owned(),
            );
        self.file_dialog = Some(FileDialog::new(mode, dir, file_name));
    }

    /// Shows the file dialog when one is open and does what it returns. A failed open or
    /// save keeps the dialog open with the error, so another file can be picked.
    pub fn file_dialog_ui(
        &mut self,
        ctx: &egui::Context,
        state: &mut AppState,
        runtime: &mut Runtime,
    ) {
        let Some(mut dialog) = self.file_dialog.take() else {
            return;
        };
        let dirty = state.plan != runtime.saved_plan;
        let path = match dialog.ui(ctx, dirty) {
            None => {
                self.file_dialog = Some(dialog);
                return;
            }
            Some(Outcome::Cancel) => return,
            Some(Outcome::Open(path)) => {
                self.open_plan(state, runtime, path.clone());
                path
            }
            Some(Outcome::Save(path)) => {
                self.save_plan(state, runtime, path.clone());
                path
            }
        };
        state.dialog_dir = path.parent().map(Path::to_path_buf);
        if let Some(err) = &self.file_error {
            dialog.error = Some(err.clone());
            dialog.question = None;
            self.file_dialog = Some(dialog);
        }
    }
}

/// A file name for a plan never saved: its name in lower case, words joined by `-`
/// ("Healthcare triage" → `healthcare-triage.ron`), or `plan.ron`.
pub fn file_name_for(plan_name: &str) -> String {
    let words: Vec<String> = plan_name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    // A name of any length gives a name a file system takes and a field can show.
    let stem: String = words.join("-").chars().take(MAX_FILE_STEM_CHARS).collect();
    let stem = stem.trim_end_matches('-');
    if stem.is_empty() {
        "plan.ron".into()
    } else {
        format!("{stem}.ron")
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
const NO_PATH: &str = "Type a path above, or use Open… / Save as….";

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

    /// The path field with Open… and Save as… (the file dialog).
    fn path_bar_ui(&mut self, ui: &mut egui::Ui, state: &AppState) {
        ui.horizontal(|ui| {
            let label = ui.label("path:");
            ui.add(egui::TextEdit::singleline(&mut self.path_input).desired_width(420.0))
                .labelled_by(label.id)
                .on_hover_text("A .ron plan file; you can also drop one onto the window.");
            if ui
                .button("Open…")
                .on_hover_text("Browse for a plan file to open (Ctrl+O).")
                .clicked()
            {
                self.open_dialog(state, DialogMode::Open);
            }
            if ui
                .button("Save as…")
                .on_hover_text("Browse for a folder and file name to save the plan to.")
                .clicked()
            {
                self.open_dialog(state, DialogMode::SaveAs);
            }
        });
    }

    /// The path field's file: its text, when there is any.
    fn typed_path(&self) -> Option<PathBuf> {
        let text = self.path_input.trim();
        (!text.is_empty()).then(|| PathBuf::from(text))
    }

    /// Open, Save and Revert on the path field's file (`path`, when one is typed).
    fn file_buttons_ui(
        &mut self,
        ui: &mut egui::Ui,
        path: Option<&Path>,
        state: &mut AppState,
        runtime: &mut Runtime,
    ) {
        let has_path = path.is_some();
        let path = path.map(Path::to_path_buf).unwrap_or_default();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(has_path, egui::Button::new("Open"))
                .on_hover_text("Load the plan file named in the path field.")
                .on_disabled_hover_text(NO_PATH)
                .clicked()
            {
                self.request_open(state, runtime, path.clone());
            }
            if self.preset.is_some() {
                // Nothing to save over: the preset lives in the program, not a file.
                ui.label("preset: read-only, use Save as…").on_hover_text(
                    "A shipped preset has no file; Save as… writes the plan to one.",
                );
            } else if ui
                .add_enabled(has_path, egui::Button::new("Save"))
                .on_hover_text(
                    "Write the plan to the path field's file, replacing it (Ctrl+S); asks first \
                     when the file changed on disk or has comments.",
                )
                .on_disabled_hover_text(NO_PATH)
                .clicked()
            {
                self.request_save(state, runtime, path.clone());
            }
            let dirty = state.plan != runtime.saved_plan;
            if ui
                .add_enabled(dirty, egui::Button::new("Revert"))
                .on_hover_text(
                    "Drop the unsaved changes: back to the plan as last opened or saved.",
                )
                .on_disabled_hover_text("Nothing to revert: no unsaved changes.")
                .clicked()
            {
                state.plan = runtime.saved_plan.clone();
            }
            if dirty {
                ui.label("unsaved changes");
            }
        });
    }

    /// The question asked before opening over unsaved changes, while one is pending.
    fn pending_open_ui(&mut self, ui: &mut egui::Ui, state: &mut AppState, runtime: &mut Runtime) {
        let Some(pending) = self.pending_open.clone() else {
            return;
        };
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(ui.visuals().warn_fg_color, unsaved_warning(&pending));
            if ui
                .button("Open anyway")
                .on_hover_text("Discard the unsaved changes and load the file.")
                .clicked()
            {
                self.open_plan(state, runtime, pending);
                // A failed load keeps the plan, so there is nothing left to ask about.
                self.pending_open = None;
            }
            if ui
                .button("Go back")
                .on_hover_text("Keep the unsaved changes and do not open the file.")
                .clicked()
            {
                self.pending_open = None;
            }
        });
    }

    /// The question asked before a save that would lose something, while one is pending:
    /// overwrite, save to another file (the Save as dialog) or cancel.
    fn pending_save_ui(&mut self, ui: &mut egui::Ui, state: &mut AppState, runtime: &mut Runtime) {
        let Some(pending) = self.pending_save.clone() else {
            return;
        };
        let warn = ui.visuals().warn_fg_color;
        let file = pending.path.display();
        if pending.changed_on_disk {
            // No stamp: state from a version that kept none, so it cannot be told.
            let text = match state.plan_stamp {
                Some(_) => {
                    format!("{file} changed on disk since it was opened or last saved here.")
                }
                None => format!(
                    "{file} may have changed on disk: there is no record of it as it was opened."
                ),
            };
            ui.colored_label(warn, text);
        }
        if pending.has_comments {
            ui.colored_label(
                warn,
                format!("{file} has comments (// or /* */); saving writes the plan without them."),
            );
        }
        ui.horizontal_wrapped(|ui| {
            if ui
                .button("Overwrite")
                .on_hover_text("Replace the file with this plan.")
                .clicked()
            {
                self.save_plan(state, runtime, pending.path.clone());
                // A failed save shows its error; the question has been answered.
                self.pending_save = None;
            }
            if ui
                .button("Save to another file…")
                .on_hover_text("Leave the file as it is and choose another one to save to.")
                .clicked()
            {
                self.pending_save = None;
                self.open_dialog(state, DialogMode::SaveAs);
            }
            if ui
                .button("Cancel")
                .on_hover_text("Do not save; the file stays as it is.")
                .clicked()
            {
                self.pending_save = None;
            }
        });
    }

    /// Export CSV: the candidates next to the path field's file (`path`).
    fn export_ui(&mut self, ui: &mut egui::Ui, path: Option<&Path>, results: &Results) {
        let csv = path.unwrap_or(Path::new("")).with_extension("csv");
        ui.horizontal(|ui| {
            if ui
                .add_enabled(path.is_some(), egui::Button::new("Export CSV"))
                .on_hover_text(
                    "Every candidate the optimiser scored (feasible or not), next to the plan file.",
                )
                .on_disabled_hover_text(NO_PATH)
                .clicked()
            {
                match export_csv(&results.plan, &results.optimum, &csv) {
                    Ok(message) => {
                        self.file_message = Some(message);
                        self.file_error = None;
                    }
                    Err(e) => self.file_error = Some(e),
                }
            }
        });
    }

    /// The other plan's path or preset name, a picker of the shipped presets, and
    /// Compare.
    fn compare_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let label = ui.label("other plan:");
            ui.add(egui::TextEdit::singleline(&mut self.compare_input).desired_width(300.0))
                .labelled_by(label.id)
                .on_hover_text("A second .ron plan file, or a shipped preset's name, to compare this one with.");
            let mut picked = None;
            egui::ComboBox::from_id_salt("compare_preset")
                .selected_text("preset…")
                .show_ui(ui, |ui| {
                    for p in PRESETS {
                        if ui.selectable_label(false, p.name).clicked() {
                            picked = Some(p.name);
                        }
                    }
                })
                .response
                .on_hover_text("Compare with a shipped preset.");
            if let Some(name) = picked {
                self.compare_input = name.to_owned();
                self.load_compare();
            }
            if ui
                .button("Compare")
                .on_hover_text("Load the other plan and show both recommendations side by side.")
                .clicked()
            {
                self.load_compare();
            }
        });
    }

    /// Loads the plan to compare with (a file, else a preset of that name); a bad one
    /// shows its error.
    fn load_compare(&mut self) {
        match load_other(&self.compare_input) {
            Ok(plan) => {
                self.compare = Some(Results::compute(&plan));
                self.file_error = None;
            }
            Err(e) => self.file_error = Some(e),
        }
    }
}
