//! The Hardware panel, headless with egui_kittest on a real wgpu adapter (lavapipe in
//! CI): its figures equal `costscope plan --hardware all --json`'s for a preset, a tick
//! in the picker edits the plan's candidates and undoes like any plan edit, and the
//! sweep reruns only when the plan changes.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::costscope;

use costscope::app::CostscopeApp;
use costscope::app::hardware_figures::{HardwareFigures, cost_bars};
use costscope::app::state::{AppState, Tab};
use costscope::model::HardwareCandidates;
use costscope::plan::presets;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use serde_json::Value;

fn harness(preset: &str) -> Harness<'static, CostscopeApp> {
    let mut a = CostscopeApp::new(AppState::new(presets::load(preset).unwrap(), None));
    a.state.tab = Tab::Hardware;
    let mut h = Harness::builder()
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), a);
    h.run();
    h
}

#[test]
fn the_panel_and_the_cli_give_the_same_cost_per_offer() {
    for preset in ["healthcare-triage", "workstation-vs-cloud"] {
        let (code, out, err) = costscope(&["plan", preset, "--hardware", "all", "--json"]);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let cli = &v["hardware"];
        let catalog = costscope::plan::catalog::shipped().unwrap();
        let f = HardwareFigures::compute(&presets::load(preset).unwrap(), &catalog);
        let sweep = f.sweep.as_ref().unwrap();
        let bars = cost_bars(sweep);
        let offers = cli["offers"].as_array().unwrap();
        assert_eq!(bars.len(), offers.len());
        for (b, o) in bars.iter().zip(offers) {
            assert_eq!(o["offer"].as_str(), Some(b.offer.as_str()));
            assert_eq!(
                o["best"]["cost_usd_per_hour"].as_f64(),
                b.usd_per_hour,
                "{preset} {}",
                b.offer
            );
        }
        assert_eq!(
            cli["recommendation"].as_u64().map(|r| r as usize),
            sweep.recommendation
        );
        assert_eq!(cli["evaluated"].as_u64(), Some(sweep.evaluated as u64));
        assert_eq!(
            cli["mix"]["best"]["cost_usd_per_hour"].as_f64(),
            sweep.mix.as_ref().map(|m| m.best.cost_usd_per_hour)
        );
    }
}

#[test]
fn the_panel_renders_and_a_tick_is_an_undoable_plan_edit() {
    let mut h = harness("healthcare-triage");
    h.get_by_label_contains("Cheapest fleet meeting the SLO on every catalog offer");
    h.get_by_label("Cost per hardware at the SLO, $/hour");
    h.get_by_label_contains("Recommended: ");
    h.get_by_label("projection for");
    let sweeps = h.state().state.hardware.figures.clone().unwrap();
    // Frames without an edit reuse the sweep.
    h.run();
    assert_eq!(
        h.state().state.hardware.figures.as_ref().unwrap().plan,
        sweeps.plan
    );
    assert_eq!(h.state().state.plan.hardware_candidates, None);
    h.get_by_label("Modal T4").click();
    h.run();
    assert_eq!(
        h.state().state.plan.hardware_candidates,
        Some(HardwareCandidates::Offers(vec!["Modal T4".into()]))
    );
    h.get_by_label_contains("Cheapest fleet meeting the SLO on the plan's 1 candidate offers");
    let f = h.state().state.hardware.figures.clone().unwrap();
    assert_eq!(f.sweep.unwrap().offers.len(), 1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert_eq!(h.state().state.plan.hardware_candidates, None);
    // The cost axis switches to log10 and back.
    h.get_by_label("log $/hour axis").click();
    h.run();
    assert!(h.state().state.hardware.settings.log_axis);
    // The search box narrows the list.
    h.state_mut().state.hardware.settings.search = "h200".into();
    h.run();
    assert!(h.query_by_label("Modal T4").is_none());
}

#[test]
fn with_the_profile_report_each_operator_is_projected_to_the_selected_offer() {
    use costscope::app::hardware_ops::op_projection;
    use costscope::model::projection::{ProjectionOptions, project};
    use costscope::profile::projection_input::{local_roofline, memory_of, op_measurements};
    use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Cpu;
    opts.models = vec!["tiny-bert".into()];
    opts.precisions = vec![Precision::F32];
    opts.gemm_sizes = Vec::new();
    opts.seq_lens = vec![32];
    opts.batches = vec![1];
    opts.budget_per_row = std::time::Duration::from_millis(150);
    let report = run_profile(&opts, &mut |_| {}).expect("profile");
    let mut plan = presets::load("healthcare-triage").unwrap();
    plan.service.seq_len = 32;
    plan.service.source = costscope::model::Source::Profile {
        report: "last-profile.json".into(),
        adapter: "cpu".into(),
        precision: Precision::F32,
        model: "tiny-bert".into(),
    };
    let catalog = costscope::plan::catalog::shipped().unwrap();
    let h100 = catalog.accelerator("H100-SXM").unwrap();
    let (batch, p) = op_projection(&plan, &report, h100).unwrap();
    assert_eq!(batch, 1);
    // The library's projection of the same row, operator by operator.
    let row = (report.results.iter())
        .find(|r| r.device == "cpu" && !r.ops.is_empty() && r.seq_len == Some(32))
        .unwrap();
    let expect = project(
        &op_measurements(row),
        local_roofline(&report, row).unwrap(),
        h100,
        Precision::F32,
        memory_of(row, 1),
        ProjectionOptions::default(),
    )
    .unwrap();
    assert_eq!(p, expect);
    assert!(!p.ops.is_empty());
    // The panel shows the table when the Profile panel holds the report.
    let mut a = CostscopeApp::new(AppState::new(plan, None));
    a.state.tab = Tab::Hardware;
    a.state.profile.run.report = Some(report);
    a.state.hardware.settings.selected = Some("Hyperstack H100 SXM (1 GPU)".into());
    let mut h = Harness::builder()
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), a);
    h.run();
    h.get_by_label_contains("Per operator at batch 1 on H100-SXM");
    h.get_by_label(&p.ops[0].name);
}
