//! Calibration (profile → model): moves a profile report's measurements into a plan's
//! service — L(b) per batch (made monotone, and said), and power — so the cost model
//! runs on numbers measured on the user's own machine. The plan's service CV and cold
//! start are kept: the profile measures timing noise and the device's set-up, not how
//! requests vary or what a whole cold start takes ([`review`] says so beside the
//! before → after of every field). The plan's `speed_vs_profiled` is
//! kept: it says how the plan's hardware compares with the profiled device. A
//! transformer encoder named in the selection calibrates from its `encoder:` rows at
//! one sequence length, named in a warning.

pub mod review;

use crate::model::{Plan, Precision, Source};
use crate::plan::validate::{
    MAX_BATCH_LATENCY_MS, MAX_COLD_START_S, MAX_CURVE_BATCH, MAX_POWER_W, MAX_SERVICE_CV,
    format_number, validate,
};
use crate::profile::report::{ColdStart, ProfileReport, REPORT_VERSION, ResultRow};

/// Milliseconds per second: reports time in ms, plans cold starts in s.
const MS_PER_S: f64 = 1000.0;

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
    /// The report rows L(b) was read from (device, precision, workload, batch and the
    /// statistic: the median).
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

/// Rows usable for calibration: MLP or transformer encoder, correct, timed, autotune
/// winners (or untuned). Decoder rows are not: a generated request is a prefill plus
/// one decode step per output token, which the plan's L(b) does not model yet.
fn usable(r: &ResultRow) -> bool {
    (r.workload.mlp_name().is_some() || r.workload.encoder_name().is_some())
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
            && match &self.model {
                // Picked automatically, the service stays an MLP's, as before encoder
                // rows existed.
                None => r.workload.mlp_name().is_some(),
                Some(m) => {
                    r.workload.mlp_name() == Some(m.as_str())
                        || r.workload.encoder_name() == Some(m.as_str())
                }
            }
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
    let wanted = Wanted::new(plan, selection);
    let rows: Vec<(usize, &ResultRow)> = report
        .results
        .iter()
        .enumerate()
        .filter(|(_, r)| wanted.matches(r))
        .collect();
    // Prefer a GPU over the CPU path, then the first device and model in the report.
    let pick = rows
        .iter()
        .find(|(_, r)| r.device != "cpu")
        .or(rows.first())
        .map(|(_, r)| (r.device.clone(), r.workload.clone()));
    let Some((device, workload)) = pick else {
        return Err(wanted.no_rows(report));
    };
    let chosen: Vec<(usize, &ResultRow)> = rows
        .into_iter()
        .filter(|(_, r)| r.device == device && r.workload == workload)
        .collect();
    let (chosen, seq_warning) = at_one_seq_len(chosen, &workload, report_path);
    let check = ReportCheck {
        report: report_path,
    };
    let (measured, median_cv) = curve_and_cv(&chosen, &check)?;
    let (curve, fitted) = review::monotone(&measured);
    let mut out = plan.clone();
    out.service.batch_latency_ms = curve;
    let mut why = reasons(
        format!("{device} ({workload}, {})", wanted.precision),
        median_cv,
        cold_start_s(report, &device, &check)?,
    );
    if let Some(w) = mean_power_w(report, &check)? {
        out.hardware.power_w = w;
        why.push((
            "hardware.power_w",
            "the mean of NVML's power samples".to_owned(),
        ));
    }
    out.service.source = Source::Profile {
        report: report_path.to_owned(),
        adapter: device.clone(),
        precision: wanted.precision,
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
    let mut warnings: Vec<String> = seq_warning.into_iter().collect();
    if fitted && let Some(((b1, ms1), (b2, ms2))) = review::first_inversion(&measured) {
        warnings.push(format!(
            "L(b) from the report is not monotone (batch {b2}: {ms2:.3} ms is faster than batch {b1}: {ms1:.3} ms): fitted a non-decreasing curve (isotonic regression)"
        ));
    }
    warnings.extend(review::device_warnings(plan, &device));
    warnings.extend(report.cancelled.then(|| format!(
        "profile report {report_path} is from a cancelled run: calibrated from what it measured before it stopped"
    )));
    Ok(Calibration {
        changes: review::changes(plan, &out, &why),
        plan: out,
        warnings,
        rows_used: rows_used(&chosen),
    })
}

/// Why each service field is what it is after calibration.
fn reasons(
    rows: String,
    median_cv: Option<f64>,
    setup_s: Option<f64>,
) -> Vec<(&'static str, String)> {
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
    // The measured stages are the device's set-up, one part of a cold start; the
    // plan's own figure (boot, model load, …) stays.
    if let Some(s) = setup_s {
        why.push((
            "service.cold_start_s",
            format!("kept: the measured device set-up through the first result is {s:.3} s, one part of a cold start (instance boot and model load are not measured)"),
        ));
    }
    why
}

/// The rows L(b) was read from, one line each with the statistic used.
fn rows_used(chosen: &[(usize, &ResultRow)]) -> Vec<String> {
    chosen
        .iter()
        .filter_map(|&(i, r)| {
            let t = r.timing.as_ref()?;
            Some(format!(
                "results[{i}]: {} {} {} batch {}: median {:.3} ms",
                r.device, r.precision, r.workload, r.batch?, t.median_ms
            ))
        })
        .collect()
}

/// Encoder rows at one sequence length — the first the report measured — with the
/// warning that names it: the plan has no sequence length of its own yet, so L(b) is
/// the latency of batches of requests of that many tokens. Other rows pass unchanged.
fn at_one_seq_len<'a>(
    rows: Vec<(usize, &'a ResultRow)>,
    workload: &impl std::fmt::Display,
    report_path: &str,
) -> (Vec<(usize, &'a ResultRow)>, Option<String>) {
    if rows
        .first()
        .is_none_or(|(_, r)| r.workload.encoder_name().is_none())
    {
        return (rows, None);
    }
    let seq_len = rows.first().and_then(|(_, r)| r.seq_len);
    let mut others: Vec<usize> = rows
        .iter()
        .filter_map(|(_, r)| r.seq_len)
        .filter(|&s| Some(s) != seq_len)
        .collect();
    others.sort_unstable();
    others.dedup();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|(_, r)| r.seq_len == seq_len)
        .collect();
    let len = seq_len.map_or("an unrecorded number of".to_owned(), |s| s.to_string());
    let mut warning = format!(
        "L(b) from profile report {report_path}'s {workload} rows at seq_len {len} tokens per request (the plan has no sequence length of its own yet)"
    );
    if !others.is_empty() {
        let list: Vec<String> = others.iter().map(usize::to_string).collect();
        warning += &format!(
            "; the report's rows at seq_len {} were not used",
            list.join(", ")
        );
    }
    (rows, Some(warning))
}

/// Range checks on the report values calibration reads, naming the report and the
/// value's place in it.
struct ReportCheck<'a> {
    report: &'a str,
}

impl ReportCheck<'_> {
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

/// The device's measured cold start, all stages summed, in seconds; each stage must be
/// finite and not negative, and the sum at most [`MAX_COLD_START_S`].
fn cold_start_s(
    report: &ProfileReport,
    device: &str,
    check: &ReportCheck<'_>,
) -> Result<Option<f64>, CalibrateError> {
    let all = report
        .cold_start_all_ms
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("cold_start_all_ms[{i}]"), c));
    let first = report
        .cold_start_ms
        .iter()
        .map(|c| ("cold_start_ms".to_owned(), c));
    let Some((at, c)) = all.chain(first).find(|(_, c)| c.device == device) else {
        return Ok(None);
    };
    let mut total_ms = 0.0;
    for (name, ms) in stages(c) {
        if !(ms >= 0.0 && ms.is_finite()) {
            let allowed = "a finite number of ms, 0 or more".to_owned();
            return Err(check.invalid(format!("{at}.{name}"), format_number(ms), allowed));
        }
        total_ms += ms;
    }
    let max_ms = MAX_COLD_START_S * MS_PER_S;
    // The stages are finite and not negative, so the sum is never NaN (at worst +inf).
    if total_ms > max_ms {
        return Err(check.invalid(
            at,
            format!("{} ms in all", format_number(total_ms)),
            format!("at most {} ms (a day)", format_number(max_ms)),
        ));
    }
    Ok(Some(total_ms / MS_PER_S))
}

/// The stages of a cold start, by their report names, in milliseconds.
fn stages(c: &ColdStart) -> [(&'static str, f64); 8] {
    [
        ("instance", c.instance),
        ("adapter", c.adapter),
        ("device_create", c.device_create),
        ("shader_module", c.shader_module),
        ("pipeline", c.pipeline),
        ("first_dispatch", c.first_dispatch),
        ("weight_upload", c.weight_upload),
        ("first_result", c.first_result),
    ]
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
