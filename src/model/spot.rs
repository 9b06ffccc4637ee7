//! Model layer: spot capacity — interruptions while serving, and checkpointed batch
//! jobs with Young/Daly's optimal checkpoint interval.

use serde::Serialize;

use super::traffic::SECONDS_PER_HOUR;

/// Shortest checkpoint interval the waste per interval divides by.
const MIN_INTERVAL_S: f64 = 1e-9;

/// Fraction of time a spot slot is down: interruptions at `h` per hour, each followed
/// by a replacement boot of `boot_s`. d = h·t / (1 + h·t), t in hours.
pub fn down_fraction(interruptions_per_hour: f64, boot_s: f64) -> f64 {
    let t_h = boot_s / SECONDS_PER_HOUR;
    let x = interruptions_per_hour.max(0.0) * t_h.max(0.0);
    x / (1.0 + x)
}

/// Young's optimal checkpoint interval τ* = √(2δ/h), seconds, for a checkpoint of
/// `checkpoint_s` (δ) and interruptions at `h` per hour. `None` when h = 0 (never
/// interrupted: no checkpoints needed) or δ ≤ 0.
pub fn young_daly_interval_s(checkpoint_s: f64, interruptions_per_hour: f64) -> Option<f64> {
    if interruptions_per_hour <= 0.0 || checkpoint_s <= 0.0 {
        return None;
    }
    let h_per_s = interruptions_per_hour / SECONDS_PER_HOUR;
    Some((2.0 * checkpoint_s / h_per_s).sqrt())
}

/// Expected wall time and cost of a checkpointed job, spot versus on-demand.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobEstimate {
    /// Checkpoint interval used, seconds.
    pub checkpoint_interval_s: f64,
    /// Young's optimum for comparison, seconds (null without interruptions).
    pub optimal_interval_s: Option<f64>,
    /// Expected wall-clock hours on spot.
    pub spot_hours: f64,
    /// Expected spot cost, dollars.
    pub spot_usd: f64,
    /// Hours on on-demand (no interruptions, no checkpoints needed).
    pub on_demand_hours: f64,
    /// On-demand cost, dollars.
    pub on_demand_usd: f64,
    /// Expected number of interruptions.
    pub interruptions: f64,
}

/// [`checkpointed_job`] for `plan`'s job on its hardware, if the plan states a job:
/// the one call `costscope plan` and the app's why card both make.
pub fn plan_job(plan: &super::Plan) -> Option<JobEstimate> {
    let j = plan.job.as_ref()?;
    let hw = &plan.hardware;
    checkpointed_job(
        j.work_hours,
        j.checkpoint_s,
        j.restart_s,
        j.checkpoint_interval_s,
        hw.spot_interruptions_per_hour,
        hw.spot_usd_per_hour,
        hw.on_demand_usd_per_hour,
    )
}

/// First-order expected runtime on spot: each interval τ of work pays a checkpoint δ;
/// each interruption (rate h) loses on average half an interval plus a restart R.
/// T = W·(1 + δ/τ) / (1 − h·(τ/2 + R)). `None` when interruptions come too often for
/// the job to make progress (the denominator is ≤ 0).
pub fn checkpointed_job(
    work_hours: f64,
    checkpoint_s: f64,
    restart_s: f64,
    interval_s: Option<f64>,
    interruptions_per_hour: f64,
    spot_usd_per_hour: f64,
    on_demand_usd_per_hour: f64,
) -> Option<JobEstimate> {
    let optimal = young_daly_interval_s(checkpoint_s, interruptions_per_hour);
    let tau_s = interval_s
        .or(optimal)
        .unwrap_or(work_hours * SECONDS_PER_HOUR)
        .max(MIN_INTERVAL_S);
    let h_per_s = interruptions_per_hour.max(0.0) / SECONDS_PER_HOUR;
    let waste = h_per_s * (tau_s / 2.0 + restart_s.max(0.0));
    if waste >= 1.0 {
        return None;
    }
    let overhead = if interruptions_per_hour > 0.0 {
        1.0 + checkpoint_s.max(0.0) / tau_s
    } else {
        1.0
    };
    let spot_hours = work_hours * overhead / (1.0 - waste);
    Some(JobEstimate {
        checkpoint_interval_s: tau_s,
        optimal_interval_s: optimal,
        spot_hours,
        spot_usd: spot_hours * spot_usd_per_hour,
        on_demand_hours: work_hours,
        on_demand_usd: work_hours * on_demand_usd_per_hour,
        interruptions: spot_hours * interruptions_per_hour,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn young_daly_by_hand() {
        // δ = 60 s, h = 0.1/h = 1/36000 s⁻¹: τ* = √(2·60·36000) = √4 320 000 = 2078.46 s.
        let tau = young_daly_interval_s(60.0, 0.1).unwrap();
        assert!((tau - 2_078.460_969).abs() < 1e-5, "{tau}");
        assert!(young_daly_interval_s(60.0, 0.0).is_none());
    }

    #[test]
    fn job_estimate_by_hand() {
        // W = 10 h, δ = 60 s, R = 120 s, τ = 3600 s, h = 0.1/h:
        // overhead 1 + 60/3600; waste = (0.1/3600)·(1800 + 120) = 0.053333.
        let j = checkpointed_job(10.0, 60.0, 120.0, Some(3600.0), 0.1, 1.0, 3.0).unwrap();
        let expected = 10.0 * (1.0 + 60.0 / 3600.0) / (1.0 - 0.1 / 3600.0 * 1920.0);
        assert!((j.spot_hours - expected).abs() < 1e-12);
        assert!((j.on_demand_usd - 30.0).abs() < 1e-12);
        assert!(checkpointed_job(10.0, 60.0, 120.0, Some(3600.0), 100.0, 1.0, 3.0).is_none());
    }

    #[test]
    fn down_fraction_small() {
        let d = down_fraction(0.05, 30.0);
        assert!((d - 0.05 * 30.0 / 3600.0 / (1.0 + 0.05 * 30.0 / 3600.0)).abs() < 1e-15);
    }
}
