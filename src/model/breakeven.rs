//! Model layer: the break-even request rate between on-demand (scale to zero) and an
//! always-on fleet — below it on-demand is cheaper, above it always-on is.
//!
//! A cost comparison at a constant rate: on-demand with the plan's idle timeout and cap
//! against the smallest stable always-on fleet. The SLO is left out on purpose: it is
//! the optimiser's job, and cold starts would otherwise hide the cost crossing.

use serde::Serialize;

use super::evaluate::PolicyKind;
use super::evaluate::{Candidate, Evaluator};
use super::llm::output_tokens_per_s_at;
use super::objective::{SweepOptions, policy_at};
use super::traffic::peak_rate_rps;
use super::types::{Plan, Policy, Rate};

/// Where on-demand and always-on cost the same, at a constant request rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BreakEven {
    /// The constant request rate, requests per second.
    pub rate_rps: f64,
    /// Cost of either there, dollars per hour.
    pub cost_usd_per_hour: f64,
    /// Servers of the smallest stable always-on fleet there.
    pub always_on_servers: u32,
    /// For an LLM plan, the break-even as output tokens per second: `rate_rps` × the
    /// mean output tokens per request, as delivered (`lazy.fraction_needed`, cache
    /// hits included, as [`super::llm::LlmReport::output_tokens_per_s`] counts);
    /// `None` (left out of JSON) for a request-level plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_s: Option<f64>,
}

/// Cost of (on-demand, smallest stable always-on fleet, its size) at constant `rate_rps`.
fn costs_at(plan: &Plan, rate_rps: f64, cap: u32) -> Option<(f64, f64, u32)> {
    let mut p = plan.clone();
    p.workload.rate_rps = Rate::Constant(rate_rps);
    let ctx = Evaluator::new(&p).ok()?;
    let batch = p.batching.max_batch.max(1);
    let od = ctx.evaluate(&Candidate {
        policy: policy_at(&p, PolicyKind::OnDemand, cap, cap),
        batch,
        max_num_seqs: None,
    });
    od.latency_ms?;
    for servers in 1..=cap {
        let ao = ctx.evaluate(&Candidate {
            policy: Policy::AlwaysOn { servers },
            batch,
            max_num_seqs: None,
        });
        if ao.latency_ms.is_some() {
            return Some((od.cost_usd_per_hour, ao.cost_usd_per_hour, servers));
        }
    }
    None
}

/// The lowest constant request rate (searched from 10⁻⁶ to 10× the plan's peak) at
/// which the smallest stable always-on fleet costs no more than on-demand. `None` if
/// there is no crossing in that range or either side is infeasible throughout.
pub fn break_even(plan: &Plan) -> Option<BreakEven> {
    let cap = SweepOptions::for_plan(plan).max_servers;
    let peak = peak_rate_rps(&plan.workload.rate_rps);
    if peak <= 0.0 {
        return None;
    }
    let diff = |rate: f64| costs_at(plan, rate, cap).map(|(od, ao, n)| (od - ao, ao, n));
    let steps = 70;
    let (lo_rate, hi_rate) = (peak * 1e-6, peak * 10.0);
    let ratio = (hi_rate / lo_rate).powf(1.0 / f64::from(steps));
    let mut prev: Option<f64> = None;
    let mut rate = lo_rate;
    for _ in 0..=steps {
        if let Some((d, _, _)) = diff(rate) {
            if d >= 0.0 {
                let below = prev?;
                let mut b = refine(below, rate, &diff)?;
                b.output_tokens_per_s = output_tokens_per_s_at(plan, b.rate_rps);
                return Some(b);
            }
            prev = Some(rate);
        }
        rate *= ratio;
    }
    None
}

fn refine(
    mut below: f64,
    mut above: f64,
    diff: &dyn Fn(f64) -> Option<(f64, f64, u32)>,
) -> Option<BreakEven> {
    for _ in 0..40 {
        let mid = (below * above).sqrt();
        match diff(mid) {
            Some((d, _, _)) if d >= 0.0 => above = mid,
            Some(_) => below = mid,
            None => break,
        }
    }
    let (_, cost, servers) = diff(above)?;
    Some(BreakEven {
        rate_rps: above,
        cost_usd_per_hour: cost,
        always_on_servers: servers,
        output_tokens_per_s: None,
    })
}
