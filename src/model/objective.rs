//! Model layer: the objective J = α·C + β·L under an SLO, and the optimiser over
//! policy × servers × batch with its Pareto frontier and per-policy curves.

use serde::Serialize;

use super::evaluate::{Candidate, Evaluation, PolicyKind};
use super::types::{Objective, Plan, Policy};

pub use super::sweep::optimize;

/// Idle timeout used for on-demand candidates when the plan names none, seconds.
pub const DEFAULT_IDLE_TIMEOUT_S: f64 = 300.0;
/// Checkpoint interval for spot candidates when the plan names none, seconds.
pub const DEFAULT_CHECKPOINT_INTERVAL_S: f64 = 600.0;
/// A candidate whose waits and cold starts are below this gains nothing from more servers.
pub(crate) const SATURATED: f64 = 1e-9;

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

/// `max_num_seqs` values the default LLM search tries besides the plan's own: powers
/// of two from a few sequences to the largest batch vLLM-class servers run.
pub const SEQ_STEPS: [u32; 9] = [4, 8, 16, 32, 64, 128, 256, 512, 1024];

/// What the optimiser searches.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepOptions {
    /// Policy families to try.
    pub policies: Vec<PolicyKind>,
    /// Servers 1..=this (always-on fleet, on-demand cap, hybrid warm count, spot-mix total).
    pub max_servers: u32,
    /// Batch sizes to try.
    pub batches: Vec<u32>,
    /// `service.llm.max_num_seqs` values to try for an LLM plan (ignored otherwise);
    /// the plan's own value is always tried.
    pub max_num_seqs: Vec<u32>,
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
            max_num_seqs: plan.service.llm.as_ref().map_or_else(Vec::new, |l| {
                let mut v: Vec<u32> = SEQ_STEPS.to_vec();
                v.push(l.max_num_seqs);
                v.sort_unstable();
                v.dedup();
                v
            }),
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
    /// The best point's `max_num_seqs` for an LLM plan (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_num_seqs: Option<u32>,
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
/// timeout and checkpointing, as the sweep builds them), batch and `max_num_seqs` — so a reported
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
        max_num_seqs: e.max_num_seqs,
    }
}
