//! Calibration (profile → model): moves a profile report's measurements into a plan's
//! service — L(b) per batch (made monotone, and said), and power — so the cost model
//! runs on numbers measured on the user's own machine. The plan's service CV is kept:
//! the profile measures timing noise, not how requests vary ([`review`] says so beside
//! the before → after of every field). A plan's whole cold start is kept too, the
//! measured part shown beside it; a plan that states its parts
//! (`service.cold_start_parts`) gets the measured part and the model's bytes in them
//! and their new sum as its cold start (`parts.rs`). The plan's `speed_vs_profiled` is
//! kept: it says how the plan's hardware compares with the profiled device. A
//! transformer encoder named in the selection calibrates from its `encoder:` rows at
//! the plan's `service.seq_len` (an error names the lengths the report has when none
//! match), and the upload of its weights at the measured rate is part of the measured
//! cold start (`cold_start.rs`).

mod apply;
mod cold_start;
mod llm;
mod llm_fit;
mod parts;
pub mod review;
mod select;

pub use apply::{FIELDS, apply_changes, is_derived};
pub use llm::{DECODE_FIELD, PREFILL_FIELD};
use select::{Wanted, pick_rows};

use crate::model::{Plan, Precision, Source};
use crate::plan::validate::{
    MAX_BATCH_LATENCY_MS, MAX_CURVE_BATCH, MAX_POWER_W, MAX_SERVICE_CV, format_number, validate,
};
use crate::profile::report::{ProfileReport, REPORT_VERSION, ResultRow};

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
    /// The encoder was measured, but not at the plan's sequence length.
    #[error(
        "profile report {report} has no {workload} rows in {precision} at the plan's service.seq_len {seq_len} (lengths it has: {available}): profile with --seq-len {seq_len}, or set service.seq_len to one of them"
    )]
    NoSeqLen {
        /// The report file (or a label).
        report: String,
        /// The workload, e.g. `encoder:bert-base-uncased`.
        workload: String,
        /// Precision asked for.
        precision: String,
        /// The plan's `service.seq_len`.
        seq_len: u32,
        /// The lengths the report measured that workload at, comma-separated.
        available: String,
    },
    /// An LLM plan, and the report has no usable prefill: or decode: rows of its model.
    #[error(
        "profile report {report} has no correct, timed prefill: or decode: rows of {model} {wanted} to calibrate the plan's service.llm.iteration (decoder rows it has: {available}): profile with --model {model}"
    )]
    NoLlmRows {
        /// The report file (or a label).
        report: String,
        /// The model looked for: the plan's `service.llm.model` or the selection's.
        model: String,
        /// The precision and device asked for, e.g. "in bf16 on any device".
        wanted: String,
        /// What the report has, as "device/precision/workload" triples.
        available: String,
    },
    /// The rows are of another model than the plan's (their parameter or KV counts
    /// differ from the plan's `service.llm.model`).
    #[error(
        "profile report {report}: {workload} rows measure {found}, but the plan's service.llm.model {model} has {expected}: they time another model"
    )]
    LlmModel {
        /// The report file (or a label).
        report: String,
        /// The rows' workload, e.g. `decode:tiny-llama`.
        workload: String,
        /// The plan's `service.llm.model`.
        model: String,
        /// What the rows count (parameters, KV elements per token).
        found: String,
        /// What the plan's model counts.
        expected: String,
    },
    /// The report's format version is not the one this build reads.
    #[error(
        "profile report {report}: version {found} is not supported (this costscope reads version {supported})"
    )]
    Version {
        /// The report file (or a label).
        report: String,
        /// The version in the report.
        found: u32,
        /// The version this build reads ([`REPORT_VERSION`]).
        supported: u32,
    },
    /// A value the calibration would use is out of range in the report.
    #[error("profile report {report}: {path} = {value} is out of range (allowed: {allowed})")]
    Invalid {
        /// The report file (or a label).
        report: String,
        /// Where in the report, e.g. `results[3].timing.cv`.
        path: String,
        /// The value found.
        value: String,
        /// The allowed range in words.
        allowed: String,
    },
    /// The report's values put the calibrated plan out of range (e.g. more curve points
    /// than a plan may hold, or a measured power below the plan's idle power).
    #[error(
        "the plan calibrated from profile report {report} is out of range: {path} = {value} (allowed: {allowed})"
    )]
    Plan {
        /// The report file (or a label).
        report: String,
        /// The plan's field path, e.g. `energy.idle_power_w`.
        path: String,
        /// The value it took.
        value: String,
        /// The allowed range in words.
        allowed: String,
    },
}

/// A calibrated plan and what the user should read before accepting it.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The plan with the measured service.
    pub plan: Plan,
    /// One line each, e.g. that the report is from a cancelled run, or that the device
    /// is the CPU emulating a GPU.
    pub warnings: Vec<String>,
    /// Every field changed, and those deliberately kept, before → after with why.
    pub changes: Vec<review::Change>,
    /// The report rows L(b) was read from (device, precision, workload, an encoder's
    /// seq_len, batch and the statistic: the median).
    pub rows_used: Vec<String>,
}

/// What to take from a report; `None` picks automatically (a GPU before the CPU, the
/// plan's recorded source first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Device (adapter name, or "cpu"); a substring match.
    pub device: Option<String>,
    /// Precision.
    pub precision: Option<Precision>,
    /// MLP preset name, e.g. "bert-base", or a transformer encoder's config name, e.g.
    /// "bert-base-uncased" (its `encoder:` rows give L(b)).
    pub model: Option<String>,
}

/// Calibrates `plan` from `report` (read from `report_path`, recorded in the plan's
/// source). Returns the updated plan; the input is left unchanged on error. The same
/// as [`calibrate_with_warnings`] without the warnings.
pub fn calibrate(
    plan: &Plan,
    report: &ProfileReport,
    report_path: &str,
    selection: &Selection,
) -> Result<Plan, CalibrateError> {
    calibrate_with_warnings(plan, report, report_path, selection).map(|c| c.plan)
}

/// Calibrates `plan` from `report` (read from `report_path`, which errors and warnings
/// name and the plan's source records). The report must be of [`REPORT_VERSION`] and
/// every value used must be in range — refused, never clamped — and the calibrated
/// plan must validate; a cancelled run is a warning.
pub fn calibrate_with_warnings(
    plan: &Plan,
    report: &ProfileReport,
    report_path: &str,
    selection: &Selection,
) -> Result<Calibration, CalibrateError> {
    if report.version != REPORT_VERSION {
        return Err(CalibrateError::Version {
            report: report_path.to_owned(),
            found: report.version,
            supported: REPORT_VERSION,
        });
    }
    let check = ReportCheck {
        report: report_path,
    };
    if let Some(llm) = &plan.service.llm {
        return llm::calibrate(plan, llm, report, &check, selection);
    }
    let wanted = Wanted::new(plan, selection);
    let (picked, chosen) = pick_rows(plan, report, report_path, &wanted)?;
    let (device, workload) = (picked.device.clone(), &picked.workload);
    let (measured, median_cv) = curve_and_cv(&chosen, &check)?;
    let (curve, fitted) = review::monotone(&measured);
    let mut out = plan.clone();
    out.service.batch_latency_ms = curve;
    // A transformer's weights are what a new server uploads; an MLP's rows leave the
    // profiler's own test upload as the measured one.
    let weights = chosen
        .first()
        .copied()
        .filter(|(_, r)| r.workload.encoder_name().is_some());
    let rows = match weights.and_then(|(_, r)| r.seq_len) {
        Some(s) => format!("{device} ({workload} at seq_len {s}, {})", wanted.precision),
        None => format!("{device} ({workload}, {})", wanted.precision),
    };
    let mut warnings = Vec::new();
    if fitted && let Some(((b1, ms1), (b2, ms2))) = review::first_inversion(&measured) {
        warnings.push(format!(
            "L(b) from the report is not monotone (batch {b2}: {ms2:.3} ms is faster than batch {b1}: {ms1:.3} ms): fitted a non-decreasing curve (isotonic regression)"
        ));
    }
    let measured_from = Measured {
        device: &device,
        workload,
        precision: wanted.precision,
        weights,
        why: reasons(rows, median_cv),
        warnings,
        rows_used: rows_used(&chosen),
    };
    finish(plan, out, report, &check, measured_from)
}

/// What a calibration read, for [`finish`]: the device and workload of its rows, the
/// first transformer row (whose weights a new server uploads), the reasons and warnings
/// so far, and the rows used, one line each.
struct Measured<'a> {
    device: &'a str,
    workload: &'a crate::profile::workloads::Workload,
    precision: Precision,
    weights: Option<(usize, &'a ResultRow)>,
    why: Vec<(&'static str, String)>,
    warnings: Vec<String>,
    rows_used: Vec<String>,
}

/// The steps every calibration ends with, whatever set the service's timing: the cold
/// start (kept whole, or its stated parts recalibrated), the measured power, the
/// source, validation of the result and the warnings about the device.
fn finish(
    plan: &Plan,
    mut out: Plan,
    report: &ProfileReport,
    check: &ReportCheck<'_>,
    m: Measured<'_>,
) -> Result<Calibration, CalibrateError> {
    let report_path = check.report;
    let Measured {
        device,
        workload,
        mut why,
        ..
    } = m;
    let cold = cold_start::measured(report, device, m.weights, check)?;
    // With stated parts the measured part and the model's bytes go into them and the
    // cold start is their new sum; without, the plan's whole figure stays (said why).
    let recalibrated = (plan.service.cold_start_parts.as_ref())
        .map(|stated| parts::recalibrate(stated, cold.as_ref(), m.weights, check))
        .transpose()?;
    let cold_warning = match recalibrated {
        Some(r) => {
            why.extend(r.why);
            out.service.cold_start_s = r.parts.sum_s();
            out.service.cold_start_parts = Some(r.parts);
            r.warning
        }
        None => {
            let plan_s = plan.service.cold_start_s;
            why.extend(
                cold.as_ref()
                    .map(|c| ("service.cold_start_s", c.reason(plan_s))),
            );
            cold.and_then(|c| c.warning(plan_s))
        }
    };
    if let Some(w) = mean_power_w(report, check)? {
        out.hardware.power_w = w;
        why.push((
            "hardware.power_w",
            "the mean of NVML's power samples".to_owned(),
        ));
    }
    out.service.source = Source::Profile {
        report: report_path.to_owned(),
        adapter: device.to_owned(),
        precision: m.precision,
        model: workload
            .mlp_name()
            .or(workload.transformer_name())
            .unwrap_or_default()
            .to_owned(),
    };
    // The report's values are now the plan's own: a plan they put out of range is the
    // report's fault, said here, not later as if a command-line flag had done it.
    validate(&out).map_err(|v| CalibrateError::Plan {
        report: report_path.to_owned(),
        path: v.path,
        value: v.value,
        allowed: v.allowed,
    })?;
    let mut warnings = m.warnings;
    warnings.extend(cold_warning);
    warnings.extend(review::device_warnings(plan, device));
    warnings.extend(report.cancelled.then(|| format!(
        "profile report {report_path} is from a cancelled run: calibrated from what it measured before it stopped"
    )));
    Ok(Calibration {
        changes: review::changes(plan, &out, &why),
        plan: out,
        warnings,
        rows_used: m.rows_used,
    })
}

/// Why L(b) and the service CV are what they are after calibration.
fn reasons(rows: String, median_cv: Option<f64>) -> Vec<(&'static str, String)> {
    let mut why = vec![(
        "service.batch_latency_ms",
        format!("the median of each batch's chosen row on {rows}"),
    )];
    // The timing CV is the noise of repeating one identical kernel, not the
    // variability of requests: the plan's CV stays.
    if let Some(cv) = median_cv {
        why.push((
            "service.service_cv",
            format!("kept: the profile's CV ({cv:.3}, median) is timing noise of one repeated kernel, not how requests vary"),
        ));
    }
    why
}

/// The rows L(b) was read from, one line each with the statistic used (and the
/// sequence length of a transformer's rows).
fn rows_used(chosen: &[(usize, &ResultRow)]) -> Vec<String> {
    chosen
        .iter()
        .filter_map(|&(i, r)| {
            let t = r.timing.as_ref()?;
            let len = r
                .seq_len
                .map(|s| format!(" seq_len {s}"))
                .unwrap_or_default();
            Some(format!(
                "results[{i}]: {} {} {}{len} batch {}: median {:.3} ms",
                r.device, r.precision, r.workload, r.batch?, t.median_ms
            ))
        })
        .collect()
}

/// The report a calibration reads, for naming it in errors.
struct ReportCheck<'a> {
    /// The report file (or a label).
    report: &'a str,
}

impl ReportCheck<'_> {
    /// The error for `path` = `value`, outside `allowed`.
    fn invalid(&self, path: String, value: String, allowed: String) -> CalibrateError {
        CalibrateError::Invalid {
            report: self.report.to_owned(),
            path,
            value,
            allowed,
        }
    }

    /// lo ≤ x ≤ hi and finite (NaN fails every comparison).
    fn range(
        &self,
        path: impl Fn() -> String,
        x: f64,
        lo: f64,
        hi: f64,
    ) -> Result<f64, CalibrateError> {
        if x >= lo && x <= hi {
            return Ok(x);
        }
        let allowed = format!("{} to {}", format_number(lo), format_number(hi));
        Err(self.invalid(path(), format_number(x), allowed))
    }

    /// 0 < x ≤ hi.
    fn positive(&self, path: impl Fn() -> String, x: f64, hi: f64) -> Result<f64, CalibrateError> {
        if x > 0.0 && x <= hi {
            return Ok(x);
        }
        let allowed = format!("greater than 0, at most {}", format_number(hi));
        Err(self.invalid(path(), format_number(x), allowed))
    }
}

/// L(b) as (batch, ms) points, sorted by batch.
type Curve = Vec<(u32, f64)>;

/// L(b): the fastest chosen row per batch size, sorted by batch; and the median of the
/// rows' timing CVs. Every batch, median and CV read is checked first.
fn curve_and_cv(
    rows: &[(usize, &ResultRow)],
    check: &ReportCheck<'_>,
) -> Result<(Curve, Option<f64>), CalibrateError> {
    let mut curve: Curve = Vec::new();
    let mut cvs: Vec<f64> = Vec::new();
    for &(i, r) in rows {
        let (Some(batch), Some(t)) = (r.batch, r.timing.as_ref()) else {
            continue;
        };
        let b = u32::try_from(batch)
            .ok()
            .filter(|b| (1..=MAX_CURVE_BATCH).contains(b))
            .ok_or_else(|| {
                check.invalid(
                    format!("results[{i}].batch"),
                    batch.to_string(),
                    format!("1 to {MAX_CURVE_BATCH}"),
                )
            })?;
        let median_ms = check.positive(
            || format!("results[{i}].timing.median_ms"),
            t.median_ms,
            MAX_BATCH_LATENCY_MS,
        )?;
        let cv = check.range(
            || format!("results[{i}].timing.cv"),
            t.cv,
            0.0,
            MAX_SERVICE_CV,
        )?;
        cvs.push(cv);
        match curve.iter_mut().find(|p| p.0 == b) {
            Some(p) => p.1 = p.1.min(median_ms),
            None => curve.push((b, median_ms)),
        }
    }
    curve.sort_by_key(|p| p.0);
    cvs.sort_by(f64::total_cmp);
    Ok((curve, cvs.get(cvs.len() / 2).copied()))
}

/// The mean of NVML's power samples, when there are any; each must be 0 to
/// [`MAX_POWER_W`].
fn mean_power_w(
    report: &ProfileReport,
    check: &ReportCheck<'_>,
) -> Result<Option<f64>, CalibrateError> {
    let mut powers = Vec::new();
    for (i, s) in report.telemetry.samples.iter().enumerate() {
        if let Some(w) = s.power_w {
            let path = || format!("telemetry.samples[{i}].power_w");
            powers.push(check.range(path, w, 0.0, MAX_POWER_W)?);
        }
    }
    Ok((!powers.is_empty()).then(|| powers.iter().sum::<f64>() / powers.len() as f64))
}
