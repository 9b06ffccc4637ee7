//! calibration tests: a transformer encoder named in the selection calibrates a plan's
//! L(b) from a real CPU profile's `encoder:` rows at the plan's `service.seq_len`, and
//! refuses a length the report lacks; without a transformer named, calibration stays
//! on MLP rows as before.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use costscope::calibrate::{Selection, calibrate_with_warnings};
use costscope::model::Source;
use costscope::plan::presets;
use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};

#[test]
fn encoder_rows_calibrate_at_the_plans_sequence_length() {
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Cpu;
    opts.models = vec!["tiny-bert".into()];
    opts.precisions = vec![Precision::F32];
    opts.gemm_sizes = Vec::new();
    opts.peaks = false;
    opts.batches = vec![1, 2];
    opts.seq_lens = vec![16, 32];
    opts.budget_per_row = Duration::from_millis(50);
    let report = run_profile(&opts, &mut |_| {}).unwrap();
    let mut plan = presets::load("healthcare-triage").unwrap();
    let selection = Selection {
        model: Some("tiny-bert".into()),
        ..Selection::default()
    };
    // The preset's length is the default, 128: the report has only 16 and 32.
    let e = calibrate_with_warnings(&plan, &report, "r.json", &selection).unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("no encoder:tiny-bert rows in f32 at the plan's service.seq_len 128 (lengths it has: 16, 32)"),
        "{e}"
    );
    plan.service.seq_len = 32;
    let c = calibrate_with_warnings(&plan, &report, "r.json", &selection).unwrap();
    let at32: Vec<(u32, f64)> = report
        .results
        .iter()
        .filter(|r| r.seq_len == Some(32) && r.timing.is_some())
        .map(|r| {
            (
                r.batch.unwrap() as u32,
                r.timing.as_ref().unwrap().median_ms,
            )
        })
        .collect();
    assert_eq!(at32.len(), 2, "{at32:?}");
    let (fitted, _) = costscope::calibrate::review::monotone(&at32);
    assert_eq!(c.plan.service.batch_latency_ms, fitted);
    assert_eq!(c.rows_used.len(), 2, "{:?}", c.rows_used);
    assert!(
        c.rows_used
            .iter()
            .all(|r| r.contains("cpu f32 encoder:tiny-bert seq_len 32 batch")),
        "{:?}",
        c.rows_used
    );
    match &c.plan.service.source {
        Source::Profile { model, adapter, .. } => {
            assert_eq!((model.as_str(), adapter.as_str()), ("tiny-bert", "cpu"));
        }
        other => panic!("{other:?}"),
    }
    // Nothing named: encoder rows are never picked in place of an MLP.
    let e = calibrate_with_warnings(&plan, &report, "r.json", &Selection::default());
    let e = e.unwrap_err().to_string();
    assert!(e.contains("no correct, timed MLP rows"), "{e}");
}
