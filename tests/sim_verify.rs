//! The recommendation checked by simulation: intervals, agreement and a ranking the
//! simulation reverses.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::{PolicyKind, SweepOptions, optimize};
use costscope::plan::presets;
use costscope::sim::verify::{VerifyOptions, reversal, verify};

fn options() -> VerifyOptions {
    VerifyOptions {
        replications: 4,
        hours: 2.0,
        seed: 11,
    }
}

#[test]
fn the_exact_mmc_case_agrees_within_its_interval() {
    let plan = presets::load("textbook-mmc").unwrap();
    let o = optimize(&plan, &SweepOptions::for_plan(&plan)).unwrap();
    let always_on: Vec<_> = o
        .candidates
        .iter()
        .filter(|c| c.policy == PolicyKind::AlwaysOn)
        .cloned()
        .collect();
    let v = verify(&plan, &always_on, &options()).unwrap();
    assert_eq!(v.len(), 1);
    let s = &v[0].simulated;
    // A fixed fleet's cost is exact in both; M/M/c's mean is exact in the model.
    assert!((s.cost_usd_per_hour.mean - always_on[0].cost_usd_per_hour).abs() < 1e-9);
    assert!(s.mean_ms.ci95 > 0.0 && s.mean_ms.ci95 < 0.05 * s.mean_ms.mean);
    assert!(v[0].agrees, "{:?}", v[0].disagreements);
}

#[test]
fn a_worse_candidate_first_is_a_reversal_naming_the_better_one() {
    let plan = presets::load("textbook-mmc").unwrap();
    let o = optimize(&plan, &SweepOptions::for_plan(&plan)).unwrap();
    let best = o.best.clone().unwrap();
    // Far more servers than needed: the same latency bound, much dearer.
    let mut worse = o
        .candidates
        .iter()
        .max_by(|a, b| a.cost_usd_per_hour.total_cmp(&b.cost_usd_per_hour))
        .cloned()
        .unwrap();
    if worse.cost_usd_per_hour <= best.cost_usd_per_hour * 1.2 {
        worse = best.clone();
        worse.servers += 20;
    }
    let v = verify(&plan, &[worse, best], &options()).unwrap();
    assert_eq!(reversal(&plan, &v), Some(1));
    assert_eq!(reversal(&plan, &v[1..]), None);
}

#[test]
fn one_replication_is_refused() {
    let plan = presets::load("textbook-mmc").unwrap();
    let o = optimize(&plan, &SweepOptions::for_plan(&plan)).unwrap();
    let e = verify(
        &plan,
        &o.candidates,
        &VerifyOptions {
            replications: 1,
            ..options()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("replications = 1"), "{e}");
}
