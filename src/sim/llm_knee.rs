//! sim layer: the capacity knee of one simulated LLM replica — the rate at which the
//! simulated mean TTFT reaches twice its light-load value, the definition the model's
//! knee uses ([`crate::model::llm_kv::ttft_knee_rps`]) — found on a grid of loads and
//! interpolated between the two loads that bracket it — and the run length the
//! model-vs-simulator validation uses (docs/llm.md, tests/llm_validation.rs).

use super::llm::{LlmSimOptions, simulate_replica};
use crate::model::llm_kv::{KNEE_LIGHT_LOAD, KNEE_TTFT_FACTOR};
use crate::model::llm_replica::Replica;

/// Requests a validation run measures: enough that the output tokens per second of a
/// replica (output CV 0.8) are within about 0.9 % of their mean at one standard
/// deviation.
pub const VALIDATION_REQUESTS: f64 = 20_000.0;

/// A validation run at `rate_rps`: long enough for [`VALIDATION_REQUESTS`] arrivals,
/// after a tenth as long of warm-up.
pub fn validation_options(rate_rps: f64, seed: u64) -> LlmSimOptions {
    let measure_s = VALIDATION_REQUESTS / rate_rps.max(f64::MIN_POSITIVE);
    LlmSimOptions {
        rate_rps,
        measure_s,
        warmup_s: measure_s / 10.0,
        seed,
    }
}

/// How a knee scan runs: the grid and each point's simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KneeScan {
    /// The rates are loads × this, req/s (the model's capacity, so loads compare).
    pub capacity_rps: f64,
    /// Load step of the grid above [`KNEE_LIGHT_LOAD`].
    pub load_step: f64,
    /// Highest load tried.
    pub max_load: f64,
    /// Seed of every point's run ([`validation_options`] at each load).
    pub seed: u64,
}

/// Mean simulated TTFT at `load` of the scan's capacity, ms (infinite when nothing
/// completed: the queue never drained).
fn sim_ttft_ms(r: &Replica, scan: &KneeScan, load: f64) -> f64 {
    let s = simulate_replica(r, &validation_options(load * scan.capacity_rps, scan.seed));
    s.ttft_ms.map_or(f64::INFINITY, |t| t.mean)
}

/// The simulated knee as a load (a share of `scan.capacity_rps`): where the mean TTFT
/// first reaches [`KNEE_TTFT_FACTOR`] × its value at [`KNEE_LIGHT_LOAD`], linear
/// between the bracketing grid loads. `None` when it does not by `scan.max_load`.
pub fn sim_ttft_knee_load(r: &Replica, scan: &KneeScan) -> Option<f64> {
    let target = KNEE_TTFT_FACTOR * sim_ttft_ms(r, scan, KNEE_LIGHT_LOAD);
    let (mut load, mut ttft) = (KNEE_LIGHT_LOAD, target / KNEE_TTFT_FACTOR);
    let step = scan.load_step.max(1e-3);
    while load < scan.max_load {
        let next = (load + step).min(scan.max_load);
        let next_ttft = sim_ttft_ms(r, scan, next);
        if next_ttft >= target {
            if !next_ttft.is_finite() {
                return Some(next);
            }
            return Some(load + (next - load) * (target - ttft) / (next_ttft - ttft));
        }
        (load, ttft) = (next, next_ttft);
    }
    None
}
