//! Model layer: evaluating one candidate (policy × servers × batch) of a plan — cost,
//! latency distribution, utilisation, waits and cold starts over the day.

use super::batching::{ServiceCurve, formation};
use super::cache::{CacheEffect, effect};
use super::day::{self, Day, GroupHour};
use super::latency::{Mixture, ServiceShape};
use super::policy::HourLoad;
use super::queue::erlang_b;
use super::spot::down_fraction;
use super::traffic::{
    DAY_HOURS, HourGroup, MIN_RATE_RPS, SECONDS_PER_HOUR, hour_groups, resolved_mean_rate_rps,
    unresolved_hour,
};
use super::types::{Hardware, Metric, Plan, Policy, Routing, Service};

use super::evaluation::describe;
pub use super::evaluation::{
    CacheReport, Candidate, ClassReport, Evaluation, LatencyStats, ModelError, PolicyKind, kind_of,
    servers_of,
};
use super::{energy, routing};

/// A plan prepared for many evaluations: hour groups, cache, service curve, routing.
#[derive(Debug, Clone)]
pub struct Evaluator<'a> {
    /// The plan.
    pub plan: &'a Plan,
    pub(crate) groups: Vec<HourGroup>,
    pub(crate) mean_rate_rps: f64,
    pub(crate) cache: CacheEffect,
    pub(crate) curve: ServiceCurve,
    /// Share of server-bound traffic that stays on the primary class.
    pub(crate) primary_share: f64,
    pub(crate) second: Option<routing::SecondClass>,
    /// The LLM replica of a plan with `workload.tokens`.
    pub(crate) llm: Option<super::llm::LlmContext>,
    /// The busiest hour too slow to resolve, and its rate (evaluated as idle).
    unresolved: Option<(usize, f64)>,
}

impl<'a> Evaluator<'a> {
    /// Prepares `plan` for evaluation.
    pub fn new(plan: &'a Plan) -> Result<Self, ModelError> {
        let curve = ServiceCurve::new(
            &plan.service.batch_latency_ms,
            plan.hardware.speed_vs_profiled,
        )
        .ok_or(ModelError::NoServiceCurve)?;
        let cache = effect(&plan.cache);
        let groups = hour_groups(&plan.workload.rate_rps);
        let (primary_share, second) = match &plan.routing {
            Some(r) => {
                let class = routing::SecondClass::new(plan, r, &groups, &cache)
                    .ok_or(ModelError::NoRoutedCurve)?;
                (1.0 - r.fraction.clamp(0.0, 1.0), Some(class))
            }
            None => (1.0, None),
        };
        let llm = super::llm::LlmContext::new(plan)?;
        Ok(Self {
            plan,
            llm,
            mean_rate_rps: resolved_mean_rate_rps(&plan.workload.rate_rps),
            unresolved: unresolved_hour(&plan.workload.rate_rps),
            groups,
            cache,
            curve,
            primary_share,
            second,
        })
    }

    /// Requests per second that reach the primary class's servers in a group.
    pub(crate) fn server_rate_rps(&self, g: &HourGroup) -> f64 {
        g.rate_rps * self.plan.lazy.fraction_needed * self.cache.miss_rate * self.primary_share
    }

    /// The load of one hour group on the primary servers at max batch `batch`, with
    /// the mean batch formed and the wait to form it.
    pub(crate) fn hour_load(&self, g: &HourGroup, batch: u32) -> (HourLoad, f64, f64) {
        let rate = self.server_rate_rps(g);
        let f = formation(batch, self.plan.batching.window_ms, rate);
        let service_ms = self.curve.latency_ms(f.mean_batch);
        let batch_rate = rate / f.mean_batch;
        let load = HourLoad {
            batch_rate_per_s: batch_rate,
            service_ms,
            load: batch_rate * service_ms / 1000.0,
        };
        (load, f.mean_batch, f.mean_wait_ms)
    }

    /// Evaluates one candidate.
    pub fn evaluate(&self, candidate: &Candidate) -> Evaluation {
        evaluate_with(self, candidate, Detail::Full, &mut |c, load| {
            erlang_b(c, load).unwrap_or(1.0)
        })
    }
}

/// Evaluates with a supplied Erlang B source (`erlang(c, load)`), so a sweep over
/// server counts can serve it from a table instead of an O(c) recurrence each time.
pub(crate) fn evaluate_with(
    ctx: &Evaluator<'_>,
    candidate: &Candidate,
    detail: Detail,
    erlang: &mut dyn FnMut(u32, f64) -> f64,
) -> Evaluation {
    if let Some(llm) = &ctx.llm {
        return super::llm::evaluate_llm(ctx, llm, candidate, detail, erlang);
    }
    let plan = ctx.plan;
    let batch = candidate.batch.max(1);
    let mut mix = Mixture::new();
    let mut day = Day::default();
    for g in &ctx.groups {
        let h = group_hour(ctx, g, batch);
        let needed = g.rate_rps * h.hours * plan.lazy.fraction_needed;
        mix.add_point(needed * ctx.cache.l1_hit_rate, ctx.cache.l1_latency_ms);
        mix.add_point(needed * ctx.cache.l2_hit_share, ctx.cache.l2_latency_ms);
        day.server_weight += h.weight;
        add_policy_hour(ctx, &candidate.policy, &mut mix, &mut day, &h, erlang);
    }
    if let Some(o) = ctx.second.as_ref().and_then(|s| s.overload.clone()) {
        day.overload.get_or_insert(o);
    }
    finish(ctx, candidate, detail, mix, day)
}

/// One hour group's load at `batch` and what every policy needs from it.
fn group_hour<'g>(ctx: &Evaluator<'_>, g: &'g HourGroup, batch: u32) -> GroupHour<'g> {
    let plan = ctx.plan;
    let hours = f64::from(g.hours);
    let (load, mean_batch, form_wait_ms) = ctx.hour_load(g, batch);
    let server_rate_rps = ctx.server_rate_rps(g);
    GroupHour {
        group: g,
        hours,
        weight: server_rate_rps * hours,
        server_rate_rps,
        cv_a: plan.workload.arrival_cv / mean_batch.sqrt(),
        cv_s: plan.service.service_cv,
        shape: ServiceShape::new(load.service_ms, plan.service.service_cv),
        shift_ms: ctx.cache.miss_lookup_ms + form_wait_ms,
        load,
        mean_batch,
    }
}

/// Adds one hour group under `policy` to the mixture and the day.
pub(crate) fn add_policy_hour(
    ctx: &Evaluator<'_>,
    policy: &Policy,
    mix: &mut Mixture,
    day: &mut Day,
    h: &GroupHour<'_>,
    erlang: &mut dyn FnMut(u32, f64) -> f64,
) {
    let service = &ctx.plan.service;
    day.batch_weighted += h.mean_batch * h.weight;
    match *policy {
        Policy::AlwaysOn { servers } => day::always_on(mix, day, h, servers, erlang),
        Policy::OnDemand {
            idle_timeout_s,
            max_servers,
        }
        | Policy::Hybrid {
            idle_timeout_s,
            max_servers,
            ..
        } => {
            // On-demand is a hybrid that keeps none warm.
            let warm = match *policy {
                Policy::Hybrid { warm, .. } => warm,
                _ => 0,
            };
            let rules = day::Elastic {
                warm,
                max_servers,
                idle_timeout_s,
                cold_ms: service.cold_start_s * 1000.0,
            };
            day::elastic(mix, day, h, &rules);
        }
        Policy::SpotMix {
            on_demand,
            spot,
            checkpoint_interval_s,
            checkpoint_s,
        } => {
            let fleet = day::SpotFleet {
                on_demand,
                spot,
                checkpoint_interval_s,
                checkpoint_s,
                down: down_fraction(
                    ctx.plan.hardware.spot_interruptions_per_hour,
                    service.cold_start_s,
                ),
            };
            day::spot_mix(mix, day, h, &fleet, erlang);
        }
        Policy::Optimize { .. } => {
            day.overload
                .get_or_insert("Optimize is a search, not a policy to evaluate".into());
        }
    }
}

/// The day's totals as an [`Evaluation`]: cost (servers, storage, the routed class,
/// energy), utilisation, the latency distribution and the objective.
pub(crate) fn finish(
    ctx: &Evaluator<'_>,
    candidate: &Candidate,
    detail: Detail,
    mut mix: Mixture,
    day: Day,
) -> Evaluation {
    let plan = ctx.plan;
    let hw = &plan.hardware;
    let (kind, servers, warm, spot) = describe(&candidate.policy);
    let held = day.held_server_hours / DAY_HOURS;
    let busy = day.busy_server_hours / DAY_HOURS;
    let price = match candidate.policy {
        Policy::SpotMix {
            on_demand, spot, ..
        } => {
            f64::from(on_demand) * hw.on_demand_usd_per_hour
                + f64::from(spot) * hw.spot_usd_per_hour
        }
        _ => held * hw.on_demand_usd_per_hour,
    };
    // Electricity of the primary (owned) class; a rented second class's price includes it.
    let kwh = energy_kwh(plan, hw, held, busy);
    let mut cost = price + plan.cache.storage_usd_per_hour;
    // With routing, the primary class's own latency is read before the routed share
    // joins the mixture (full detail only: a sweep's scoring pass does not report it).
    let primary_latency = match (&ctx.second, detail, &day.overload) {
        (Some(_), Detail::Full, None) => stats(&mix, Detail::Full, plan.objective.metric),
        _ => None,
    };
    let routing = ctx.second.as_ref().map(|s| {
        s.add_to(&mut mix, ctx.cache.miss_lookup_ms);
        cost += s.cost_usd_per_hour;
        s.report()
    });
    if let Some(e) = &plan.energy {
        cost += energy::usd_per_hour(kwh, e.usd_per_kwh);
    }
    let server_w = day.server_weight.max(f64::MIN_POSITIVE);
    let utilization = if held > 0.0 {
        (busy / held).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let latency = if day.overload.is_none() {
        stats(&mix, detail, plan.objective.metric)
    } else {
        None
    };
    let cost_per_million = (ctx.mean_rate_rps > 0.0)
        .then(|| cost / (ctx.mean_rate_rps * SECONDS_PER_HOUR) * 1e6)
        .filter(|c| c.is_finite());
    let why_infeasible = day
        .overload
        .or_else(|| latency.is_none().then(|| why_no_latency(ctx)));
    let mut eval = Evaluation {
        policy: kind,
        servers,
        warm,
        spot,
        batch: candidate.batch.max(1),
        max_num_seqs: None,
        cost_usd_per_hour: cost,
        cost_usd_per_million: cost_per_million,
        latency_ms: latency,
        utilization,
        p_wait: (day.wait_weighted / server_w).clamp(0.0, 1.0),
        cold_start_fraction: (day.cold_weighted / server_w).clamp(0.0, 1.0),
        servers_held: held,
        mean_batch: if day.server_weight > 0.0 {
            day.batch_weighted / server_w
        } else {
            1.0
        },
        energy_kwh_per_hour: kwh,
        cache: cache_report(ctx, price),
        primary: ctx.second.as_ref().map(|_| ClassReport {
            name: hw.name.clone(),
            fraction: ctx.primary_share,
            servers,
            cost_usd_per_hour: price,
            latency_ms: primary_latency,
            utilization,
        }),
        routing,
        objective: None,
        feasible: false,
        why_infeasible,
        llm: None,
    };
    super::objective::score(&plan.objective, &mut eval);
    eval
}

/// Why a stable candidate has no latency distribution, in words.
fn why_no_latency(ctx: &Evaluator<'_>) -> String {
    let idle = ctx.groups.iter().all(|g| g.rate_rps <= 0.0);
    match ctx.unresolved {
        Some((hour, rate)) if idle => format!(
            "no requests to evaluate: every hour's rate is 0 or below the {MIN_RATE_RPS:e} \
             req/s the model resolves (hour {hour}: {rate:e} req/s)"
        ),
        None if idle => "no requests to evaluate: every hour's rate is 0 req/s".into(),
        _ if ctx.plan.lazy.fraction_needed <= 0.0 => {
            "no requests to evaluate: lazy.fraction_needed is 0".into()
        }
        _ => "latency undefined: the response-time mixture has no finite mean or quantile".into(),
    }
}

fn energy_kwh(plan: &Plan, hw: &Hardware, held: f64, busy: f64) -> f64 {
    match &plan.energy {
        Some(e) => energy::kwh_per_hour(held, busy, hw.power_w, e.idle_power_w),
        None => energy::kwh_per_hour(held, busy, hw.power_w, hw.power_w),
    }
}

/// How much of the latency distribution to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Mean, p50, p95 and p99.
    Full,
    /// Only the objective's metric (a sweep's scoring pass); every field of the
    /// resulting `LatencyStats` holds that one value, so it must not be reported.
    MetricOnly,
    /// No latency at all: the fleet, its cost and whether it is overloaded, for a sweep
    /// deciding whether a candidate's cost leaves it any chance. The latency is a
    /// stand-in of 0 ms (so `latency_ms.is_none()` still means overloaded) and an LLM
    /// evaluation's `p_wait` is the fleet's (a request finding every replica it may
    /// start busy), not the admission wait inside a replica: nothing of it but the
    /// fleet may be reported.
    CostOnly,
}

fn stats(mix: &Mixture, detail: Detail, metric: Metric) -> Option<LatencyStats> {
    if detail == Detail::CostOnly {
        return (!mix.is_empty()).then_some(LatencyStats {
            mean: 0.0,
            p50: 0.0,
            p95: 0.0,
            p99: 0.0,
        });
    }
    if detail == Detail::MetricOnly {
        let v = match metric {
            Metric::Mean => mix.mean_ms()?,
            Metric::P50 => mix.quantile_ms(0.50)?,
            Metric::P95 => mix.quantile_ms(0.95)?,
            Metric::P99 => mix.quantile_ms(0.99)?,
        };
        return Some(LatencyStats {
            mean: v,
            p50: v,
            p95: v,
            p99: v,
        });
    }
    mix.latency_stats()
}

/// The cache's figures of one evaluation: its hit rate and the (r − 1)·C_E reuse
/// savings, C_E being the servers' cost per computed result. What the cache saves a
/// fleet in dollars per hour is not here: it is the same fleet evaluated without the
/// cache, minus this one ([`super::compare::cache_comparison`]).
fn cache_report(ctx: &Evaluator<'_>, server_cost: f64) -> CacheReport {
    let c = &ctx.cache;
    let computed_rps = ctx.mean_rate_rps * ctx.plan.lazy.fraction_needed * c.miss_rate;
    let per_eval = if computed_rps > 0.0 {
        server_cost / (computed_rps * SECONDS_PER_HOUR)
    } else {
        0.0
    };
    CacheReport {
        hit_rate: c.l1_hit_rate + c.l2_hit_share,
        reuse_savings_usd_per_million: super::cache::reuse_savings_usd(
            ctx.plan.cache.reuse,
            per_eval,
        )
        .map_or(0.0, |s| s * 1e6),
    }
}

/// Re-exported for `routing`: a second class's service and hardware.
pub(crate) fn class_parts<'p>(plan: &'p Plan, r: &'p Routing) -> (&'p Service, &'p Hardware) {
    (r.service.as_ref().unwrap_or(&plan.service), &r.hardware)
}
