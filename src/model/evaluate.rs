//! Model layer: evaluating one candidate (policy × servers × batch) of a plan — cost,
//! latency distribution, utilisation, waits and cold starts over the day.

use super::batching::{ServiceCurve, formation};
use super::cache::{CacheEffect, effect};
use super::latency::{Mixture, ServiceShape};
use super::policy::{ElasticHour, FixedFleet, HourLoad, elastic_hour, fixed_fleet};
use super::queue::erlang_b;
use super::spot::down_fraction;
use super::traffic::{HourGroup, hour_groups, mean_rate_rps};
use super::types::{Hardware, Metric, Plan, Policy, Routing, Service};

use super::evaluation::describe;
pub use super::evaluation::{
    CacheReport, Candidate, ClassReport, Evaluation, LatencyStats, ModelError, PolicyKind, kind_of,
    servers_of,
};
use super::{energy, routing};

/// Largest share of time a spot mix may spend overloaded by interruptions (transient
/// states while replacements boot) before it counts as infeasible.
const MAX_TRANSIENT_OVERLOAD: f64 = 0.01;

/// A plan prepared for many evaluations: hour groups, cache, service curve, routing.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The plan.
    pub plan: &'a Plan,
    pub(crate) groups: Vec<HourGroup>,
    pub(crate) mean_rate_rps: f64,
    pub(crate) cache: CacheEffect,
    pub(crate) curve: ServiceCurve,
    /// Share of server-bound traffic that stays on the primary class.
    pub(crate) primary_share: f64,
    pub(crate) second: Option<routing::SecondClass>,
}

impl<'a> Context<'a> {
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
        Ok(Self {
            plan,
            mean_rate_rps: mean_rate_rps(&plan.workload.rate_rps),
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

    /// The load of one hour group on the primary servers at max batch `batch`.
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

/// Accumulates one class's day: cost, busy and held servers, waits, cold starts.
#[derive(Debug, Default)]
struct Day {
    held_server_hours: f64,
    busy_server_hours: f64,
    wait_weighted: f64,
    cold_weighted: f64,
    batch_weighted: f64,
    server_weight: f64,
    overload: Option<String>,
}

/// Evaluates with a supplied Erlang B source (`erlang(c, load)`), so a sweep over
/// server counts can serve it from a table instead of an O(c) recurrence each time.
pub(crate) fn evaluate_with(
    ctx: &Context<'_>,
    candidate: &Candidate,
    detail: Detail,
    erlang: &mut dyn FnMut(u32, f64) -> f64,
) -> Evaluation {
    let plan = ctx.plan;
    let hw = &plan.hardware;
    let batch = candidate.batch.max(1);
    let shape_cv = plan.service.service_cv;
    let cold_ms = plan.service.cold_start_s * 1000.0;
    let (kind, servers, warm, spot) = describe(&candidate.policy);
    let mut mix = Mixture::new();
    let mut day = Day::default();
    let lookup_ms = ctx.cache.miss_lookup_ms;
    let arrival_cv = plan.workload.arrival_cv;

    for g in &ctx.groups {
        let hours = f64::from(g.hours);
        let needed = g.rate_rps * hours * plan.lazy.fraction_needed;
        mix.add_point(needed * ctx.cache.l1_hit_rate, ctx.cache.l1_latency_ms);
        mix.add_point(needed * ctx.cache.l2_hit_share, ctx.cache.l2_latency_ms);
        let (load, mean_batch, form_wait_ms) = ctx.hour_load(g, batch);
        let weight = ctx.server_rate_rps(g) * hours;
        let cv_a = arrival_cv / mean_batch.sqrt();
        day.batch_weighted += mean_batch * weight;
        day.server_weight += weight;
        let shape = ServiceShape::new(load.service_ms, shape_cv);
        let shift = lookup_ms + form_wait_ms;
        let overloaded = |what: String| {
            format!(
                "overloaded at hour {}: {:.1} req/s needs {:.2} servers busy, {what}",
                g.first_hour,
                ctx.server_rate_rps(g),
                load.load
            )
        };
        match &candidate.policy {
            Policy::AlwaysOn { servers } => {
                let b = erlang(*servers, load.load);
                match fixed_fleet(*servers, &load, b, cv_a, shape_cv) {
                    Some(q) => {
                        add_fixed(&mut mix, &mut day, weight, shift, &q, &shape);
                        day.held_server_hours += f64::from(*servers) * hours;
                        day.busy_server_hours += load.load * hours;
                    }
                    None => {
                        day.overload
                            .get_or_insert(overloaded(format!("only {servers} always on")));
                    }
                }
            }
            Policy::OnDemand {
                idle_timeout_s,
                max_servers,
            }
            | Policy::Hybrid {
                idle_timeout_s,
                max_servers,
                ..
            } => {
                let warm = match candidate.policy {
                    Policy::Hybrid { warm, .. } => warm,
                    _ => 0,
                };
                match elastic_hour(
                    &load,
                    warm,
                    *max_servers,
                    *idle_timeout_s,
                    cold_ms,
                    cv_a,
                    shape_cv,
                ) {
                    Some(e) => add_elastic(
                        &mut mix, &mut day, weight, shift, cold_ms, hours, &e, &shape,
                    ),
                    None => {
                        day.overload.get_or_insert(overloaded(format!(
                            "more than the cap of {max_servers}"
                        )));
                    }
                }
            }
            Policy::SpotMix {
                on_demand,
                spot,
                checkpoint_interval_s,
                checkpoint_s,
            } => {
                // Checkpoints slow the spot share of the fleet by δ/τ.
                let total = (f64::from(*on_demand) + f64::from(*spot)).max(1.0);
                let slow =
                    1.0 + f64::from(*spot) / total * checkpoint_s / checkpoint_interval_s.max(1e-9);
                let slowed = HourLoad {
                    service_ms: load.service_ms * slow,
                    load: load.load * slow,
                    ..load
                };
                let shape = ServiceShape::new(slowed.service_ms, shape_cv);
                let down = down_fraction(hw.spot_interruptions_per_hour, plan.service.cold_start_s);
                // Rare states with so many spot servers down that the rest are
                // overloaded are transient (a replacement boots within cold_start_s);
                // they are left out of the latency mix unless they last over 1 % of
                // the time, in which case the mix is infeasible.
                let states: Vec<_> = binomial_states(*spot, 1.0 - down)
                    .into_iter()
                    .map(|(up_spot, p)| {
                        let c = on_demand.saturating_add(up_spot);
                        (
                            p,
                            fixed_fleet(c, &slowed, erlang(c, slowed.load), cv_a, shape_cv),
                        )
                    })
                    .collect();
                let overloaded_share: f64 =
                    states.iter().filter(|s| s.1.is_none()).map(|s| s.0).sum();
                if overloaded_share <= MAX_TRANSIENT_OVERLOAD {
                    let stable = 1.0 - overloaded_share;
                    for (p, q) in states.iter().filter_map(|(p, q)| Some((p, q.as_ref()?))) {
                        add_fixed(&mut mix, &mut day, weight * p / stable, shift, q, &shape);
                    }
                    day.held_server_hours += total * hours;
                    day.busy_server_hours += slowed.load * hours;
                } else {
                    day.overload.get_or_insert(overloaded(format!(
                        "{on_demand} on-demand + {spot} spot, overloaded {:.1} % of the time by interruptions",
                        overloaded_share * 100.0
                    )));
                }
            }
            Policy::Optimize { .. } => {
                day.overload
                    .get_or_insert("Optimize is a search, not a policy to evaluate".into());
            }
        }
    }

    if let Some(o) = ctx.second.as_ref().and_then(|s| s.overload.clone()) {
        day.overload.get_or_insert(o);
    }
    let day_hours = 24.0;
    let held = day.held_server_hours / day_hours;
    let busy = day.busy_server_hours / day_hours;
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
        s.add_to(&mut mix, lookup_ms);
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
    let cost_per_million =
        (ctx.mean_rate_rps > 0.0).then(|| cost / (ctx.mean_rate_rps * 3600.0) * 1e6);
    let cache = cache_report(ctx, price);
    let mut eval = Evaluation {
        policy: kind,
        servers,
        warm,
        spot,
        batch,
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
        cache,
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
        why_infeasible: day.overload,
    };
    super::objective::score(&plan.objective, &mut eval);
    eval
}

fn add_fixed(
    mix: &mut Mixture,
    day: &mut Day,
    weight: f64,
    shift: f64,
    q: &FixedFleet,
    shape: &ServiceShape,
) {
    mix.add_response(weight, shift, q.p_wait, q.wait_given_wait_ms, shape);
    day.wait_weighted += q.p_wait * weight;
}

#[allow(clippy::too_many_arguments)]
fn add_elastic(
    mix: &mut Mixture,
    day: &mut Day,
    weight: f64,
    shift: f64,
    cold_ms: f64,
    hours: f64,
    e: &ElasticHour,
    shape: &ServiceShape,
) {
    let warm_w = weight * (1.0 - e.cold_fraction);
    let p_wait_warm = if e.cold_fraction < 1.0 {
        e.queue.p_wait / (1.0 - e.cold_fraction)
    } else {
        0.0
    };
    mix.add_response(
        warm_w,
        shift,
        p_wait_warm,
        e.queue.wait_given_wait_ms,
        shape,
    );
    mix.add_response(weight * e.cold_fraction, shift + cold_ms, 0.0, 0.0, shape);
    day.wait_weighted += e.queue.p_wait * weight;
    day.cold_weighted += e.cold_fraction * weight;
    day.held_server_hours += e.servers_held * hours;
    day.busy_server_hours += e.servers_busy * hours;
}

/// Binomial(n, p) states with probability above 1e-9, renormalised.
fn binomial_states(n: u32, p_up: f64) -> Vec<(u32, f64)> {
    if n == 0 || p_up >= 1.0 {
        return vec![(n, 1.0)];
    }
    let q = 1.0 - p_up;
    let mut states = Vec::new();
    // Walk down from all-up: P(n − j up) = C(n, j)·p^{n−j}·q^j.
    let mut prob = p_up.powi(n as i32);
    for j in 0..=n {
        if prob > 1e-9 {
            states.push((n - j, prob));
        } else if j > 0 && prob < 1e-12 && !states.is_empty() {
            break;
        }
        prob *= f64::from(n - j) / f64::from(j + 1) * q / p_up;
    }
    let total: f64 = states.iter().map(|s| s.1).sum();
    if total <= 0.0 {
        return vec![((f64::from(n) * p_up).round() as u32, 1.0)];
    }
    states.iter().map(|&(k, p)| (k, p / total)).collect()
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
}

fn stats(mix: &Mixture, detail: Detail, metric: Metric) -> Option<LatencyStats> {
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
    Some(LatencyStats {
        mean: mix.mean_ms()?,
        p50: mix.quantile_ms(0.50)?,
        p95: mix.quantile_ms(0.95)?,
        p99: mix.quantile_ms(0.99)?,
    })
}

/// Cache savings: the servers' cost scaled to the traffic the cache removed.
fn cache_report(ctx: &Context<'_>, server_cost: f64) -> CacheReport {
    let c = &ctx.cache;
    let hit = c.l1_hit_rate + c.l2_hit_share;
    let computed_rps = ctx.mean_rate_rps * ctx.plan.lazy.fraction_needed * c.miss_rate;
    let per_eval = if computed_rps > 0.0 {
        server_cost / (computed_rps * 3600.0)
    } else {
        0.0
    };
    let avoided = if c.miss_rate > 0.0 {
        server_cost * hit / c.miss_rate
    } else {
        0.0
    };
    CacheReport {
        hit_rate: hit,
        savings_usd_per_hour: avoided - ctx.plan.cache.storage_usd_per_hour,
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
