//! The Warm / cold plots on real simulated days: every fleet in
//! its policy's palette colour, the cumulative-cost axis labelled with ≥ 4 ticks, and
//! the start-up (an elastic fleet boots for the first requests with no server alive)
//! left in the warm-up before the day, or else kept off the servers' scale and marked.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::app::axes::{MIN_TICKS, linear_grid, linear_label};
use costscope::app::palette::policy_color;
use costscope::app::state::Results;
use costscope::app::warm_cold_fleets::{FleetRole, FleetSpec, WarmColdSettings};
use costscope::app::warm_cold_legend::fleet_style;
use costscope::app::warm_cold_plots::{STARTUP_HOURS, startup_clip};
use costscope::app::warm_cold_run::day_options;
use costscope::app::warm_cold_ui::thinned;
use costscope::model::evaluation::kind_of;
use costscope::sim::{SimResult, simulate};
use egui_plot::{GridInput, LineStyle};

/// The panel's fleets on `preset` (the optimiser's, or the hand-set sizes), each
/// simulated over the day as the panel does (after its warm-up), or from a cold
/// start with `cold`.
fn day(preset: &str, follow_optimum: bool, cold: bool) -> Vec<(FleetSpec, SimResult)> {
    let plan = costscope::plan::presets::load(preset).unwrap();
    let settings = WarmColdSettings {
        follow_optimum,
        ..WarmColdSettings::default()
    };
    let fleets = settings.fleets(&plan, &Results::compute(&plan));
    let mut options = day_options(&plan, &fleets, settings.seed);
    assert!(options.warmup_hours >= 1.0);
    if cold {
        options.warmup_hours = 0.0;
    }
    fleets
        .into_iter()
        .map(|spec| {
            let mut p = plan.clone();
            p.policy = spec.candidate.policy.clone();
            p.batching.max_batch = spec.candidate.batch;
            let r = simulate(&p, &options).unwrap();
            (spec, r)
        })
        .collect()
}

#[test]
fn warm_cold_plots_read_well_over_a_simulated_day() {
    let day = day("startup-transcribe", true, false);
    // Every fleet in its policy's colour; the plan as written and the recommendation
    // stay apart by their strokes when they share a policy.
    for (spec, _) in &day {
        let style = fleet_style(spec);
        assert_eq!(style.color, policy_color(kind_of(&spec.candidate.policy)));
        assert_eq!(style.label, spec.label());
    }
    let plan = fleet_style(&day[0].0);
    assert_eq!(day[0].0.role, FleetRole::PlanAsWritten);
    assert!(matches!(plan.style, LineStyle::Dashed { .. }));
    if let Some((rec, _)) = day.iter().find(|f| f.0.role == FleetRole::Recommendation) {
        let rec = fleet_style(rec);
        assert!(rec.width > plan.width && rec.style == LineStyle::Solid);
    }

    // The cumulative-cost axis over the day's range: at least four labelled ticks.
    let top_usd = day
        .iter()
        .map(|(_, r)| r.timeline.last().unwrap().cumulative_cost_usd)
        .fold(0.0, f64::max);
    assert!(top_usd > 1.0, "a day costs dollars: {top_usd}");
    let range = 0.0..=top_usd;
    let labels: Vec<String> = linear_grid(GridInput {
        bounds: (0.0, top_usd),
        base_step_size: top_usd * 1e-3,
    })
    .into_iter()
    .map(|m| linear_label(m, &range))
    .filter(|l| !l.is_empty())
    .collect();
    assert!(labels.len() >= MIN_TICKS, "{labels:?}");

    startup_sets_no_scale(&day);
}

/// Every fleet's servers held: the first hour is either no higher than the rest of
/// the day, or clipped off the scale (set by the rest of the day) and marked.
fn startup_sets_no_scale(day: &[(FleetSpec, SimResult)]) -> Vec<String> {
    let mut clipped = Vec::new();
    for (spec, r) in day {
        let held = thinned(&r.timeline, |m| f64::from(m.busy + m.booting + m.idle));
        let max = |from: f64, to: f64| {
            (held.iter())
                .filter(|p| p[0] >= from && p[0] < to)
                .map(|p| p[1])
                .fold(0.0, f64::max)
        };
        let (startup, later) = (max(0.0, STARTUP_HOURS), max(STARTUP_HOURS, 25.0));
        match startup_clip(&held) {
            Some(clip) => {
                clipped.push(spec.label());
                assert!(clip.peak[0] < STARTUP_HOURS && clip.peak[1] == startup);
                assert!(clip.top >= later && clip.top < startup, "{}", spec.label());
            }
            None => assert!(
                startup <= 1.1 * later,
                "{}: {startup} > {later}",
                spec.label()
            ),
        }
    }
    clipped
}

#[test]
fn hand_set_fleets_start_up_within_or_off_the_scale() {
    // healthcare-triage's hand-set scale-to-zero fleet (up to 64 servers), started
    // cold, boots 64 for the first requests, then holds at most 5: clipped and marked.
    let cold = day("healthcare-triage", false, true);
    let clipped = startup_sets_no_scale(&cold);
    assert!(clipped.iter().any(|l| l == "scale to zero"), "{clipped:?}");
}

#[test]
fn after_the_panels_warm_up_no_start_up_sets_the_scale() {
    // The same fleets as the panel simulates them, from the end of the previous day:
    // no fleet's first hour stands above the rest of its day, none is clipped.
    let warm = day("healthcare-triage", false, false);
    let clipped = startup_sets_no_scale(&warm);
    assert!(clipped.is_empty(), "{clipped:?}");
    for (spec, r) in &warm {
        assert_eq!(
            (r.hours, r.timeline.len()),
            (24.0, 1440),
            "{}",
            spec.label()
        );
        assert!(r.warmup_hours >= 1.0, "{}", spec.label());
    }
}
