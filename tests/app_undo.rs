//! Undo / redo of plan edits, headless with egui_kittest: a slider moved and Ctrl+Z
//! gives back the plan exactly, Ctrl+Shift+Z (and Ctrl+Y) re-applies it, one drag of
//! many small steps is one undo step, the Profile panel's Use in plan Apply undoes
//! like any edit, the top bar's buttons say what they undo, and a text field keeps
//! Ctrl+Z for its own typing.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::app::CostscopeApp;
use costscope::app::state::{AppState, Tab};
use costscope::model::Plan;
use costscope::plan::presets;
use costscope::profile::report::ProfileReport;
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// The software adapter lavapipe reports itself as.
const LLVMPIPE: &str = "llvmpipe (LLVM 15.0.7, 256 bits)";

/// A report as the profiler writes it: `mlp:small` in f32 on llvmpipe at batches 1 and
/// 4, that adapter's cold start, and two NVML power samples (60 and 80 W).
fn report() -> ProfileReport {
    let row = |batch: u64, median_ms: f64, cv: f64| {
        serde_json::json!({
            "device": LLVMPIPE, "workload": "mlp:small", "precision": "f32",
            "variant": "tiled", "chosen": true, "m": batch, "n": 256, "k": 256,
            "batch": batch, "supported": true, "why_unsupported": null,
            "correct": true, "rel_error": 1e-7,
            "timing": {
                "method": "timestamp", "median_ms": median_ms, "p5_ms": median_ms * 0.97,
                "p95_ms": median_ms * 1.05, "p99_ms": median_ms * 1.08,
                "min_ms": median_ms * 0.95, "max_ms": median_ms * 1.1, "cv": cv,
                "stable": true, "samples": 30
            },
            "gflops": 1.0, "gbytes_per_s": 1.0, "pct_of_peak": 1.0
        })
    };
    serde_json::from_value(serde_json::json!({
        "version": 1,
        "fingerprint": {"app_version": "0.1.0", "os": "linux", "cpu": "test", "date": "2026-12-01T00:00:00Z"},
        "adapters": [],
        "results": [row(1, 2.0, 0.04), row(4, 3.0, 0.06)],
        "cold_start_ms": null,
        "cold_start_all_ms": [{
            "device": LLVMPIPE, "instance": 10.0, "adapter": 20.0, "device_create": 30.0,
            "shader_module": 5.0, "pipeline": 5.0, "first_dispatch": 100.0,
            "weight_upload": 300.0, "first_result": 30.0, "shader_cache": "cold"
        }],
        "peaks": [],
        "telemetry": {
            "available": true, "why_unavailable": null, "energy_j_per_item": null,
            "samples": [{"t_s": 0.0, "power_w": 60.0}, {"t_s": 0.1, "power_w": 80.0}]
        }
    }))
    .unwrap()
}

fn plan(h: &Harness<'static, CostscopeApp>) -> Plan {
    h.state().state.plan.clone()
}

/// The Explore panel on the default plan.
fn explore() -> Harness<'static, CostscopeApp> {
    let a = CostscopeApp::new(AppState::new(presets::default_plan().unwrap(), None));
    assert_eq!(a.state.tab, Tab::Explore);
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), a);
    h.run();
    h
}

const ALPHA: &str = "α (weight of $/hour)";

fn undo(h: &mut Harness<'static, CostscopeApp>) {
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
}

fn redo(h: &mut Harness<'static, CostscopeApp>) {
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    h.run();
}

#[test]
fn a_moved_slider_undoes_exactly_and_redoes() {
    let mut h = explore();
    let before = plan(&h);
    assert!(h.query_by_label("(unsaved)").is_none());
    // A click on the slider's rail moves α to where it was clicked.
    h.get_by_role_and_label(Role::Slider, ALPHA).click();
    h.run();
    let moved = plan(&h);
    assert_ne!(moved.objective.alpha, before.objective.alpha);
    let mut expected = before.clone();
    expected.objective.alpha = moved.objective.alpha;
    assert_eq!(moved, expected, "only α moved");
    h.get_by_label("(unsaved)");
    undo(&mut h);
    assert_eq!(plan(&h), before);
    assert!(h.query_by_label("(unsaved)").is_none());
    redo(&mut h);
    assert_eq!(plan(&h), moved);
    h.get_by_label("(unsaved)");
    // Ctrl+Y redoes too.
    undo(&mut h);
    assert_eq!(plan(&h), before);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Y);
    h.run();
    assert_eq!(plan(&h), moved);
}

#[test]
fn one_drag_of_many_small_steps_is_one_undo_step() {
    let mut h = explore();
    // Only the held pointer joins the changes: no time window.
    h.state_mut().history.coalesce_s = 0.0;
    let before = plan(&h);
    let rail = h.get_by_role_and_label(Role::Slider, ALPHA).rect();
    let y = rail.center().y;
    let mut seen = vec![before.objective.alpha];
    h.hover_at(egui::pos2(rail.left() + 0.2 * rail.width(), y));
    h.drag_at(egui::pos2(rail.left() + 0.2 * rail.width(), y));
    h.run();
    for step in 1..=12 {
        let x = rail.left() + (0.2 + 0.05 * f32::from(step as u8)) * rail.width();
        h.hover_at(egui::pos2(x, y));
        h.run();
        seen.push(plan(&h).objective.alpha);
    }
    h.drop_at(egui::pos2(rail.left() + 0.8 * rail.width(), y));
    h.run();
    seen.dedup();
    assert!(seen.len() > 10, "the drag moved α in many steps: {seen:?}");
    assert_eq!(h.state().history.undo_len(), 1);
    undo(&mut h);
    assert_eq!(plan(&h), before);
    assert!(!h.state().history.can_undo());
}

#[test]
fn the_use_in_plan_apply_is_undoable_and_the_buttons_say_what_they_undo() {
    let mut a = CostscopeApp::new(AppState::new(presets::default_plan().unwrap(), None));
    a.state.tab = Tab::Profile;
    a.state.profile.run.report = Some(report());
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), a);
    h.run();
    let before = plan(&h);
    assert!(!h.state().history.can_undo());
    h.get_by_label("Use in plan").click();
    h.run();
    h.get_by_label("Apply").click();
    h.run();
    let applied = plan(&h);
    assert_ne!(applied, before);
    let text = h.state().history.undo_text(&applied).unwrap();
    // The default preset states its cold start in parts: the measured device set-up
    // replaces its part, and the cold start becomes their new sum.
    assert_eq!(
        text,
        "Undo: hardware.power_w, service.batch_latency_ms, service.cold_start_parts.device_setup_s and 2 more"
    );
    h.get_by_label("Undo").hover();
    h.run();
    h.get_by_label_contains(&text);
    h.get_by_label("Undo").click();
    h.run();
    assert_eq!(plan(&h), before);
    assert!(!h.state().history.can_undo());
    h.get_by_label("Redo").click();
    h.run();
    assert_eq!(plan(&h), applied);
}

#[test]
fn ctrl_z_in_a_text_field_leaves_the_plan_history_alone() {
    let mut h = explore();
    h.get_by_role_and_label(Role::Slider, ALPHA).click();
    h.run();
    let moved = plan(&h);
    h.get_by_label("Plan").click();
    h.run();
    // The path field has the keyboard: Ctrl+Z is its own.
    h.get_all_by_role(Role::TextInput).next().unwrap().click();
    h.run();
    assert!(h.ctx.text_edit_focused());
    undo(&mut h);
    assert_eq!(plan(&h), moved);
    assert!(h.state().history.can_undo());
}

#[test]
fn opening_another_plan_file_starts_a_new_history() {
    let mut h = explore();
    h.get_by_role_and_label(Role::Slider, ALPHA).click();
    h.run();
    assert!(h.state().history.can_undo());
    let dir = std::env::temp_dir().join(format!("costscope-undo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mmc.ron");
    let other = presets::load("textbook-mmc").unwrap();
    std::fs::write(&file, costscope::plan::to_ron_string(&other).unwrap()).unwrap();
    let app = h.state_mut();
    (app.plan_panel).open_plan(&mut app.state, &mut app.runtime, file);
    h.run();
    assert_eq!(plan(&h), other);
    assert!(!h.state().history.can_undo() && !h.state().history.can_redo());
    undo(&mut h);
    assert_eq!(plan(&h), other, "nothing of the last file's edits to undo");
    std::fs::remove_dir_all(&dir).unwrap();
}
