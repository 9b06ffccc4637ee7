//! Model layer: the optimiser — every policy × servers × batch (× `max_num_seqs` for
//! an LLM plan) scored on its objective metric alone, then the best of each policy
//! family and the Pareto frontier evaluated in full.

use std::borrow::Cow;

use super::evaluate::{
    Candidate, Detail, Evaluation, Evaluator, ModelError, PolicyKind, evaluate_with,
};
use super::objective::{
    Curve, CurvePoint, ErlangTable, Optimum, SATURATED, SweepOptions, policy_at,
};
use super::pareto::frontier_indices;
use super::types::{Plan, Policy};

/// Searches `options` for the plan's best candidate under its objective. An LLM plan
/// is searched at each of `options.max_num_seqs` too (one prepared replica per value;
/// values past what the KV cache holds collapse into one).
pub fn optimize(plan: &Plan, options: &SweepOptions) -> Result<Optimum, ModelError> {
    let own = Evaluator::new(plan)?;
    let (options, plans) = &prepare(&own, options);
    let ctxs = evaluators(plans)?;
    let results = sweep_variants(&ctxs, options);
    let mut curves: Vec<Curve> = Vec::new();
    // (evaluator, candidate, light evaluation) of every candidate with a latency.
    let mut scored: Vec<(usize, Candidate, Evaluation)> = Vec::new();
    for (pi, ci, curve, evals) in results {
        match curves.iter_mut().find(|c| c.policy == options.policies[pi]) {
            Some(merged) => merge_curve(merged, &curve),
            None => curves.push(curve),
        }
        let with_latency = evals.into_iter().filter(|(_, e)| e.latency_ms.is_some());
        scored.extend(with_latency.map(|(c, e)| (ci, c, e)));
    }
    let mut table = ErlangTable::default();
    // Full pass: mean and every percentile, only for what is reported.
    let mut full = |i: usize| {
        let (ci, candidate, _) = &scored[i];
        evaluate_with(&ctxs[*ci].1, candidate, Detail::Full, &mut |c, a| {
            table.get(c, a)
        })
    };
    let light: Vec<Evaluation> = scored.iter().map(|s| s.2.clone()).collect();
    let mut candidates: Vec<Evaluation> = Vec::new();
    for &kind in &options.policies {
        let best_of_kind = (0..light.len())
            .filter(|&i| light[i].policy == kind && light[i].feasible)
            .min_by(|&a, &b| cmp_objective(&light[a], &light[b]));
        if let Some(i) = best_of_kind {
            candidates.push(full(i));
        }
    }
    // Candidates within rounding of each other are a tie, won by the policy listed
    // first (always-on before an elastic fleet that never starts a second replica).
    let best = candidates
        .iter()
        .fold(None::<&Evaluation>, |best, e| match best {
            Some(b) if !clearly_better(e, b) => Some(b),
            _ if e.objective.is_some() => Some(e),
            _ => best,
        })
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

/// Every candidate [`optimize`] tries for `plan` under `options` — the same batch
/// pruning, `max_num_seqs` values, cost bounds and stopping rules, overloaded ones
/// included — each
/// evaluated in full, in sweep order (policy, `max_num_seqs`, servers, batch).
pub fn tried_candidates(
    plan: &Plan,
    options: &SweepOptions,
) -> Result<Vec<(Candidate, Evaluation)>, ModelError> {
    let own = Evaluator::new(plan)?;
    let (options, plans) = &prepare(&own, options);
    let ctxs = evaluators(plans)?;
    let mut out = Vec::new();
    for (_, ci, _, evals) in sweep_variants(&ctxs, options) {
        let ctx = &ctxs[ci].1;
        out.extend(evals.into_iter().map(|(c, _)| {
            let full = ctx.evaluate(&c);
            (c, full)
        }));
    }
    Ok(out)
}

/// The search as swept (batches that behave alike pruned) and the plans it sweeps.
fn prepare<'p>(own: &Evaluator<'p>, options: &SweepOptions) -> (SweepOptions, Variants<'p>) {
    let options = SweepOptions {
        batches: distinct_batches(own, &options.batches),
        ..options.clone()
    };
    let plans = seq_variants(own, &options.max_num_seqs);
    (options, plans)
}

/// Each plan of a sweep, with the `max_num_seqs` its candidates carry.
type Variants<'p> = Vec<(Option<u32>, Cow<'p, Plan>)>;

/// One evaluator per plan of [`prepare`].
fn evaluators<'p>(
    plans: &'p Variants<'_>,
) -> Result<Vec<(Option<u32>, Evaluator<'p>)>, ModelError> {
    plans
        .iter()
        .map(|(n, p)| Ok((*n, Evaluator::new(p)?)))
        .collect()
}

/// The plans to sweep, each with the `max_num_seqs` its candidates carry: the plan
/// itself (first, so ties keep its own value) and, for an LLM plan, one per value
/// asked. Values at or past what one replica's KV cache holds behave alike (the cache,
/// not the limit, caps the running sequences), so only the smallest of them is kept.
fn seq_variants<'p>(own: &Evaluator<'p>, asked: &[u32]) -> Variants<'p> {
    let plan = own.plan;
    let (Some(ctx), Some(_)) = (&own.llm, &plan.service.llm) else {
        return vec![(None, Cow::Borrowed(plan))];
    };
    let fit = ctx
        .replica
        .as_ref()
        .map_or(u32::MAX, |r| r.seqs_fit().max(1));
    let mut values: Vec<u32> = asked.iter().copied().filter(|&n| n >= 1).collect();
    values.sort_unstable();
    values.dedup();
    if let Some(first_past) = values.iter().position(|&n| n >= fit) {
        values.truncate(first_past + 1);
    }
    let mut out = vec![(Some(ctx.max_num_seqs), Cow::Borrowed(plan))];
    for n in values.into_iter().filter(|&n| n != ctx.max_num_seqs) {
        let mut p = plan.clone();
        if let Some(llm) = p.service.llm.as_mut() {
            llm.max_num_seqs = n;
        }
        out.push((Some(n), Cow::Owned(p)));
    }
    out
}

/// One policy's sweep at one evaluator: the policy's and the evaluator's indices, its
/// curve, and its scored candidates.
type PolicySweep = (usize, usize, Curve, Vec<(Candidate, Evaluation)>);

/// The whole sweep: every policy at the plan's own `max_num_seqs` (the first evaluator)
/// in full, then every policy at each other value with the best objective its policy
/// reached at the plan's own value as a bound ([`sweep_policy`]), in (policy,
/// evaluator) order.
fn sweep_variants(
    ctxs: &[(Option<u32>, Evaluator<'_>)],
    options: &SweepOptions,
) -> Vec<PolicySweep> {
    let policies = options.policies.len();
    let own: Vec<(usize, usize, Option<f64>)> = (0..policies).map(|p| (p, 0, None)).collect();
    let mut all = sweep_all(ctxs, options, &own);
    if ctxs.len() > 1 {
        let bound = |p: usize| -> Option<f64> {
            all.iter()
                .filter(|r| r.0 == p)
                .flat_map(|r| r.3.iter())
                .filter(|(_, e)| e.feasible)
                .filter_map(|(_, e)| e.objective)
                .min_by(f64::total_cmp)
        };
        // No candidate of a value can have less latency than the most replicas the
        // sweep tries, always on: each carries the least load there, none boots. So a
        // candidate also needs α·cost < bound − β·that latency to compete.
        let beta = ctxs[0].1.plan.objective.beta.max(0.0);
        let floors: Vec<f64> = ctxs
            .iter()
            .enumerate()
            .map(|(c, (seqs, ctx))| match c {
                0 => 0.0,
                _ => beta * latency_floor_ms(ctx, options, *seqs).unwrap_or(0.0),
            })
            .collect();
        let others: Vec<(usize, usize, Option<f64>)> = (0..policies)
            .flat_map(|p| (1..ctxs.len()).map(move |c| (p, c)))
            .map(|(p, c)| (p, c, bound(p).map(|b| b - floors[c])))
            .collect();
        let rest = sweep_all(ctxs, options, &others);
        all.extend(rest);
    }
    all.sort_by_key(|r| (r.0, r.1));
    all
}

/// The objective's latency of the sweep's largest always-on fleet at `max_num_seqs`: a
/// floor under every candidate's (fewer replicas carry more each, and boots and spot
/// down-time only add); `None` when even that fleet is overloaded.
fn latency_floor_ms(
    ctx: &Evaluator<'_>,
    options: &SweepOptions,
    max_num_seqs: Option<u32>,
) -> Option<f64> {
    let batch = options.batches.iter().copied().min().unwrap_or(1);
    let candidate = Candidate {
        policy: Policy::AlwaysOn {
            servers: options.max_servers.max(1),
        },
        batch,
        max_num_seqs,
    };
    let mut table = ErlangTable::default();
    let eval = evaluate_with(ctx, &candidate, Detail::MetricOnly, &mut |c, a| {
        table.get(c, a)
    });
    let l = eval.latency_ms?.get(ctx.plan.objective.metric);
    l.is_finite().then_some(l.max(0.0))
}

/// The (policy, evaluator, bound) triples `jobs` swept on as many threads as there are
/// cores (round-robin, each sweep with its own Erlang table).
fn sweep_all(
    ctxs: &[(Option<u32>, Evaluator<'_>)],
    options: &SweepOptions,
    jobs: &[(usize, usize, Option<f64>)],
) -> Vec<PolicySweep> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, jobs.len().max(1));
    let share = |t: usize| -> Vec<PolicySweep> {
        jobs.iter()
            .skip(t)
            .step_by(threads)
            .map(|&(pi, ci, bound)| {
                let (seqs, ctx) = &ctxs[ci];
                let kind = options.policies[pi];
                let (curve, scored) = sweep_policy(ctx, options, kind, *seqs, bound);
                (pi, ci, curve, scored)
            })
            .collect()
    };
    std::thread::scope(|scope| {
        let share = &share;
        let handles: Vec<_> = (1..threads)
            .map(|t| scope.spawn(move || share(t)))
            .collect();
        let mut all = share(0);
        for h in handles {
            // A panic in a sweep thread is a bug; re-raise it rather than hide it.
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    })
}

/// Folds `other` (the same policy at another `max_num_seqs`) into `merged`: at each
/// server count the better point, and the longer of the two runs.
fn merge_curve(merged: &mut Curve, other: &Curve) {
    for p in &other.points {
        match merged.points.iter_mut().find(|q| q.servers == p.servers) {
            Some(q) if better_point(p, Some(q)) => *q = *p,
            Some(_) => {}
            None => merged.points.push(*p),
        }
    }
    merged.points.sort_by_key(|p| p.servers);
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

/// Scores one policy over servers × batches, stopping a batch size once more servers
/// can only add cost. Only the objective's latency metric is computed here.
///
/// With a `bound` (the best objective of this policy at the plan's own `max_num_seqs`)
/// a candidate whose cost alone reaches it (α·C ≥ bound: its J = α·C + β·L cannot be
/// lower) is not scored, and a batch size stops once the cost of the replicas the
/// policy always holds does (that floor grows with the servers). On demand holds none
/// for certain, so there a batch size stops once its cap no longer binds (no request
/// finds every replica it may start busy: a larger cap is the same fleet).
fn sweep_policy(
    ctx: &Evaluator<'_>,
    options: &SweepOptions,
    kind: PolicyKind,
    max_num_seqs: Option<u32>,
    bound: Option<f64>,
) -> (Curve, Vec<(Candidate, Evaluation)>) {
    let plan = ctx.plan;
    let alpha = plan.objective.alpha;
    let mut table = ErlangTable::default();
    let mut scored = Vec::new();
    let mut points: Vec<CurvePoint> = Vec::new();
    let mut saturated_batches = vec![false; options.batches.len()];
    for n in 1..=options.max_servers {
        let mut best_here: Option<CurvePoint> = None;
        let mut any_left = false;
        for (bi, &batch) in options.batches.iter().enumerate() {
            if saturated_batches[bi] {
                continue;
            }
            any_left = true;
            let candidate = Candidate {
                policy: policy_at(plan, kind, n, options.max_servers),
                batch,
                max_num_seqs,
            };
            if let Some(b) = bound {
                if alpha * floor_cost_usd_per_hour(plan, &candidate.policy) >= b {
                    saturated_batches[bi] = true;
                    continue;
                }
                let fleet = evaluate_with(ctx, &candidate, Detail::CostOnly, &mut |c, a| {
                    table.get(c, a)
                });
                let stable = fleet.latency_ms.is_some();
                if kind == PolicyKind::OnDemand && stable && fleet.p_wait < SATURATED {
                    saturated_batches[bi] = true;
                }
                if alpha * fleet.cost_usd_per_hour >= b {
                    continue;
                }
            }
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
                max_num_seqs,
            };
            if better_point(&point, best_here.as_ref()) {
                best_here = Some(point);
            }
            scored.push((candidate, eval));
        }
        match best_here {
            Some(p) => points.push(p),
            // Every batch size saturated, or (with a bound) none left with a chance.
            None if !any_left || bound.is_none() => break,
            None => {}
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

/// What `policy` costs at least, dollars per hour: the replicas it holds all day (an
/// always-on fleet, the warm ones, a spot mix at its prices), none for on demand. It
/// grows with the servers [`policy_at`] gives each policy.
fn floor_cost_usd_per_hour(plan: &Plan, policy: &Policy) -> f64 {
    let hw = &plan.hardware;
    match *policy {
        Policy::AlwaysOn { servers } => f64::from(servers) * hw.on_demand_usd_per_hour,
        Policy::Hybrid { warm, .. } => f64::from(warm) * hw.on_demand_usd_per_hour,
        Policy::SpotMix {
            on_demand, spot, ..
        } => {
            f64::from(on_demand) * hw.on_demand_usd_per_hour
                + f64::from(spot) * hw.spot_usd_per_hour
        }
        Policy::OnDemand { .. } | Policy::Optimize { .. } => 0.0,
    }
}

/// Relative objective difference below which two candidates tie (float rounding of
/// the same fleet evaluated through two policies' formulas).
const TIE_REL: f64 = 1e-9;

/// Whether `a`'s objective beats `b`'s by more than rounding.
fn clearly_better(a: &Evaluation, b: &Evaluation) -> bool {
    match (a.objective, b.objective) {
        (Some(x), Some(y)) => x < y - TIE_REL * y.abs(),
        (Some(_), None) => true,
        _ => false,
    }
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
