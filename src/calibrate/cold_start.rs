//! Calibration layer: what a profile report measured of a cold start on the calibrated
//! device — the device's set-up through the first result, and for a transformer the
//! upload of its real weights at the measured host → device rate — said beside the
//! plan's own `cold_start_s`, which calibration keeps unless the plan states its parts.
//!
//! Why kept: the plan's figure is the user's whole cold start (instance boot, image
//! pull, reading the model from storage, compiling, warming up); the profile measures
//! two parts of it on this machine. Replacing the whole by two parts would make cold
//! servers look cheap, so the parts are shown, not applied; a plan that names its parts
//! (`service.cold_start_parts`) gets the measured one replaced (`parts.rs`).

use super::{CalibrateError, ReportCheck};
use crate::plan::validate::{MAX_COLD_START_S, format_number};
use crate::profile::report::{ColdStart, ProfileReport, ResultRow};

/// Milliseconds per second: reports time in ms, plans cold starts in s.
const MS_PER_S: f64 = 1000.0;

/// Bytes per (decimal) megabyte, and per gigabyte over a millisecond: a rate in GB/s
/// moves `1e6` bytes per ms.
const BYTES_PER_MB: f64 = 1e6;
const BYTES_PER_MS_PER_GBYTE_S: f64 = 1e6;

/// Most weight bytes a report row may state: a petabyte, far past any model.
pub const MAX_WEIGHTS_BYTES: f64 = 1e15;

/// Fastest host → device upload a report may state: 10 TB/s, above any link (PCIe 6
/// x16 is 128 GB/s; unified memory is bounded by its few TB/s of bandwidth).
pub const MAX_UPLOAD_GBYTES_PER_S: f64 = 10_000.0;

/// The upload of a transformer's weights at the report's measured rate.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightsUpload {
    /// The model's config name.
    pub model: String,
    /// Bytes of its weights at the rows' precision (the rows' `weights_bytes`).
    pub bytes: f64,
    /// The cold start's measured upload rate, GB/s.
    pub gbytes_per_s: f64,
    /// `bytes` at that rate, ms.
    pub ms: f64,
}

/// What the report measured of a cold start on the calibrated device.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The device.
    pub device: String,
    /// Every stage summed, the profiler's own test upload included, seconds.
    pub setup_s: f64,
    /// The profiler's test upload inside `setup_s`, seconds (replaced by the model's
    /// weights when there is an estimate).
    pub test_upload_s: f64,
    /// For transformer rows: the weights upload, or why it cannot be estimated.
    pub upload: Option<Result<WeightsUpload, String>>,
}

impl Measured {
    /// The measured part of a cold start, seconds: the set-up, with the model's
    /// weights upload in place of the profiler's test upload when estimated.
    pub fn lower_bound_s(&self) -> f64 {
        match &self.upload {
            Some(Ok(u)) => self.setup_s - self.test_upload_s + u.ms / MS_PER_S,
            _ => self.setup_s,
        }
    }

    /// What was measured, in words: "measured on D: device set-up through the first
    /// result 0.200 s, weights upload of M: …, 0.280 s together".
    pub fn text(&self) -> String {
        let setup = self.setup_s;
        match &self.upload {
            Some(Ok(u)) => format!(
                "measured on {}: device set-up through the first result {:.3} s, weights upload of {}: {:.3} ms at {:.3} GB/s ({:.1} MB), {:.3} s together",
                self.device,
                setup - self.test_upload_s,
                u.model,
                u.ms,
                u.gbytes_per_s,
                u.bytes / BYTES_PER_MB,
                self.lower_bound_s()
            ),
            Some(Err(why)) => format!(
                "the measured device set-up through the first result is {setup:.3} s; {why}"
            ),
            None => format!("the measured device set-up through the first result is {setup:.3} s"),
        }
    }

    /// Why `service.cold_start_s` stays what the plan says (`plan_s`) when the plan
    /// states no parts, with what was measured.
    pub fn reason(&self, plan_s: f64) -> String {
        let measured = self.text();
        match (plan_s > 0.0, self.upload.is_some()) {
            (true, true) => format!(
                "kept: the plan's value is a server's whole cold start (instance boot and reading the model from storage are not measured); {measured} (shown, not applied; state service.cold_start_parts to apply it)"
            ),
            // MLP rows: the wording the review has always had.
            (true, false) => format!(
                "kept: {measured}, one part of a cold start (instance boot and model load are not measured)"
            ),
            (false, _) => format!(
                "kept at 0 (the plan states no cold start): {measured}; set service.cold_start_s if new servers start cold"
            ),
        }
    }

    /// A warning when the plan states a cold start shorter than the part measured.
    pub fn warning(&self, plan_s: f64) -> Option<String> {
        let bound = self.lower_bound_s();
        let what = match &self.upload {
            Some(Ok(u)) => format!("device set-up and the weights upload of {}", u.model),
            _ => "device set-up through the first result".to_owned(),
        };
        (plan_s > 0.0 && plan_s < bound).then(|| {
            format!(
                "service.cold_start_s is {} s, less than the part of a cold start the profile measured on {}: {bound:.3} s ({what})",
                format_number(plan_s),
                self.device
            )
        })
    }
}

/// The device's measured cold start: every stage finite and not negative, their sum at
/// most [`MAX_COLD_START_S`]; with `weights` (a transformer's first row used, and its
/// index) the upload of its weights at the cold start's measured rate. `None` when the
/// report has no cold start for the device (the CPU path has none).
pub fn measured(
    report: &ProfileReport,
    device: &str,
    weights: Option<(usize, &ResultRow)>,
    check: &ReportCheck<'_>,
) -> Result<Option<Measured>, CalibrateError> {
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
    let upload = weights
        .map(|(i, row)| weights_upload(c, &at, i, row, check))
        .transpose()?;
    Ok(Some(Measured {
        device: device.to_owned(),
        setup_s: total_ms / MS_PER_S,
        test_upload_s: c.weight_upload / MS_PER_S,
        upload,
    }))
}

/// `row`'s weight bytes over the cold start's measured upload rate, each checked; or
/// why there is no estimate.
fn weights_upload(
    c: &ColdStart,
    at: &str,
    i: usize,
    row: &ResultRow,
    check: &ReportCheck<'_>,
) -> Result<Result<WeightsUpload, String>, CalibrateError> {
    let model = row
        .workload
        .transformer_name()
        .unwrap_or_default()
        .to_owned();
    let Some(bytes) = row.weights_bytes else {
        return Ok(Err(format!(
            "results[{i}] does not record the weight bytes of {model}, so their upload is not estimated"
        )));
    };
    let bytes = check.positive(
        || format!("results[{i}].weights_bytes"),
        bytes,
        MAX_WEIGHTS_BYTES,
    )?;
    let Some(rate) = c.weight_upload_gbytes_per_s else {
        return Ok(Err(format!(
            "the report's cold start has no upload rate, so the weights upload of {model} ({:.1} MB) is not estimated",
            bytes / BYTES_PER_MB
        )));
    };
    let path = || format!("{at}.weight_upload_gbytes_per_s");
    let rate = check.positive(path, rate, MAX_UPLOAD_GBYTES_PER_S)?;
    let ms = bytes / (rate * BYTES_PER_MS_PER_GBYTE_S);
    if ms > MAX_COLD_START_S * MS_PER_S {
        return Err(check.invalid(
            path(),
            format_number(rate),
            format!(
                "a rate that uploads {}'s {} bytes within a day",
                model,
                format_number(bytes)
            ),
        ));
    }
    Ok(Ok(WeightsUpload {
        model,
        bytes,
        gbytes_per_s: rate,
        ms,
    }))
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
