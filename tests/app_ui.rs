//! The desktop app, headless with egui_kittest on a real wgpu adapter (lavapipe in CI):
//! each panel renders, moving β changes the recommendation, a malformed plan file
//! shows its error and keeps the plan.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::app::CostscopeApp;
use costscope::app::state::{AppState, Tab};
use costscope::app::verify_job::{self, VerifyState};
use costscope::app::warm_cold_fleets::FleetRole;
use costscope::app::warm_cold_model_vs_sim::{figures, verification_of};
use costscope::app::warm_cold_verdict::verdict;
use costscope::model::PolicyKind;
use costscope::plan::presets;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

fn app(preset: &str) -> CostscopeApp {
    CostscopeApp::new(AppState::new(presets::load(preset).unwrap(), None))
}

fn harness(app: CostscopeApp) -> Harness<'static, CostscopeApp> {
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), app);
    h.run();
    h
}

use eframe::egui;

fn recommendation(h: &Harness<'_, CostscopeApp>) -> String {
    let node = h.get_by_label_contains("Recommended: ");
    let n = node.accesskit_node();
    n.value().or_else(|| n.label()).unwrap_or_default()
}

#[test]
fn every_panel_renders() {
    let mut h = harness(app("embedding-cache"));
    // The LLM tab is offered for token workloads only (tests/app_llm.rs).
    let plan = h.state().state.plan.clone();
    for tab in Tab::ALL.into_iter().filter(|t| t.shown_for(&plan)) {
        h.get_by_label(tab.label()).click();
        h.run();
        assert_eq!(h.state().state.tab, tab);
    }
    h.get_by_label("Explore").click();
    h.run();
    h.get_by_label("Objective vs servers, per policy");
    h.get_by_label("Caching & lazy").click();
    h.run();
    h.get_by_label_contains("Hit rate vs cache size");
    h.get_by_label("Plan").click();
    h.run();
    h.get_by_label_contains("Run it as:");
}

#[test]
fn raising_beta_changes_the_recommendation() {
    let mut h = harness(app("startup-transcribe"));
    let before = recommendation(&h);
    // Latency becomes worth a lot more: the optimiser should buy speed.
    h.state_mut().state.plan.objective.beta = 1.0;
    h.run();
    let after = recommendation(&h);
    assert_ne!(before, after);
    let best = h
        .state()
        .runtime
        .results
        .optimum
        .as_ref()
        .unwrap()
        .best
        .clone()
        .unwrap();
    assert!(best.cost_usd_per_hour > 3.351, "{best:?}");
}

#[test]
fn a_malformed_file_shows_its_error_and_keeps_the_plan() {
    let dir = std::env::temp_dir().join(format!("costscope-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.ron");
    std::fs::write(
        &bad,
        "(version: 1, name: \"broken\", workload: (rate_rps: Constant(-3.0)",
    )
    .unwrap();
    let mut h = harness(app("healthcare-triage"));
    let plan_before = h.state().state.plan.clone();
    h.state_mut().state.tab = Tab::Plan;
    h.state_mut().plan_panel.path_input = bad.display().to_string();
    h.run();
    h.get_by_label("Open").click();
    h.run();
    assert_eq!(h.state().state.plan, plan_before, "the plan is kept");
    let err = h.state().plan_panel.file_error.clone().expect("an error");
    assert!(err.contains("bad.ron:1:"), "{err}");
    h.get_by_label_contains("bad.ron:1:");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn profile_runs_on_a_worker_and_calibrates_the_plan() {
    let mut a = app("healthcare-triage");
    a.state.tab = Tab::Profile;
    a.state.profile.settings.cpu_only = true;
    a.state.profile.settings.precisions = [true, false, false];
    a.state.profile.settings.batches = "1,4".into();
    // Long enough (four rows of a quarter second) that a loaded machine still sees the
    // bar between empty and full.
    a.state.profile.settings.budget_s = 0.25;
    // The finished report is kept for the next start: here, not in the user's cache.
    let kept = std::env::temp_dir().join(format!("costscope-app-ui-{}.json", std::process::id()));
    a.state.profile.settings.last_report = Some(kept.clone());
    let mut h = harness(a);
    h.get_by_label("Run profile").click();
    h.step();
    let start = std::time::Instant::now();
    let mut fractions = Vec::new();
    while h.state().state.profile.run.running() {
        assert!(
            start.elapsed().as_secs() < 120,
            "the profile did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.step();
        if let Some(s) = &h.state().state.profile.run.live.snapshot {
            fractions.push(s.fraction);
        }
    }
    h.run();
    assert!(kept.exists(), "the report was kept where the settings say");
    std::fs::remove_file(&kept).unwrap();
    // The bar moved forward through the run and ended full; live CPU use was plotted.
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
    assert!(
        fractions.iter().any(|f| *f > 0.0 && *f < 1.0),
        "{fractions:?}"
    );
    let live = &h.state().state.profile.run.live;
    assert!(
        live.snapshot
            .as_ref()
            .is_some_and(|s| s.finished && s.fraction == 1.0)
    );
    assert!(
        live.points
            .iter()
            .any(|p| p.cpu_cores_busy.is_some_and(|c| c > 0.1)),
        "{:?}",
        live.points
    );
    h.get_by_label("Live telemetry");
    let cores = std::thread::available_parallelism().unwrap();
    h.get_by_label_contains(&format!("/{cores} cores busy"));
    let report = h
        .state()
        .state
        .profile
        .run
        .report
        .clone()
        .expect("a report");
    assert!(
        report
            .results
            .iter()
            .any(|r| r.device == "cpu" && r.correct)
    );
    h.get_by_label("Use in plan").click();
    h.run();
    // The review dialog lists the curve; Apply writes every ticked field.
    h.get_by_label("service.batch_latency_ms");
    h.get_by_label("Apply").click();
    h.run();
    let service = &h.state().state.plan.service;
    assert!(
        matches!(&service.source, costscope::model::Source::Profile { adapter, .. } if adapter == "cpu"),
        "{service:?}"
    );
    let batches: Vec<u32> = service.batch_latency_ms.iter().map(|p| p.0).collect();
    assert_eq!(batches, vec![1, 4]);
}

#[test]
fn warm_cold_simulates_a_day_of_each_fleet() {
    let mut a = app("startup-transcribe");
    a.state.tab = Tab::WarmCold;
    a.state.warm_cold.settings.follow_optimum = false;
    let mut h = harness(a);
    h.get_by_label("Simulate a day").click();
    h.step();
    step_until_done(&mut h, |app| app.state.warm_cold.running());
    let day = h.state().state.warm_cold.run.day.clone().unwrap();
    let fleet = |role: FleetRole| {
        let f = day.fleets.iter().find(|f| f.spec.is(role)).unwrap();
        f.sim.clone().unwrap()
    };
    // A day of minutes for each fleet; always-on never cold starts, scale-to-zero does.
    assert!(
        day.fleets
            .iter()
            .all(|f| f.sim.as_ref().unwrap().timeline.len() >= 24 * 60)
    );
    assert_eq!(
        fleet(FleetRole::Comparison(PolicyKind::AlwaysOn)).cold_starts,
        0
    );
    assert!(fleet(FleetRole::Comparison(PolicyKind::OnDemand)).cold_starts > 0);
    // Keeping one warm costs at least the one warm server.
    assert!(fleet(FleetRole::Comparison(PolicyKind::Hybrid)).cost_usd_per_hour >= 0.8 - 1e-9);
    h.get_by_label("Cumulative cost, $");
    h.get_by_label_contains("Busy / booting / idle servers of");
    // The day starts from the fleets' steady state, and the panel says so.
    assert_eq!(day.warmup_hours, 1.0);
    assert!(day.fleets.iter().all(|f| {
        let r = f.sim.as_ref().unwrap();
        r.warmup_hours == 1.0 && r.timeline.len() == 24 * 60
    }));
    h.get_by_label_contains("(warm-up of 1 h not plotted)");
}

/// embedding-cache (the busiest preset) at a tenth of its traffic, so a day of every
/// fleet and its verification take seconds in a test build.
fn light_embedding_cache() -> CostscopeApp {
    let mut a = app("embedding-cache");
    let rate = &mut a.state.plan.workload.rate_rps;
    *rate = costscope::model::traffic::scaled(rate, 0.1);
    a.runtime = costscope::app::state::Runtime::new(&a.state);
    a
}

#[test]
fn warm_cold_simulates_the_whole_day_of_the_plan_and_the_recommendation() {
    let mut a = light_embedding_cache();
    a.state.tab = Tab::WarmCold;
    let mut h = stepped_harness(a);
    h.get_by_label("Simulate a day").click();
    h.step();
    step_until_done(&mut h, |app| app.state.warm_cold.running());
    let app = h.state();
    let day = app.state.warm_cold.run.day.clone().unwrap();
    for f in &day.fleets {
        let r = f.sim.as_ref().unwrap();
        assert_eq!(
            r.hours,
            24.0,
            "{} reached the end of the day",
            f.spec.label()
        );
        assert_eq!(r.stopped, None);
    }
    assert!(day.fleets[0].spec.is(FleetRole::PlanAsWritten));
    assert_eq!(day.fleets[0].spec.candidate.policy, app.state.plan.policy);
    let best = app
        .runtime
        .results
        .optimum
        .as_ref()
        .unwrap()
        .best
        .clone()
        .unwrap();
    let rec = day
        .fleets
        .iter()
        .find(|f| f.spec.is(FleetRole::Recommendation))
        .unwrap();
    assert_eq!(rec.spec.model.as_ref().unwrap().servers, best.servers);
    let v = verdict(&day);
    let cheapest = day.fleets[v.cheapest.unwrap()].spec.label();
    let said = format!("Cheapest meeting the SLO (p95 ≤ 100 ms) in simulation: {cheapest} (");
    h.get_by_label_contains(&said);
    // The model's figures beside the day's, for both fleets that matter.
    h.get_by_label_contains("Model vs simulation");
    let shown = day
        .fleets
        .iter()
        .filter(|f| {
            matches!(
                f.spec.role,
                FleetRole::PlanAsWritten | FleetRole::Recommendation
            )
        })
        .count();
    assert_eq!(
        shown, 2,
        "the plan as written is not the recommendation here"
    );
    assert_eq!(h.get_all_by_label("p99 ms").count(), shown);
    // With the background verification done, both have their simulated days' intervals.
    step_until_done(&mut h, |app| !app.verify.settled(&app.state.plan));
    let status = h.state().verify.status.clone().unwrap();
    let VerifyState::Done(checked) = &status.state else {
        panic!("not verified: {:?}", status.state);
    };
    for role in [FleetRole::PlanAsWritten, FleetRole::Recommendation] {
        let f = day.fleets.iter().find(|f| f.spec.role == role).unwrap();
        let v = verification_of(&day, f, &checked.candidates).expect("verified");
        assert!(figures(f, Some(v)).iter().all(|r| r.days.is_some()));
    }
    h.get_by_label_contains("Model vs simulation: ≠ marks a model figure outside");
    let header = format!("{} days ± 95 %", checked.options.replications);
    assert_eq!(h.get_all_by_label(&header).count(), 2);
}

#[test]
fn the_recommendation_is_verified_in_the_background() {
    let mut h = stepped_harness(light_embedding_cache());
    step_until_done(&mut h, |app| !app.verify.settled(&app.state.plan));
    let status = h.state().verify.status.clone().unwrap();
    assert_eq!(status.plan, h.state().state.plan);
    let VerifyState::Done(checked) = &status.state else {
        panic!("not verified: {:?}", status.state);
    };
    assert!(
        checked.candidates.len() >= 2,
        "the recommendation and the plan as written"
    );
    let (_, line) = verify_job::line(&status.plan, &status.state);
    assert!(
        line.starts_with("verified by simulation: cost ±")
            || line.starts_with("simulation disagrees: "),
        "{line}"
    );
    h.get_by_label(&line);
    // A changed plan cancels the check and starts another for the new recommendation.
    h.state_mut().state.plan.objective.beta *= 10.0;
    h.step();
    h.step();
    assert!(h.state().verify.job.is_some());
    assert_eq!(
        h.state().verify.status.as_ref().unwrap().plan,
        h.state().state.plan
    );
    h.get_by_label_contains("verifying by simulation");
}

#[test]
fn cancel_stops_a_running_day_and_keeps_the_last_one() {
    let mut a = light_embedding_cache();
    a.state.tab = Tab::WarmCold;
    let mut h = stepped_harness(a);
    h.get_by_label("Simulate a day").click();
    h.step();
    step_until_done(&mut h, |app| app.state.warm_cold.running());
    let last = h.state().state.warm_cold.run.day.clone().unwrap();
    // Ten times the traffic: a day long enough to cancel midway.
    let rate = &mut h.state_mut().state.plan.workload.rate_rps;
    *rate = costscope::model::traffic::scaled(rate, 10.0);
    h.step();
    h.get_by_label("Simulate a day").click();
    h.step();
    h.step();
    assert!(h.state().state.warm_cold.running());
    h.get_by_label("simulating a day…");
    h.get_by_label_contains("(slowest fleet)");
    h.get_by_label("Cancel").click();
    h.step();
    step_until_done(&mut h, |app| app.state.warm_cold.running());
    let run = &h.state().state.warm_cold.run;
    assert!(run.job.is_none(), "the job ended");
    assert_eq!(
        run.day.as_ref(),
        Some(&last),
        "no result replaced the last day"
    );
    let note = run.note.clone().unwrap();
    assert!(
        note.starts_with("cancelled at simulated hour ")
            || note.starts_with("cancelled in the warm-up, "),
        "{note}"
    );
    h.get_by_label(&note);
}

/// A snapshot of one panel (`UPDATE_SNAPSHOTS=1 cargo test --test app_ui` rewrites them).
fn snapshot_panel(tab: Tab, preset: &str, name: &str) {
    let mut a = app(preset);
    a.state.tab = tab;
    let mut h = harness(a);
    if tab == Tab::WarmCold {
        h.get_by_label("Simulate a day").click();
        h.step();
        while h.state().state.warm_cold.run.running() {
            std::thread::sleep(std::time::Duration::from_millis(50));
            h.step();
        }
        h.run();
    }
    if matches!(tab, Tab::Explore | Tab::WarmCold) {
        // The verification line is drawn once the background check has finished.
        step_until_done(&mut h, |app| !app.verify.settled(&app.state.plan));
    }
    h.snapshot(name);
}

#[test]
fn snapshot_profile() {
    snapshot_panel(Tab::Profile, "healthcare-triage", "profile");
}

#[test]
fn snapshot_explore() {
    snapshot_panel(Tab::Explore, "healthcare-triage", "explore");
}

#[test]
fn snapshot_llm() {
    snapshot_panel(Tab::Llm, "llm-chatbot", "llm");
}

#[test]
fn snapshot_caching() {
    snapshot_panel(Tab::Caching, "embedding-cache", "caching");
}

#[test]
fn snapshot_hardware() {
    snapshot_panel(Tab::Hardware, "healthcare-triage", "hardware");
}

#[test]
fn snapshot_warm_cold() {
    snapshot_panel(Tab::WarmCold, "startup-transcribe", "warm_cold");
}

#[test]
fn snapshot_plan() {
    snapshot_panel(Tab::Plan, "healthcare-triage", "plan");
}

#[test]
fn save_export_and_compare() {
    let dir = std::env::temp_dir().join(format!("costscope-app-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = dir.join("mine.ron");
    let other = dir.join("other.ron");
    costscope::plan::save_file(&presets::load("startup-transcribe").unwrap(), &other).unwrap();
    let mut h = harness(app("healthcare-triage"));
    h.state_mut().state.tab = Tab::Plan;
    h.state_mut().state.plan.objective.beta = 0.25;
    h.state_mut().plan_panel.path_input = plan_path.display().to_string();
    h.run();
    h.get_by_label_contains("unsaved changes");
    h.get_by_label("Save").click();
    h.run();
    let saved = costscope::plan::load_file(&plan_path).unwrap();
    assert_eq!(saved.objective.beta, 0.25);
    assert_eq!(h.state().runtime.saved_plan, saved);
    h.get_by_label("Export CSV").click();
    h.run();
    let csv = std::fs::read_to_string(plan_path.with_extension("csv")).unwrap();
    assert!(csv.starts_with("policy,servers"));
    assert!(csv.lines().count() >= 3, "{csv}");
    h.state_mut().plan_panel.compare_input = other.display().to_string();
    h.run();
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Startup voice notes on serverless");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_plot_exports_as_its_own_png() {
    let dir = std::env::temp_dir().join(format!("costscope-plot-png-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = app("healthcare-triage");
    a.state.tab = Tab::Explore;
    // Exports go beside the plan file.
    a.state.plan_path = Some(dir.join("plan.ron"));
    let mut h = harness(a);
    let buttons: Vec<_> = h.query_all_by_label("PNG").collect();
    assert_eq!(buttons.len(), 2, "objective and Pareto plots");
    buttons[1].click();
    h.run();
    let path = dir.join("costscope-plot-pareto.png");
    let png = image::open(&path).expect("the Pareto plot was written");
    // The plot alone: as wide as the central panel's plot, shorter than the window.
    let (w, hgt) = (png.width(), png.height());
    assert!(w > 300 && w < 1400 && hgt > 100 && hgt < 600, "{w}×{hgt}");
    h.get_by_label_contains("wrote ");
    h.get_by_label_contains("costscope-plot-pareto.png");
    assert!(!dir.join("costscope-plot-objective.png").exists());
}

#[test]
fn the_device_picker_lists_the_adapters_wgpu_finds() {
    let mut a = app("healthcare-triage");
    a.state.tab = Tab::Profile;
    let mut h = harness(a);
    let start = std::time::Instant::now();
    while !matches!(
        h.state().state.profile.adapters,
        costscope::app::profile_device::AdapterList::Ready(_)
    ) {
        assert!(start.elapsed().as_secs() < 60, "adapters were not listed");
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.step();
    }
    let labels = h.state().state.profile.adapters.labels().to_vec();
    if labels.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and wgpu listed no adapter"
        );
        return;
    }
    h.get_by_label("device").click();
    h.run();
    h.get_by_label(&labels[0]).click();
    h.run();
    assert_eq!(h.state().state.profile.settings.adapter, labels[0]);
    assert!(!h.state().state.profile.settings.cpu_only);
    h.get_by_label("device").click();
    h.run();
    h.get_by_label("CPU only").click();
    h.run();
    assert!(h.state().state.profile.settings.cpu_only);
}

/// The window on `app` for a test that drives the frames itself: a panel whose worker
/// runs keeps asking for frames (its spinner), so `Harness::run` would not settle.
fn stepped_harness(app: CostscopeApp) -> Harness<'static, CostscopeApp> {
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), app);
    h.step();
    h
}

/// Steps the window until `running` says the panel's worker is done (or 60 s pass).
fn step_until_done(h: &mut Harness<'static, CostscopeApp>, running: fn(&CostscopeApp) -> bool) {
    let start = std::time::Instant::now();
    while running(h.state()) {
        assert!(start.elapsed().as_secs() < 60, "the worker never finished");
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run();
}

/// A job that panics with `message` once `go` receives (or its sender goes away).
fn panicking_job<T: Send + 'static, P: Send + 'static>(
    name: &str,
    go: std::sync::mpsc::Receiver<()>,
    message: &'static str,
) -> costscope::app::job::BackgroundJob<T, P> {
    let ctx = egui::Context::default();
    costscope::app::job::BackgroundJob::spawn(name, &ctx, move |_| {
        let _ = go.recv();
        panic!("{message}")
    })
    .unwrap()
}

#[test]
fn a_simulator_that_panics_shows_its_error_in_the_panel() {
    let mut a = app("startup-transcribe");
    a.state.tab = Tab::WarmCold;
    let (go, wait) = std::sync::mpsc::channel();
    a.state
        .warm_cold
        .run
        .follow(panicking_job("simulator", wait, "the day fell over"));
    let mut h = stepped_harness(a);
    h.get_by_label("simulating a day…");
    go.send(()).unwrap();
    step_until_done(&mut h, |app| app.state.warm_cold.running());
    h.get_by_label("the simulator worker stopped unexpectedly: the day fell over");
    assert!(h.state().state.warm_cold.run.day.is_none());
    // Not "simulating a day…" forever: the button is back and runs a real day.
    h.get_by_label("Simulate a day").click();
    h.step();
    step_until_done(&mut h, |app| app.state.warm_cold.running());
    assert!(
        h.state()
            .state
            .warm_cold
            .run
            .day
            .as_ref()
            .unwrap()
            .fleets
            .len()
            >= 4
    );
    assert_eq!(h.state().state.warm_cold.run.error, None);
}

#[test]
fn a_profiler_that_panics_shows_its_error_and_its_bar_stops() {
    use costscope::profile::progress::ProgressMeter;
    let mut a = app("healthcare-triage");
    a.state.tab = Tab::Profile;
    let meter = std::sync::Arc::new(ProgressMeter::default());
    meter.start(4);
    meter.advance(1);
    let (go, wait) = std::sync::mpsc::channel();
    let job = panicking_job("profiler", wait, "kernel 3 exploded");
    a.state.profile.run.follow(job, meter);
    let mut h = stepped_harness(a);
    h.get_by_label("Cancel");
    go.send(()).unwrap();
    step_until_done(&mut h, |app| app.state.profile.running());
    h.get_by_label("the profiler worker stopped unexpectedly: kernel 3 exploded");
    let snap = h.state().state.profile.run.live.snapshot.clone();
    assert!(snap.is_some_and(|s| s.finished && s.fraction == 0.25));
    h.get_by_label_contains("25 % ·");
    assert!(
        h.query_all_by_label_contains(" · stopped").any(|n| n
            .accesskit_node()
            .label()
            .is_some_and(|l| l.starts_with("25 %"))),
        "the bar says it stopped"
    );
    h.get_by_label("Run profile");
}

#[test]
fn an_adapter_lister_that_panics_shows_its_error_and_the_picker_still_works() {
    use costscope::app::profile_device::AdapterList;
    let mut a = app("healthcare-triage");
    a.state.tab = Tab::Profile;
    let (go, wait) = std::sync::mpsc::channel::<()>();
    a.state.profile.adapters = AdapterList::Listing(panicking_job("adapters", wait, "no driver"));
    drop(go);
    let mut h = stepped_harness(a);
    step_until_done(&mut h, |app| {
        matches!(app.state.profile.adapters, AdapterList::Listing(_))
    });
    h.get_by_label("the adapters worker stopped unexpectedly: no driver");
    h.get_by_label("device").click();
    h.run();
    h.get_by_label("CPU only").click();
    h.run();
    assert!(h.state().state.profile.settings.cpu_only);
}

#[test]
fn a_very_long_name_and_notes_render_elided() {
    use costscope::app::text::{MAX_NAME_CHARS, MAX_NOTES_CHARS};
    let mut plan = presets::load("healthcare-triage").unwrap();
    plan.name = "n".repeat(100_000);
    plan.notes = "w".repeat(100_000);
    let mut h = harness(CostscopeApp::new(AppState::new(plan, None)));
    let lengths = |h: &Harness<'_, CostscopeApp>, text: &str| -> Vec<usize> {
        h.query_all_by_label_contains(text)
            .map(|n| {
                let n = n.accesskit_node();
                let text = n.value().or_else(|| n.label()).unwrap_or_default();
                text.chars().count()
            })
            .collect()
    };
    // The top bar: one label, elided with "…".
    let top = lengths(&h, &"n".repeat(20));
    assert_eq!(top.len(), 1, "{top:?}");
    assert!(top[0] <= MAX_NAME_CHARS, "{top:?}");
    h.get_by_label_contains("n…");
    h.get_by_label("Plan").click();
    h.run();
    // The top bar and the panel's heading; the notes bounded too.
    let named = lengths(&h, &"n".repeat(20));
    assert_eq!(named.len(), 2, "{named:?}");
    assert!(named.iter().all(|n| *n <= MAX_NAME_CHARS), "{named:?}");
    let notes = lengths(&h, &"w".repeat(20));
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0] <= MAX_NOTES_CHARS, "{notes:?}");
    // Save as offers a file name of bounded length, not 100 000 characters.
    h.get_by_label("Save as…").click();
    h.run();
    let name = h.state().plan_panel.file_dialog.clone().unwrap().file_name;
    assert!(name.chars().count() <= MAX_NAME_CHARS, "{}", name.len());
}

#[test]
fn hovering_a_point_on_the_objective_plot_reads_out_its_fleet() {
    use costscope::app::plots::{objective_readout, objective_series};
    let mut a = app("healthcare-triage");
    a.state.tab = Tab::Explore;
    let mut h = harness(a);
    let optimum = h.state().runtime.results.optimum.clone().unwrap();
    let metric = h.state().state.plan.objective.metric;
    // Every read-out the plot can show: each point of each policy's line.
    let mut readouts: Vec<String> = Vec::new();
    for s in objective_series(&optimum) {
        for i in 0..s.points.len() {
            readouts.extend(objective_readout(&optimum, metric, s.policy.name(), i));
        }
    }
    assert!(!readouts.is_empty());
    // The plot lies under its title; sweep the pointer over it until a tooltip shows.
    let title = h.get_by_label("Objective vs servers, per policy").rect();
    let (x0, y0) = (title.left() + 40.0, title.bottom() + 20.0);
    let mut found = None;
    'sweep: for row in 0..30 {
        for col in 0..60 {
            let pos = egui::pos2(x0 + 12.0 * col as f32, y0 + 10.0 * row as f32);
            h.hover_at(pos);
            h.run();
            // The read-out's last line; the panel's own text never has it.
            if let Some(node) = h.query_by_label_contains("\nJ = ") {
                let n = node.accesskit_node();
                found = n.value().or_else(|| n.label());
                break 'sweep;
            }
        }
    }
    let text = found.expect("hovering the plot's lines shows a read-out");
    assert!(
        readouts.contains(&text),
        "{text:?} is not a point's read-out"
    );
    assert!(
        text.contains(" servers") || text.contains(" server\n"),
        "{text}"
    );
    assert!(text.contains("J = ") && text.contains("latency"), "{text}");
}

/// healthcare-triage's hand-set scale-to-zero fleet (up to 64 servers) boots 64 for the
/// first requests: the servers' scale is the rest of the day's, and the panel says so.
#[test]
fn warm_cold_starts_the_day_from_the_steady_state() {
    let mut a = app("healthcare-triage");
    a.state.tab = Tab::WarmCold;
    a.state.warm_cold.settings.follow_optimum = false;
    a.state.warm_cold.settings.recommendation = false;
    // The scale-to-zero fleet's server states: after the plan as written and always on.
    a.state.warm_cold.settings.detail_fleet = 2;
    let mut h = stepped_harness(a);
    h.get_by_label("Simulate a day").click();
    h.step();
    step_until_done(&mut h, |app| app.state.warm_cold.running());
    let day = h.state().state.warm_cold.run.day.clone().unwrap();
    let f = &day.fleets[2];
    assert!(f.spec.is(FleetRole::Comparison(PolicyKind::OnDemand)));
    // Started cold it would boot 64 servers for the first requests
    // (tests/warm_cold_plots.rs); after the warm-up its first hour holds no more
    // servers than the rest of its day, and nothing is clipped off the scale.
    let r = f.sim.as_ref().unwrap();
    let held = |m: &costscope::sim::MinuteRow| m.busy + m.booting + m.idle;
    let first = r.timeline[..60].iter().map(held).max().unwrap();
    let rest = r.timeline[60..].iter().map(held).max().unwrap();
    assert!(first <= rest, "first hour {first}, rest {rest}");
    h.get_by_label_contains("(warm-up of 1 h not plotted)");
    assert!(h.query_by_label_contains("runs off the top").is_none());
}
