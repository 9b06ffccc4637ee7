//! The LLM tab and Explore's LLM figures, headless with egui_kittest on a real wgpu
//! adapter (lavapipe in CI): on `llm-chatbot` the figures shown equal `costscope plan
//! llm-chatbot --json`'s `best.llm`, the TTFT / TPOT SLO controls edit the plan and
//! undo like any plan edit, the LLM panel draws its plots from figures cached by
//! plan; a request-level plan has no LLM tab, and the panel says why when forced.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::costscope;

use costscope::app::CostscopeApp;
use costscope::app::format::{fmt_sig, thousands};
use costscope::app::llm_figures::{LlmFigures, NOT_LLM};
use costscope::app::llm_summary::stats_text;
use costscope::app::state::{AppState, Tab};
use costscope::model::LatencyStats;
use costscope::plan::presets;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use serde_json::Value;

fn harness(preset: &str, tab: Tab) -> Harness<'static, CostscopeApp> {
    let mut a = CostscopeApp::new(AppState::new(presets::load(preset).unwrap(), None));
    a.state.tab = tab;
    let mut h = Harness::builder()
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), a);
    h.run();
    h
}

fn stats(v: &Value) -> LatencyStats {
    let f = |k: &str| v[k].as_f64().unwrap();
    LatencyStats {
        mean: f("mean"),
        p50: f("p50"),
        p95: f("p95"),
        p99: f("p99"),
    }
}

fn cli_llm() -> Value {
    let (code, out, err) = costscope(&["plan", "llm-chatbot", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["best"]["llm"].clone()
}

#[test]
fn explore_shows_the_recommendations_llm_figures_as_the_cli_prints_them() {
    let cli = cli_llm();
    let h = harness("llm-chatbot", Tab::Explore);
    h.get_by_label("LLM figures of the recommendation:");
    let f = |k: &str| cli[k].as_f64().unwrap();
    // Each card's value, written from the CLI's numbers as the panel writes its own.
    let expect = [
        (
            "TTFT mean / p95 / p99:",
            stats_text(&stats(&cli["ttft_ms"])),
        ),
        (
            "TPOT mean / p95 / p99:",
            stats_text(&stats(&cli["tpot_ms"])),
        ),
        ("output tokens/s:", fmt_sig(f("output_tokens_per_s"), 4)),
        (
            "$ per 1M output tokens:",
            format!("{} $", fmt_sig(f("cost_usd_per_million_output_tokens"), 4)),
        ),
        (
            "$ per 1M tokens (in + out):",
            format!("{} $", fmt_sig(f("cost_usd_per_million_tokens"), 4)),
        ),
        (
            "output tokens per $:",
            fmt_sig(f("output_tokens_per_usd"), 4),
        ),
        (
            "output tokens/s per replica:",
            fmt_sig(f("output_tokens_per_s_per_replica"), 4),
        ),
        (
            "one replica within the SLOs:",
            format!(
                "{} req/s = {} output tokens/s",
                fmt_sig(f("max_requests_per_s_at_slo"), 4),
                fmt_sig(f("replica_output_tokens_per_s_at_slo"), 4)
            ),
        ),
        (
            "goodput:",
            format!("{} %", fmt_sig(f("goodput") * 100.0, 4)),
        ),
        (
            "KV cache in use:",
            format!(
                "{} % of {} tokens",
                fmt_sig(f("kv_utilization") * 100.0, 3),
                thousands(f("kv_capacity_tokens") as u64)
            ),
        ),
        (
            "TTFT / TPOT SLOs:",
            format!("{} ms / 150 ms", fmt_sig(2000.0, 4)),
        ),
    ];
    for (label, value) in expect {
        h.get_by_label(label);
        h.get_by_label(&value);
    }
    // The same numbers as data: the app's evaluation is the CLI's.
    let app = h
        .state()
        .runtime
        .results
        .best()
        .unwrap()
        .llm
        .clone()
        .unwrap();
    assert_eq!(app.ttft_ms, stats(&cli["ttft_ms"]));
    assert_eq!(app.tpot_ms, stats(&cli["tpot_ms"]));
    assert_eq!(Some(app.goodput), cli["goodput"].as_f64());
    assert_eq!(Some(app.kv_utilization), cli["kv_utilization"].as_f64());
    assert_eq!(
        Some(app.max_requests_per_s_at_slo),
        cli["max_requests_per_s_at_slo"].as_f64()
    );
    assert_eq!(
        Some(app.replica_output_tokens_per_s_at_slo),
        cli["replica_output_tokens_per_s_at_slo"].as_f64()
    );
    assert_eq!(
        Some(app.output_tokens_per_s_per_replica),
        cli["output_tokens_per_s_per_replica"].as_f64()
    );
    assert_eq!(
        app.output_tokens_per_usd,
        cli["output_tokens_per_usd"].as_f64()
    );
}

#[test]
fn the_ttft_and_tpot_slos_are_plan_edits_that_undo() {
    let mut h = harness("llm-chatbot", Tab::Explore);
    assert_eq!(h.state().state.plan.objective.tpot_slo_ms, Some(150.0));
    h.get_by_label("TPOT SLO (p95)").click();
    h.run();
    assert_eq!(h.state().state.plan.objective.tpot_slo_ms, None);
    h.get_by_label("TTFT / TPOT SLOs:");
    h.get_by_label(&format!("{} ms / none", fmt_sig(2000.0, 4)));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert_eq!(h.state().state.plan.objective.tpot_slo_ms, Some(150.0));
    h.get_by_label(&format!("{} ms / 150 ms", fmt_sig(2000.0, 4)));
}

#[test]
fn the_llm_panel_draws_its_figures_once_per_plan() {
    let cli = cli_llm();
    let mut h = harness("llm-chatbot", Tab::Explore);
    h.get_by_label("LLM").click();
    h.run();
    assert_eq!(h.state().state.tab, Tab::Llm);
    for title in [
        "TTFT vs request rate, 1 to 6 replicas",
        "TPOT vs request rate, 1 to 6 replicas",
        "$ per million output tokens vs replicas (always on, over the plan's day)",
        "KV cache of one replica, tokens",
    ] {
        h.get_by_label(title);
    }
    let figures = h.state().llm.figures.clone().unwrap();
    let c = figures.curves.as_ref().unwrap();
    // The header's most requests within the SLOs is the CLI's.
    let max_rps = cli["max_requests_per_s_at_slo"].as_f64().unwrap();
    h.get_by_label_contains(&format!(
        "within the SLOs at most {} req/s",
        fmt_sig(max_rps, 4)
    ));
    // The KV line speaks the CLI's utilisation.
    let kv = cli["kv_utilization"].as_f64().unwrap();
    h.get_by_label_contains(&format!("({} %)", fmt_sig(kv * 100.0, 3)));
    assert_eq!(c.kv.as_ref().unwrap().utilization, kv);
    // Fresh figures equal the cached ones, and frames without an edit reuse them.
    let plan = h.state().state.plan.clone();
    let fresh = LlmFigures::compute(&plan, h.state().runtime.results.best());
    assert_eq!(&fresh, &figures);
    h.run();
    assert_eq!(h.state().llm.figures.as_ref(), Some(&figures));
}

#[test]
fn a_request_level_plan_has_no_llm_tab_and_the_panel_says_why() {
    let h = harness("healthcare-triage", Tab::Explore);
    assert!(h.query_by_label("LLM").is_none());
    assert!(
        h.query_by_label("LLM figures of the recommendation:")
            .is_none()
    );
    assert!(h.query_by_label("TTFT SLO (p95)").is_none());
    // A restored session on the LLM tab with a request-level plan.
    let h = harness("healthcare-triage", Tab::Llm);
    h.get_by_label(NOT_LLM);
    assert!(h.query_by_label_contains("vs request rate").is_none());
}
