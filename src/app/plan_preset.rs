//! App layer: the Plan panel's preset picker — a shipped preset opened as the plan,
//! asking first over unsaved changes as opening a file does. A preset has no file of
//! its own to write: while one is open, Save gives way to Save as….

use eframe::egui;

use super::plan_ui::PlanPanel;
use super::state::{AppState, Runtime};
use crate::plan::presets::{PRESETS, load};

/// The question asked before a preset replaces unsaved changes.
pub fn unsaved_preset_warning(name: &str) -> String {
    format!("The plan has unsaved changes; opening the preset {name} replaces them.")
}

impl PlanPanel {
    /// Opens the shipped preset `name` as the plan: no file (so nothing can save over
    /// the preset), the path field emptied. On error keeps the plan and records it.
    pub fn open_preset(&mut self, state: &mut AppState, runtime: &mut Runtime, name: &'static str) {
        match load(name) {
            Ok(plan) => {
                runtime.saved_plan = plan.clone();
                state.plan = plan;
                (state.plan_path, state.plan_stamp) = (None, None);
                self.path_input.clear();
                self.file_message = Some(format!(
                    "opened preset {name} (read-only: Save as… writes it to a file)"
                ));
                (self.file_error, self.restore_note) = (None, None);
                (self.pending_open, self.pending_save) = (None, None);
                self.pending_preset = None;
                self.preset = Some(name);
            }
            Err(e) => {
                self.file_error = Some(e.to_string());
                self.file_message = None;
            }
        }
    }

    /// Opens the preset `name`, unless that would drop unsaved changes: then the Plan
    /// panel asks first, with the question a file open asks.
    pub fn request_preset(
        &mut self,
        state: &mut AppState,
        runtime: &mut Runtime,
        name: &'static str,
    ) {
        if state.plan != runtime.saved_plan {
            self.pending_open = None;
            self.pending_preset = Some(name);
        } else {
            self.open_preset(state, runtime, name);
        }
    }

    /// The preset picker: choosing one opens it (asking first over unsaved changes).
    pub(super) fn preset_picker_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &mut AppState,
        runtime: &mut Runtime,
    ) {
        let mut picked = None;
        ui.horizontal(|ui| {
            let label = ui.label("preset:");
            egui::ComboBox::from_id_salt("plan_preset")
                .selected_text(self.preset.unwrap_or("choose…"))
                .show_ui(ui, |ui| {
                    for p in PRESETS {
                        if ui.selectable_label(self.preset == Some(p.name), p.name).clicked() {
                            picked = Some(p.name);
                        }
                    }
                })
                .response
                .labelled_by(label.id)
                .on_hover_text(
                    "Open a shipped preset as the plan; it is read-only, so Save as… keeps changes.",
                );
        });
        if let Some(name) = picked {
            self.request_preset(state, runtime, name);
        }
    }

    /// The question asked before a preset replaces unsaved changes, while one is
    /// pending: open it anyway or go back.
    pub(super) fn pending_preset_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &mut AppState,
        runtime: &mut Runtime,
    ) {
        let Some(name) = self.pending_preset else {
            return;
        };
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(ui.visuals().warn_fg_color, unsaved_preset_warning(name));
            if ui
                .button("Open anyway")
                .on_hover_text("Discard the unsaved changes and open the preset.")
                .clicked()
            {
                self.open_preset(state, runtime, name);
                self.pending_preset = None;
            }
            if ui
                .button("Go back")
                .on_hover_text("Keep the unsaved changes and do not open the preset.")
                .clicked()
            {
                self.pending_preset = None;
            }
        });
    }
}
