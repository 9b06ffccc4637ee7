//! The simulator's warm-up (`SimOptions::warmup_hours`): a whole day of warm-up is the
//! steady state `sim::steady` measures; the timeline and the counters cover only the
//! measured hours; a run that stops inside its warm-up says so.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::Policy;
use costscope::sim::steady::steady_state;
use costscope::sim::{SimOptions, simulate};

/// startup-transcribe as a scale-to-zero fleet: on-demand, up to 32 servers.
fn voice_notes() -> costscope::model::Plan {
    let mut plan = costscope::plan::presets::load("startup-transcribe").unwrap();
    plan.policy = Policy::OnDemand {
        idle_timeout_s: 120.0,
        max_servers: 32,
    };
    plan
}

#[test]
fn a_warm_up_of_a_whole_day_is_the_steady_state_run() {
    // A 24 h warm-up starts at the plan's midnight, as the runs of `steady_state`
    // do, so the arrivals are the same: its counters are theirs.
    let plan = voice_notes();
    let options = SimOptions {
        seed: 7,
        hours: 24.0,
        warmup_hours: 24.0,
        ..SimOptions::default()
    };
    let r = simulate(&plan, &options).unwrap();
    let s = steady_state(&plan, 7, 24.0, 24.0).unwrap();
    assert_eq!((r.hours, r.warmup_hours), (24.0, 24.0));
    assert_eq!(r.server_requests as f64, s.server_requests);
    let rel = |a: f64, b: f64| (a - b).abs() / b;
    assert!(rel(r.cost_usd_per_hour, s.cost_usd_per_hour) < 1e-3);
    assert!(rel(r.servers_held, s.servers_held) < 1e-3);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn the_timeline_covers_only_the_measured_hours() {
    let plan = voice_notes();
    let run = |warmup_hours: f64| {
        let options = SimOptions {
            hours: 3.0,
            warmup_hours,
            timeline: true,
            ..SimOptions::default()
        };
        simulate(&plan, &options).unwrap()
    };
    let (cold, warm) = (run(0.0), run(2.0));
    for r in [&cold, &warm] {
        assert_eq!(r.timeline.len(), 180);
        assert_eq!(r.timeline[0].minute, 0);
        assert_eq!(r.timeline[179].minute, 179);
    }
    // The cost so far starts from nothing at the measured start and ends at the
    // measured hours' bill.
    let last = warm.timeline[179].cumulative_cost_usd;
    assert!(warm.timeline[0].cumulative_cost_usd < last / 100.0);
    assert!((last - warm.cost_usd_per_hour * 3.0).abs() < 1e-6 * last.max(1.0));
    // The warm-up's arrivals are not among the measured ones: about the same
    // number arrive in the same three hours of the day either way.
    let ratio = warm.requests as f64 / cold.requests as f64;
    assert!((0.8..1.25).contains(&ratio), "{ratio}");
}

#[test]
fn a_stop_inside_the_warm_up_is_said() {
    let plan = voice_notes();
    let options = SimOptions {
        hours: 1.0,
        warmup_hours: 2.0,
        max_requests: 10,
        ..SimOptions::default()
    };
    let r = simulate(&plan, &options).unwrap();
    assert_eq!(r.warmup_hours, 0.0);
    assert!(r.stopped.is_some());
    assert!(
        r.warnings.iter().any(|w| w.contains("of the warm-up")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("include the warm-up")),
        "{:?}",
        r.warnings
    );
}
