//! Picking a candidate on the Explore plots, headless with egui_kittest: a click on a
//! point of the objective plot selects its fleet and the summary compares it with the
//! recommendation, "Apply to plan" writes it into the plan, Ctrl+Z restores the plan
//! exactly, and a click far from every point clears the selection.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::app::CostscopeApp;
use costscope::app::explore_ui::describe;
use costscope::app::format::fmt_sig;
use costscope::app::readout;
use costscope::app::state::{AppState, Tab};
use costscope::model::{Candidate, Evaluator, Plan};
use costscope::plan::presets;
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

type H = Harness<'static, CostscopeApp>;

fn explore(preset: &str) -> H {
    let mut a = CostscopeApp::new(AppState::new(presets::load(preset).unwrap(), None));
    a.state.tab = Tab::Explore;
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), a);
    h.run();
    h
}

fn plan(h: &H) -> Plan {
    h.state().state.plan.clone()
}

/// The plot's read-out under the pointer, if one shows (its last line is J).
fn readout_at(h: &mut H, pos: egui::Pos2) -> Option<String> {
    h.hover_at(pos);
    h.run();
    let node = h.query_by_label_contains("\nJ = ")?;
    let n = node.accesskit_node();
    n.value().or_else(|| n.label())
}

/// A click where the pointer already is: press, then release a frame later with the
/// pointer kept over the plot, as a mouse does.
fn click_at(h: &mut H, pos: egui::Pos2) {
    h.hover_at(pos);
    h.run();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        // One frame between press and release: running until a background job
        // settles could let the harness's clock pass egui's longest click.
        if pressed {
            h.step();
        } else {
            h.run();
        }
    }
}

/// Sweeps the pointer over the objective plot (under its title): the first position
/// whose read-out is not the recommendation's, with that read-out, and one position
/// inside the plot that reads out nothing.
fn points_on_objective_plot(h: &mut H, best: &str) -> ((egui::Pos2, String), egui::Pos2) {
    let title = h.get_by_label("Objective vs servers, per policy").rect();
    let (x0, y0) = (title.left() + 40.0, title.bottom() + 20.0);
    let (mut point, mut empty) = (None, None);
    for row in 5..30 {
        for col in 10..60 {
            let pos = egui::pos2(x0 + 12.0 * col as f32, y0 + 10.0 * row as f32);
            match readout_at(h, pos) {
                Some(text) if point.is_none() && text != best => point = Some((pos, text)),
                None if empty.is_none() => empty = Some(pos),
                _ => {}
            }
            if let (Some(p), Some(e)) = (&point, empty) {
                return (p.clone(), e);
            }
        }
    }
    panic!("the objective plot shows no point other than the recommendation's");
}

#[test]
fn a_clicked_point_is_compared_applied_and_undone() {
    let mut h = explore("healthcare-triage");
    let metric = plan(&h).objective.metric;
    let best = h.state().runtime.results.best().unwrap().clone();
    let best_text = readout::evaluation(&best, metric);
    assert!(h.query_by_label_contains("Selected: ").is_none());
    let ((pos, text), empty) = points_on_objective_plot(&mut h, &best_text);
    click_at(&mut h, pos);
    let sel = h
        .state()
        .explore
        .selection
        .clone()
        .expect("the click selects");
    let e = &sel.evaluation;
    // The selection is the point the read-out named: its policy, batch, $/hour and J.
    assert!(
        text.starts_with(&format!("{} · ", e.policy.name())),
        "{text}"
    );
    assert!(text.contains(&readout::batch_text(e.batch)), "{text}");
    let cost = format!("${} per hour", fmt_sig(e.cost_usd_per_hour, 3));
    assert!(text.contains(&cost), "{text} vs {cost}");
    let j = format!("J = {}", fmt_sig(e.objective.unwrap(), 4));
    assert!(text.ends_with(&j), "{text} vs {j}");
    // The summary shows it beside the recommendation, with signed differences.
    let summary = h.get_by_label_contains("Selected: ");
    let summary = summary.accesskit_node();
    let line = summary.value().or_else(|| summary.label()).unwrap();
    assert_eq!(line, format!("Selected: {}", describe(e)));
    let d_cost = e.cost_usd_per_hour - best.cost_usd_per_hour;
    h.get_by_label_contains(&format!(
        " $/hour (Δ {}",
        if d_cost > 0.0 { "+" } else { "−" }
    ));
    h.get_by_label_contains(" ms (Δ ");
    h.get_by_label_contains(&format!("{} (Δ ", j));
    // Hovering the selected point, now ringed, still reads out its fleet.
    let again = readout_at(&mut h, pos).expect("a read-out over the selected point");
    assert_eq!(again.lines().last(), text.lines().last());

    let before = plan(&h);
    h.get_by_role_and_label(Role::Button, "Apply to plan")
        .click();
    h.run();
    let applied = plan(&h);
    let mut expected = before.clone();
    expected.policy = sel.candidate.policy.clone();
    expected.batching.max_batch = sel.candidate.batch;
    assert_eq!(applied, expected, "only the policy and batch changed");
    assert_ne!(applied, before);
    // The plan as written is now that fleet: the model gives it the same figures.
    let written = Candidate::from_plan(&applied).unwrap();
    assert_eq!(written, sel.candidate);
    let as_written = Evaluator::new(&applied).unwrap().evaluate(&written);
    assert_eq!(as_written.cost_usd_per_hour, e.cost_usd_per_hour);
    assert_eq!(as_written.objective, e.objective);
    // The plan moved, so every point did: the selection is let go.
    assert!(h.state().explore.selection.is_none());

    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert_eq!(plan(&h), before, "Ctrl+Z restores the plan exactly");

    // The restored plan's plot is back: the same point under the pointer.
    assert_eq!(readout_at(&mut h, pos), Some(text));
    // Select again, then a click far from every point clears the selection.
    click_at(&mut h, pos);
    assert!(h.state().explore.selection.is_some());
    click_at(&mut h, empty);
    assert!(h.state().explore.selection.is_none());
    assert!(h.query_by_label_contains("Selected: ").is_none());
}
