//! Model layer: lazy evaluation — only the needed fraction p of results is computed.
//!
//! The [`Evaluator`](super::Evaluator) applies p where it sends traffic to servers (its
//! server rate is rate × p × miss rate), so an evaluation's cost already is the cost of
//! computing p of the results. What lazy evaluation saves a fleet is therefore that
//! fleet evaluated at p = 1 minus its cost at p ([`super::compare::lazy_comparison`]);
//! p × the cost would count p twice.

use super::types::Plan;

/// Whether the plan computes fewer than all results.
pub fn is_lazy(plan: &Plan) -> bool {
    plan.lazy.fraction_needed < 1.0
}

/// `plan` computing every result: p = 1, everything else kept.
pub fn without_lazy(plan: &Plan) -> Plan {
    let mut full = plan.clone();
    full.lazy.fraction_needed = 1.0;
    full
}
