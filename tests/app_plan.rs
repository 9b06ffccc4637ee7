//! The Plan panel, headless with egui_kittest: a shipped preset picked as the plan
//! (asking over unsaved changes, then read-only: Save gives way to Save as…), a preset
//! compared by name with differences and the better side, and Export CSV writing every
//! candidate the optimiser scored.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::app::CostscopeApp;
use costscope::app::plan_csv::{CSV_HEADER, all_candidates};
use costscope::app::state::{AppState, Tab};
use costscope::model::{SweepOptions, optimize};
use costscope::plan::presets;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// The app on the Plan panel, opened on the preset `preset`'s plan with no file.
fn harness(preset: &str) -> Harness<'static, CostscopeApp> {
    let mut app = CostscopeApp::new(AppState::new(presets::load(preset).unwrap(), None));
    app.state.tab = Tab::Plan;
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), app);
    h.run();
    h
}

/// Picks `name` in the Plan file's preset picker.
fn pick_preset(h: &mut Harness<'static, CostscopeApp>, name: &str) {
    h.get_by_label("preset:").click();
    h.run();
    h.get_by_label(name).click();
    h.run();
}

#[test]
fn a_picked_preset_asks_over_unsaved_changes_then_opens_read_only() {
    let mut h = harness("healthcare-triage");
    h.get_by_label("Save");
    h.state_mut().state.plan.objective.beta = 0.77;
    let edited = h.state().state.plan.clone();
    h.run();
    pick_preset(&mut h, "spot-sweep");
    assert_eq!(h.state().state.plan, edited, "nothing replaced yet");
    h.get_by_label_contains("opening the preset spot-sweep replaces them");
    h.get_by_label("Go back").click();
    h.run();
    assert_eq!(h.state().state.plan, edited);
    pick_preset(&mut h, "spot-sweep");
    h.get_by_label("Open anyway").click();
    h.run();
    let spot = presets::load("spot-sweep").unwrap();
    assert_eq!(h.state().state.plan, spot);
    assert_eq!(h.state().runtime.saved_plan, spot);
    assert!(h.state().state.plan_path.is_none(), "a preset has no file");
    assert_eq!(h.state().plan_panel.preset, Some("spot-sweep"));
    // Read-only: no Save button, Save as… is there.
    assert!(
        h.query_by_label("Save").is_none(),
        "Save is gone for a preset"
    );
    h.get_by_label("Save as…");
    h.get_by_label("preset: read-only, use Save as…");
}

#[test]
fn a_preset_compared_by_name_shows_differences_and_the_better_side() {
    let mut h = harness("healthcare-triage");
    h.state_mut().plan_panel.compare_input = "startup-transcribe".into();
    h.run();
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Startup voice notes on serverless");
    h.get_by_label("B − A");
    let a = h.state().runtime.results.best().unwrap().clone();
    let other = h.state().plan_panel.compare.clone().unwrap();
    let b = other.best().unwrap();
    let d = b.cost_usd_per_hour - a.cost_usd_per_hour;
    let sign = if d > 0.0 { "+" } else { "" };
    let text = format!("{sign}{} $/hour", costscope::app::format::fmt_sig(d, 3));
    h.get_by_label(&text.replace('-', "−"));
    // One "better" verdict per row with a better side: A or B, never blank.
    let verdicts = h.query_all_by_label("A").count() + h.query_all_by_label("B").count();
    assert!(
        verdicts >= 4,
        "cost, cost per million, p95, J (and cold starts): {verdicts}"
    );
}

#[test]
fn export_csv_writes_every_candidate_the_optimiser_scored() {
    let dir = std::env::temp_dir().join(format!("costscope-app-plan-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = dir.join("mmc.ron");
    // The textbook M/M/c: small fleets are overloaded, so infeasible rows are there.
    let mut h = harness("textbook-mmc");
    h.state_mut().plan_panel.path_input = plan_path.display().to_string();
    h.run();
    h.get_by_label("Export CSV").click();
    h.run();
    let csv = std::fs::read_to_string(plan_path.with_extension("csv")).unwrap();
    let plan = h.state().state.plan.clone();
    let optimum = optimize(&plan, &SweepOptions::for_plan(&plan)).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    let all = all_candidates(&plan).unwrap();
    assert_eq!(lines.count(), all.len());
    let scored = all.iter().filter(|e| e.latency_ms.is_some()).count();
    assert_eq!(
        scored, optimum.evaluated,
        "the optimiser's scored candidates, all listed"
    );
    let feasible_col = CSV_HEADER.split(',').position(|c| c == "feasible").unwrap();
    let infeasible = (csv.lines().skip(1))
        .filter(|l| l.split(',').nth(feasible_col) == Some("false"))
        .count();
    assert!(infeasible > 0, "infeasible candidates are listed too");
    h.get_by_label_contains(&format!("exported {} candidates", all.len()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn export_csv_asks_before_replacing_a_file() {
    let dir =
        std::env::temp_dir().join(format!("costscope-app-plan-csv-ask-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = dir.join("mine.ron");
    let csv = plan_path.with_extension("csv");
    std::fs::write(&csv, "mine, not an export\n").unwrap();
    let mut h = harness("textbook-mmc");
    h.state_mut().plan_panel.path_input = plan_path.display().to_string();
    h.run();
    h.get_by_label("Export CSV").click();
    h.run();
    // Asked, not written.
    h.get_by_label(&format!("{} exists.", csv.display()));
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "mine, not an export\n"
    );
    h.get_by_label("Cancel").click();
    h.run();
    assert!(h.query_by_label_contains("exists.").is_none());
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "mine, not an export\n"
    );
    // Asked again; Overwrite replaces it with the candidates.
    h.get_by_label("Export CSV").click();
    h.run();
    h.get_by_label("Overwrite").click();
    h.run();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().next(), Some(CSV_HEADER));
    h.get_by_label_contains("exported ");
    assert!(h.query_by_label_contains("exists.").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
