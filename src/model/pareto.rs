//! Model layer: the cost–latency Pareto frontier of a set of evaluations.

use super::evaluate::Evaluation;
use super::types::Metric;

/// Smallest relative latency gain that earns a costlier candidate a place on the
/// frontier: past saturation more servers shave microseconds, which is not a choice.
const MIN_GAIN: f64 = 1e-3;

/// Feasible evaluations that no other feasible one beats on both cost and the latency
/// `metric` (by at least 0.1 %), ordered by increasing cost and so decreasing latency.
pub fn frontier(evals: &[Evaluation], metric: Metric) -> Vec<Evaluation> {
    frontier_indices(evals, metric)
        .into_iter()
        .map(|i| evals[i].clone())
        .collect()
}

/// The indices into `evals` of [`frontier`]'s members, in the same order.
pub fn frontier_indices(evals: &[Evaluation], metric: Metric) -> Vec<usize> {
    let mut feasible: Vec<(usize, &Evaluation, f64)> = evals
        .iter()
        .enumerate()
        .filter(|(_, e)| e.feasible)
        .filter_map(|(i, e)| Some((i, e, e.latency_ms?.get(metric))))
        .collect();
    feasible.sort_by(|a, b| {
        a.1.cost_usd_per_hour
            .total_cmp(&b.1.cost_usd_per_hour)
            .then(a.2.total_cmp(&b.2))
    });
    let mut out = Vec::new();
    let mut best_latency = f64::INFINITY;
    for (i, _, l) in feasible {
        if l < best_latency * (1.0 - MIN_GAIN) {
            best_latency = l;
            out.push(i);
        }
    }
    out
}
