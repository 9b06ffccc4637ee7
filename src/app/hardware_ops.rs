//! App layer: the Hardware panel's per-operator breakdown — when the Profile panel
//! holds the report the plan was calibrated from, that row's operators projected to the
//! selected offer's accelerator by `model::projection` (as `costscope project` does):
//! each one compute- or memory-bound there, its measured and projected time and band.

use eframe::egui;

use super::format::fmt_sig;
use crate::model::Plan;
use crate::model::catalog::Accelerator;
use crate::model::projection::{Bound, Projection, ProjectionOptions, project};
use crate::profile::projection_input::{local_roofline, memory_of, op_measurements, plan_rows};
use crate::profile::report::ProfileReport;

/// The plan's smallest-batch per-operator row of `report` projected to `acc`: its batch
/// and the projection, or why there is none.
pub fn op_projection(
    plan: &Plan,
    report: &ProfileReport,
    acc: &Accelerator,
) -> Result<(usize, Projection), String> {
    let rows = plan_rows(plan, report)?;
    let row = rows[0];
    let batch = row.batch.unwrap_or(1);
    let local = local_roofline(report, row)?;
    let p = project(
        &op_measurements(row),
        local,
        acc,
        row.precision,
        memory_of(row, batch),
        ProjectionOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    Ok((batch, p))
}

/// How a bound reads in the table.
fn bound_text(b: Bound, near_ridge: bool) -> &'static str {
    match (b, near_ridge) {
        (Bound::Compute, false) => "compute",
        (Bound::Compute, true) => "compute (near ridge)",
        (Bound::Memory, false) => "memory",
        (Bound::Memory, true) => "memory (near ridge)",
        (Bound::Unscaled, _) => "unscaled",
    }
}

/// The operators' table for `acc`, or a line saying why there is none.
pub fn ops_ui(ui: &mut egui::Ui, plan: &Plan, report: Option<&ProfileReport>, acc: &Accelerator) {
    let Some(report) = report else {
        ui.label(
            "Per operator: run the Profile panel on a transformer and calibrate the plan from it \
             to see which operators are compute- or memory-bound on this accelerator.",
        );
        return;
    };
    let (batch, p) = match op_projection(plan, report, acc) {
        Ok(x) => x,
        Err(e) => {
            ui.label(format!("Per operator: none ({e})."));
            return;
        }
    };
    ui.label(format!(
        "Per operator at batch {batch} on {}: {} ms projected ({} - {}) from {} ms measured; bound by {}.",
        p.target,
        fmt_sig(p.latency_ms, 4),
        fmt_sig(p.low_ms, 4),
        fmt_sig(p.high_ms, 4),
        fmt_sig(p.measured_ms, 4),
        p.bound_by.join(", ")
    ));
    egui::Grid::new("hardware_ops")
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "operator",
                "bound",
                "measured ms",
                "projected ms",
                "band ms",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for o in &p.ops {
                ui.label(&o.name);
                ui.label(bound_text(o.bound, o.near_ridge));
                ui.label(fmt_sig(o.measured_ms, 4));
                ui.label(fmt_sig(o.projected_ms, 4));
                ui.label(format!(
                    "{} - {}",
                    fmt_sig(o.low_ms, 4),
                    fmt_sig(o.high_ms, 4)
                ));
                ui.end_row();
            }
        });
}
