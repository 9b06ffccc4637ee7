//! The desktop app at 1280×800, headless with egui_kittest on a real wgpu adapter
//! (lavapipe in CI): on every panel the widgets at the far right and the bottom (the
//! Profile table's last column, its last plot, the Warm / cold legends) can be brought
//! into the window, by scrolling where the panel is taller or wider than it.
//! `UPDATE_1280X800=1 cargo test --test app_small_window` rewrites
//! assets/1280x800/<panel>.png.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::app::CostscopeApp;
use costscope::app::state::{AppState, Tab};
use costscope::plan::presets;
use costscope::profile::report::ProfileReport;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// The window size under test: a common laptop screen.
const WINDOW: egui::Vec2 = egui::vec2(1280.0, 800.0);

/// The software adapter lavapipe reports itself as.
const LLVMPIPE: &str = "llvmpipe (LLVM 15.0.7, 256 bits)";

/// A report as the profiler writes it: `mlp:small` in f32 and f16 on llvmpipe and in
/// f32 on the CPU at batches 1, 4 and 16, a second adapter without f16 (its row says
/// why in the runner's words, the widest cell), llvmpipe's cold start, and two power
/// samples.
fn report() -> ProfileReport {
    let row = |device: &str, precision: &str, batch: u64, median_ms: f64| {
        serde_json::json!({
            "device": device, "workload": "mlp:small", "precision": precision,
            "variant": "tiled", "chosen": true, "m": batch, "n": 256, "k": 256,
            "batch": batch, "supported": true, "why_unsupported": null,
            "correct": true, "rel_error": 1e-7,
            "timing": {
                "method": "timestamp", "median_ms": median_ms, "p5_ms": median_ms * 0.97,
                "p95_ms": median_ms * 1.05, "p99_ms": median_ms * 1.08,
                "min_ms": median_ms * 0.95, "max_ms": median_ms * 1.1, "cv": 0.05,
                "stable": true, "samples": 30
            },
            "items_per_s": batch as f64 * 1000.0 / median_ms,
            "gflops": 1.0, "gbytes_per_s": 1.0, "pct_of_peak": 1.0, "flops_per_byte": 2.0
        })
    };
    let mut rows = Vec::new();
    for (i, b) in [1u64, 4, 16].into_iter().enumerate() {
        let ms = 2.0 + i as f64;
        rows.push(row(LLVMPIPE, "f32", b, ms));
        rows.push(row(LLVMPIPE, "f16", b, ms * 0.7));
        rows.push(row("cpu", "f32", b, ms * 3.0));
    }
    let intel = "Intel(R) UHD Graphics 620 (KBL GT2)";
    rows.push(serde_json::json!({
        "device": intel, "workload": "mlp:small", "precision": "f16", "variant": "-",
        "chosen": false, "m": 1, "n": 256, "k": 256, "batch": 1, "supported": false,
        "why_unsupported": format!("adapter `{intel}` does not offer SHADER_F16"),
        "correct": false, "rel_error": null, "timing": null,
        "gflops": null, "gbytes_per_s": null, "pct_of_peak": null
    }));
    let cold = serde_json::json!({
        "device": LLVMPIPE, "instance": 10.0, "adapter": 20.0, "device_create": 30.0,
        "shader_module": 5.0, "pipeline": 5.0, "first_dispatch": 100.0,
        "weight_upload": 300.0, "first_result": 30.0, "shader_cache": "cold"
    });
    serde_json::from_value(serde_json::json!({
        "version": 1,
        "fingerprint": {"app_version": "0.1.0", "os": "linux", "cpu": "test", "date": "2026-12-01T00:00:00Z"},
        "adapters": [],
        "results": rows,
        "cold_start_ms": cold.clone(),
        "cold_start_all_ms": [cold],
        "peaks": [],
        "telemetry": {
            "available": true, "why_unavailable": null, "energy_j_per_item": null,
            "samples": [{"t_s": 0.0, "power_w": 60.0}, {"t_s": 0.1, "power_w": 80.0}]
        }
    }))
    .unwrap()
}

/// The window at 1280×800 on `preset`'s `tab`, stepped until its worker is done.
fn window(preset: &str, tab: Tab) -> Harness<'static, CostscopeApp> {
    let mut a = CostscopeApp::new(AppState::new(presets::load(preset).unwrap(), None));
    a.state.tab = tab;
    if tab == Tab::Profile {
        a.state.profile.run.report = Some(report());
    }
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(WINDOW)
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), a);
    h.step();
    if tab == Tab::WarmCold {
        h.get_by_label("Simulate a day").click();
        h.step();
        let start = std::time::Instant::now();
        while h.state().state.warm_cold.running() {
            assert!(start.elapsed().as_secs() < 120, "the day never finished");
            std::thread::sleep(std::time::Duration::from_millis(10));
            h.step();
        }
    }
    h.run();
    h
}

/// Saves the window as assets/1280x800/`name`.png when UPDATE_1280X800 is set.
fn save(h: &mut Harness<'static, CostscopeApp>, name: &str) {
    if std::env::var_os("UPDATE_1280X800").is_none() {
        return;
    }
    let image = h.render().unwrap();
    let path = format!("{}/assets/1280x800/{name}.png", env!("CARGO_MANIFEST_DIR"));
    image.save(&path).unwrap();
}

/// Brings `label` into view (scrolling its scroll areas) and asserts that all of it
/// then lies inside the window.
fn reachable(h: &mut Harness<'static, CostscopeApp>, label: &str) {
    h.get_by_label(label).scroll_to_me();
    h.run();
    let rect = h.get_by_label(label).rect();
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, WINDOW);
    assert!(
        screen.contains_rect(rect),
        "{label:?} at {rect:?} is outside the {WINDOW:?} window"
    );
}

#[test]
fn profile_fits() {
    let mut h = window("healthcare-triage", Tab::Profile);
    save(&mut h, "profile");
    // The table's last columns, then the plots below and beside it: the right-hand
    // plot's PNG button ends its title row, the cold-start plot is the last one.
    for label in [
        "rel error",
        "vs f32",
        "Throughput vs batch, chosen kernels",
        "Cold start, ms (first GPU device)",
        "NVML telemetry: available",
    ] {
        reachable(&mut h, label);
    }
    let throughput = h.get_by_label("Throughput vs batch, chosen kernels").rect();
    let pngs = h
        .get_all_by_label("PNG")
        .map(|n| n.rect())
        .collect::<Vec<_>>();
    // The PNG button on the throughput title's row, at its right end, is in the window.
    let row_end = pngs
        .iter()
        .filter(|r| (r.center().y - throughput.center().y).abs() < 4.0)
        .map(|r| r.max.x)
        .fold(0.0, f32::max);
    assert!(
        row_end > throughput.max.x && row_end <= WINDOW.x,
        "the throughput plot's PNG button ends at x = {row_end}"
    );
}

#[test]
fn explore_fits() {
    let mut h = window("healthcare-triage", Tab::Explore);
    save(&mut h, "explore");
    reachable(&mut h, "break-even:");
    reachable(&mut h, "Cost vs p99 latency (Pareto frontier)");
}

#[test]
fn llm_fits() {
    let mut h = window("llm-chatbot", Tab::Llm);
    save(&mut h, "llm");
    // The right-hand plot of each row, and the KV-cache sentence at the bottom.
    reachable(&mut h, "TPOT vs request rate, 1 to 6 replicas");
    reachable(&mut h, "KV cache of one replica, tokens");
    reachable(
        &mut h,
        "$ per million output tokens vs replicas (always on, over the plan's day)",
    );
}

#[test]
fn caching_fits() {
    let mut h = window("embedding-cache", Tab::Caching);
    save(&mut h, "caching");
    // The last figures of the controls' scroll area, and the plot's title row.
    reachable(&mut h, "What lazy evaluation saves");
    reachable(&mut h, "PNG");
}

#[test]
fn hardware_fits() {
    let mut h = window("healthcare-triage", Tab::Hardware);
    save(&mut h, "hardware");
    // The picker's last offer, the chart's title row and the projection's curve.
    let catalog = costscope::plan::catalog::shipped().unwrap();
    reachable(&mut h, &catalog.offers.last().unwrap().label());
    reachable(&mut h, "Cost per hardware at the SLO, $/hour");
    reachable(&mut h, "projected ms");
}

#[test]
fn warm_cold_fits() {
    let mut h = window("startup-transcribe", Tab::WarmCold);
    save(&mut h, "warm_cold");
    reachable(&mut h, "Verdict");
    reachable(&mut h, "Cumulative cost, $");
}

#[test]
fn plan_fits() {
    let mut h = window("healthcare-triage", Tab::Plan);
    save(&mut h, "plan");
    reachable(&mut h, "Compare");
}
