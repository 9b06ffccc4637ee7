//! Model layer: LLM serving over a fleet — each hour's replicas come from the policy
//! (always-on, scale to zero, keep k warm, spot) as for any plan, with a replica's
//! capacity in requests per second as its service rate; the requests each serving
//! replica gets set its steady state ([`super::llm_replica`]), whose TTFT, TPOT and
//! E2E are mixed over the day like request latencies. docs/llm.md has the formulas.

use serde::Serialize;

use super::day::{Day, GroupHour};
use super::evaluate::{Detail, Evaluator, add_policy_hour, finish};
use super::evaluation::{Candidate, Evaluation, LatencyStats, ModelError};
use super::latency::{Mixture, ServiceShape};
use super::llm_elastic::{
    ElasticLlmHour, LevelCache, add_elastic_group, elastic_day, elastic_rules,
};
use super::llm_mix::{LlmDay, add_state, max_rps_at_slo, meets_slo, metric_of};
use super::llm_replica::{Replica, Steady};
use super::policy::HourLoad;
use super::spot::down_fraction;
use super::traffic::{DAY_HOURS, SECONDS_PER_HOUR};
use super::types::{Metric, Plan, Policy};

/// Tokens in a million, for $ per million tokens.
const MILLION: f64 = 1e6;

/// How far past a replica's capacity its limit is probed (relative).
const CAPACITY_PROBE: f64 = 1e-6;

/// An LLM plan's replica, prepared once per plan.
#[derive(Debug, Clone)]
pub struct LlmContext {
    /// The replica, or why it cannot serve at all (KV-bound).
    pub(crate) replica: Result<Replica, String>,
    /// The most requests per second one replica carries in steady state.
    pub(crate) capacity_rps: f64,
    /// The most requests per second one warm replica carries within the SLOs.
    pub(crate) max_rps_at_slo: f64,
    /// What stops a replica carrying more than its capacity, in words.
    pub(crate) limit: String,
    /// The plan's `service.llm.max_num_seqs` this context was prepared for.
    pub(crate) max_num_seqs: u32,
    /// The elastic fleet's levels, shared by a sweep's candidates.
    pub(crate) elastic_levels: LevelCache,
}

impl LlmContext {
    /// The plan's replica when it has `workload.tokens` and `service.llm`; `None` for
    /// a request-level plan.
    pub fn new(plan: &Plan) -> Result<Option<Self>, ModelError> {
        let (tokens, llm) = match (&plan.workload.tokens, &plan.service.llm) {
            (None, None) => return Ok(None),
            (Some(t), Some(l)) => (t, l),
            _ => return Err(ModelError::HalfLlm),
        };
        let footprint = llm
            .footprint
            .ok_or_else(|| ModelError::UnresolvedModel(llm.model.clone()))?;
        let replica = Replica::new(
            tokens,
            llm,
            footprint,
            plan.hardware.speed_vs_profiled,
            plan.workload.arrival_cv,
        );
        let capacity_rps = replica.as_ref().map_or(0.0, Replica::capacity_rps);
        let max_rps_at_slo = replica
            .as_ref()
            .map_or(0.0, |r| max_rps_at_slo(r, &plan.objective, capacity_rps));
        // Just past the capacity the steady state fails: that failure is the limit.
        let limit = match &replica {
            Ok(r) => match r.steady(capacity_rps * (1.0 + CAPACITY_PROBE)) {
                Err(o) => o.describe(),
                Ok(_) => "no steady state beyond it".into(),
            },
            Err(why) => why.clone(),
        };
        Ok(Some(Self {
            replica,
            capacity_rps,
            max_rps_at_slo,
            limit,
            max_num_seqs: llm.max_num_seqs,
            elastic_levels: LevelCache::default(),
        }))
    }
}

/// What an evaluation says about LLM serving. No field is NaN or infinite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmReport {
    /// Time to first token: admission wait, prefill, cold start if any; ms.
    pub ttft_ms: LatencyStats,
    /// Time per output token after the first, ms.
    pub tpot_ms: LatencyStats,
    /// Whole request: TTFT + (output − 1)·TPOT, ms.
    pub e2e_ms: LatencyStats,
    /// Output tokens delivered per second, day mean (cache hits included).
    pub output_tokens_per_s: f64,
    /// Cost per million output tokens, dollars.
    pub cost_usd_per_million_output_tokens: f64,
    /// Cost per million tokens in and out (prompt + output), dollars.
    pub cost_usd_per_million_tokens: f64,
    /// Share of requests meeting both the TTFT and TPOT SLOs (1 without SLOs).
    pub goodput: f64,
    /// KV-cache bytes per token of the model.
    pub kv_bytes_per_token: f64,
    /// Tokens one replica's KV cache holds.
    pub kv_capacity_tokens: f64,
    /// Mean share of a serving replica's KV cache in use.
    pub kv_utilization: f64,
    /// Mean sequences running on a serving replica.
    pub mean_running_seqs: f64,
    /// The most requests per second one warm replica carries within the SLOs (its
    /// steady-state capacity without SLOs).
    pub max_requests_per_s_at_slo: f64,
    /// The most output tokens per second one warm replica delivers within the SLOs:
    /// `max_requests_per_s_at_slo` × the plan's mean output tokens per request.
    pub replica_output_tokens_per_s_at_slo: f64,
    /// Day-mean output tokens per second per serving replica: the day's output tokens
    /// (`output_tokens_per_s` × 24 h, cache hits included) over the day's serving
    /// replica-hours (each hour with traffic, its serving replicas — the fleet, the
    /// held less the booting, the spot mix's up — at least one; an hour without
    /// traffic counts none). So `output_tokens_per_s_per_replica` × the day's mean
    /// serving replicas (replica-hours / 24) is `output_tokens_per_s`; 0 when no
    /// replica serves.
    pub output_tokens_per_s_per_replica: f64,
    /// Output tokens per dollar of the fleet's cost: `output_tokens_per_s` × 3600 /
    /// `cost_usd_per_hour` (10⁶ / `cost_usd_per_million_output_tokens`); `None` (JSON
    /// null) when the fleet costs nothing, where tokens per dollar has no finite value.
    pub output_tokens_per_usd: Option<f64>,
}

/// Output tokens per second an LLM plan delivers at a mean request rate of
/// `rate_rps`: the requests needed (`lazy.fraction_needed`, cache hits included) ×
/// the mean output tokens per request, as [`LlmReport::output_tokens_per_s`] counts
/// them; `None` for a request-level plan.
pub fn output_tokens_per_s_at(plan: &Plan, rate_rps: f64) -> Option<f64> {
    plan.service.llm.as_ref()?;
    let tokens = plan.workload.tokens.as_ref()?;
    // The replica's output length: at least the one token every answer has.
    Some(rate_rps * plan.lazy.fraction_needed * tokens.output_mean.max(1.0))
}

/// Replicas serving in an hour: the fleet, the elastic fleet's held replicas less
/// those booting, or the spot mix's replicas up on average; at least one.
fn serving_replicas(ctx: &Evaluator<'_>, policy: &Policy, held: f64, booting: f64) -> f64 {
    let n = match *policy {
        Policy::AlwaysOn { servers } => f64::from(servers),
        Policy::SpotMix {
            on_demand, spot, ..
        } => {
            let down = down_fraction(
                ctx.plan.hardware.spot_interruptions_per_hour,
                ctx.plan.service.cold_start_s,
            );
            f64::from(on_demand) + f64::from(spot) * (1.0 - down)
        }
        _ => held - booting,
    };
    n.max(1.0)
}

/// Evaluates one candidate of an LLM plan. A candidate with another `max_num_seqs`
/// than the one `llm` was prepared for gets its own replica (the optimiser avoids
/// this by preparing one evaluator per value it sweeps).
pub(crate) fn evaluate_llm(
    ctx: &Evaluator<'_>,
    llm: &LlmContext,
    candidate: &Candidate,
    detail: Detail,
    erlang: &mut dyn FnMut(u32, f64) -> f64,
) -> Evaluation {
    if let Some(n) = candidate.max_num_seqs.filter(|&n| n != llm.max_num_seqs) {
        // Only the replica's sequence limit differs from the plan `ctx` prepared, so
        // the rest of `ctx` (hours, cache, objective) still holds.
        if let Ok(Some(own)) = LlmContext::new(&candidate.apply_to(ctx.plan)) {
            let mut eval = evaluate_prepared(ctx, &own, candidate, detail, erlang);
            eval.max_num_seqs = Some(n);
            return eval;
        }
    }
    // The evaluation names the limit it was computed with, whatever was asked.
    let mut eval = evaluate_prepared(ctx, llm, candidate, detail, erlang);
    eval.max_num_seqs = Some(llm.max_num_seqs);
    eval
}

/// [`evaluate_llm`] with the replica `llm` as prepared.
fn evaluate_prepared(
    ctx: &Evaluator<'_>,
    llm: &LlmContext,
    candidate: &Candidate,
    detail: Detail,
    erlang: &mut dyn FnMut(u32, f64) -> f64,
) -> Evaluation {
    let plan = ctx.plan;
    let mut day = Day::default();
    let mut ld = LlmDay::default();
    let cold_ms = plan.service.cold_start_s * 1000.0;
    match &llm.replica {
        Err(why) => day.overload = Some(why.clone()),
        Ok(_) if llm.capacity_rps <= 0.0 => {
            day.overload = Some("a replica carries no load in steady state".into());
        }
        Ok(r) => {
            // An elastic fleet's replicas come from the whole day in order.
            let elastic = match elastic_rules(plan, &candidate.policy) {
                None => Ok(None),
                Some(rules) => {
                    elastic_day(ctx, r, llm.capacity_rps, &rules, &llm.elastic_levels).map(Some)
                }
            };
            let elastic = elastic.unwrap_or_else(|why| {
                day.overload = Some(format!(
                    "{why} (a replica carries at most {:.3} req/s: {})",
                    llm.capacity_rps, llm.limit
                ));
                None
            });
            for (gi, g) in ctx.groups.iter().enumerate() {
                if day.overload.is_some() {
                    break;
                }
                let fleet = elastic.as_ref().map(|e| &e[gi]);
                add_group(
                    ctx, llm, r, candidate, g, fleet, &mut day, &mut ld, cold_ms, erlang,
                );
            }
        }
    }
    let objective = &plan.objective;
    let server_w = day.server_weight.max(f64::MIN_POSITIVE);
    let wait = (ld.wait_weighted / server_w).clamp(0.0, 1.0);
    let mut eval = finish(ctx, candidate, detail, ld.e2e.clone(), day);
    if detail == Detail::CostOnly {
        return eval;
    }
    eval.p_wait = wait;
    if eval.latency_ms.is_none() {
        return eval;
    }
    apply_slo(
        &mut eval,
        "TTFT",
        &ld.ttft,
        objective.ttft_slo_ms,
        objective.metric,
    );
    apply_slo(
        &mut eval,
        "TPOT",
        &ld.tpot,
        objective.tpot_slo_ms,
        objective.metric,
    );
    if detail == Detail::Full {
        eval.llm = report(ctx, llm, &ld, &eval);
    }
    eval
}

/// One hour group of an LLM plan: the policy's replicas at the replica's capacity,
/// then the steady state of each serving replica.
#[allow(clippy::too_many_arguments)]
fn add_group(
    ctx: &Evaluator<'_>,
    llm: &LlmContext,
    r: &Replica,
    candidate: &Candidate,
    g: &super::traffic::HourGroup,
    fleet: Option<&ElasticLlmHour>,
    day: &mut Day,
    ld: &mut LlmDay,
    cold_ms: f64,
    erlang: &mut dyn FnMut(u32, f64) -> f64,
) {
    let plan = ctx.plan;
    let hours = f64::from(g.hours);
    let rate = ctx.server_rate_rps(g);
    let service_ms = 1000.0 / llm.capacity_rps;
    let h = GroupHour {
        group: g,
        hours,
        load: HourLoad {
            batch_rate_per_s: rate,
            service_ms,
            load: rate * service_ms / 1000.0,
        },
        weight: rate * hours,
        server_rate_rps: rate,
        cv_a: plan.workload.arrival_cv,
        cv_s: r.output_cv,
        mean_batch: 1.0,
        shape: ServiceShape::new(service_ms, r.output_cv),
        shift_ms: ctx.cache.miss_lookup_ms,
    };
    // Cache hits return whole responses: no prefill, no decode.
    let hits = g.rate_rps * hours * plan.lazy.fraction_needed;
    for (share, at_ms) in [
        (ctx.cache.l1_hit_rate, ctx.cache.l1_latency_ms),
        (ctx.cache.l2_hit_share, ctx.cache.l2_latency_ms),
    ] {
        ld.ttft.add_point(hits * share, at_ms);
        ld.tpot.add_point(hits * share, 0.0);
        ld.e2e.add_point(hits * share, at_ms);
    }
    day.server_weight += h.weight;
    if let Some(e) = fleet {
        add_elastic_group(r, g, &h, e, day, ld, cold_ms);
        return;
    }
    let (held_before, cold_before) = (day.held_server_hours, day.cold_weighted);
    let busy_before = day.busy_server_hours;
    let mut scratch = Mixture::new();
    let was_overloaded = day.overload.is_some();
    add_policy_hour(ctx, &candidate.policy, &mut scratch, day, &h, erlang);
    if let Some(why) = day.overload.as_mut().filter(|_| !was_overloaded) {
        // The fleet's "servers busy" are replicas at capacity: say what caps one.
        why.push_str(&format!(
            " (a replica carries at most {:.3} req/s: {})",
            llm.capacity_rps, llm.limit
        ));
    }
    if day.overload.is_some() || rate <= 0.0 {
        return;
    }
    let held = (day.held_server_hours - held_before) / hours;
    let cold = ((day.cold_weighted - cold_before) / h.weight).clamp(0.0, 1.0);
    let booting = rate * cold * plan.service.cold_start_s;
    let serving = serving_replicas(ctx, &candidate.policy, held, booting);
    // The replicas' busy time is theirs, not the request-level policy's.
    day.busy_server_hours = busy_before;
    let Some(s) = serve_hour(r, day, ld, g, rate, serving) else {
        return;
    };
    add_state(ld, r, &s, h.weight * (1.0 - cold), h.shift_ms);
    add_state(ld, r, &s, h.weight * cold, h.shift_ms + cold_ms);
    ld.wait_weighted += s.admission_p_wait * h.weight * (1.0 - cold);
}

/// The steady state of each of `serving` replicas sharing `rate_rps` in hour group
/// `g`, with their busy hours (a replica is busy while it holds a sequence, as the
/// simulator counts it, not for its share of capacity) and replica-hours, running
/// sequences and KV use added; `None`, the day marked overloaded, past a replica's
/// capacity.
pub(crate) fn serve_hour(
    r: &Replica,
    day: &mut Day,
    ld: &mut LlmDay,
    g: &super::traffic::HourGroup,
    rate_rps: f64,
    serving: f64,
) -> Option<Steady> {
    let per_replica = rate_rps / serving;
    let s = match r.steady(per_replica) {
        Ok(s) => s,
        Err(o) => {
            day.overload = Some(format!(
                "overloaded at hour {}: {per_replica:.2} req/s on each of {serving:.1} replicas, {}",
                g.first_hour,
                o.describe()
            ));
            return None;
        }
    };
    let replica_hours = serving * f64::from(g.hours);
    day.busy_server_hours += replica_hours * busy_share(r, &s, per_replica);
    ld.replica_hours += replica_hours;
    ld.seq_replica_hours += s.running_seqs * replica_hours;
    ld.kv_replica_hours += s.kv_used_tokens * replica_hours;
    Some(s)
}

/// Share of a serving replica's time with at least one sequence in it (running or
/// waiting), offered `rate_rps` in steady state `s`: the in-system count as a Poisson
/// occupancy of mean λ·E2E (Little's law), busy but for P(N = 0) — the simulator's
/// "busy" (a replica holding a sequence), so the two utilisations compare.
fn busy_share(r: &Replica, s: &Steady, rate_rps: f64) -> f64 {
    let e2e_ms = s.ttft_mean_ms() + (r.output_tokens - 1.0).max(0.0) * s.tpot_ms;
    let m = rate_rps * e2e_ms / 1000.0;
    if m.is_finite() && m > 0.0 {
        -(-m).exp_m1()
    } else {
        0.0
    }
}

/// Marks `eval` infeasible when the metric of `what` (its distribution `mix`) exceeds
/// `slo`. Whether it does is read off the tail at the SLO ([`meets_slo`]), so the
/// quantile itself is only searched for to say by how much.
fn apply_slo(eval: &mut Evaluation, what: &str, mix: &Mixture, slo: Option<f64>, metric: Metric) {
    let Some(slo) = slo else { return };
    if !eval.feasible || meets_slo(mix, metric, slo) {
        return;
    }
    match metric_of(mix, metric) {
        Some(v) => {
            eval.feasible = false;
            eval.why_infeasible = Some(format!(
                "{what} {} {v:.1} ms exceeds the {what} SLO of {slo} ms",
                metric.name()
            ));
        }
        None => {
            eval.feasible = false;
            eval.why_infeasible = Some(format!("{what} undefined"));
        }
    }
}

/// The evaluation's LLM figures; `None` when a statistic is undefined.
fn report(
    ctx: &Evaluator<'_>,
    llm: &LlmContext,
    ld: &LlmDay,
    eval: &Evaluation,
) -> Option<LlmReport> {
    let r = llm.replica.as_ref().ok()?;
    let o = &ctx.plan.objective;
    let delivered_rps = ctx.mean_rate_rps * ctx.plan.lazy.fraction_needed;
    let output_tokens_per_s = delivered_rps * r.output_tokens;
    let all_tokens_per_s = delivered_rps * (r.output_tokens + r.prompt_tokens);
    let per_million = |tokens_per_s: f64| {
        let v = eval.cost_usd_per_hour / (tokens_per_s * SECONDS_PER_HOUR) * MILLION;
        v.is_finite().then_some(v)
    };
    let meets = |mix: &Mixture, slo: Option<f64>| slo.map_or(1.0, |t| 1.0 - mix.survival(t));
    let replica_hours = ld.replica_hours.max(f64::MIN_POSITIVE);
    let tokens_per_hour = output_tokens_per_s * SECONDS_PER_HOUR;
    let output_tokens_per_usd = (eval.cost_usd_per_hour > 0.0)
        .then(|| tokens_per_hour / eval.cost_usd_per_hour)
        .filter(|v| v.is_finite());
    let output_tokens_per_s_per_replica = if ld.replica_hours > 0.0 {
        output_tokens_per_s * DAY_HOURS / ld.replica_hours
    } else {
        0.0
    };
    Some(LlmReport {
        ttft_ms: ld.ttft.latency_stats()?,
        tpot_ms: ld.tpot.latency_stats()?,
        e2e_ms: ld.e2e.latency_stats()?,
        output_tokens_per_s,
        cost_usd_per_million_output_tokens: per_million(output_tokens_per_s)?,
        cost_usd_per_million_tokens: per_million(all_tokens_per_s)?,
        goodput: (meets(&ld.ttft, o.ttft_slo_ms) * meets(&ld.tpot, o.tpot_slo_ms)).clamp(0.0, 1.0),
        kv_bytes_per_token: r.footprint.kv_bytes_per_token,
        kv_capacity_tokens: r.kv_capacity_tokens,
        kv_utilization: (ld.kv_replica_hours / replica_hours / r.kv_capacity_tokens)
            .clamp(0.0, 1.0),
        mean_running_seqs: ld.seq_replica_hours / replica_hours,
        max_requests_per_s_at_slo: llm.max_rps_at_slo,
        replica_output_tokens_per_s_at_slo: llm.max_rps_at_slo * r.output_tokens,
        output_tokens_per_s_per_replica,
        output_tokens_per_usd,
    })
}
