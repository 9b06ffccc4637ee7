//! Plan layer: changes to a plan's policy, fleet size, batch and objective weights
//! given outside the file (the `plan` and `simulate` commands' flags), applied and then
//! validated like the file itself.

use super::{PlanError, validate};
use crate::model::evaluation::{kind_of, servers_of};
use crate::model::objective::policy_at;
use crate::model::{Candidate, Plan, PolicyKind, SweepOptions};

/// What to change; `None` keeps the plan's value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    /// Use this policy.
    pub policy: Option<PolicyKind>,
    /// Servers: the fleet, the cap, the warm count or the total, by policy.
    pub servers: Option<u32>,
    /// Largest batch.
    pub batch: Option<u32>,
    /// An LLM replica's `service.llm.max_num_seqs`.
    pub max_num_seqs: Option<u32>,
    /// Weight of cost in the objective.
    pub alpha: Option<f64>,
    /// Weight of latency (per ms) in the objective.
    pub beta: Option<f64>,
}

/// Applies `overrides` to `plan` and re-validates it; an out-of-range result is a
/// [`PlanError::Override`] naming the field.
pub fn apply_overrides(plan: &mut Plan, overrides: &Overrides) -> Result<(), PlanError> {
    if let Some(a) = overrides.alpha {
        plan.objective.alpha = a;
    }
    if let Some(b) = overrides.beta {
        plan.objective.beta = b;
    }
    if let Some(b) = overrides.batch {
        plan.batching.max_batch = b;
    }
    if let Some(n) = overrides.max_num_seqs {
        let Some(llm) = plan.service.llm.as_mut() else {
            return Err(PlanError::Override {
                path: "service.llm.max_num_seqs".into(),
                value: n.to_string(),
                allowed: "only for a plan with service.llm (an LLM replica)".into(),
            });
        };
        llm.max_num_seqs = n;
    }
    if overrides.policy.is_some() || overrides.servers.is_some() {
        let kind = overrides.policy.unwrap_or_else(|| {
            Candidate::from_plan(plan).map_or(PolicyKind::AlwaysOn, |c| kind_of(&c.policy))
        });
        let default_n = SweepOptions::for_plan(plan).max_servers;
        let n = overrides
            .servers
            .unwrap_or_else(|| servers_of(&plan.policy).unwrap_or(default_n));
        plan.policy = policy_at(plan, kind, n, n.max(default_n));
    }
    validate(plan).map_err(|v| PlanError::Override {
        path: v.path,
        value: v.value,
        allowed: v.allowed,
    })
}
