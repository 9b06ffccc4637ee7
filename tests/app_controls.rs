//! The app's rate, price and size controls, headless with egui_kittest on a real wgpu
//! adapter: a short drag on the traffic slider moves the rate by a small factor, and a
//! value typed into its number box is the rate the plan gets, clamped to what the plan
//! accepts.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::app::CostscopeApp;
use costscope::app::explore_ui::{BETA, PEAK_RATE_RPS};
use costscope::app::state::{AppState, Tab};
use costscope::model::traffic::peak_rate_rps;
use costscope::plan::{presets, validate::validate};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn harness() -> Harness<'static, CostscopeApp> {
    let mut state = AppState::new(presets::load("startup-transcribe").unwrap(), None);
    state.tab = Tab::Explore;
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

fn peak(h: &Harness<'_, CostscopeApp>) -> f64 {
    peak_rate_rps(&h.state().state.plan.workload.rate_rps)
}

/// The rail of the traffic slider, in screen points.
fn traffic_rail(h: &Harness<'_, CostscopeApp>) -> egui::Rect {
    h.get_by_role_and_label(Role::Slider, PEAK_RATE_RPS.label)
        .rect()
}

#[test]
fn a_short_drag_on_the_traffic_slider_moves_it_by_a_small_factor() {
    let mut h = harness();
    let rail = traffic_rail(&h);
    // At least a decade per 30 points of drag: the 30 -> 100 000 req/s (3.5
    // decades) took a drag of about 45 points on the old 100-point rail.
    assert!(rail.width() >= 7.0 * 30.0, "{rail:?}");
    let start = egui::pos2(rail.left() + 0.4 * rail.width(), rail.center().y);
    h.hover_at(start);
    h.drag_at(start);
    h.run();
    let grabbed = peak(&h);
    let drag_px = 20.0;
    // A drag arrives as several moves; the grabbed rate already changes the best fleet,
    // so a message appears above mid-drag, and the drag must keep going through it.
    let mut seen = vec![grabbed];
    for step in 1..=4 {
        h.hover_at(start + egui::vec2(drag_px * step as f32 / 4.0, 0.0));
        h.run();
        seen.push(peak(&h));
    }
    assert!(
        h.query_by_label_contains("the best fleet changed")
            .is_some(),
        "the drag should change the fleet for this check to mean anything"
    );
    assert!(seen.windows(2).all(|w| w[1] > w[0]), "{seen:?}");
    let dragged = peak(&h);
    h.drop_at(start + egui::vec2(drag_px, 0.0));
    h.run();
    let factor = dragged / grabbed;
    assert!(
        factor > 1.0 && factor <= 10f64.powf(f64::from(drag_px) / 30.0),
        "{grabbed} -> {dragged} req/s on a {drag_px}-point drag"
    );
    validate(&h.state().state.plan).unwrap();
}

/// Types `text` into the traffic slider's number box (clicked, so all its text is
/// selected) and presses Enter.
fn type_traffic(h: &mut Harness<'static, CostscopeApp>, text: &str) {
    type_into(h, PEAK_RATE_RPS.label, text);
}

/// Types `text` into the number box of the control labelled `label`, then Enter.
fn type_into(h: &mut Harness<'static, CostscopeApp>, label: &str, text: &str) {
    h.get_by_role_and_label(Role::SpinButton, label).click();
    h.run();
    h.get_by_role_and_label(Role::SpinButton, label)
        .type_text(text);
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
}

#[test]
fn a_typed_rate_is_the_rate_the_plan_gets() {
    let mut h = harness();
    type_traffic(&mut h, "250");
    assert_eq!(peak(&h), 250.0);
    validate(&h.state().state.plan).unwrap();
    // Past what the plan accepts: clamped to its bound, never invalid.
    type_traffic(&mut h, "5e9");
    assert_eq!(peak(&h), PEAK_RATE_RPS.valid.1);
    validate(&h.state().state.plan).unwrap();
    // Not a number: the rate stays.
    type_traffic(&mut h, "NaN");
    assert_eq!(peak(&h), PEAK_RATE_RPS.valid.1);
    type_traffic(&mut h, "0");
    assert_eq!(peak(&h), PEAK_RATE_RPS.valid.0);
    validate(&h.state().state.plan).unwrap();
}

#[test]
fn a_typed_beta_of_zero_with_alpha_zero_is_refused() {
    let mut h = harness();
    h.state_mut().state.plan.objective.alpha = 0.0;
    h.run();
    let beta = h.state().state.plan.objective.beta;
    type_into(&mut h, BETA.label, "0");
    assert_eq!(h.state().state.plan.objective.beta, beta);
    validate(&h.state().state.plan).unwrap();
    type_into(&mut h, BETA.label, "2.5e-3");
    assert_eq!(h.state().state.plan.objective.beta, 2.5e-3);
}
