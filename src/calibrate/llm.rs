//! Calibration layer: an LLM plan's iteration-time model (`service.llm.iteration`)
//! from a profile's `prefill:` and `decode:` rows of the plan's own model — prefill
//! ms against prompt tokens, a decode step against running sequences and their cached
//! context — fitted by non-negative least squares on relative error (`llm_fit.rs`),
//! with how far the straight lines miss each row said. Rows of another model (their
//! parameter or KV counts differ from `service.llm.model`'s) are refused: their times
//! are not this model's. A family the report lacks keeps the plan's coefficients, and
//! says so; `service.batch_latency_ms` (one request alone) follows the new model.

use super::llm_fit::{Fit, Point, fit, predict};
use super::{CalibrateError, Calibration, Measured, ReportCheck, Selection, finish};
use crate::model::llm_types::LlmService;
use crate::model::{Plan, Precision, Source};
use crate::plan::validate::MAX_BATCH_LATENCY_MS;
use crate::profile::report::{ProfileReport, ResultRow};
use crate::profile::workloads::Workload;

/// A fitted row missing by more than this (relative) is named in a warning: the
/// iteration model is a straight line and the rows say it bends.
const MISS_WARNING: f64 = 0.25;

/// The two coefficient groups a calibration sets, as review and apply name them.
pub const PREFILL_FIELD: &str = "service.llm.iteration.prefill_*";
/// See [`PREFILL_FIELD`].
pub const DECODE_FIELD: &str = "service.llm.iteration.decode_*";

/// A usable decoder row: prefill or decode, correct, timed, with a batch, the
/// autotune winner (or untuned).
fn usable(r: &ResultRow) -> bool {
    matches!(r.workload, Workload::Prefill(_) | Workload::Decode(_))
        && r.correct
        && r.timing.is_some()
        && r.batch.is_some()
        && (r.chosen || r.autotune.is_none())
}

/// True when a row's config name is the plan's model: the same shipped name, or the
/// stem the profiler gives a `config.json` path.
fn names_model(row: &str, model: &str) -> bool {
    let stem = std::path::Path::new(model)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|_| model.ends_with(".json"));
    row.eq_ignore_ascii_case(model) || stem.is_some_and(|s| row.eq_ignore_ascii_case(s))
}

/// Calibrates an LLM plan (`llm` is its `service.llm`) from `report`'s decoder rows.
pub(super) fn calibrate(
    plan: &Plan,
    llm: &LlmService,
    report: &ProfileReport,
    check: &ReportCheck<'_>,
    selection: &Selection,
) -> Result<Calibration, CalibrateError> {
    let recorded = match &plan.service.source {
        Source::Profile {
            adapter, precision, ..
        } => Some((adapter.clone(), *precision)),
        Source::Manual => None,
    };
    let model = selection.model.clone().unwrap_or_else(|| llm.model.clone());
    let precision = (selection.precision)
        .or(recorded.as_ref().map(|r| r.1))
        .unwrap_or(llm.precision);
    let device = (selection.device.clone()).or(recorded.map(|r| r.0));
    let rows: Vec<(usize, &ResultRow)> = (report.results.iter().enumerate())
        .filter(|(_, r)| {
            usable(r)
                && r.precision == precision
                && device
                    .as_ref()
                    .is_none_or(|d| r.device.contains(d.as_str()))
                && r.workload
                    .transformer_name()
                    .is_some_and(|n| names_model(n, &model))
        })
        .collect();
    // A GPU before the CPU path, then the first device in the report.
    let picked = rows
        .iter()
        .find(|(_, r)| r.device != "cpu")
        .or(rows.first());
    let Some(&(_, first)) = picked else {
        return Err(no_rows(report, check, &model, precision, device.as_deref()));
    };
    let rows: Vec<(usize, &ResultRow)> = rows
        .into_iter()
        .filter(|(_, r)| r.device == first.device)
        .collect();
    same_model(first, llm, check)?;
    let prefill = family(&rows, false, check)?;
    let decode = family(&rows, true, check)?;
    let mut out = plan.clone();
    let mut why: Vec<(&'static str, String)> = Vec::new();
    let mut warnings = Vec::new();
    let label = first
        .workload
        .transformer_name()
        .unwrap_or_default()
        .to_owned();
    let Some(it) = out.service.llm.as_mut().map(|l| &mut l.iteration) else {
        return Err(no_rows(report, check, &model, precision, device.as_deref()));
    };
    let (w, ws) = (&mut why, &mut warnings);
    if let Some(c) = fit_family("prefill", PREFILL_FIELD, &prefill, &label, w, ws) {
        (it.prefill_base_ms, it.prefill_ms_per_token) = (c[0], c[1]);
    }
    if let Some(c) = fit_family("decode", DECODE_FIELD, &decode, &label, w, ws) {
        (it.decode_base_ms, it.decode_ms_per_seq) = (c[0], c[1]);
        it.decode_ms_per_context_token = c[2];
    }
    if let Some(alone) = one_request_alone_ms(&out) {
        out.service.batch_latency_ms = vec![(1, alone.0)];
        why.push(("service.batch_latency_ms", alone.1));
    }
    if precision != llm.precision {
        warnings.push(format!(
            "the rows were timed in {precision}; the plan stores weights and KV in {}: its iteration times are those of {precision}",
            llm.precision
        ));
    }
    let device = first.device.clone();
    let measured = Measured {
        device: &device,
        workload: &first.workload,
        precision,
        weights: Some(rows[0]),
        why,
        warnings,
        rows_used: rows.iter().filter_map(|&(i, r)| row_line(i, r)).collect(),
    };
    finish(plan, out, report, check, measured)
}

/// The rows of one family — decode when `decode`, else prefill — as fit points, each
/// batch, length and median checked: prefill `[1, b·seq_len]`, decode `[1, b,
/// b·context_len]`.
fn family(
    rows: &[(usize, &ResultRow)],
    decode: bool,
    check: &ReportCheck<'_>,
) -> Result<Vec<(usize, Point)>, CalibrateError> {
    let mut out = Vec::new();
    for &(i, r) in rows {
        if matches!(r.workload, Workload::Decode(_)) != decode {
            continue;
        }
        let (Some(b), Some(t)) = (r.batch, r.timing.as_ref()) else {
            continue;
        };
        let ms = check.positive(
            || format!("results[{i}].timing.median_ms"),
            t.median_ms,
            MAX_BATCH_LATENCY_MS,
        )?;
        let (len, name) = if decode {
            (r.context_len, "context_len")
        } else {
            (r.seq_len, "seq_len")
        };
        let len = len.filter(|l| *l > 0).ok_or_else(|| {
            let allowed = "a token count of 1 or more".to_owned();
            check.invalid(format!("results[{i}].{name}"), "missing".into(), allowed)
        })?;
        let (b, len) = (b as f64, len as f64);
        let x = if decode {
            vec![1.0, b, b * len]
        } else {
            vec![1.0, b * len]
        };
        out.push((i, Point { x, ms }));
    }
    Ok(out)
}

/// The fit of one family's rows (`kind` "prefill" or "decode", reviewed as `field`),
/// with its reason and any miss warning; `None`, and "kept" said, when the report has
/// no such rows.
fn fit_family(
    kind: &str,
    field: &'static str,
    rows: &[(usize, Point)],
    model: &str,
    why: &mut Vec<(&'static str, String)>,
    warnings: &mut Vec<String>,
) -> Option<Vec<f64>> {
    let points: Vec<Point> = rows.iter().map(|r| r.1.clone()).collect();
    let Some(f) = fit(&points) else {
        why.push((
            field,
            format!("kept: the report has no {kind}:{model} rows"),
        ));
        return None;
    };
    why.push((field, fit_reason(kind, model, rows, &f)));
    warnings.extend(miss_warning(kind, model, rows, &f));
    Some(f.coef)
}

/// "least squares on relative error (coefficients ≥ 0) over the medians of N
/// decode:M rows; worst row results[i] off by x %".
fn fit_reason(kind: &str, model: &str, rows: &[(usize, Point)], f: &Fit) -> String {
    let worst = f
        .worst()
        .map(|(k, r)| {
            format!(
                "; worst row results[{}] off by {:.1} %",
                rows[k].0,
                r * 100.0
            )
        })
        .unwrap_or_default();
    format!(
        "fitted to the medians of {} {kind}:{model} rows (least squares on relative error, coefficients >= 0){worst}",
        rows.len()
    )
}

/// A warning when the fitted line misses a row by more than [`MISS_WARNING`].
fn miss_warning(kind: &str, model: &str, rows: &[(usize, Point)], f: &Fit) -> Option<String> {
    let (k, miss) = f.worst().filter(|w| w.1 > MISS_WARNING)?;
    let (i, p) = &rows[k];
    Some(format!(
        "the fitted {kind} time misses results[{i}] ({kind}:{model}: {:.3} ms measured, {:.3} ms fitted) by {:.0} %: the iteration model's straight line does not follow these rows closely",
        p.ms,
        predict(&f.coef, &p.x),
        miss * 100.0
    ))
}

/// One request alone on a replica with the plan's iteration model: the prefill of its
/// uncached prompt tokens and one decode step per further output token at its mean
/// context, with the reason in words.
fn one_request_alone_ms(plan: &Plan) -> Option<(f64, String)> {
    let (tokens, llm) = (plan.workload.tokens.as_ref()?, plan.service.llm.as_ref()?);
    let it = &llm.iteration;
    let prefilled = (tokens.prompt_mean * (1.0 - tokens.prefix_cache_hit)).max(1.0);
    let steps = (tokens.output_mean - 1.0).max(0.0);
    let context = tokens.prompt_mean + tokens.output_mean / 2.0;
    let decode_ms =
        it.decode_base_ms + it.decode_ms_per_seq + it.decode_ms_per_context_token * context;
    let ms = it.prefill_base_ms + it.prefill_ms_per_token * prefilled + steps * decode_ms;
    let why = format!(
        "one request alone with the calibrated iteration model: prefill of {prefilled:.0} uncached prompt tokens + {steps:.0} decode steps at a mean context of {context:.0} tokens"
    );
    (ms.is_finite() && ms > 0.0).then_some((ms, why))
}

/// Refuses rows whose parameter or KV-per-token counts differ from the plan's model.
fn same_model(
    row: &ResultRow,
    llm: &LlmService,
    check: &ReportCheck<'_>,
) -> Result<(), CalibrateError> {
    let (Some(fp), Some(w), Some(kv)) = (&llm.footprint, row.weights_bytes, row.kv_bytes_per_token)
    else {
        return Ok(());
    };
    let per = |p: Precision| p.bytes_per_element() as f64;
    let found = (w / per(row.precision), kv / per(row.precision));
    let expected = (
        fp.weights_bytes / per(llm.precision),
        fp.kv_bytes_per_token / per(llm.precision),
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs());
    if close(found.0, expected.0) && close(found.1, expected.1) {
        return Ok(());
    }
    let counts =
        |(p, kv): (f64, f64)| format!("{p:.0} parameters and {kv:.0} KV elements per token");
    Err(CalibrateError::LlmModel {
        report: check.report.to_owned(),
        workload: row.workload.label(),
        model: llm.model.clone(),
        found: counts(found),
        expected: counts(expected),
    })
}

/// The error naming what was wanted and the decoder rows the report has.
fn no_rows(
    report: &ProfileReport,
    check: &ReportCheck<'_>,
    model: &str,
    precision: Precision,
    device: Option<&str>,
) -> CalibrateError {
    let mut available: Vec<String> = (report.results.iter())
        .filter(|r| usable(r))
        .map(|r| format!("{}/{}/{}", r.device, r.precision, r.workload))
        .collect();
    available.sort();
    available.dedup();
    CalibrateError::NoLlmRows {
        report: check.report.to_owned(),
        model: model.to_owned(),
        wanted: format!(
            "in {} on {}",
            precision.name(),
            device.unwrap_or("any device")
        ),
        available: if available.is_empty() {
            "none".into()
        } else {
            available.join(", ")
        },
    }
}

/// A row used, with the statistic: "results[3]: D bf16 decode:M batch 4 ctx 512:
/// median 3.100 ms".
fn row_line(i: usize, r: &ResultRow) -> Option<String> {
    let t = r.timing.as_ref()?;
    let len = match &r.workload {
        Workload::Decode(_) => format!(" ctx {}", r.context_len?),
        _ => format!(" seq_len {}", r.seq_len?),
    };
    Some(format!(
        "results[{i}]: {} {} {} batch {}{len}: median {:.3} ms",
        r.device, r.precision, r.workload, r.batch?, t.median_ms
    ))
}
