//! The simulator watched while it runs: its observer hears the simulated hour as it
//! grows and can stop it; a run stopped short says where and why in a structured form.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::plan::presets;
use costscope::sim::verify::{VerifyOptions, verify_cancellable};
use costscope::sim::{SimError, SimOptions, StopReason, simulate, simulate_observed};

#[test]
fn the_observer_hears_the_hours_grow_and_the_result_is_the_same() {
    let plan = presets::load("textbook-mmc").unwrap();
    let options = SimOptions::default();
    let mut hours = Vec::new();
    let r = simulate_observed(&plan, &options, &mut |h| {
        hours.push(h);
        true
    })
    .unwrap();
    // 8 req/s for a day is about 1.4 M events: a call every 65 536 of them.
    assert!(hours.len() >= 10, "{} calls", hours.len());
    assert!(hours.windows(2).all(|w| w[0] <= w[1]), "{hours:?}");
    assert!(*hours.last().unwrap() > 20.0, "{hours:?}");
    assert_eq!(r.hours, 24.0);
    assert_eq!(r.stopped, None);
    assert_eq!(
        r,
        simulate(&plan, &options).unwrap(),
        "watching changes nothing"
    );
}

#[test]
fn an_observer_saying_stop_cancels_the_run_where_it_was() {
    let plan = presets::load("textbook-mmc").unwrap();
    let mut calls = 0;
    let err = simulate_observed(&plan, &SimOptions::default(), &mut |_| {
        calls += 1;
        calls < 3
    })
    .unwrap_err();
    match err {
        SimError::Cancelled { hour } => assert!(hour > 0.0 && hour < 24.0, "{hour}"),
        other => panic!("not a cancel: {other}"),
    }
    assert_eq!(calls, 3);
    let o = costscope::model::optimize(&plan, &costscope::model::SweepOptions::for_plan(&plan))
        .unwrap();
    let err =
        verify_cancellable(&plan, &o.candidates, &VerifyOptions::default(), &|| false).unwrap_err();
    assert!(matches!(err, SimError::Cancelled { .. }), "{err}");
}

#[test]
fn a_run_stopped_short_says_why_and_which_warning_says_it() {
    let plan = presets::load("textbook-mmc").unwrap();
    let options = SimOptions {
        max_requests: 50_000,
        ..SimOptions::default()
    };
    let r = simulate(&plan, &options).unwrap();
    let stop = r.stopped.clone().unwrap();
    assert_eq!(stop.reason, StopReason::RequestLimit(50_000));
    assert!(
        stop.hour < 24.0 && (stop.hour - r.hours).abs() < 1e-9,
        "{stop:?} {}",
        r.hours
    );
    assert!(r.warnings[stop.warning].starts_with("stopped after 50000 requests"));
}
