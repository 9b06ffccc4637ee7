//! Calibration layer: a plan's stated cold-start parts (`service.cold_start_parts`)
//! recalibrated — the measured part (device set-up, compile, first dispatch, the
//! weights' host → device upload at the measured rate) and the model's bytes (a
//! transformer row's `weights_bytes`) replaced, the stated instance boot and storage
//! bandwidth kept, and `service.cold_start_s` set to the new sum.
//!
//! Why only those: a profile runs on this machine with the weights already in memory,
//! so it measures what happens on the device, and it knows the model's size; how long
//! an instance takes to boot and how fast its storage reads are the plan's to state.

use super::cold_start::{MAX_WEIGHTS_BYTES, Measured};
use super::{CalibrateError, ReportCheck};
use crate::model::ColdStartParts;
use crate::profile::report::ResultRow;

/// The field paths of the parts, as the review and `apply_changes` name them.
pub const INSTANCE_BOOT: &str = "service.cold_start_parts.instance_boot_s";
/// See [`INSTANCE_BOOT`].
pub const STORAGE: &str = "service.cold_start_parts.storage_gbytes_per_s";
/// See [`INSTANCE_BOOT`].
pub const MODEL_BYTES: &str = "service.cold_start_parts.model_bytes";
/// See [`INSTANCE_BOOT`].
pub const DEVICE_SETUP: &str = "service.cold_start_parts.device_setup_s";

/// The recalibrated parts, why each is what it is, and a warning when no weight load
/// can be counted.
pub(super) struct Recalibrated {
    /// The parts after calibration.
    pub parts: ColdStartParts,
    /// (field path, why) for each part and for `service.cold_start_s`.
    pub why: Vec<(&'static str, String)>,
    /// Set when the plan states no model bytes and the rows do not record them.
    pub warning: Option<String>,
}

/// `stated` with the measured part from `cold` (kept when the report measured no cold
/// start on the device) and the model bytes from `weights` (the first transformer row
/// used, and its index; kept when the rows do not record them).
pub(super) fn recalibrate(
    stated: &ColdStartParts,
    cold: Option<&Measured>,
    weights: Option<(usize, &ResultRow)>,
    check: &ReportCheck<'_>,
) -> Result<Recalibrated, CalibrateError> {
    let mut parts = stated.clone();
    let mut why = vec![
        (
            INSTANCE_BOOT,
            "kept: stated by the plan (a profile does not boot an instance)".to_owned(),
        ),
        (
            STORAGE,
            "kept: stated by the plan (a profile reads no weights from the plan's storage)"
                .to_owned(),
        ),
    ];
    match row_bytes(weights, check)? {
        Some((bytes, from)) => {
            parts.model_bytes = Some(bytes);
            why.push((MODEL_BYTES, from));
        }
        None => why.push((
            MODEL_BYTES,
            "kept: the rows used do not record the model's weight bytes".to_owned(),
        )),
    }
    match cold {
        Some(m) => {
            parts.device_setup_s = m.lower_bound_s();
            why.push((DEVICE_SETUP, m.text()));
        }
        None => why.push((
            DEVICE_SETUP,
            "kept: the report measured no cold start on this device".to_owned(),
        )),
    }
    why.push((
        "service.cold_start_s",
        format!("the sum of its parts: {}", parts.describe()),
    ));
    let warning = parts.model_bytes.is_none().then(|| {
        "service.cold_start_parts.model_bytes is not stated and the rows used do not record the model's weight bytes: the cold start counts no weight load from storage".to_owned()
    });
    Ok(Recalibrated {
        parts,
        why,
        warning,
    })
}

/// The weight bytes a transformer row records, checked, with where they came from.
fn row_bytes(
    weights: Option<(usize, &ResultRow)>,
    check: &ReportCheck<'_>,
) -> Result<Option<(f64, String)>, CalibrateError> {
    let Some((i, row)) = weights else {
        return Ok(None);
    };
    let Some(bytes) = row.weights_bytes else {
        return Ok(None);
    };
    let path = || format!("results[{i}].weights_bytes");
    let bytes = check.positive(path, bytes, MAX_WEIGHTS_BYTES)?;
    let model = row.workload.transformer_name().unwrap_or_default();
    Ok(Some((
        bytes,
        format!(
            "results[{i}].weights_bytes: {model}'s weights in {}",
            row.precision
        ),
    )))
}
