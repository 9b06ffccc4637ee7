//! Profile layer: what a report's per-operator row hands the roofline projection
//! (`model::projection`) — the measured roofline of its device at its precision, its
//! operators as measurements, and the weights and KV bytes of its shape. `costscope
//! project`, `plan --hardware --profile` and the app's Hardware panel all read rows
//! through these.

use super::report::{ProfileReport, ResultRow};
use crate::model::projection::{OpMeasurement, Roofline};
use crate::model::{Plan, Source};

/// The report's rows a calibrated plan's L(b) came from (its recorded device,
/// precision and encoder at its `seq_len`) that have per-operator times, by batch.
pub fn plan_rows<'a>(plan: &Plan, report: &'a ProfileReport) -> Result<Vec<&'a ResultRow>, String> {
    let Source::Profile {
        adapter,
        precision,
        model,
        ..
    } = &plan.service.source
    else {
        return Err("the calibrated plan records no profile source".into());
    };
    let mut rows: Vec<&ResultRow> = (report.results.iter())
        .filter(|r| {
            &r.device == adapter
                && r.precision == *precision
                && r.workload.encoder_name() == Some(model.as_str())
                && r.seq_len == Some(plan.service.seq_len as usize)
                && r.timing.is_some()
                && !r.ops.is_empty()
        })
        .collect();
    if rows.is_empty() {
        return Err(format!(
            "the report has no per-operator rows for {adapter} {} encoder:{model} at seq_len {} (MLP rows have none)",
            precision.name(),
            plan.service.seq_len
        ));
    }
    rows.sort_by_key(|r| r.batch.unwrap_or(1));
    Ok(rows)
}

/// The measured roofline of the row's device at its precision, from the report's peaks.
pub fn local_roofline(report: &ProfileReport, row: &ResultRow) -> Result<Roofline, String> {
    let peak = (report.peaks.iter())
        .find(|p| p.device == row.device && p.precision == row.precision)
        .ok_or_else(|| {
            format!(
                "the report has no measured peaks for {} at {}",
                row.device,
                row.precision.name()
            )
        })?;
    let bw = peak
        .bandwidth_gbytes_per_s
        .ok_or_else(|| format!("the report has no measured bandwidth for {}", row.device))?;
    Ok(Roofline {
        flops_per_s: peak.fma_gflops * 1e9,
        bytes_per_s: bw * 1e9,
    })
}

/// The row's operators as the projection takes them.
pub fn op_measurements(row: &ResultRow) -> Vec<OpMeasurement> {
    (row.ops.iter())
        .map(|o| OpMeasurement {
            name: o.name.clone(),
            ms: o.ms,
            flops: o.flops,
            bytes: o.bytes,
        })
        .collect()
}

/// Weights and KV-cache bytes of the row's shape at `batch`, when the report states them.
pub fn memory_of(row: &ResultRow, batch: usize) -> Option<(f64, f64)> {
    let weights = row.weights_bytes?;
    let tokens = row.seq_len.or(row.context_len).unwrap_or(0) as f64;
    let kv = row.kv_bytes_per_token.unwrap_or(0.0) * tokens * batch as f64;
    Some((weights, kv))
}
