//! App layer: an in-app file browser for plan files (Open and Save as) and model
//! configs (Open, from the Profile panel). It is drawn in
//! egui because a native dialog (`rfd`) needs GTK or a desktop portal, which the
//! machines costscope runs on often lack. A folder is read when the dialog moves to it,
//! never per frame; every failure is one line in the dialog naming the path and the OS
//! reason, and the dialog stays usable.

use std::path::{Path, PathBuf};

use eframe::egui;

pub use super::file_list::{Entry, FileKind};
use super::file_list::{read_entries, shows, with_ron_extension};

/// What the dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DialogMode {
    /// Pick an existing file to load (a plan, or a model config).
    #[default]
    Open,
    /// Pick the file to save the plan to.
    SaveAs,
}

/// What the user chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Load this file (replacing unsaved changes was confirmed if there were any).
    Open(PathBuf),
    /// Save the plan here (overwriting was confirmed if the file exists).
    Save(PathBuf),
    /// Closed without choosing.
    Cancel,
}

/// The dialog's state: runtime-only, it lives in [`super::plan_ui::PlanPanel`] (plans)
/// or the Profile panel's model picker (configs) while open.
#[derive(Debug, Clone, Default)]
pub struct FileDialog {
    /// Open or Save as.
    pub mode: DialogMode,
    /// Plans or model configs: what the filter lists and what the words call a file.
    pub kind: FileKind,
    /// The folder listed (absolute, symlinks resolved).
    pub dir: PathBuf,
    /// Its entries, folders first, read when `dir` changed.
    pub entries: Vec<Entry>,
    /// The clicked entry, `..` included.
    pub selected: Option<PathBuf>,
    /// The file name typed for Save as.
    pub file_name: String,
    /// The path bar's text (the folder, or what is being typed).
    pub path_input: String,
    /// List every file, not only those of [`FileDialog::kind`] (folders always show).
    pub all_files: bool,
    /// The last failure, one line naming the path and the OS reason.
    pub error: Option<String>,
    /// An outcome held back until the user confirms it: opening over unsaved changes,
    /// or saving over an existing file. Nothing is lost without a click.
    pub question: Option<Outcome>,
}

/// The line asked before opening over unsaved changes (the Plan panel asks the same).
pub fn unsaved_warning(path: &Path) -> String {
    let path = path.display();
    format!("The plan has unsaved changes; opening {path} replaces them.")
}

/// A button with its tooltip; true when clicked.
fn button(ui: &mut egui::Ui, enabled: bool, text: &str, why: &str) -> bool {
    ui.add_enabled(enabled, egui::Button::new(text))
        .on_hover_text(why)
        .on_disabled_hover_text(why)
        .clicked()
}

impl FileDialog {
    /// A dialog in `mode` on `dir`; when `dir` cannot be read it says so and lists the
    /// working folder instead. `file_name` pre-fills Save as.
    pub fn new(mode: DialogMode, dir: &Path, file_name: String) -> Self {
        let mut dialog = Self {
            mode,
            file_name,
            ..Self::default()
        };
        if !dialog.go_to(dir) {
            let first_error = dialog.error.take();
            dialog.go_to(Path::new("."));
            dialog.error = first_error;
        }
        dialog
    }

    /// Lists `dir` (relative to the current folder) and makes it current. On failure the
    /// old listing stays and the error line says why; returns whether it moved.
    pub fn go_to(&mut self, dir: &Path) -> bool {
        let wanted = self.dir.join(dir);
        let listed = (wanted.canonicalize())
            .map_err(|e| format!("cannot open {}: {e}", wanted.display()))
            .and_then(|d| read_entries(&d).map(|entries| (d, entries)));
        match listed {
            Ok((dir, entries)) => {
                self.path_input = dir.display().to_string();
                (self.dir, self.entries) = (dir, entries);
                (self.selected, self.question, self.error) = (None, None, None);
                true
            }
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    /// Selects `path`; in Save as a file's name also becomes the name to save under.
    fn select(&mut self, path: PathBuf) {
        if self.mode == DialogMode::SaveAs
            && !path.is_dir()
            && let Some(name) = path.file_name()
        {
            self.file_name = name.to_string_lossy().into_owned();
        }
        (self.question, self.selected) = (None, Some(path));
    }

    /// Open / Save / Enter: enters a selected folder, else returns what to do, holding it
    /// as a question when it would drop unsaved changes (`dirty`) or overwrite a file.
    fn confirm(&mut self, dirty: bool) -> Option<Outcome> {
        let open = self.mode == DialogMode::Open;
        let name = with_ron_extension(&self.file_name).filter(|_| !open);
        // Save as saves under the typed name even with a folder selected; without a name
        // a selected folder is entered, in either mode.
        let chosen = match (name, self.selected.clone()) {
            (Some(name), _) => Outcome::Save(self.dir.join(name)),
            (None, Some(path)) if open || path.is_dir() => Outcome::Open(path),
            (None, _) => {
                let why = if open {
                    format!("select a {} first", self.kind.noun())
                } else {
                    "type a file name first".to_owned()
                };
                self.error = Some(why);
                return None;
            }
        };
        let (Outcome::Open(path) | Outcome::Save(path)) = &chosen else {
            return None;
        };
        if path.is_dir() {
            let path = path.clone();
            self.go_to(&path);
            return None;
        }
        let risky = match &chosen {
            Outcome::Save(path) => path.exists(),
            _ => dirty,
        };
        if risky {
            self.question = Some(chosen);
            return None;
        }
        Some(chosen)
    }

    /// Shows the dialog centred over the window; returns what the user chose, once.
    /// `dirty`: the plan has unsaved changes.
    pub fn ui(&mut self, ctx: &egui::Context, dirty: bool) -> Option<Outcome> {
        let (title, id) = match (self.mode, self.kind) {
            (DialogMode::Open, FileKind::Plan) => ("Open plan", "costscope_file_dialog"),
            (DialogMode::SaveAs, FileKind::Plan) => ("Save plan as", "costscope_file_dialog"),
            // Only ever opened to read one: the profiler never writes a config.
            (_, FileKind::ModelConfig) => ("Open model config", "costscope_config_dialog"),
        };
        egui::Window::new(title)
            .id(egui::Id::unique(id))
            .collapsible(false)
            .resizable(false)
            .order(egui::Order::Foreground)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .default_width(620.0)
            .show(ctx, |ui| self.contents_ui(ui, dirty))
            .and_then(|r| r.inner.flatten())
    }

    /// Everything inside the dialog's window; returns what the user chose this frame.
    fn contents_ui(&mut self, ui: &mut egui::Ui, dirty: bool) -> Option<Outcome> {
        let mut outcome = None;
        let bar_entered = self.folder_bar_ui(ui);
        self.filter_ui(ui);
        ui.separator();
        if self.list_ui(ui) {
            outcome = self.confirm(dirty);
        }
        ui.separator();
        if self.mode == DialogMode::SaveAs {
            self.file_name_ui(ui);
        }
        if let Some(answer) = self.question_ui(ui) {
            outcome = Some(answer);
        }
        if let Some(err) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, err);
        }
        self.buttons_ui(ui, dirty, &mut outcome);
        // Keys last, so the path bar has seen its Enter. A pending question needs a click:
        // Enter must not overwrite a file or drop edits by accident; Escape dismisses it.
        let key = |k| ui.input(|i| i.key_pressed(k));
        let (enter, escape) = (key(egui::Key::Enter), key(egui::Key::Escape));
        if escape && self.question.take().is_none() {
            return Some(Outcome::Cancel);
        }
        if enter && !bar_entered && outcome.is_none() && self.question.is_none() {
            outcome = self.confirm(dirty);
        }
        outcome
    }

    /// Home, Working folder and the folder bar; returns true when Enter was pressed in
    /// the bar (it moved there, so that Enter must not also confirm).
    fn folder_bar_ui(&mut self, ui: &mut egui::Ui) -> bool {
        let mut bar_entered = false;
        ui.horizontal(|ui| {
            if button(ui, true, "Home", "Go to your home folder.") {
                match std::env::home_dir() {
                    Some(home) => _ = self.go_to(&home),
                    None => self.error = Some("no home folder: $HOME is not set".into()),
                }
            }
            if button(ui, true, "Working folder", "Go to the folder costscope started in.") {
                match std::env::current_dir() {
                    Ok(cwd) => _ = self.go_to(&cwd),
                    Err(e) => self.error = Some(format!("cannot find the working folder: {e}")),
                }
            }
            let label = ui.label("folder:");
            let bar = egui::TextEdit::singleline(&mut self.path_input).desired_width(f32::INFINITY);
            let bar = (ui.add(bar).labelled_by(label.id)).on_hover_text(
                "The folder listed: type a path (absolute, or relative to it) and press Enter to go there.",
            );
            if bar.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                bar_entered = true;
                self.go_to(&PathBuf::from(self.path_input.trim()));
            }
        });
        bar_entered
    }

    /// Plans only, or every file.
    fn filter_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let (text, why) = self.kind.filter_text();
            ui.radio_value(&mut self.all_files, false, text)
                .on_hover_text(why);
            let all = ui.radio_value(&mut self.all_files, true, "all files");
            if all.on_hover_text("List every file.").changed() {
                self.selected = None; // it may be hidden now
            }
        });
    }

    /// Save as: the name to save under.
    fn file_name_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let label = ui.label("file name:");
            let field = egui::TextEdit::singleline(&mut self.file_name).desired_width(360.0);
            let field = (ui.add(field).labelled_by(label.id)).on_hover_text(
                "The file to save to, in the folder listed; .ron is added when there is no extension.",
            );
            if field.changed() {
                self.question = None; // the question was about the old name
            }
        });
    }

    /// The question held back (overwrite, or drop unsaved changes), while there is one;
    /// returns its outcome when the user agrees.
    fn question_ui(&mut self, ui: &mut egui::Ui) -> Option<Outcome> {
        let question = self.question.clone()?;
        let mut agreed = None;
        ui.horizontal_wrapped(|ui| {
            let (text, yes, why) = match &question {
                Outcome::Save(p) => (
                    format!("{} already exists.", p.display()),
                    "Overwrite",
                    "Replace the existing file with this plan.",
                ),
                Outcome::Cancel => return, // never held as a question
                Outcome::Open(p) => (
                    unsaved_warning(p),
                    "Open anyway",
                    "Discard the unsaved changes and load the file.",
                ),
            };
            ui.colored_label(ui.visuals().warn_fg_color, text);
            if button(ui, true, yes, why) {
                agreed = Some(question.clone());
            }
            if button(ui, true, "Go back", "Do nothing yet and choose again.") {
                self.question = None;
            }
        });
        agreed
    }

    /// Open / Save and Cancel: a click replaces `outcome` with what it chose.
    fn buttons_ui(&mut self, ui: &mut egui::Ui, dirty: bool, outcome: &mut Option<Outcome>) {
        ui.horizontal(|ui| {
            let (label, why) = match self.mode {
                DialogMode::Open => ("Open", self.kind.open_hint()),
                DialogMode::SaveAs => (
                    "Save",
                    "Save the plan under the file name (Enter); asks before overwriting.",
                ),
            };
            if button(ui, self.question.is_none(), label, why) {
                *outcome = self.confirm(dirty);
            }
            if button(ui, true, "Cancel", "Close, choosing nothing (Escape).") {
                *outcome = Some(Outcome::Cancel);
            }
        });
    }

    /// The listing: `..`, then the folders and files that pass the filter. Only the rows
    /// in view are laid out, so a huge folder stays cheap. Returns true when a file was
    /// double-clicked: it is chosen as if Open / Save were pressed.
    fn list_ui(&mut self, ui: &mut egui::Ui) -> bool {
        let up = (self.dir.parent()).map(|p| Entry {
            name: "..".into(),
            path: p.to_path_buf(),
            is_dir: true,
        });
        let rows: Vec<&Entry> = (up.iter())
            .chain((self.entries.iter()).filter(|e| shows(e, self.all_files, self.kind)))
            .collect();
        let (mut clicked, mut opened) = (None, None);
        let row_height_px = ui.spacing().interact_size.y;
        let scroll = egui::ScrollArea::vertical()
            .max_height(300.0)
            .auto_shrink([false, true]);
        scroll.show_rows(ui, row_height_px, rows.len(), |ui, range| {
            for entry in &rows[range] {
                let (text, why) = match (entry.name.as_str(), entry.is_dir) {
                    ("..", true) => ("..".into(), "The parent folder: double-click to go up."),
                    (name, true) => (format!("{name}/"), "A folder: double-click to open it."),
                    (name, false) => (
                        name.into(),
                        "A file: click to select, double-click to choose it.",
                    ),
                };
                let selected = self.selected.as_ref() == Some(&entry.path);
                let row = ui.selectable_label(selected, text).on_hover_text(why);
                if row.double_clicked() {
                    opened = Some(entry.path.clone());
                } else if row.clicked() {
                    clicked = Some(entry.path.clone());
                }
            }
        });
        if rows.len() == usize::from(up.is_some()) {
            ui.weak(if self.all_files {
                "empty folder".to_owned()
            } else {
                format!("no {}s here", self.kind.noun())
            });
        }
        if let Some(path) = clicked {
            self.select(path);
        }
        match opened {
            Some(path) if path.is_dir() => _ = self.go_to(&path),
            Some(path) => {
                self.select(path);
                return true;
            }
            None => {}
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_is_one_error_line_and_the_listing_stays() {
        let here = std::env::current_dir().unwrap();
        let mut dialog = FileDialog::new(DialogMode::Open, &here, String::new());
        assert_eq!(dialog.error, None);
        let listed = dialog.entries.clone();
        assert!(!dialog.go_to(Path::new("/no/such/costscope/folder")));
        let err = dialog.error.clone().unwrap();
        assert!(err.contains("/no/such/costscope/folder"), "{err}");
        assert!(err.contains("os error"), "the OS reason: {err}");
        assert!(!err.contains('\n'), "{err}");
        assert_eq!(dialog.dir, here.canonicalize().unwrap());
        assert_eq!(dialog.entries, listed);
    }
}
