//! The Profile panel before and after a run, headless with egui_kittest: a time
//! estimate from the settings is shown before Run (and follows the settings); a
//! finished report is kept on disk and shown again by the next start of the app; a
//! kept report that is gone or unreadable is one line, not a panic.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use costscope::app::CostscopeApp;
use costscope::app::profile_estimate::estimate;
use costscope::app::state::{AppState, Tab};
use costscope::plan::presets;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

/// The Profile panel, its last report kept at `last_report` (if any), on the CPU alone
/// with one precision, batches 1 and 2 and a short budget: a run of a few seconds.
fn profile_app(last_report: Option<PathBuf>) -> CostscopeApp {
    let mut state = AppState::new(presets::default_plan().unwrap(), None);
    state.tab = Tab::Profile;
    let s = &mut state.profile.settings;
    (s.cpu_only, s.precisions, s.budget_s) = (true, [true, false, false], 0.05);
    s.batches = "1, 2".into();
    s.last_report = last_report;
    CostscopeApp::new(state)
}

fn harness(app: CostscopeApp) -> Harness<'static, CostscopeApp> {
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), app);
    h.run();
    h
}

fn text_of(h: &Harness<'static, CostscopeApp>, part: &str) -> String {
    let node = h.get_by_label_contains(part);
    let n = node.accesskit_node();
    n.value().or_else(|| n.label()).unwrap_or_default()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("costscope-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_estimate_is_shown_before_a_run_and_follows_the_settings() {
    let mut h = harness(profile_app(None));
    let expected = |h: &Harness<'static, CostscopeApp>| {
        let p = &h.state().state.profile;
        let opts = p.settings.options().unwrap();
        estimate(&opts, p.adapters.labels(), None).line(0.05)
    };
    let shown = text_of(&h, "Estimate: ");
    assert_eq!(shown, expected(&h));
    // CPU only, f32, one GEMM size and batches 1 and 2: cold start + 3 measurements.
    assert!(shown.contains("for 4 measurements on the CPU"), "{shown}");
    assert!(shown.contains("budget"), "{shown}");
    // Two more batches: two more measurements.
    h.state_mut().state.profile.settings.batches = "1, 2, 4, 8".into();
    h.run();
    let more = text_of(&h, "Estimate: ");
    assert!(more.contains("for 6 measurements"), "{more}");
}

fn run_profile(h: &mut Harness<'static, CostscopeApp>) {
    h.get_by_label("Run profile").click();
    h.step();
    let start = std::time::Instant::now();
    while h.state().state.profile.running() {
        assert!(
            start.elapsed().as_secs() < 120,
            "the profile did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.step();
    }
    h.run();
}

#[test]
fn the_last_report_is_kept_and_shown_after_a_restart() {
    let dir = temp_dir("kept-report");
    let kept = dir.join("last-profile.json");
    let mut h = harness(profile_app(Some(kept.clone())));
    run_profile(&mut h);
    let report = h
        .state()
        .state
        .profile
        .run
        .report
        .clone()
        .expect("a report");
    assert!(!report.results.is_empty());
    assert!(kept.exists(), "the report is kept on disk");
    let settings = h.state().state.profile.settings.clone();
    assert_eq!(settings.last_report.as_deref(), Some(kept.as_path()));
    // The run's pace now drives the estimate.
    assert!(settings.budget_share.is_some_and(|s| s > 0.0));
    assert!(text_of(&h, "Estimate: ").contains("at the last run's pace"));

    // The next start, with the settings the session saved: the same report is shown.
    let mut state = AppState::new(presets::default_plan().unwrap(), None);
    state.tab = Tab::Profile;
    state.profile.settings = settings;
    let h = harness(CostscopeApp::new(state));
    let restored = h
        .state()
        .state
        .profile
        .run
        .report
        .clone()
        .expect("restored");
    assert_eq!(restored.results.len(), report.results.len());
    assert_eq!(restored.fingerprint, report.fingerprint);
    h.get_by_label("Use in plan");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn note_for(path: &Path) -> String {
    let h = harness(profile_app(Some(path.to_owned())));
    assert!(h.state().state.profile.run.report.is_none());
    text_of(&h, "the last profile report was not restored: ")
}

#[test]
fn a_missing_or_corrupt_kept_report_is_a_one_line_note() {
    let dir = temp_dir("bad-report");
    let missing = note_for(&dir.join("gone.json"));
    assert!(
        missing.contains("gone.json") && !missing.contains('\n'),
        "{missing}"
    );
    let corrupt = dir.join("corrupt.json");
    std::fs::write(&corrupt, "{\"version\": 1, \"results\": [").unwrap();
    let said = note_for(&corrupt);
    assert!(
        said.contains("corrupt.json") && !said.contains('\n'),
        "{said}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
