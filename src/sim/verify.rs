//! sim layer: a recommendation checked by simulation — each candidate simulated in
//! seeded replications (in parallel across cores), its simulated cost, latency and
//! cold-start share given with 95 % confidence intervals beside the analytic values,
//! and whether the simulation ranks the candidates as the model does.

use serde::Serialize;

use super::{
    LlmFleetResult, SimError, SimLatency, SimOptions, SimResult, simulate_llm_observed,
    simulate_observed,
};
use crate::model::objective::candidate_of;
use crate::model::{Evaluation, Metric, Plan, Policy};

/// Relative slack below which a simulated and an analytic figure count as equal even
/// when the interval is narrower (a fixed fleet's cost is exact in both: floating-point
/// rounding must not read as a disagreement).
const FLOAT_SLACK_REL: f64 = 1e-3;

/// The warm-up a simulation of `plan` needs before its measured day to see the
/// steady day the model describes: a day for an elastic LLM fleet (a replica started
/// at the peak is stopped only once its level has stayed idle for the idle timeout,
/// so the fleet remembers the previous day; `model/llm_elastic.rs` walks the day after
/// one such day), none otherwise (a request-level fleet forgets its start within a
/// boot and an idle timeout, and a fixed fleet starts as it runs).
pub fn steady_warmup_hours(plan: &Plan) -> f64 {
    let llm = plan.workload.tokens.is_some() && plan.service.llm.is_some();
    let elastic = matches!(plan.policy, Policy::OnDemand { .. } | Policy::Hybrid { .. });
    if llm && elastic {
        crate::model::traffic::DAY_HOURS
    } else {
        0.0
    }
}

/// How to verify.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyOptions {
    /// Independent replications per candidate (at least 2, for an interval).
    pub replications: u32,
    /// Simulated hours per replication.
    pub hours: f64,
    /// Seed of the first replication; replication i uses `seed + i`.
    pub seed: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            replications: 8,
            hours: crate::model::traffic::DAY_HOURS,
            seed: 1,
        }
    }
}

/// A mean over replications and the half-width of its 95 % confidence interval
/// (Student's t with replications − 1 degrees of freedom).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Mean over replications.
    pub mean: f64,
    /// Half-width of the 95 % interval.
    pub ci95: f64,
}

impl Interval {
    fn of(xs: &[f64]) -> Self {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        Self {
            mean,
            ci95: t_975(xs.len().saturating_sub(1)) * (var / n).sqrt(),
        }
    }

    /// True when `x` lies in the interval (widened by [`FLOAT_SLACK_REL`]).
    pub fn contains(&self, x: f64) -> bool {
        (x - self.mean).abs() <= self.ci95.max(FLOAT_SLACK_REL * self.mean.abs())
    }
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom.
fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        d if d <= TABLE.len() => TABLE[d - 1],
        _ => 1.96,
    }
}

/// Simulated figures of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulated {
    /// Dollars per hour.
    pub cost_usd_per_hour: Interval,
    /// Mean response time, ms.
    pub mean_ms: Interval,
    /// 95th percentile, ms.
    pub p95_ms: Interval,
    /// 99th percentile, ms.
    pub p99_ms: Interval,
    /// Share of server-bound requests that waited for a boot.
    pub cold_start_fraction: Interval,
    /// The plan's objective metric (mean, p50, p95 or p99), ms.
    pub metric_ms: Interval,
    /// J = α·cost + β·metric of the simulated means.
    pub objective: f64,
    /// An LLM plan's time to first token at the objective's metric, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<Interval>,
    /// An LLM plan's time per output token at the objective's metric, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpot_ms: Option<Interval>,
    /// Warnings of any replication (overload, limits), once each.
    pub warnings: Vec<String>,
}

/// One candidate: the model's evaluation, the simulation's, and where they disagree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// The candidate as the model evaluated it.
    pub candidate: Evaluation,
    /// What the simulation measured.
    pub simulated: Simulated,
    /// True when the model's cost and objective metric lie in the simulated intervals.
    pub agrees: bool,
    /// Each figure outside its interval, in words.
    pub disagreements: Vec<String>,
}

/// Simulates each of `candidates` (of `plan`) in `options.replications` seeded runs and
/// compares the result with the model's. Replications run on every core.
pub fn verify(
    plan: &Plan,
    candidates: &[Evaluation],
    options: &VerifyOptions,
) -> Result<Vec<Verification>, SimError> {
    verify_cancellable(plan, candidates, options, &|| true)
}

/// [`verify`] that stops with [`SimError::Cancelled`] soon after `keep_going` returns
/// false (it is asked from every replication's thread every few tens of thousands of
/// events).
pub fn verify_cancellable(
    plan: &Plan,
    candidates: &[Evaluation],
    options: &VerifyOptions,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<Verification>, SimError> {
    if options.replications < 2 {
        return Err(SimError::Option {
            name: "replications",
            value: options.replications.to_string(),
            allowed: "at least 2 (an interval needs two runs)",
        });
    }
    candidates
        .iter()
        .map(|e| {
            let p = candidate_of(plan, e).apply_to(plan);
            if p.workload.tokens.is_some() {
                let runs = replicate(&p, options, keep_going, simulate_llm_observed)?;
                return Ok(compare_llm(plan, e, &runs));
            }
            let runs = replicate(&p, options, keep_going, simulate_observed)?;
            Ok(compare(plan, e, &runs))
        })
        .collect()
}

/// The replications of one plan, on as many threads as there are cores.
fn replicate<T: Send>(
    plan: &Plan,
    options: &VerifyOptions,
    keep_going: &(dyn Fn() -> bool + Sync),
    run: SimFn<T>,
) -> Result<Vec<T>, SimError> {
    let seeds: Vec<u64> = (0..u64::from(options.replications))
        .map(|i| options.seed.wrapping_add(i))
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, seeds.len());
    let chunk = seeds.len().div_ceil(threads);
    let results: Vec<Result<Vec<T>, SimError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .chunks(chunk)
            .map(|share| {
                scope.spawn(move || {
                    share
                        .iter()
                        .map(|&seed| {
                            let o = SimOptions {
                                seed,
                                hours: options.hours,
                                warmup_hours: steady_warmup_hours(plan),
                                ..SimOptions::default()
                            };
                            run(plan, &o, &mut |_| keep_going())
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                // A panicking replication is a bug in the simulator; say which.
                h.join().unwrap_or_else(|_| {
                    Err(SimError::Option {
                        name: "replication",
                        value: "panicked".into(),
                        allowed: "a replication that completes",
                    })
                })
            })
            .collect()
    });
    let mut runs = Vec::with_capacity(seeds.len());
    for r in results {
        runs.extend(r?);
    }
    Ok(runs)
}

/// A simulation entry point: [`simulate_observed`] or [`simulate_llm_observed`].
type SimFn<T> = fn(&Plan, &SimOptions, &mut dyn FnMut(f64) -> bool) -> Result<T, SimError>;

/// An LLM plan's runs: the request-level comparison (E2E as the latency), and TTFT
/// and TPOT at the objective's metric against the model's `llm` block.
fn compare_llm(plan: &Plan, e: &Evaluation, runs: &[LlmFleetResult]) -> Verification {
    let fleets: Vec<SimResult> = runs.iter().map(|r| r.fleet.clone()).collect();
    let mut v = compare(plan, e, &fleets);
    let metric = plan.objective.metric;
    let of = |f: fn(&LlmFleetResult) -> Option<SimLatency>| {
        let xs: Vec<f64> = runs
            .iter()
            .filter_map(|r| f(r).map(|l| l.get(metric)))
            .collect();
        (!xs.is_empty()).then(|| Interval::of(&xs))
    };
    v.simulated.ttft_ms = of(|r| r.llm.ttft_ms);
    v.simulated.tpot_ms = of(|r| r.llm.tpot_ms);
    if let Some(m) = &e.llm {
        for (what, model, sim) in [
            ("TTFT", m.ttft_ms.get(metric), v.simulated.ttft_ms),
            ("TPOT", m.tpot_ms.get(metric), v.simulated.tpot_ms),
        ] {
            if let Some(i) = sim.filter(|i| !i.contains(model)) {
                v.disagreements.push(format!(
                    "{what} {}: model {model:.1} ms, simulated {:.1} ± {:.1}",
                    metric.name(),
                    i.mean,
                    i.ci95
                ));
            }
        }
        v.agrees = v.disagreements.is_empty();
    }
    v
}

/// The simulated intervals of `runs` against the model's evaluation `e`.
fn compare(plan: &Plan, e: &Evaluation, runs: &[SimResult]) -> Verification {
    let of = |f: &dyn Fn(&SimResult) -> Option<f64>| {
        let xs: Vec<f64> = runs.iter().filter_map(f).collect();
        Interval::of(&xs)
    };
    let lat = |m: Metric| move |r: &SimResult| r.latency_ms.map(|l| l.get(m));
    let mut warnings: Vec<String> = Vec::new();
    for w in runs.iter().flat_map(|r| r.warnings.iter()) {
        if !warnings.contains(w) {
            warnings.push(w.clone());
        }
    }
    let o = &plan.objective;
    let metric = of(&lat(o.metric));
    let cost = of(&|r| Some(r.cost_usd_per_hour));
    let simulated = Simulated {
        cost_usd_per_hour: cost,
        mean_ms: of(&lat(Metric::Mean)),
        p95_ms: of(&lat(Metric::P95)),
        p99_ms: of(&lat(Metric::P99)),
        cold_start_fraction: of(&|r| Some(r.cold_start_fraction)),
        metric_ms: metric,
        objective: o.alpha * cost.mean + o.beta * metric.mean,
        ttft_ms: None,
        tpot_ms: None,
        warnings,
    };
    let mut disagreements = Vec::new();
    if !cost.contains(e.cost_usd_per_hour) {
        disagreements.push(format!(
            "cost: model {:.3} $/h, simulated {:.3} ± {:.3}",
            e.cost_usd_per_hour, cost.mean, cost.ci95
        ));
    }
    match e.latency_ms.map(|l| l.get(o.metric)) {
        Some(m) if !metric.contains(m) => disagreements.push(format!(
            "{}: model {m:.1} ms, simulated {:.1} ± {:.1}",
            o.metric.name(),
            metric.mean,
            metric.ci95
        )),
        Some(_) => {}
        None => disagreements.push("the model has no latency for it".into()),
    }
    Verification {
        candidate: e.clone(),
        agrees: disagreements.is_empty(),
        simulated,
        disagreements,
    }
}

/// The candidate the simulation ranks first (lowest simulated J among those whose
/// simulated metric meets the SLO), when it is not the first of `verified`.
pub fn reversal(plan: &Plan, verified: &[Verification]) -> Option<usize> {
    let slo = plan.objective.slo_ms.unwrap_or(f64::INFINITY);
    let best = verified
        .iter()
        .enumerate()
        .filter(|(_, v)| v.simulated.metric_ms.mean <= slo && v.simulated.objective.is_finite())
        .min_by(|a, b| a.1.simulated.objective.total_cmp(&b.1.simulated.objective))?
        .0;
    (best != 0).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_use_students_t() {
        let i = Interval::of(&[1.0, 2.0, 3.0]);
        assert!((i.mean - 2.0).abs() < 1e-12);
        // s = 1, n = 3: 4.303 · 1/√3.
        assert!((i.ci95 - 4.303 / 3f64.sqrt()).abs() < 1e-9);
        assert!(i.contains(4.4) && !i.contains(4.5));
        let exact = Interval::of(&[10.0, 10.0]);
        assert!(exact.contains(10.000_000_1) && !exact.contains(10.1));
    }
}
