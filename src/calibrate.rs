//! Calibration (profile → model): moves a profile report's measurements into a plan's
//! service — L(b) per batch, service CV, cold start and power — so the cost model runs
//! on numbers measured on the user's own machine. The plan's `speed_vs_profiled` is
//! kept: it says how the plan's hardware compares with the profiled device.

use crate::model::{Plan, Precision, Source};
use crate::plan::validate::{MAX_COLD_START_S, MAX_SERVICE_CV};
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

/// What to look for in the report: the selection, else what the plan recorded.
struct Wanted {
    device: Option<String>,
    precision: Precision,
    model: Option<String>,
}

impl Wanted {
    fn new(plan: &Plan, selection: &Selection) -> Self {
        let recorded = match &plan.service.source {
            Source::Profile {
                adapter,
                precision,
                model,
                ..
            } => Some((adapter.clone(), *precision, model.clone())),
            Source::Manual => None,
        };
        Wanted {
            device: selection
                .device
                .clone()
                .or_else(|| recorded.as_ref().map(|r| r.0.clone())),
            precision: selection
                .precision
                .or(recorded.as_ref().map(|r| r.1))
                .unwrap_or(Precision::F32),
            model: selection
                .model
                .clone()
                .or_else(|| recorded.as_ref().map(|r| r.2.clone())),
        }
    }

    fn matches(&self, r: &ResultRow) -> bool {
        usable(r)
            && r.precision == self.precision
            && self
                .device
                .as_ref()
                .is_none_or(|d| r.device.contains(d.as_str()))
            && self
                .model
                .as_ref()
                .is_none_or(|m| r.workload.mlp_name() == Some(m.as_str()))
    }

    /// The error naming what was wanted and what the report has.
    fn no_rows(&self, report: &ProfileReport) -> CalibrateError {
        let mut available: Vec<String> = report
            .results
            .iter()
            .filter(|r| usable(r))
            .map(|r| format!("{}/{}/{}", r.device, r.precision, r.workload))
            .collect();
        available.sort();
        available.dedup();
        CalibrateError::NoRows {
            device: self.device.clone().unwrap_or_else(|| "any".into()),
            precision: self.precision.name().into(),
            model: self.model.clone().unwrap_or_else(|| "any".into()),
            available: if available.is_empty() {
                "none".into()
            } else {
                available.join(", ")
            },
        }
    }
}

/// Calibrates `plan` from `report` (read from `report_path`, recorded in the plan's
/// source). Returns the updated plan; the input is left unchanged on error.
pub fn calibrate(
    plan: &Plan,
    report: &ProfileReport,
    report_path: &str,
    selection: &Selection,
) -> Result<Plan, CalibrateError> {
    let wanted = Wanted::new(plan, selection);
    let rows: Vec<&ResultRow> = report
        .results
        .iter()
        .filter(|r| wanted.matches(r))
        .collect();
    // Prefer a GPU over the CPU path, then the first device and model in the report.
    let pick = rows
        .iter()
        .find(|r| r.device != "cpu")
        .or(rows.first())
        .map(|r| (r.device.clone(), r.workload.clone()));
    let Some((device, workload)) = pick else {
        return Err(wanted.no_rows(report));
    };
    let chosen: Vec<&ResultRow> = rows
        .into_iter()
        .filter(|r| r.device == device && r.workload == workload)
        .collect();
    let (curve, median_cv) = curve_and_cv(&chosen);
    let mut out = plan.clone();
    out.service.batch_latency_ms = curve;
    if let Some(cv) = median_cv {
        out.service.service_cv = cv.clamp(0.0, MAX_SERVICE_CV);
    }
    if let Some(s) = cold_start_s(report, &device) {
        out.service.cold_start_s = s;
    }
    if let Some(w) = mean_power_w(report) {
        out.hardware.power_w = w;
    }
    out.service.source = Source::Profile {
        report: report_path.to_owned(),
        adapter: device,
        precision: wanted.precision,
        model: workload.mlp_name().unwrap_or_default().to_owned(),
    };
    Ok(out)
}

/// L(b): the fastest chosen row per batch size, sorted by batch; and the median of the
/// rows' timing CVs.
fn curve_and_cv(rows: &[&ResultRow]) -> (Vec<(u32, f64)>, Option<f64>) {
    let mut curve: Vec<(u32, f64)> = Vec::new();
    let mut cvs: Vec<f64> = Vec::new();
    for r in rows {
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
    (curve, cvs.get(cvs.len() / 2).copied())
}

/// The device's measured cold start, all stages summed, in seconds.
fn cold_start_s(report: &ProfileReport, device: &str) -> Option<f64> {
    let c = report
        .cold_start_all_ms
        .iter()
        .chain(report.cold_start_ms.iter())
        .find(|c| c.device == device)?;
    let total_ms = c.instance
        + c.adapter
        + c.device_create
        + c.shader_module
        + c.pipeline
        + c.first_dispatch
        + c.weight_upload
        + c.first_result;
    Some((total_ms / 1000.0).clamp(0.0, MAX_COLD_START_S))
}

/// The mean of NVML's power samples, when there are any.
fn mean_power_w(report: &ProfileReport) -> Option<f64> {
    let powers: Vec<f64> = report
        .telemetry
        .samples
        .iter()
        .filter_map(|s| s.power_w)
        .collect();
    (!powers.is_empty()).then(|| powers.iter().sum::<f64>() / powers.len() as f64)
}
