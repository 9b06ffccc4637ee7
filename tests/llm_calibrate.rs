//! calibration tests: an LLM plan's iteration-time model calibrated from a real
//! profile's `prefill:` and `decode:` rows of tiny-llama on the machine's GPU adapter
//! (lavapipe in CI) — the fit is the non-negative least-squares optimum of its rows,
//! the before → after names both groups, the calibrated plan evaluates end to end with
//! the measured times, opting a group out keeps the plan's, and rows of another model
//! are refused.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::calibrate::{
    DECODE_FIELD, PREFILL_FIELD, Selection, apply_changes, calibrate_with_warnings,
};
use costscope::model::llm_types::IterationTime;
use costscope::model::{Plan, SweepOptions, optimize};
use costscope::plan::io::load_str;
use costscope::profile::report::{ProfileReport, ResultRow};
use costscope::profile::workloads::Workload;
use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};

/// A chatbot plan on tiny-llama in f32 (the shipped preset with the tiny model, short
/// requests that fit its 128 positions, and a 1 GB replica).
fn tiny_plan(model: &str) -> Plan {
    let text = include_str!("../presets/llm-chatbot.ron")
        .replace("\"Llama-3.1-8B\"", &format!("\"{model}\""))
        .replace("precision: Bf16", "precision: F32")
        .replace("prompt_mean: 512.0", "prompt_mean: 40.0")
        .replace("output_mean: 256.0", "output_mean: 24.0")
        .replace("gpu_memory_gb: 24.0", "gpu_memory_gb: 1.0");
    load_str(&text, "tiny.ron").unwrap()
}

/// tiny-llama's prefill and decode rows on the GPU (two lengths, two batches each).
fn profile() -> Option<ProfileReport> {
    let ctx = profile_common::device()?;
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Adapter(ctx.name.clone());
    drop(ctx);
    opts.models = vec!["tiny-llama".into()];
    opts.precisions = vec![Precision::F32];
    opts.gemm_sizes = Vec::new();
    opts.peaks = false;
    opts.seq_lens = vec![16, 48];
    opts.context_lens = vec![16, 96];
    opts.batches = vec![1, 4];
    opts.budget_per_row = Duration::from_millis(60);
    let report = run_profile(&opts, &mut |_| {}).expect("profile");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    Some(report)
}

/// The GPU rows of one family as (regressors, median ms).
fn rows(report: &ProfileReport, decode: bool) -> Vec<(Vec<f64>, f64)> {
    let of = |r: &&ResultRow| {
        r.device != "cpu"
            && r.correct
            && matches!(r.workload, Workload::Decode(_)) == decode
            && matches!(r.workload, Workload::Prefill(_) | Workload::Decode(_))
    };
    report
        .results
        .iter()
        .filter(of)
        .map(|r| {
            let b = r.batch.unwrap() as f64;
            let ms = r.timing.as_ref().unwrap().median_ms;
            let x = if decode {
                vec![1.0, b, b * r.context_len.unwrap() as f64]
            } else {
                vec![1.0, b * r.seq_len.unwrap() as f64]
            };
            (x, ms)
        })
        .collect()
}

/// Σ ((c·x − ms) / ms)².
fn sse(coef: &[f64], rows: &[(Vec<f64>, f64)]) -> f64 {
    rows.iter()
        .map(|(x, ms)| {
            let fit: f64 = coef.iter().zip(x).map(|(c, x)| c * x).sum();
            ((fit - ms) / ms).powi(2)
        })
        .sum()
}

/// The fit is a constrained optimum: every coefficient ≥ 0, and moving any one of
/// them (within ≥ 0) by 1 % of its scale or more never lowers the relative error.
fn assert_optimal(coef: &[f64], rows: &[(Vec<f64>, f64)]) {
    assert!(coef.iter().all(|c| *c >= 0.0 && c.is_finite()), "{coef:?}");
    let at = sse(coef, rows);
    for i in 0..coef.len() {
        // The scale of coefficient i: what it would take alone to explain the rows.
        let scale = rows
            .iter()
            .map(|(x, ms)| ms / x[i].max(1e-12))
            .fold(0.0, f64::max);
        for step in [0.01, -0.01, 0.1, -0.1] {
            let mut c = coef.to_vec();
            c[i] = (c[i] + step * scale).max(0.0);
            assert!(
                sse(&c, rows) >= at * (1.0 - 1e-9),
                "coef {i} step {step}: {coef:?}"
            );
        }
    }
}

fn prefill_of(it: &IterationTime) -> [f64; 2] {
    [it.prefill_base_ms, it.prefill_ms_per_token]
}

fn decode_of(it: &IterationTime) -> [f64; 3] {
    [
        it.decode_base_ms,
        it.decode_ms_per_seq,
        it.decode_ms_per_context_token,
    ]
}

#[test]
fn an_llm_plan_calibrated_from_decoder_rows_evaluates_end_to_end() {
    let Some(report) = profile() else {
        return;
    };
    let plan = tiny_plan("tiny-llama");
    let c = calibrate_with_warnings(&plan, &report, "r.json", &Selection::default()).unwrap();
    let it = &c.plan.service.llm.as_ref().unwrap().iteration;
    let (prefill, decode) = (rows(&report, false), rows(&report, true));
    assert_eq!((prefill.len(), decode.len()), (4, 4));
    assert_optimal(&prefill_of(it), &prefill);
    assert_optimal(&decode_of(it), &decode);
    // The review names both groups, with their rows, and the one request alone.
    let fields: Vec<&str> = c.changes.iter().map(|ch| ch.field.as_str()).collect();
    for f in [PREFILL_FIELD, DECODE_FIELD, "service.batch_latency_ms"] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    let why = &c
        .changes
        .iter()
        .find(|ch| ch.field == DECODE_FIELD)
        .unwrap()
        .why;
    assert!(why.contains("4 decode:tiny-llama rows"), "{why}");
    assert_eq!(c.rows_used.len(), 8, "{:?}", c.rows_used);
    // End to end: the calibrated plan's recommendation is feasible and its TPOT is the
    // measured decode model's: at least one sequence's step at the shortest context.
    let best = optimize(&c.plan, &SweepOptions::for_plan(&c.plan))
        .unwrap()
        .best
        .expect("a feasible recommendation");
    let llm = best.llm.as_ref().expect("the llm block");
    let one_step = it.decode_base_ms + it.decode_ms_per_seq + it.decode_ms_per_context_token * 40.0;
    assert!(
        llm.tpot_ms.mean >= one_step * (1.0 - 1e-9),
        "{llm:?} vs {one_step}"
    );
    assert!(
        llm.tpot_ms.mean < plan.objective.tpot_slo_ms.unwrap(),
        "{llm:?}"
    );
    assert!(llm.output_tokens_per_s.is_finite() && llm.cost_usd_per_million_tokens.is_finite());
    // The roofline guesses of the preset are gone from what the model uses.
    let before = optimize(&plan, &SweepOptions::for_plan(&plan))
        .unwrap()
        .best
        .unwrap();
    assert!(llm.tpot_ms.mean < before.llm.as_ref().unwrap().tpot_ms.mean / 5.0);
    // Opting the prefill group out keeps the plan's prefill and takes the decode fit.
    let fields: Vec<&str> = costscope::calibrate::FIELDS
        .into_iter()
        .filter(|f| *f != PREFILL_FIELD)
        .collect();
    let partial = apply_changes(&plan, &c.plan, &fields);
    let pi = &partial.service.llm.as_ref().unwrap().iteration;
    let orig = &plan.service.llm.as_ref().unwrap().iteration;
    assert_eq!(prefill_of(pi), prefill_of(orig));
    assert_eq!(decode_of(pi), decode_of(it));
}

#[test]
fn rows_of_another_model_are_refused() {
    let Some(report) = profile() else {
        return;
    };
    // The plan's model was not profiled: the error names it and what the report has.
    let gpt2 = tiny_plan("tiny-gpt2");
    let e = calibrate_with_warnings(&gpt2, &report, "r.json", &Selection::default());
    let e = e.unwrap_err().to_string();
    assert!(
        e.contains("no correct, timed prefill: or decode: rows of tiny-gpt2"),
        "{e}"
    );
    assert!(
        e.contains("decode:tiny-llama") && e.contains("--model tiny-gpt2"),
        "{e}"
    );
    // Naming tiny-llama's rows for it anyway: their counts are another model's.
    let selection = Selection {
        model: Some("tiny-llama".into()),
        ..Selection::default()
    };
    let e = calibrate_with_warnings(&gpt2, &report, "r.json", &selection);
    let e = e.unwrap_err().to_string();
    assert!(
        e.contains("they time another model") && e.contains("tiny-gpt2"),
        "{e}"
    );
    // A precision the report lacks is named too.
    let mut bf16 = tiny_plan("tiny-llama");
    bf16.service.llm.as_mut().unwrap().precision = costscope::model::Precision::Bf16;
    let e = calibrate_with_warnings(&bf16, &report, "r.json", &Selection::default());
    let e = e.unwrap_err().to_string();
    assert!(e.contains("rows of tiny-llama in bf16"), "{e}");
}
