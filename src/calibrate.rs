//! Calibration (profile → model): moves a profile report's measurements into a plan's
//! service — L(b) per batch, service CV, cold start and power — so the cost model runs
//! on numbers measured on the user's own machine. The plan's `speed_vs_profiled` is
//! kept: it says how the plan's hardware compares with the profiled device.

use crate::model::{Plan, Precision, Source};
use crate::plan::validate::MAX_COLD_START_S;
use crate::profile::report::{ProfileReport, ResultRow};

/// Why a report cannot calibrate a plan.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    /// No correct, timed MLP row matches the selection.
    #[error(
        "the report has no correct, timed MLP rows for device '{device}', precision {precision}, model '{model}' (available: {available})"
    )]
    NoRows {
        /// Device asked for (or "any").
        device: String,
        /// Precision asked for.
        precision: String,
        /// Model asked for (or "any").
        model: String,
        /// What the report does have, as "device/precision/model" triples.
        available: String,
    },
}

/// What to take from a report; `None` picks automatically (a GPU before the CPU, the
/// plan's recorded source first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Device (adapter name, or "cpu"); a substring match.
    pub device: Option<String>,
    /// Precision.
    pub precision: Option<Precision>,
    /// MLP preset name, e.g. "bert-base".
    pub model: Option<String>,
}

/// Rows usable for calibration: MLP, correct, timed, autotune winners (or untuned).
fn usable(r: &ResultRow) -> bool {
    r.workload.mlp_name().is_some()
        && r.correct
        && r.timing.is_some()
        && r.batch.is_some()
        && (r.chosen || r.autotune.is_none())
}

/// Calibrates `plan` from `report` (read from `report_path`, recorded in the plan's
/// source). Returns the updated plan; the input is left unchanged on error.
pub fn calibrate(
    plan: &Plan,
    report: &ProfileReport,
    report_path: &str,
    selection: &Selection,
) -> Result<Plan, CalibrateError> {
    let recorded = match &plan.service.source {
        Source::Profile {
            adapter,
            precision,
            model,
            ..
        } => Some((adapter.clone(), *precision, model.clone())),
        Source::Manual => None,
    };
    let want_device = selection
        .device
        .clone()
        .or_else(|| recorded.as_ref().map(|r| r.0.clone()));
    let want_precision = selection
        .precision
        .or(recorded.as_ref().map(|r| r.1))
        .unwrap_or(Precision::F32);
    let want_model = selection
        .model
        .clone()
        .or_else(|| recorded.as_ref().map(|r| r.2.clone()));
    let matches = |r: &ResultRow| {
        usable(r)
            && r.precision == want_precision
            && want_device
                .as_ref()
                .is_none_or(|d| r.device.contains(d.as_str()))
            && want_model
                .as_ref()
                .is_none_or(|m| r.workload.mlp_name() == Some(m.as_str()))
    };
    let rows: Vec<&ResultRow> = report.results.iter().filter(|r| matches(r)).collect();
    // Prefer a GPU over the CPU path, then the first device and model in the report.
    let pick = rows
        .iter()
        .find(|r| r.device != "cpu")
        .or(rows.first())
        .map(|r| (r.device.clone(), r.workload.clone()));
    let Some((device, workload)) = pick else {
        let mut available: Vec<String> = report
            .results
            .iter()
            .filter(|r| usable(r))
            .map(|r| format!("{}/{}/{}", r.device, r.precision, r.workload))
            .collect();
        available.sort();
        available.dedup();
        return Err(CalibrateError::NoRows {
            device: want_device.unwrap_or_else(|| "any".into()),
            precision: want_precision.name().into(),
            model: want_model.unwrap_or_else(|| "any".into()),
            available: if available.is_empty() {
                "none".into()
            } else {
                available.join(", ")
            },
        });
    };
    let chosen: Vec<&&ResultRow> = rows
        .iter()
        .filter(|r| r.device == device && r.workload == workload)
        .collect();
    // L(b): the fastest chosen row per batch size.
    let mut curve: Vec<(u32, f64)> = Vec::new();
    let mut cvs: Vec<f64> = Vec::new();
    for r in &chosen {
        let (Some(batch), Some(t)) = (r.batch, r.timing.as_ref()) else {
            continue;
        };
        let b = u32::try_from(batch).unwrap_or(u32::MAX);
        cvs.push(t.cv);
        match curve.iter_mut().find(|p| p.0 == b) {
            Some(p) => p.1 = p.1.min(t.median_ms),
            None => curve.push((b, t.median_ms)),
        }
    }
    curve.sort_by_key(|p| p.0);
    cvs.sort_by(f64::total_cmp);
    let mut out = plan.clone();
    out.service.batch_latency_ms = curve;
    if let Some(cv) = cvs.get(cvs.len() / 2) {
        out.service.service_cv = cv.clamp(0.0, 10.0);
    }
    let cold = report
        .cold_start_all_ms
        .iter()
        .chain(report.cold_start_ms.iter())
        .find(|c| c.device == device);
    if let Some(c) = cold {
        let total_ms = c.instance
            + c.adapter
            + c.device_create
            + c.shader_module
            + c.pipeline
            + c.first_dispatch
            + c.weight_upload
            + c.first_result;
        out.service.cold_start_s = (total_ms / 1000.0).clamp(0.0, MAX_COLD_START_S);
    }
    let powers: Vec<f64> = report
        .telemetry
        .samples
        .iter()
        .filter_map(|s| s.power_w)
        .collect();
    if !powers.is_empty() {
        out.hardware.power_w = powers.iter().sum::<f64>() / powers.len() as f64;
    }
    out.service.source = Source::Profile {
        report: report_path.to_owned(),
        adapter: device,
        precision: want_precision,
        model: workload.mlp_name().unwrap_or_default().to_owned(),
    };
    Ok(out)
}
