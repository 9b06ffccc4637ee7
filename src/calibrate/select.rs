//! Calibration layer: which report rows a calibration reads — those matching the
//! selection (or the plan's recorded source), an encoder's only at the plan's
//! `service.seq_len`, of one device and one workload — and the errors naming what the
//! report has when none match.

use super::{CalibrateError, Selection};
use crate::model::{Plan, Precision, Source};
use crate::profile::report::{ProfileReport, ResultRow};

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
pub(super) struct Wanted {
    device: Option<String>,
    /// The precision the rows must have.
    pub precision: Precision,
    model: Option<String>,
}

impl Wanted {
    pub(super) fn new(plan: &Plan, selection: &Selection) -> Self {
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

    pub(super) fn matches(&self, r: &ResultRow) -> bool {
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
    pub(super) fn no_rows(&self, report: &ProfileReport) -> CalibrateError {
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

/// A report row with its index in `results` (errors and the review name it).
pub(super) type Indexed<'a> = (usize, &'a ResultRow);

/// The rows L(b) is read from: those matching the selection — an encoder's only at the
/// plan's `service.seq_len` — of one device (a GPU before the CPU, then the first in
/// the report) and one workload, with the row that picked them.
pub(super) fn pick_rows<'a>(
    plan: &Plan,
    report: &'a ProfileReport,
    report_path: &str,
    wanted: &Wanted,
) -> Result<(&'a ResultRow, Vec<Indexed<'a>>), CalibrateError> {
    let matching: Vec<Indexed<'a>> = report
        .results
        .iter()
        .enumerate()
        .filter(|(_, r)| wanted.matches(r))
        .collect();
    let seq_len = plan.service.seq_len as usize;
    let rows: Vec<Indexed<'a>> = matching
        .iter()
        .copied()
        .filter(|(_, r)| r.workload.encoder_name().is_none() || r.seq_len == Some(seq_len))
        .collect();
    // Prefer a GPU over the CPU path, then the first device and model in the report.
    let pick = rows
        .iter()
        .find(|(_, r)| r.device != "cpu")
        .or(rows.first())
        .map(|&(_, r)| r);
    let Some(picked) = pick else {
        return Err(match matching.first() {
            // Rows of the encoder exist, none at the plan's length.
            Some((_, r)) => no_seq_len(&matching, r.workload.label(), wanted, plan, report_path),
            None => wanted.no_rows(report),
        });
    };
    let chosen = rows
        .into_iter()
        .filter(|(_, r)| r.device == picked.device && r.workload == picked.workload)
        .collect();
    Ok((picked, chosen))
}

/// The error for an encoder measured, but not at the plan's sequence length, with the
/// lengths the report has.
fn no_seq_len(
    matching: &[Indexed<'_>],
    workload: String,
    wanted: &Wanted,
    plan: &Plan,
    report_path: &str,
) -> CalibrateError {
    let mut lengths: Vec<usize> = matching.iter().filter_map(|(_, r)| r.seq_len).collect();
    lengths.sort_unstable();
    lengths.dedup();
    let list: Vec<String> = lengths.iter().map(usize::to_string).collect();
    CalibrateError::NoSeqLen {
        report: report_path.to_owned(),
        workload,
        precision: wanted.precision.name().into(),
        seq_len: plan.service.seq_len,
        available: if list.is_empty() {
            "none recorded".into()
        } else {
            list.join(", ")
        },
    }
}
