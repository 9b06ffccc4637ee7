//! App layer: the Plan panel — the recommendation in words and numbers, and the plan
//! file: open, save, revert. A bad file shows its error and keeps the current plan.

use std::path::PathBuf;

use eframe::egui;

use super::explore_ui::describe;
use super::state::{AppState, Runtime};
use crate::plan::{load_file, save_file};

/// Opens `path` into `state`; on error keeps the plan and records the message.
pub fn open_plan(state: &mut AppState, runtime: &mut Runtime, path: PathBuf) {
    match load_file(&path) {
        Ok(plan) => {
            runtime.saved_plan = plan.clone();
            state.plan = plan;
            runtime.path_input = path.display().to_string();
            runtime.file_message = Some(format!("opened {}", path.display()));
            runtime.file_error = None;
            state.plan_path = Some(path);
        }
        Err(e) => {
            runtime.file_error = Some(e.to_string());
            runtime.file_message = None;
        }
    }
}

/// Saves the plan to `path` atomically; on error records the message.
pub fn save_plan(state: &mut AppState, runtime: &mut Runtime, path: PathBuf) {
    match save_file(&state.plan, &path) {
        Ok(()) => {
            runtime.saved_plan = state.plan.clone();
            runtime.file_message = Some(format!("saved to {}", path.display()));
            runtime.file_error = None;
            state.plan_path = Some(path);
        }
        Err(e) => {
            runtime.file_error = Some(e.to_string());
            runtime.file_message = None;
        }
    }
}

/// The Plan panel.
pub fn plan_ui(ui: &mut egui::Ui, state: &mut AppState, runtime: &mut Runtime) {
    ui.heading(&state.plan.name);
    if !state.plan.notes.is_empty() {
        ui.label(&state.plan.notes);
    }
    ui.separator();
    ui.heading("Recommended plan");
    match runtime
        .results
        .optimum
        .as_ref()
        .ok()
        .and_then(|o| o.best.as_ref())
    {
        Some(best) => {
            ui.label(format!("Run it as: {}.", describe(best)));
            if let Some(l) = best.latency_ms {
                ui.label(format!(
                    "Cost {:.3} $/hour ({} $ per million requests); latency mean {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; utilisation {:.1} %; cold starts {:.2} %.",
                    best.cost_usd_per_hour,
                    best.cost_usd_per_million.map_or_else(|| "-".into(), |c| format!("{c:.2}")),
                    l.mean,
                    l.p95,
                    l.p99,
                    best.utilization * 100.0,
                    best.cold_start_fraction * 100.0
                ));
            }
        }
        None => {
            ui.label("No feasible candidate: relax the SLO or allow more servers.");
        }
    }
    if let Some(e) = &runtime.results.evaluation {
        ui.label(format!(
            "As written ({}): {:.3} $/hour{}",
            describe(e),
            e.cost_usd_per_hour,
            e.why_infeasible
                .as_ref()
                .map_or_else(String::new, |w| format!(" — infeasible: {w}"))
        ));
    }
    ui.separator();
    ui.heading("Plan file");
    ui.horizontal(|ui| {
        let label = ui.label("path:");
        ui.add(egui::TextEdit::singleline(&mut runtime.path_input).desired_width(420.0))
            .labelled_by(label.id)
            .on_hover_text("A .ron plan file; you can also drop one onto the window.");
    });
    let path = PathBuf::from(runtime.path_input.trim());
    let has_path = !runtime.path_input.trim().is_empty();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(has_path, egui::Button::new("Open"))
            .clicked()
        {
            open_plan(state, runtime, path.clone());
        }
        if ui
            .add_enabled(has_path, egui::Button::new("Save"))
            .clicked()
        {
            save_plan(state, runtime, path.clone());
        }
        let dirty = state.plan != runtime.saved_plan;
        if ui.add_enabled(dirty, egui::Button::new("Revert")).clicked() {
            state.plan = runtime.saved_plan.clone();
        }
        if dirty {
            ui.label("unsaved changes");
        }
    });
    if let Some(err) = &runtime.file_error {
        ui.colored_label(ui.visuals().error_fg_color, err);
    }
    if let Some(msg) = &runtime.file_message {
        ui.label(msg);
    }
}
