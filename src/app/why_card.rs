//! App layer: the "Why this recommendation" card of the Explore panel — the best of
//! each policy against the recommendation, what limits the choice, the break-even, the
//! checkpointed job, and, when nothing is feasible, the best latency reachable and
//! what to relax. Every figure is the model's (the ones `costscope plan` prints).

use eframe::egui;

use super::explore_ui::describe;
use super::format::fmt_sig;
use super::state::Results;
use crate::model::objective::CurvePoint;
use crate::model::spot::{JobEstimate, plan_job};
use crate::model::{BreakEven, Evaluation, Metric, Optimum, Plan, Policy, PolicyKind};

/// One policy's best candidate against the recommendation.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRow {
    /// The policy family.
    pub policy: PolicyKind,
    /// Its best candidate in words ([`describe`]).
    pub fleet: String,
    /// This policy's best is the recommendation.
    pub is_recommendation: bool,
    /// Its objective minus the recommendation's (0 for the recommendation itself).
    pub delta_objective: Option<f64>,
    /// Its cost minus the recommendation's, $/hour.
    pub delta_usd_per_hour: f64,
    /// Its latency metric minus the recommendation's, ms.
    pub delta_latency_ms: Option<f64>,
}

/// Everything the card shows, from one [`Results`].
#[derive(Debug, Clone, PartialEq)]
pub struct Why {
    /// The best of each policy, in the optimiser's order.
    pub rows: Vec<PolicyRow>,
    /// What limits the recommendation, in words (none without one).
    pub binding: Option<String>,
    /// The break-even sentence, as the CLI prints it (in significant digits).
    pub break_even: String,
    /// The plan's checkpointed job on spot, when it has one.
    pub job: Option<JobEstimate>,
    /// When nothing is feasible: the best latency reached and what to relax.
    pub relax: Option<String>,
    /// Largest fleet the sweep tries.
    pub max_servers: u32,
}

/// The latency metric of an evaluation, ms.
fn latency(e: &Evaluation, metric: Metric) -> Option<f64> {
    e.latency_ms.map(|l| l.get(metric))
}

/// The sweep coordinate of an evaluation on its policy's curve (warm count for hybrid).
fn curve_size(e: &Evaluation) -> u32 {
    match e.policy {
        PolicyKind::Hybrid => e.warm,
        _ => e.servers,
    }
}

/// The point of `policy`'s curve at `servers`, if the sweep reached it.
fn point(optimum: &Optimum, policy: PolicyKind, servers: u32) -> Option<&CurvePoint> {
    let curve = optimum.curves.iter().find(|c| c.policy == policy)?;
    curve.points.iter().find(|p| p.servers == servers)
}

/// What limits the recommendation: the server cap, the SLO (or stability) one server
/// smaller, or the cost of one server more, from the optimiser's own curve.
fn binding(plan: &Plan, optimum: &Optimum, best: &Evaluation, max_servers: u32) -> String {
    let n = curve_size(best);
    let metric = plan.objective.metric;
    let m = metric.name();
    if n >= max_servers {
        return format!(
            "Server cap binds: the sweep stops at {max_servers} servers, and the recommendation is there."
        );
    }
    let fewer = (n > 1)
        .then(|| point(optimum, best.policy, n - 1))
        .flatten();
    match (fewer, plan.objective.slo_ms) {
        (Some(p), _) if p.latency_ms.is_none() => {
            return format!(
                "Capacity binds: {} server(s) cannot keep up with the peak.",
                n - 1
            );
        }
        (Some(p), Some(slo)) if p.latency_ms.is_some_and(|l| l > slo) => {
            return format!(
                "SLO binds: {} server(s) give {m} {} ms, over the SLO of {} ms.",
                n - 1,
                fmt_sig(p.latency_ms.unwrap_or(f64::NAN), 3),
                fmt_sig(slo, 3)
            );
        }
        _ => {}
    }
    let more = point(optimum, best.policy, n + 1);
    let (Some(p), Some(j)) = (more, best.objective) else {
        return "Cost binds: more servers gain no latency (the curve is saturated).".into();
    };
    match (p.latency_ms, latency(best, metric), p.objective) {
        (Some(l1), Some(l0), Some(j1)) => format!(
            "Cost binds: {} server(s) would cut {m} by {} ms for {} $/hour more, raising J by {}.",
            n + 1,
            fmt_sig(l0 - l1, 3),
            fmt_sig(p.cost_usd_per_hour - best.cost_usd_per_hour, 3),
            fmt_sig(j1 - j, 3)
        ),
        _ => "Cost binds: one server more does not lower J.".into(),
    }
}

/// When nothing is feasible: the lowest latency any swept fleet reaches and what to
/// relax to make it feasible.
fn relax(plan: &Plan, optimum: &Optimum, max_servers: u32) -> String {
    let m = plan.objective.metric.name();
    let lowest = (optimum.curves.iter())
        .flat_map(|c| c.points.iter().map(move |p| (c.policy, p)))
        .filter_map(|(k, p)| Some((k, p, p.latency_ms?)))
        .min_by(|a, b| a.2.total_cmp(&b.2));
    let Some((policy, p, l)) = lowest else {
        return format!(
            "No fleet of up to {max_servers} servers keeps up with the peak: allow more servers."
        );
    };
    let mut s = format!(
        "Lowest {m} the sweep reaches: {} ms ({}, {} servers, batch {}).",
        fmt_sig(l, 3),
        policy.name(),
        p.servers,
        p.batch
    );
    if let Some(slo) = plan.objective.slo_ms
        && l > slo
    {
        s += &format!(" Relax the SLO to at least {} ms", fmt_sig(l, 3));
        if p.servers >= max_servers {
            s += ", or allow more servers.";
        } else {
            s += "; more servers would not help (latency stops falling).";
        }
    }
    s
}

/// The card's content for `results`; `None` when the model could not evaluate the plan.
pub fn why(results: &Results) -> Option<Why> {
    let optimum = results.optimum.as_ref().ok()?;
    let plan = &results.plan;
    let metric = plan.objective.metric;
    let max_servers = crate::model::SweepOptions::for_plan(plan).max_servers;
    let best = optimum.best.as_ref();
    let rows = match best {
        Some(b) => (optimum.candidates.iter())
            .map(|e| PolicyRow {
                policy: e.policy,
                fleet: describe(e),
                is_recommendation: e.policy == b.policy,
                delta_objective: e.objective.zip(b.objective).map(|(j, j0)| j - j0),
                delta_usd_per_hour: e.cost_usd_per_hour - b.cost_usd_per_hour,
                delta_latency_ms: latency(e, metric)
                    .zip(latency(b, metric))
                    .map(|(l, l0)| l - l0),
            })
            .collect(),
        None => Vec::new(),
    };
    let break_even = match results.break_even {
        Some(b) => format!(
            "Below {} on-demand is cheaper; above it {} always-on server(s) at {} $/hour are.",
            break_even_rate(&b),
            b.always_on_servers,
            fmt_sig(b.cost_usd_per_hour, 3)
        ),
        None => "No on-demand / always-on crossing between 1e-6 and 10× the peak rate.".into(),
    };
    // The same call, with the same arguments, as `costscope plan`.
    let job = plan_job(plan);
    Some(Why {
        rows,
        binding: best.map(|b| binding(plan, optimum, b, max_servers)),
        break_even,
        job,
        relax: best.is_none().then(|| relax(plan, optimum, max_servers)),
        max_servers,
    })
}

/// The break-even rate in significant digits: "0.0053 req/s", and for an LLM plan
/// "0.0053 req/s = 1.35 output tokens/s" (Explore's card and this one).
pub fn break_even_rate(b: &BreakEven) -> String {
    let rate = format!("{} req/s", fmt_sig(b.rate_rps, 3));
    match b.output_tokens_per_s {
        Some(t) => format!("{rate} = {} output tokens/s", fmt_sig(t, 3)),
        None => rate,
    }
}

/// A signed difference in significant digits ("+1.2", "−0.5", "0").
fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", fmt_sig(x, 3))
    } else {
        fmt_sig(x, 3)
    }
}

/// The checkpointed-job sentence, in the CLI's terms.
fn job_text(j: &JobEstimate) -> String {
    format!(
        "Checkpointed job: {} h on spot ({} interruptions, checkpoint every {} s) = {} $ vs {} h on-demand = {} $.",
        fmt_sig(j.spot_hours, 3),
        fmt_sig(j.interruptions, 3),
        fmt_sig(j.checkpoint_interval_s, 3),
        fmt_sig(j.spot_usd, 3),
        fmt_sig(j.on_demand_hours, 3),
        fmt_sig(j.on_demand_usd, 3)
    )
}

/// The server cap of the plan's policy, when it has one to edit.
fn cap_of(policy: &mut Policy) -> Option<&mut u32> {
    match policy {
        Policy::Optimize { max_servers }
        | Policy::OnDemand { max_servers, .. }
        | Policy::Hybrid { max_servers, .. } => Some(max_servers),
        Policy::AlwaysOn { .. } | Policy::SpotMix { .. } => None,
    }
}

/// The card, below the recommendation; `plan` is edited only by the max-servers control.
pub fn why_card_ui(ui: &mut egui::Ui, plan: &mut Plan, results: &Results) {
    let Some(w) = why(results) else { return };
    ui.separator();
    ui.heading("Why this recommendation");
    let m = results.plan.objective.metric.name();
    for r in &w.rows {
        let delta = match r.delta_objective {
            _ if r.is_recommendation => "the recommendation".to_owned(),
            Some(d) => format!(
                "ΔJ {}, {} $/hour, {} ms {m}",
                signed(d),
                signed(r.delta_usd_per_hour),
                r.delta_latency_ms.map_or_else(|| "-".into(), signed)
            ),
            None => "no objective".to_owned(),
        };
        ui.label(format!("{}: {} — {delta}", r.policy.name(), r.fleet));
    }
    if let Some(b) = &w.binding {
        ui.label(b);
    }
    if let Some(r) = &w.relax {
        ui.label(r);
        match cap_of(&mut plan.policy) {
            Some(cap) => {
                ui.add(
                    egui::DragValue::new(cap)
                        .range(1..=crate::plan::validate::MAX_SERVERS)
                        .prefix("max servers: "),
                )
                .on_hover_text("The largest fleet the optimiser tries.");
            }
            None => {
                ui.label(format!(
                    "The sweep tries up to {} servers (four times the plan's fleet); a policy with a cap (Plan panel) sets it.",
                    w.max_servers
                ));
            }
        }
    }
    ui.label(&w.break_even);
    if let Some(j) = &w.job {
        ui.label(job_text(j));
    }
}
