//! The Caching & lazy panel tells one truth per number: its figures are the ones
//! `costscope plan --json` prints for the same plan (the real binary), each named by
//! the evaluation it belongs to, and a cache control that makes the optimiser pick
//! another fleet says so (egui_kittest on a real wgpu adapter).

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use costscope::app::CostscopeApp;
use costscope::app::caching_figures::{FigureLine, figure_sections};
use costscope::app::format::{fmt_sig, fmt_sig_pair};
use costscope::app::state::{AppState, Results, Tab};
use costscope::model::Plan;
use costscope::plan::{presets, save_file};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use serde_json::Value;

/// `costscope plan FILE --json`, parsed.
fn plan_json(file: &str) -> Value {
    let (code, out, err) = common::costscope(&["plan", file, "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// A value as `--json` writes it (serde_json round-trips f64 exactly here).
fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

/// The plans compared: two presets with a cache, and one of them lazy, written to a
/// file so the binary reads the same plan.
fn plans() -> Vec<(String, Plan)> {
    let dir = std::env::temp_dir().join(format!("costscope-app-caching-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut lazy = presets::load("startup-transcribe").unwrap();
    lazy.lazy.fraction_needed = 0.3;
    let path = dir.join("lazy-voice-notes.ron");
    save_file(&lazy, &path).unwrap();
    let mut plans: Vec<(String, Plan)> = ["embedding-cache", "startup-transcribe"]
        .iter()
        .map(|n| (n.to_string(), presets::load(n).unwrap()))
        .collect();
    plans.push((path.display().to_string(), lazy));
    plans
}

/// The panel's lines, all of them.
fn lines(results: &Results) -> Vec<FigureLine> {
    figure_sections(results)
        .into_iter()
        .flat_map(|s| s.lines)
        .collect()
}

/// `lines` has one line starting with `prefix` that shows `value`: compared on the
/// numbers behind the text, exactly, not on the rounded text.
fn assert_line(lines: &[FigureLine], prefix: &str, value: &Value) {
    let v = value.as_f64().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.text.starts_with(prefix) && l.numbers.contains(&v)),
        "no line `{prefix}…` showing {v} in {lines:#?}"
    );
}

/// The lines of one same-fleet comparison (`who` names it) hold its JSON figures, and
/// its savings are the cost without minus the cost with, exactly.
fn assert_same_fleet(lines: &[FigureLine], who: &str, s: &Value) {
    if s.is_null() {
        return;
    }
    let fleet = s["fleet"].as_str().unwrap();
    assert_line(lines, &format!("{who}, {fleet}, "), &s["with_usd_per_hour"]);
    match (
        s["without_usd_per_hour"].as_f64(),
        s["savings_usd_per_hour"].as_f64(),
    ) {
        (Some(without), Some(saves)) => {
            assert_eq!(saves, without - s["with_usd_per_hour"].as_f64().unwrap());
            assert!(saves <= without, "{s}");
            assert_line(
                lines,
                &format!("{who}, same fleet "),
                &s["without_usd_per_hour"],
            );
            assert_line(lines, &format!("{who}: "), &s["savings_usd_per_hour"]);
        }
        (None, None) => {
            let why = s["without_infeasible"].as_str().unwrap();
            assert!(
                lines
                    .iter()
                    .any(|l| l.text.starts_with(&format!("{who}, same fleet "))
                        && l.text.contains("cannot serve the plan")
                        && l.text.contains(why)),
                "{lines:#?}"
            );
        }
        _ => panic!("cost and savings disagree: {s}"),
    }
}

#[test]
fn the_panels_figures_are_the_ones_plan_json_prints() {
    for (file, plan) in plans() {
        let results = Results::compute(&plan);
        let cli = plan_json(&file);
        // The same evaluations, field for field…
        assert_eq!(json(&results.evaluation), cli["evaluation"], "{file}");
        assert_eq!(json(&results.best()), cli["best"], "{file}");
        assert_eq!(
            json(&results.cache_comparison),
            cli["cache_comparison"],
            "{file}"
        );
        assert_eq!(
            json(&results.lazy_comparison),
            cli["lazy_comparison"],
            "{file}"
        );
        // …and the panel's lines show them, each naming its evaluation.
        let lines = lines(&results);
        let cache = &cli["cache_comparison"];
        assert!(!cache.is_null(), "{file} has a cache");
        assert_same_fleet(&lines, "the recommendation", &cache["recommendation"]);
        assert_same_fleet(&lines, "the plan as written", &cache["as_written"]);
        let optima = &cache["optima"];
        assert_line(
            &lines,
            "the recommendation, the optimum with the cache: ",
            &optima["with"]["cost_usd_per_hour"],
        );
        assert_line(
            &lines,
            "the optimum without the cache: ",
            &optima["without"]["cost_usd_per_hour"],
        );
        let saves = optima["savings_usd_per_hour"].as_f64().unwrap();
        let (with, without) = (
            optima["with"]["cost_usd_per_hour"].as_f64().unwrap(),
            optima["without"]["cost_usd_per_hour"].as_f64().unwrap(),
        );
        assert_eq!(saves, without - with);
        assert_line(
            &lines,
            "optimum against optimum: ",
            &optima["savings_usd_per_hour"],
        );
        let lazy = &cli["lazy_comparison"];
        if lazy.is_null() {
            assert!(
                lines.iter().any(|l| l.text.starts_with("p = 1: ")),
                "{lines:#?}"
            );
        } else {
            assert_same_fleet(&lines, "the recommendation", &lazy["recommendation"]);
            assert_same_fleet(&lines, "the plan as written", &lazy["as_written"]);
        }
        // No line states a figure without naming its evaluation.
        let named = [
            "the recommendation",
            "the plan as written",
            "the optimum",
            "optimum against",
            "p = ",
        ];
        for l in &lines {
            assert!(
                named.iter().any(|n| l.text.starts_with(n)),
                "unnamed: {}",
                l.text
            );
        }
    }
}

fn harness(plan: Plan, tab: Tab) -> Harness<'static, CostscopeApp> {
    let mut state = AppState::new(plan, None);
    state.tab = tab;
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(
            |ui, app: &mut CostscopeApp| app.ui(ui),
            CostscopeApp::new(state),
        );
    h.run();
    h
}

#[test]
fn the_caching_panel_shows_the_figures_of_plan_json() {
    let cli = plan_json("embedding-cache");
    let plan = presets::load("embedding-cache").unwrap();
    let lines = lines(&Results::compute(&plan));
    let h = harness(plan, Tab::Caching);
    // Every line the panel computes is drawn, as written.
    for l in &lines {
        h.get_by_label(&l.text);
    }
    let c = &cli["cache_comparison"];
    let w = &c["as_written"];
    let (with, without) = (
        w["with_usd_per_hour"].as_f64().unwrap(),
        w["without_usd_per_hour"].as_f64().unwrap(),
    );
    // Side by side, the two costs get the digits that tell them apart.
    let (with_text, without_text) = fmt_sig_pair(with, without, 3);
    h.get_by_label(&format!(
        "the plan as written, {}, with the cache: {with_text} $/hour",
        w["fleet"].as_str().unwrap(),
    ));
    h.get_by_label(&format!(
        "the plan as written, same fleet without the cache: {without_text} $/hour"
    ));
    h.get_by_label_contains(&format!(
        "the plan as written: the cache saves {} $/hour",
        fmt_sig(w["savings_usd_per_hour"].as_f64().unwrap(), 3)
    ));
    let o = &c["optima"];
    let (_, without_cost) = fmt_sig_pair(
        o["with"]["cost_usd_per_hour"].as_f64().unwrap(),
        o["without"]["cost_usd_per_hour"].as_f64().unwrap(),
        3,
    );
    h.get_by_label(&format!(
        "the optimum without the cache: {}, {without_cost} $/hour, p95 {} ms",
        o["without"]["fleet"].as_str().unwrap(),
        fmt_sig(o["without"]["p95_ms"].as_f64().unwrap(), 3)
    ));
    h.get_by_label(&format!(
        "optimum against optimum: the cache saves {} $/hour",
        fmt_sig(o["savings_usd_per_hour"].as_f64().unwrap(), 3)
    ));
    // The recommendation's one server cannot carry the traffic without the cache.
    h.get_by_label_contains("the recommendation, same fleet without the cache: cannot serve");
    assert!(
        h.query_by_label_contains("the best fleet changed")
            .is_none()
    );
}

#[test]
fn a_cache_control_that_changes_the_best_fleet_says_so() {
    let plan = presets::load("embedding-cache").unwrap();
    let before = Results::compute(&plan).best().unwrap().clone();
    let mut h = harness(plan, Tab::Caching);
    // Back to the stated hit rate (0 here): only the L2 tier is left, so more servers.
    h.get_by_label("derive the hit rate from Zipf popularity")
        .click();
    h.run();
    let plan = h.state().state.plan.clone();
    assert!(plan.cache.zipf.is_none());
    let after = Results::compute(&plan).best().unwrap().clone();
    assert_ne!(after.candidate_name(), before.candidate_name());
    let (cost_before, cost_after) =
        fmt_sig_pair(before.cost_usd_per_hour, after.cost_usd_per_hour, 3);
    let (p95_before, p95_after) = fmt_sig_pair(
        before.latency_ms.unwrap().p95,
        after.latency_ms.unwrap().p95,
        3,
    );
    let message = format!(
        "the best fleet changed: {} -> {} (cost {cost_before} -> {cost_after} $/hour, p95 {p95_before} -> {p95_after} ms)",
        before.candidate_name(),
        after.candidate_name(),
    );
    h.get_by_label(&message);
    // Shown by the panel that made the change, not by the others.
    h.get_by_label("Explore").click();
    h.run();
    assert!(
        h.query_by_label_contains("the best fleet changed")
            .is_none()
    );
    h.get_by_label("Caching & lazy").click();
    h.run();
    h.get_by_label(&message);
    // A change elsewhere is the latest change: the message goes.
    h.state_mut().state.tab = Tab::Explore;
    h.state_mut().state.plan.hardware.power_w += 1.0;
    h.run();
    h.get_by_label("Caching & lazy").click();
    h.run();
    assert!(
        h.query_by_label_contains("the best fleet changed")
            .is_none()
    );
}

#[test]
fn an_explore_control_that_changes_the_best_fleet_says_so() {
    let plan = presets::load("startup-transcribe").unwrap();
    let before = Results::compute(&plan).best().unwrap().candidate_name();
    let mut h = harness(plan, Tab::Explore);
    h.state_mut().state.plan.objective.beta = 1.0;
    h.run();
    let after = h.state().runtime.results.best().unwrap().candidate_name();
    assert_ne!(before, after);
    h.get_by_label_contains(&format!(
        "the best fleet changed: {before} -> {after} (cost "
    ));
}
