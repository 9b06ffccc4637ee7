//! Benchmark of the desktop app's CPU cost per frame: one Explore frame with all plots
//! while a slider moves (so the model recomputes: optimise sweep, break-even, the plan
//! as written), and one frame with nothing changed. Headless (egui_kittest, no GPU
//! rendering): this is the UI thread's CPU time, not the GPU's.

// A benchmark's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use costscope::app::CostscopeApp;
use costscope::app::state::{AppState, Tab};
use costscope::plan::presets;
use criterion::{Criterion, criterion_group, criterion_main};
use eframe::egui;
use egui_kittest::Harness;

fn harness() -> Harness<'static, CostscopeApp> {
    let mut state = AppState::new(presets::load("healthcare-triage").expect("preset"), None);
    state.tab = Tab::Explore;
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(
            |ui, app: &mut CostscopeApp| app.ui(ui),
            CostscopeApp::new(state),
        );
    h.run();
    h
}

fn benches(c: &mut Criterion) {
    let mut h = harness();
    let mut beta = 0.5;
    c.bench_function("explore_frame_slider_moving", |b| {
        b.iter(|| {
            // A new β each frame, as while dragging the slider.
            beta = if beta > 1.0 { 0.01 } else { beta * 1.01 };
            h.state_mut().state.plan.objective.beta = beta;
            h.step();
            black_box(&h);
        })
    });
    let mut h = harness();
    c.bench_function("explore_frame_idle", |b| {
        b.iter(|| {
            h.step();
            black_box(&h);
        })
    });
}

criterion_group!(app, benches);
criterion_main!(app);
