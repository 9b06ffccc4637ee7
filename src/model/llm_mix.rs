//! Model layer: the latency mixtures of LLM replicas — a steady state's TTFT, TPOT and
//! E2E as a shift, an admission wait and a service of the right mean and CV (the
//! request-level model's parts, `model/latency.rs`), and the largest rate one warm
//! replica carries within the SLOs. docs/llm.md, "Percentiles", states the approximation.

use super::evaluation::LatencyStats;
use super::latency::{Mixture, ServiceShape};
use super::llm_replica::{Replica, Steady};
use super::types::{Metric, Objective};

/// Bisection steps of the SLO capacity search (relative precision 2⁻⁴⁰).
const SLO_SEARCH_STEPS: usize = 40;

/// One day of LLM figures: the three latency mixtures and replica-hour integrals.
#[derive(Debug, Default)]
pub(crate) struct LlmDay {
    pub ttft: Mixture,
    pub tpot: Mixture,
    pub e2e: Mixture,
    pub replica_hours: f64,
    pub seq_replica_hours: f64,
    pub kv_replica_hours: f64,
    pub wait_weighted: f64,
}

/// Adds `weight` requests of a replica in `state` to the mixtures, `shift_ms` before
/// them (cache lookup, cold start).
pub(crate) fn add_state(day: &mut LlmDay, r: &Replica, s: &Steady, weight: f64, shift_ms: f64) {
    let shapes = Shapes::of(r, s);
    let shift = shift_ms + s.before_prefill_ms;
    let (p, w) = (s.admission_p_wait, s.admission_wait_given_wait_ms);
    day.ttft.add_response(weight, shift, p, w, &shapes.prefill);
    day.tpot.add_response(weight, 0.0, 0.0, 0.0, &shapes.tpot);
    day.e2e
        .add_response(weight, shift, p, w, &shapes.generation);
}

/// One warm replica in steady state `s`: its TTFT and TPOT (mean, p50, p95, p99, ms)
/// as the mixtures of one hour in that state alone (no cache hit, no cold start), the
/// figures the SLO search checks; `None` where a quantile cannot be found.
pub fn warm_replica_latency(r: &Replica, s: &Steady) -> Option<(LatencyStats, LatencyStats)> {
    let mut day = LlmDay::default();
    add_state(&mut day, r, s, 1.0, 0.0);
    Some((day.ttft.latency_stats()?, day.tpot.latency_stats()?))
}

/// The random parts of one state's latencies (docs/llm.md, "Percentiles").
struct Shapes {
    prefill: ServiceShape,
    tpot: ServiceShape,
    generation: ServiceShape,
}

impl Shapes {
    fn of(r: &Replica, s: &Steady) -> Self {
        // Prefill time follows the prompt length; TPOT the running count, which
        // fluctuates like an M/G/∞ occupancy (sd √n); E2E adds the output length.
        let prefill_sd = match r.chunk_tokens {
            None => r.iteration.prefill_ms_per_token * r.prefill_tokens * r.prompt_cv,
            Some(_) => s.prefill_ms * r.prompt_cv,
        };
        let n = s.running_seqs;
        let tpot_sd = (r.decode_ms(n + n.sqrt()) - r.decode_ms(n)) / (1.0 - s.prefill_share);
        let steps = r.output_tokens - 1.0;
        let generation_ms = s.prefill_ms + steps * s.tpot_ms;
        let generation_sd = (prefill_sd.powi(2)
            + (s.tpot_ms * r.output_tokens * r.output_cv).powi(2)
            + (steps * tpot_sd).powi(2))
        .sqrt();
        let cv = |sd: f64, mean: f64| if mean > 0.0 { sd / mean } else { 0.0 };
        Self {
            prefill: ServiceShape::new(s.prefill_ms, cv(prefill_sd, s.prefill_ms)),
            tpot: ServiceShape::new(s.tpot_ms, cv(tpot_sd, s.tpot_ms)),
            generation: ServiceShape::new(generation_ms, cv(generation_sd, generation_ms)),
        }
    }
}

/// A statistic of a mixture, ms.
pub(crate) fn metric_of(mix: &Mixture, metric: Metric) -> Option<f64> {
    match metric {
        Metric::Mean => mix.mean_ms(),
        Metric::P50 => mix.quantile_ms(0.50),
        Metric::P95 => mix.quantile_ms(0.95),
        Metric::P99 => mix.quantile_ms(0.99),
    }
}

/// Whether `metric` of `mix` is at most `slo` ms (false for an empty mixture). For a
/// quantile q that is P(T > slo) ≤ 1 − q, the definition of the quantile, read off the
/// tail in one pass instead of a root search.
pub(crate) fn meets_slo(mix: &Mixture, metric: Metric, slo: f64) -> bool {
    if mix.is_empty() {
        return false;
    }
    let q = match metric {
        Metric::Mean => return mix.mean_ms().is_some_and(|m| m <= slo),
        Metric::P50 => 0.50,
        Metric::P95 => 0.95,
        Metric::P99 => 0.99,
    };
    mix.survival(slo) <= 1.0 - q
}

/// Whether `s` meets the objective's TTFT, TPOT and E2E SLOs on one warm replica.
fn within_slos(r: &Replica, s: &Steady, o: &Objective) -> bool {
    let mut day = LlmDay::default();
    add_state(&mut day, r, s, 1.0, 0.0);
    let ok = |mix: &Mixture, slo: Option<f64>| slo.is_none_or(|slo| meets_slo(mix, o.metric, slo));
    ok(&day.ttft, o.ttft_slo_ms) && ok(&day.tpot, o.tpot_slo_ms) && ok(&day.e2e, o.slo_ms)
}

/// The largest rate one warm replica carries within the SLOs: bisection below its
/// capacity (TTFT, TPOT and E2E all grow with the rate).
pub(crate) fn max_rps_at_slo(r: &Replica, o: &Objective, capacity_rps: f64) -> f64 {
    let ok = |rate: f64| r.steady(rate).is_ok_and(|s| within_slos(r, &s, o));
    if o.ttft_slo_ms.is_none() && o.tpot_slo_ms.is_none() && o.slo_ms.is_none() {
        return capacity_rps;
    }
    let (mut lo, mut hi) = (0.0, capacity_rps);
    if ok(hi) {
        return hi;
    }
    for _ in 0..SLO_SEARCH_STEPS {
        let mid = 0.5 * (lo + hi);
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}
