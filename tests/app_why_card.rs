//! The Explore panel's "Why this recommendation" card: its figures are the ones
//! `costscope plan --json` prints for the same plan (the real binary); the card is drawn
//! below the recommendation; a plan nothing satisfies says the best latency reachable,
//! what to relax, offers the server cap, and draws no empty plot (egui_kittest on a real
//! wgpu adapter).

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use costscope::app::CostscopeApp;
use costscope::app::explore_ui::describe;
use costscope::app::format::fmt_sig;
use costscope::app::state::{AppState, Results, Tab};
use costscope::app::why_card::why;
use costscope::model::Plan;
use costscope::plan::presets;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use serde_json::Value;

/// `costscope plan PRESET --json`, parsed.
fn plan_json(preset: &str) -> Value {
    let (code, out, err) = common::costscope(&["plan", preset, "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn the_cards_figures_are_the_clis() {
    // startup-transcribe has no job; spot-sweep has one.
    for preset in ["startup-transcribe", "spot-sweep"] {
        let json = plan_json(preset);
        let plan = presets::load(preset).unwrap();
        let results = Results::compute(&plan);
        let w = why(&results).unwrap();
        let best = &json["best"];
        let metric = plan.objective.metric.name();
        let candidates = json["candidates"].as_array().unwrap();
        assert_eq!(w.rows.len(), candidates.len(), "{preset}");
        for (row, c) in w.rows.iter().zip(candidates) {
            // The same fleet as the CLI's row, in the Explore panel's words.
            let e = (results.optimum.as_ref().unwrap().candidates.iter())
                .find(|e| e.policy == row.policy)
                .unwrap();
            assert_eq!(serde_json::to_value(row.policy).unwrap(), c["policy"]);
            for (k, v) in [
                ("servers", e.servers),
                ("warm", e.warm),
                ("spot", e.spot),
                ("batch", e.batch),
            ] {
                assert_eq!(c[k].as_u64(), Some(u64::from(v)), "{preset} {k}");
            }
            assert_eq!(row.fleet, describe(e), "{preset}");
            let dj = f(&c["objective"]) - f(&best["objective"]);
            assert_eq!(row.delta_objective, Some(dj), "{preset} {:?}", row.policy);
            let dc = f(&c["cost_usd_per_hour"]) - f(&best["cost_usd_per_hour"]);
            assert_eq!(row.delta_usd_per_hour, dc, "{preset}");
            let dl = f(&c["latency_ms"][metric]) - f(&best["latency_ms"][metric]);
            assert_eq!(row.delta_latency_ms, Some(dl), "{preset}");
        }
        // The recommendation is one of the rows, at ΔJ = 0.
        let rec: Vec<_> = w.rows.iter().filter(|r| r.is_recommendation).collect();
        assert_eq!(rec.len(), 1, "{preset}");
        assert_eq!(rec[0].delta_objective, Some(0.0));
        let b = &json["break_even"];
        assert!(
            w.break_even
                .contains(&format!("Below {} req/s", fmt_sig(f(&b["rate_rps"]), 3))),
            "{preset}: {}",
            w.break_even
        );
        assert_eq!(
            serde_json::to_value(&w.job).unwrap(),
            json["job"],
            "{preset}"
        );
        assert!(w.binding.as_ref().unwrap().contains("binds"), "{preset}");
        assert_eq!(w.relax, None);
    }
    assert!(
        plan_json("spot-sweep")["job"].is_object(),
        "spot-sweep has a job"
    );
}

fn harness(plan: Plan) -> Harness<'static, CostscopeApp> {
    let mut a = CostscopeApp::new(AppState::new(plan, None));
    a.state.tab = Tab::Explore;
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 1200.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), a);
    h.run();
    h
}

#[test]
fn the_card_is_drawn_in_the_explore_panel() {
    let plan = presets::load("startup-transcribe").unwrap();
    let w = why(&Results::compute(&plan)).unwrap();
    let h = harness(plan);
    h.get_by_label("Why this recommendation");
    h.get_by_label(w.binding.as_ref().unwrap());
    h.get_by_label(&w.break_even);
    for r in &w.rows {
        h.get_by_label_contains(&format!("{}: {}", r.policy.name(), r.fleet));
    }
}

#[test]
fn an_infeasible_plan_says_what_to_relax_and_draws_no_empty_plot() {
    let mut plan = presets::load("startup-transcribe").unwrap();
    plan.objective.slo_ms = Some(0.001);
    let results = Results::compute(&plan);
    assert!(results.best().is_none(), "an SLO of 1 µs is met by nothing");
    let w = why(&results).unwrap();
    let relax = w.relax.clone().unwrap();
    // The lowest latency on the optimiser's curves, the one the sentence names.
    let lowest = (results.optimum.as_ref().unwrap().curves.iter())
        .flat_map(|c| c.points.iter().filter_map(|p| p.latency_ms))
        .fold(f64::INFINITY, f64::min);
    assert!(lowest.is_finite() && lowest > 0.001);
    assert!(
        relax.contains(&format!(
            "Relax the SLO to at least {} ms",
            fmt_sig(lowest, 3)
        )),
        "{relax}"
    );
    let mut h = harness(plan);
    h.get_by_label(&relax);
    assert_eq!(
        h.query_all_by_label_contains("No feasible fleet to plot")
            .count(),
        2
    );
    // The cap control: startup-transcribe is on demand, capped at 32 servers.
    let cap = h.get_by_label("max servers:");
    assert_eq!(cap.accesskit_node().numeric_value(), Some(32.0));
    h.run();
}
