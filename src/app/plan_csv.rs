//! App layer: the Plan panel's CSV export — every candidate the optimiser scored
//! (each policy × fleet size × batch it tried, feasible or not), with the best per
//! policy and the Pareto frontier marked.
//!
//! The optimiser keeps only a count of what it scored, not the list, so the sweep is
//! walked again here with the same search (`SweepOptions::for_plan`), the same batch
//! pruning and the same stopping rule; a test holds the rows with a latency to the
//! optimiser's `evaluated`, so the two cannot drift apart unnoticed.

use std::path::Path;

use crate::model::objective::policy_at;
use crate::model::{Candidate, Evaluation, Evaluator, Optimum, Plan, SweepOptions};

/// Below this, a queueing wait or a cold-start share counts as none: more servers can
/// only add cost (the optimiser's own threshold for ending a batch size's sweep).
const SATURATED: f64 = 1e-9;

/// The CSV header: one column per figure, units in the names.
pub const CSV_HEADER: &str = "policy,servers,warm,spot,batch,cost_usd_per_hour,cost_usd_per_million,mean_ms,p50_ms,p95_ms,p99_ms,utilization,p_wait,cold_start_fraction,objective,feasible,best_per_policy,pareto,why_infeasible";

/// Every candidate the optimiser scores for `plan` under its default search, in sweep
/// order (policy, then servers, then batch), each evaluated in full. Overloaded ones
/// (no latency; infeasible, the optimiser's `evaluated` does not count them) are listed
/// too, so the file shows where each policy starts to fit. An error says why the plan
/// cannot be evaluated.
pub fn all_candidates(plan: &Plan) -> Result<Vec<Evaluation>, String> {
    let ctx = Evaluator::new(plan).map_err(|e| e.to_string())?;
    let options = SweepOptions::for_plan(plan);
    let batches = distinct_batches(&ctx, &options.batches);
    let mut out = Vec::new();
    for &kind in &options.policies {
        let mut saturated = vec![false; batches.len()];
        for n in 1..=options.max_servers {
            let mut any = false;
            for (bi, &batch) in batches.iter().enumerate() {
                if saturated[bi] {
                    continue;
                }
                any = true;
                let candidate = Candidate {
                    policy: policy_at(plan, kind, n, options.max_servers),
                    batch,
                };
                let eval = ctx.evaluate(&candidate);
                let cold_settled = kind == crate::model::PolicyKind::OnDemand
                    || eval.cold_start_fraction < SATURATED;
                if eval.latency_ms.is_some() && eval.p_wait < SATURATED && cold_settled {
                    saturated[bi] = true;
                }
                out.push(eval);
            }
            if !any {
                break; // every batch size saturated
            }
        }
    }
    Ok(out)
}

/// The batch sizes that behave differently (as the optimiser prunes them): a larger
/// max batch that never fills within the window forms the same batches as the one
/// before it.
fn distinct_batches(ctx: &Evaluator<'_>, batches: &[u32]) -> Vec<u32> {
    let mut sorted = batches.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<u32> = Vec::new();
    let mut last: Option<Vec<(f64, f64)>> = None;
    for b in sorted {
        let f: Vec<(f64, f64)> = (ctx.groups.iter())
            .map(|g| {
                let (_, mean_batch, wait_ms) = ctx.hour_load(g, b);
                (mean_batch, wait_ms)
            })
            .collect();
        if last.as_ref() != Some(&f) {
            out.push(b);
            last = Some(f);
        }
    }
    out
}

/// Whether `a` and `b` are the same candidate (policy, sizes and batch).
fn same(a: &Evaluation, b: &Evaluation) -> bool {
    (a.policy, a.servers, a.warm, a.spot, a.batch) == (b.policy, b.servers, b.warm, b.spot, b.batch)
}

/// `candidates` as CSV under [`CSV_HEADER`]: one row each, marked when the optimum
/// reports it as its policy's best or on the Pareto frontier.
pub fn candidates_csv(candidates: &[Evaluation], optimum: &Optimum) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    let num = |x: Option<f64>| x.map_or_else(String::new, |v| format!("{v}"));
    for e in candidates {
        let l = e.latency_ms;
        let best = optimum.candidates.iter().any(|c| same(c, e));
        let pareto = optimum.pareto.iter().any(|c| same(c, e));
        // Quoted, with quotes doubled, so a reason with a comma stays one field.
        let why = e
            .why_infeasible
            .as_deref()
            .map_or_else(String::new, |w| format!("\"{}\"", w.replace('"', "\"\"")));
        out += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            e.policy.name(),
            e.servers,
            e.warm,
            e.spot,
            e.batch,
            e.cost_usd_per_hour,
            num(e.cost_usd_per_million),
            num(l.map(|l| l.mean)),
            num(l.map(|l| l.p50)),
            num(l.map(|l| l.p95)),
            num(l.map(|l| l.p99)),
            e.utilization,
            e.p_wait,
            e.cold_start_fraction,
            num(e.objective),
            e.feasible,
            best,
            pareto,
            why,
        );
    }
    out
}

/// Writes every candidate of `plan` as CSV to `path` atomically (a failed write
/// leaves no half file); the message or error says how it went.
pub fn export_csv(
    plan: &Plan,
    optimum: &Result<Optimum, String>,
    path: &Path,
) -> Result<String, String> {
    let optimum = optimum
        .as_ref()
        .map_err(|e| format!("nothing to export: {e}"))?;
    let all = all_candidates(plan).map_err(|e| format!("nothing to export: {e}"))?;
    crate::files::write_atomic(path, candidates_csv(&all, optimum).as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let feasible = all.iter().filter(|e| e.feasible).count();
    Ok(format!(
        "exported {} candidates ({feasible} feasible) to {}",
        all.len(),
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::optimize;
    use crate::plan::presets::{PRESETS, load};

    #[test]
    fn the_rows_are_every_candidate_the_optimiser_scored() {
        for preset in PRESETS {
            let plan = load(preset.name).unwrap();
            let optimum = optimize(&plan, &SweepOptions::for_plan(&plan)).unwrap();
            let all = all_candidates(&plan).unwrap();
            let scored = all.iter().filter(|e| e.latency_ms.is_some()).count();
            assert_eq!(scored, optimum.evaluated, "{}", preset.name);
            assert!(
                all.iter()
                    .filter(|e| e.latency_ms.is_none())
                    .all(|e| !e.feasible)
            );
            let csv = candidates_csv(&all, &optimum);
            let mut lines = csv.lines();
            assert_eq!(lines.next(), Some(CSV_HEADER));
            assert_eq!(lines.count(), all.len(), "{}", preset.name);
            // The optimiser's best of each policy is among the rows, marked.
            for best in &optimum.candidates {
                assert!(all.iter().any(|e| same(e, best)), "{}", preset.name);
            }
            let column = |name: &str| CSV_HEADER.split(',').position(|c| c == name).unwrap();
            let best_col = column("best_per_policy");
            let marked = (csv.lines().skip(1))
                .filter(|l| l.split(',').nth(best_col) == Some("true"))
                .count();
            assert_eq!(marked, optimum.candidates.len(), "{}", preset.name);
        }
    }
}
