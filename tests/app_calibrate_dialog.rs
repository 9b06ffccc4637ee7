//! The Profile panel's "Use in plan", headless with egui_kittest: it opens a dialog
//! listing every field the calibration changes (before -> after, why), the kept fields,
//! the rows used and the warnings; Apply writes exactly the ticked fields, Cancel and
//! Escape nothing; a report without the plan's sequence length is one line in the
//! panel naming the app's controls, and no dialog.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::app::CostscopeApp;
use costscope::app::state::{AppState, Tab};
use costscope::model::{Plan, Source};
use costscope::plan::presets;
use costscope::profile::Precision;
use costscope::profile::cpu::transformer_rows::base_row;
use costscope::profile::report::ProfileReport;
use costscope::profile::stats::{TimingMethod, summarize};
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};
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

/// The Profile panel on the default plan, showing `report`.
#[test]
fn the_button_says_which_rows_it_will_use_before_it_is_clicked() {
    let mut h = showing(report());
    let before = plan(&h);
    h.get_by_label("Use in plan").hover();
    h.run();
    h.get_by_label("It will use:");
    h.get_by_label(&format!(
        "results[0]: {LLVMPIPE} f32 mlp:small batch 1: median 2.000 ms"
    ));
    // Hovering opens nothing and changes nothing.
    assert!(!dialog_open(&h));
    assert_eq!(plan(&h), before);
}

fn showing(report: ProfileReport) -> Harness<'static, CostscopeApp> {
    let mut a = CostscopeApp::new(AppState::new(presets::default_plan().unwrap(), None));
    a.state.tab = Tab::Profile;
    a.state.profile.run.report = Some(report);
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), a);
    h.run();
    h
}

fn plan(h: &Harness<'static, CostscopeApp>) -> Plan {
    h.state().state.plan.clone()
}

fn dialog_open(h: &Harness<'static, CostscopeApp>) -> bool {
    h.state().state.profile.run.calibrate.is_some()
}

/// The window with the dialog open over the report.
fn with_dialog() -> Harness<'static, CostscopeApp> {
    let mut h = showing(report());
    h.get_by_label("Use in plan").click();
    h.run();
    h
}

#[test]
fn use_in_plan_lists_every_change_the_rows_used_and_the_warnings() {
    let mut h = showing(report());
    let before = plan(&h);
    h.get_by_label("Use in plan").click();
    h.run();
    assert!(dialog_open(&h));
    // Computing the calibration changed nothing yet.
    assert_eq!(plan(&h), before);
    // Each changed field has a tick, with its before -> after and why.
    for field in [
        "service.batch_latency_ms",
        "hardware.power_w",
        "service.source",
    ] {
        h.get_by_role_and_label(Role::CheckBox, field);
    }
    h.get_by_label("[1: 9.000, 4: 14.000, 8: 22.000, 16: 38.000] ms -> [1: 2.000, 4: 3.000] ms");
    h.get_by_label("72 -> 70");
    h.get_by_label("the mean of NVML's power samples");
    h.get_by_label_contains(&format!(
        "the median of each batch's chosen row on {LLVMPIPE}"
    ));
    // Kept fields are information, without a tick.
    h.get_by_label("service.service_cv = 0.3 (kept)");
    // The preset states its cold start in parts: the measured set-up replaces its
    // device set-up (a tick), boot, bandwidth and bytes stay, and the cold start is the
    // sum of the ticked parts, without a tick of its own.
    h.get_by_role_and_label(Role::CheckBox, "service.cold_start_parts.device_setup_s");
    h.get_by_label("3.3385 -> 0.5");
    h.get_by_label("service.cold_start_parts.instance_boot_s = 40 (kept)");
    h.get_by_label("service.cold_start_parts.storage_gbytes_per_s = 0.131072 (kept)");
    h.get_by_label("service.cold_start_parts.model_bytes = 217780224 (kept)");
    h.get_by_label("service.cold_start_s = 45 -> 42.162 (the sum of the ticked parts)");
    h.get_by_label(
        "42.162 s = 40.000 s instance boot + 1.662 s weight load (217.8 MB at 0.131072 GB/s) \
         + 0.500 s device set-up",
    );
    assert!(
        h.query_by_role_and_label(Role::CheckBox, "service.cold_start_s")
            .is_none()
    );
    assert!(
        h.query_by_role_and_label(Role::CheckBox, "service.service_cv")
            .is_none()
    );
    h.get_by_label_contains("kept: the profile's CV (0.060, median)");
    // The rows, as `plan --profile` names them.
    h.get_by_label(&format!(
        "results[0]: {LLVMPIPE} f32 mlp:small batch 1: median 2.000 ms"
    ));
    h.get_by_label(&format!(
        "results[1]: {LLVMPIPE} f32 mlp:small batch 4: median 3.000 ms"
    ));
    // The software adapter and the hardware that is not the profiled device.
    h.get_by_label_contains("is the CPU emulating a GPU");
    h.get_by_label_contains("the plan's hardware 'L4 (g6.xlarge)' is not the profiled device");
}

#[test]
fn apply_writes_the_ticked_fields_and_leaves_the_unticked_one() {
    let mut h = with_dialog();
    let before = plan(&h);
    let source_only = "service.source will name the profile while L(b) stays the plan's own";
    assert!(h.query_by_label(source_only).is_none());
    h.get_by_role_and_label(Role::CheckBox, "service.batch_latency_ms")
        .click();
    h.run();
    h.get_by_label(source_only);
    h.get_by_role_and_label(Role::CheckBox, "service.batch_latency_ms")
        .click();
    h.get_by_role_and_label(Role::CheckBox, "hardware.power_w")
        .click();
    h.run();
    assert!(h.query_by_label(source_only).is_none());
    h.get_by_label("Apply").click();
    h.run();
    assert!(!dialog_open(&h));
    let after = plan(&h);
    // The unticked field is as it was; the ticked ones are the profile's.
    assert_eq!(after.hardware.power_w, before.hardware.power_w);
    assert_eq!(after.service.batch_latency_ms, vec![(1, 2.0), (4, 3.0)]);
    assert!(
        matches!(&after.service.source, Source::Profile { adapter, model, .. }
            if adapter == LLVMPIPE && model == "small"),
        "{:?}",
        after.service.source
    );
    // Nothing else moved: the plan is the original with those fields, the measured
    // device set-up and the cold start their sum.
    let mut expected = before.clone();
    expected.service.batch_latency_ms = after.service.batch_latency_ms.clone();
    expected.service.source = after.service.source.clone();
    let parts = expected.service.cold_start_parts.as_mut().unwrap();
    parts.device_setup_s = 0.5;
    expected.service.cold_start_s = parts.sum_s();
    assert_eq!(after, expected);
    h.get_by_label_contains(
        "applied 3 of 4 changes from the profile: service.batch_latency_ms, \
         service.cold_start_parts.device_setup_s, service.source; kept: hardware.power_w \
         (opted out), service.service_cv, service.cold_start_parts.instance_boot_s, \
         service.cold_start_parts.storage_gbytes_per_s, service.cold_start_parts.model_bytes; \
         service.cold_start_s 45 -> 42.162: 42.162 s = 40.000 s instance boot",
    );
    // Edited like any other change: the plan has unsaved changes.
    h.get_by_label("(unsaved)");
}

#[test]
fn the_cold_start_follows_the_ticked_parts() {
    let mut h = with_dialog();
    let before = plan(&h);
    h.get_by_role_and_label(Role::CheckBox, "service.cold_start_parts.device_setup_s")
        .click();
    h.run();
    // Without the measured part the parts are the plan's, and so is their sum.
    h.get_by_label("service.cold_start_s = 45 -> 45.000 (the sum of the ticked parts)");
    h.get_by_role_and_label(Role::CheckBox, "service.cold_start_parts.device_setup_s")
        .click();
    h.run();
    h.get_by_label("service.cold_start_s = 45 -> 42.162 (the sum of the ticked parts)");
    h.get_by_role_and_label(Role::CheckBox, "service.cold_start_parts.device_setup_s")
        .click();
    h.run();
    h.get_by_label("Apply").click();
    h.run();
    let after = plan(&h);
    assert_eq!(after.service.cold_start_s, 45.0);
    assert_eq!(
        after.service.cold_start_parts,
        before.service.cold_start_parts
    );
}

#[test]
fn cancel_and_escape_leave_the_plan_unchanged() {
    let mut h = with_dialog();
    let before = plan(&h);
    assert!(h.query_by_label("(unsaved)").is_none());
    h.get_by_label("Cancel").click();
    h.run();
    assert!(!dialog_open(&h));
    assert_eq!(plan(&h), before);
    h.get_by_label("Use in plan cancelled: the plan is unchanged");
    h.get_by_label("Use in plan").click();
    h.run();
    assert!(dialog_open(&h));
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(!dialog_open(&h));
    assert_eq!(plan(&h), before);
    assert!(h.query_by_label("(unsaved)").is_none());
}

#[test]
fn applying_everything_equals_the_plan_calibrated_in_full() {
    let mut h = with_dialog();
    let full = h.state().state.profile.run.calibrate.clone().unwrap();
    h.get_by_label("Apply").click();
    h.run();
    assert_eq!(plan(&h), full.calibration.plan);
    assert_eq!(plan(&h).hardware.power_w, 70.0);
    h.get_by_label_contains("applied 4 of 4 changes from the profile");
}

#[test]
fn a_report_without_the_plans_seq_len_says_what_to_change_and_opens_no_dialog() {
    let cfg = TransformerConfig::lookup("tiny-bert").unwrap();
    let mut r = report();
    r.results = [1usize, 4]
        .map(|batch| {
            let mut row = base_row("cpu", &cfg, Precision::F32, Pass::Encoder, (16, batch));
            (row.correct, row.chosen) = (true, true);
            let ms = 0.5 * batch as f64;
            row.set_timing(summarize(
                TimingMethod::Wall,
                &[ms * 0.98, ms, ms * 1.02],
                0.02,
            ));
            row
        })
        .to_vec();
    let mut h = showing(r);
    h.state_mut().state.profile.settings.model = "tiny-bert".into();
    h.run();
    let before = plan(&h);
    h.get_by_label("Use in plan").click();
    h.run();
    assert!(!dialog_open(&h));
    assert_eq!(plan(&h), before);
    h.get_by_label(
        "the profile has no encoder:tiny-bert rows in f32 at the plan's service.seq_len 128 \
         (lengths it has: 16): add 128 to the sequence lengths here and run the profile again, \
         or set service.seq_len in the plan's file to one of them and open it again",
    );
}
