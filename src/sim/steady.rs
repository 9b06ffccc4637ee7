//! sim layer: steady-state figures of a plan — what the simulator measures once the
//! start-up (an on-demand fleet starts with no server alive) is behind it.
//!
//! The analytic model describes a day that repeats forever; a simulation starts cold,
//! and with boots of tens of seconds its first minutes are all cold starts. Over a
//! short run they are a large share of the cold starts (λ 3.6/s, 60 s boots: the first
//! minute's ~216 boots against ~700 in the next 150 hours). Two runs with the same seed,
//! one of `warmup_hours` and one of `warmup_hours + hours`, share their first
//! `warmup_hours` event for event (every random stream is drawn in the same order), so
//! the difference of their counters is the measurement over the later `hours` alone.
//! Only the requests in flight at the shorter run's horizon differ (a handful).

use super::{SimError, SimOptions, SimResult, simulate};
use crate::model::Plan;

/// Counters of the interval after the warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyState {
    /// Hours measured (after the warm-up).
    pub hours: f64,
    /// Requests that reached the servers in those hours.
    pub server_requests: f64,
    /// Share of them that waited for a cold start.
    pub cold_start_fraction: f64,
    /// Servers and cache per hour, dollars.
    pub cost_usd_per_hour: f64,
    /// Mean servers held.
    pub servers_held: f64,
    /// Mean response time of the requests completed in those hours, ms.
    pub mean_latency_ms: f64,
    /// Either run's warnings (an overload, a stop), shorter run's first.
    pub warnings: Vec<String>,
}

/// Simulates `warmup_hours` and then `hours` more with the same `seed`, and returns the
/// counters of the later `hours` alone.
pub fn steady_state(
    plan: &Plan,
    seed: u64,
    warmup_hours: f64,
    hours: f64,
) -> Result<SteadyState, SimError> {
    let run = |h: f64| {
        simulate(
            plan,
            &SimOptions {
                seed,
                hours: h,
                ..SimOptions::default()
            },
        )
    };
    let warm = run(warmup_hours)?;
    let all = run(warmup_hours + hours)?;
    Ok(difference(&warm, &all))
}

/// `all` minus its first part `warm`, counter by counter.
fn difference(warm: &SimResult, all: &SimResult) -> SteadyState {
    let hours = all.hours - warm.hours;
    let server_requests = all.server_requests as f64 - warm.server_requests as f64;
    let cold = |r: &SimResult| r.cold_start_fraction * r.server_requests as f64;
    let latency_sum = |r: &SimResult| r.latency_ms.map_or(0.0, |l| l.mean * r.completed as f64);
    let completed = all.completed as f64 - warm.completed as f64;
    SteadyState {
        hours,
        server_requests,
        cold_start_fraction: (cold(all) - cold(warm)) / server_requests.max(1.0),
        cost_usd_per_hour: (all.cost_usd_per_hour * all.hours
            - warm.cost_usd_per_hour * warm.hours)
            / hours,
        servers_held: (all.servers_held * all.hours - warm.servers_held * warm.hours) / hours,
        mean_latency_ms: (latency_sum(all) - latency_sum(warm)) / completed.max(1.0),
        warnings: warm.warnings.iter().chain(&all.warnings).cloned().collect(),
    }
}
