//! Model layer: the objective J = α·C + β·L under an SLO, and the optimiser over
//! policy × servers × batch with its Pareto frontier and per-policy curves.

use serde::Serialize;

use super::evaluate::{
    Candidate, Detail, Evaluation, Evaluator, ModelError, PolicyKind, evaluate_with,
};
use super::pareto::frontier_indices;
use super::types::{Objective, Plan, Policy};

/// Idle timeout used for on-demand candidates when the plan names none, seconds.
pub const DEFAULT_IDLE_TIMEOUT_S: f64 = 300.0;
/// Checkpoint interval for spot candidates when the plan names none, seconds.
pub const DEFAULT_CHECKPOINT_INTERVAL_S: f64 = 600.0;
/// A candidate whose waits and cold starts are below this gains nothing from more servers.
const SATURATED: f64 = 1e-9;

/// Sets `objective`, `feasible` and `why_infeasible` of an evaluation from its cost,
/// latency and the plan's objective.
pub fn score(objective: &Objective, eval: &mut Evaluation) {
    let Some(latency) = eval.latency_ms.filter(|_| eval.why_infeasible.is_none()) else {
        eval.objective = None;
        eval.feasible = false;
        eval.why_infeasible
            .get_or_insert_with(|| "latency undefined".into());
        return;
    };
    let l = latency.get(objective.metric);
    let j = objective.alpha * eval.cost_usd_per_hour + objective.beta * l;
    eval.objective = j.is_finite().then_some(j);
    match objective.slo_ms {
        Some(slo) if l > slo => {
            eval.feasible = false;
            eval.why_infeasible = Some(format!(
                "{} {l:.1} ms exceeds the SLO of {slo} ms",
                objective.metric.name()
            ));
        }
        _ => eval.feasible = eval.objective.is_some(),
    }
}

/// What the optimiser searches.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepOptions {
    /// Policy families to try.
    pub policies: Vec<PolicyKind>,
    /// Servers 1..=this (always-on fleet, on-demand cap, hybrid warm count, spot-mix total).
    pub max_servers: u32,
    /// Batch sizes to try.
    pub batches: Vec<u32>,
}

impl SweepOptions {
    /// The default search for a plan: all policies; servers up to `Optimize`'s cap or
    /// a few times the plan's own fleet; batches 1, 2, 4, … up to the plan's max batch
    /// (only 1 without a batching window, since then no batch ever forms).
    pub fn for_plan(plan: &Plan) -> Self {
        let max_servers = match plan.policy {
            Policy::Optimize { max_servers }
            | Policy::OnDemand { max_servers, .. }
            | Policy::Hybrid { max_servers, .. } => max_servers,
            Policy::AlwaysOn { servers } => (servers * 4).max(32),
            Policy::SpotMix {
                on_demand, spot, ..
            } => ((on_demand + spot) * 4).max(32),
        }
        .clamp(1, 10_000);
        let max_batch = plan.batching.max_batch.max(1);
        let mut batches = vec![1];
        if plan.batching.window_ms > 0.0 {
            let mut b = 2;
            while b < max_batch {
                batches.push(b);
                b *= 2;
            }
            if max_batch > 1 {
                batches.push(max_batch);
            }
        }
        Self {
            policies: PolicyKind::ALL.to_vec(),
            max_servers,
            batches,
        }
    }
}

/// One point of a policy's objective-versus-servers curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Servers (as in [`Evaluation::servers`] or warm count for hybrid).
    pub servers: u32,
    /// Best batch at this size.
    pub batch: u32,
    /// Cost, dollars per hour.
    pub cost_usd_per_hour: f64,
    /// The objective's latency metric, ms (null when overloaded).
    pub latency_ms: Option<f64>,
    /// Objective (null when overloaded).
    pub objective: Option<f64>,
    /// Within the SLO and stable.
    pub feasible: bool,
}

/// A policy's curve: the best batch at each server count, up to saturation (beyond
/// it more servers only add cost).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// The policy family.
    pub policy: PolicyKind,
    /// Points by increasing servers.
    pub points: Vec<CurvePoint>,
}

/// The optimiser's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Optimum {
    /// The feasible candidate with the lowest objective, if any.
    pub best: Option<Evaluation>,
    /// The best feasible candidate of each policy family.
    pub candidates: Vec<Evaluation>,
    /// Feasible candidates not beaten on both cost and latency, by increasing cost.
    pub pareto: Vec<Evaluation>,
    /// Objective versus servers per policy.
    pub curves: Vec<Curve>,
    /// Candidates evaluated in full.
    pub evaluated: usize,
}

/// Erlang B values B(c) per offered load, extended on demand, so a sweep over c costs
/// O(1) per step instead of an O(c) recurrence.
#[derive(Debug, Default)]
pub(crate) struct ErlangTable {
    tables: Vec<(u64, Vec<f64>)>,
}

impl ErlangTable {
    pub(crate) fn get(&mut self, servers: u32, load: f64) -> f64 {
        let key = load.to_bits();
        let idx = match self.tables.iter().position(|t| t.0 == key) {
            Some(i) => i,
            None => {
                self.tables.push((key, vec![1.0]));
                self.tables.len() - 1
            }
        };
        let table = &mut self.tables[idx].1;
        while table.len() <= servers as usize {
            let k = table.len() as f64;
            let prev = table[table.len() - 1];
            table.push(load * prev / (k + load * prev));
        }
        table[servers as usize]
    }
}

/// The concrete policy a sweep tries for `kind` at size `n`, with the plan's settings.
pub fn policy_at(plan: &Plan, kind: PolicyKind, n: u32, max_servers: u32) -> Policy {
    let idle_timeout_s = match plan.policy {
        Policy::OnDemand { idle_timeout_s, .. } | Policy::Hybrid { idle_timeout_s, .. } => {
            idle_timeout_s
        }
        _ => DEFAULT_IDLE_TIMEOUT_S,
    };
    let (base_on_demand, checkpoint_interval_s, checkpoint_s) = match plan.policy {
        Policy::SpotMix {
            on_demand,
            checkpoint_interval_s,
            checkpoint_s,
            ..
        } => (on_demand, checkpoint_interval_s, checkpoint_s),
        _ => (1, DEFAULT_CHECKPOINT_INTERVAL_S, 0.0),
    };
    match kind {
        PolicyKind::AlwaysOn => Policy::AlwaysOn { servers: n },
        PolicyKind::OnDemand => Policy::OnDemand {
            idle_timeout_s,
            max_servers: n,
        },
        PolicyKind::Hybrid => Policy::Hybrid {
            warm: n,
            idle_timeout_s,
            max_servers: max_servers.max(n),
        },
        PolicyKind::SpotMix => {
            let on_demand = base_on_demand.min(n);
            Policy::SpotMix {
                on_demand,
                spot: n - on_demand,
                checkpoint_interval_s,
                checkpoint_s,
            }
        }
    }
}

/// The candidate an evaluation of `plan` describes — its policy (with the plan's idle
/// timeout and checkpointing, as the sweep builds them) and batch — so a reported
/// candidate can be evaluated again or simulated.
pub fn candidate_of(plan: &Plan, e: &Evaluation) -> Candidate {
    let policy = match e.policy {
        PolicyKind::AlwaysOn | PolicyKind::OnDemand => {
            policy_at(plan, e.policy, e.servers, e.servers)
        }
        PolicyKind::Hybrid => policy_at(plan, e.policy, e.warm, e.servers),
        PolicyKind::SpotMix => match policy_at(plan, e.policy, e.servers, e.servers) {
            Policy::SpotMix {
                checkpoint_interval_s,
                checkpoint_s,
                ..
            } => Policy::SpotMix {
                on_demand: e.warm,
                spot: e.spot,
                checkpoint_interval_s,
                checkpoint_s,
            },
            other => other,
        },
    };
    Candidate {
        policy,
        batch: e.batch,
    }
}

/// Searches `options` for the plan's best candidate under its objective.
pub fn optimize(plan: &Plan, options: &SweepOptions) -> Result<Optimum, ModelError> {
    let ctx = Evaluator::new(plan)?;
    let options = &SweepOptions {
        batches: distinct_batches(&ctx, &options.batches),
        ..options.clone()
    };
    // Policies are independent: sweep them on as many threads as there are cores
    // (round-robin), each with its own Erlang table.
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, options.policies.len().max(1));
    let mut results: Vec<PolicySweep> = std::thread::scope(|scope| {
        let ctx = &ctx;
        let handles: Vec<_> = (1..threads)
            .map(|t| scope.spawn(move || sweep_share(ctx, options, t, threads)))
            .collect();
        let mut all = sweep_share(ctx, options, 0, threads);
        for h in handles {
            // A panic in a sweep thread is a bug; re-raise it rather than hide it.
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    });
    results.sort_by_key(|r| r.0);
    let mut curves = Vec::new();
    let mut scored: Vec<(Candidate, Evaluation)> = Vec::new();
    for (_, curve, evals) in results {
        curves.push(curve);
        scored.extend(evals);
    }
    let mut table = ErlangTable::default();
    // Full pass: mean and every percentile, only for what is reported.
    let mut full = |i: usize| {
        evaluate_with(&ctx, &scored[i].0, Detail::Full, &mut |c, a| {
            table.get(c, a)
        })
    };
    let light: Vec<Evaluation> = scored.iter().map(|s| s.1.clone()).collect();
    let mut candidates: Vec<Evaluation> = Vec::new();
    for &kind in &options.policies {
        let best_of_kind = (0..light.len())
            .filter(|&i| light[i].policy == kind && light[i].feasible)
            .min_by(|&a, &b| cmp_objective(&light[a], &light[b]));
        if let Some(i) = best_of_kind {
            candidates.push(full(i));
        }
    }
    let best = candidates
        .iter()
        .min_by(|a, b| cmp_objective(a, b))
        .cloned();
    let pareto = frontier_indices(&light, plan.objective.metric)
        .into_iter()
        .map(&mut full)
        .collect();
    Ok(Optimum {
        best,
        candidates,
        pareto,
        curves,
        evaluated: light.len(),
    })
}

/// The batch sizes that behave differently: a larger max batch that never fills within
/// the window in any hour forms exactly the same batches as the smaller one before it,
/// so it is the same candidate and is not evaluated again.
fn distinct_batches(ctx: &Evaluator<'_>, batches: &[u32]) -> Vec<u32> {
    let mut sorted = batches.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let formations = |b: u32| -> Vec<(f64, f64)> {
        ctx.groups
            .iter()
            .map(|g| {
                let (_, mean_batch, wait_ms) = ctx.hour_load(g, b);
                (mean_batch, wait_ms)
            })
            .collect()
    };
    let mut out: Vec<u32> = Vec::new();
    let mut last: Option<Vec<(f64, f64)>> = None;
    for b in sorted {
        let f = formations(b);
        if last.as_ref() != Some(&f) {
            out.push(b);
            last = Some(f);
        }
    }
    out
}

/// One policy's sweep: its index in the options, its curve, and its scored candidates.
type PolicySweep = (usize, Curve, Vec<(Candidate, Evaluation)>);

/// Sweeps the policies `options.policies[i]` with `i % of == share`, tagged with `i`.
fn sweep_share(
    ctx: &Evaluator<'_>,
    options: &SweepOptions,
    share: usize,
    of: usize,
) -> Vec<PolicySweep> {
    options
        .policies
        .iter()
        .enumerate()
        .filter(|(i, _)| i % of == share)
        .map(|(i, &kind)| {
            let (curve, scored) = sweep_policy(ctx, options, kind);
            (i, curve, scored)
        })
        .collect()
}

/// Scores one policy over servers × batches, stopping a batch size once more servers
/// can only add cost. Only the objective's latency metric is computed here.
fn sweep_policy(
    ctx: &Evaluator<'_>,
    options: &SweepOptions,
    kind: PolicyKind,
) -> (Curve, Vec<(Candidate, Evaluation)>) {
    let plan = ctx.plan;
    let mut table = ErlangTable::default();
    let mut scored = Vec::new();
    let mut points: Vec<CurvePoint> = Vec::new();
    let mut saturated_batches = vec![false; options.batches.len()];
    for n in 1..=options.max_servers {
        let mut best_here: Option<CurvePoint> = None;
        for (bi, &batch) in options.batches.iter().enumerate() {
            if saturated_batches[bi] {
                continue;
            }
            let candidate = Candidate {
                policy: policy_at(plan, kind, n, options.max_servers),
                batch,
            };
            let eval = evaluate_with(ctx, &candidate, Detail::MetricOnly, &mut |c, a| {
                table.get(c, a)
            });
            // On-demand always has cold starts; its cap stops mattering once nobody waits.
            let cold_settled = kind == PolicyKind::OnDemand || eval.cold_start_fraction < SATURATED;
            if eval.latency_ms.is_some() && eval.p_wait < SATURATED && cold_settled {
                saturated_batches[bi] = true;
            }
            let point = CurvePoint {
                servers: n,
                batch,
                cost_usd_per_hour: eval.cost_usd_per_hour,
                latency_ms: eval.latency_ms.map(|l| l.get(plan.objective.metric)),
                objective: eval.objective,
                feasible: eval.feasible,
            };
            if better_point(&point, best_here.as_ref()) {
                best_here = Some(point);
            }
            if eval.latency_ms.is_some() {
                scored.push((candidate, eval));
            }
        }
        match best_here {
            Some(p) => points.push(p),
            None => break, // every batch size saturated
        }
    }
    (
        Curve {
            policy: kind,
            points,
        },
        scored,
    )
}

fn cmp_objective(a: &Evaluation, b: &Evaluation) -> std::cmp::Ordering {
    let key = |e: &Evaluation| e.objective.unwrap_or(f64::MAX);
    key(a).total_cmp(&key(b))
}

fn better_point(p: &CurvePoint, than: Option<&CurvePoint>) -> bool {
    let Some(q) = than else { return true };
    match (p.feasible, q.feasible) {
        (true, false) => true,
        (false, true) => false,
        _ => p.objective.unwrap_or(f64::MAX) < q.objective.unwrap_or(f64::MAX),
    }
}
