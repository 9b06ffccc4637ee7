//! App layer: the Plan panel's plan file — the path field, Open, Save, Save as… and
//! Revert, and the questions asked first: opening over unsaved changes, saving over a
//! file that changed on disk since it was opened or that has comments (saving drops
//! them). A bad file shows its error and keeps the current plan.

use std::path::{Path, PathBuf};

use eframe::egui;

use super::file_dialog::{DialogMode, FileDialog, Outcome, unsaved_warning};
use super::plan_file::{FileStamp, absolute, has_comments, read_plan};
use super::plan_ui::{NO_PATH, PendingSave, PlanPanel};
use super::state::{AppState, Runtime};
use crate::plan::save_file;

/// Longest file name offered for a plan never saved, before `.ron`.
const MAX_FILE_STEM_CHARS: usize = 64;

impl PlanPanel {
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

    /// The path field with Open… and Save as… (the file dialog).
    pub(super) fn path_bar_ui(&mut self, ui: &mut egui::Ui, state: &AppState) {
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
    pub(super) fn typed_path(&self) -> Option<PathBuf> {
        let text = self.path_input.trim();
        (!text.is_empty()).then(|| PathBuf::from(text))
    }

    /// Open, Save and Revert on the path field's file (`path`, when one is typed).
    pub(super) fn file_buttons_ui(
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
    pub(super) fn pending_open_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &mut AppState,
        runtime: &mut Runtime,
    ) {
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
    pub(super) fn pending_save_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &mut AppState,
        runtime: &mut Runtime,
    ) {
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
