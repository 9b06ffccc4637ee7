//! sim layer: building an engine from a plan (policy rules, service table, cache,
//! random streams) and turning its counters into a [`SimResult`].

use std::collections::VecDeque;

use super::autoscaler::{Fleet, ScalingRules};
use super::engine::Engine;
use super::events::{Arrivals, Calendar};
use super::rng::{Rng, UnitVariate};
use super::stats::Histogram;
use super::{ServerHours, SimError, SimOptions, SimResult};
use crate::model::batching::ServiceCurve;
use crate::model::cache::effect;
use crate::model::evaluate::kind_of;
use crate::model::traffic::{DAY_HOURS, SECONDS_PER_HOUR};
use crate::model::{Plan, Policy, energy};

/// Random streams, one per purpose, so that changing one part of a plan (say the
/// cache) does not reshuffle the others (common random numbers across plans).
const STREAM_ARRIVALS: u64 = 1;
const STREAM_SERVICE: u64 = 2;
const STREAM_CACHE: u64 = 3;
const STREAM_SPOT: u64 = 4;

/// Shortest checkpoint interval the checkpoint slow-down divides by.
const MIN_CHECKPOINT_INTERVAL_S: f64 = 1e-9;

/// Longest simulated run: a leap year of days.
const MAX_HOURS: f64 = DAY_HOURS * 366.0;

/// Shortest simulated run: one second. Below it not even one arrival of a busy plan
/// fits, and a bill divided by a vanishing horizon is no hourly figure.
const MIN_HOURS: f64 = 1.0 / SECONDS_PER_HOUR;

/// Simulates `plan` (its own policy, which must not be `Optimize`).
pub fn simulate(plan: &Plan, options: &SimOptions) -> Result<SimResult, SimError> {
    simulate_observed(plan, options, &mut |_| true)
}

/// [`simulate`], telling `observe` the simulated hour every few tens of thousands of
/// events (for a progress bar); the run stops with [`SimError::Cancelled`] as soon as
/// `observe` returns false.
pub fn simulate_observed(
    plan: &Plan,
    options: &SimOptions,
    observe: &mut dyn FnMut(f64) -> bool,
) -> Result<SimResult, SimError> {
    check_options(options)?;
    if matches!(plan.policy, Policy::Optimize { .. }) {
        return Err(SimError::NotAPolicy);
    }
    if plan.workload.tokens.is_some() || plan.service.llm.is_some() {
        // Replicas batching continuously at the iteration level, not batch_latency_ms
        // as a request-level service.
        return super::llm_fleet::simulate_llm_observed(plan, options, observe).map(|r| r.fleet);
    }
    let mut engine = Engine::new(plan, options)?;
    engine.start(plan);
    if let Some(hour) = engine.run(observe) {
        return Err(SimError::Cancelled { hour });
    }
    Ok(engine.finish(plan))
}

/// Rejects options the run cannot honour, naming the option, its value and its range.
pub(super) fn check_options(options: &SimOptions) -> Result<(), SimError> {
    if !(options.hours >= MIN_HOURS && options.hours <= MAX_HOURS) {
        return Err(SimError::Option {
            name: "hours",
            // Debug keeps 5e-324 short; Display would write out every zero.
            value: format!("{:?}", options.hours),
            allowed: "at least 1/3600 (one second), at most 8784 (a year)",
        });
    }
    if !(options.warmup_hours >= 0.0 && options.warmup_hours + options.hours <= MAX_HOURS) {
        return Err(SimError::Option {
            name: "warmup_hours",
            value: format!("{:?}", options.warmup_hours),
            allowed: "at least 0, and with the hours at most 8784 (a year)",
        });
    }
    // The limit is checked after an arrival, so 0 would still let one through.
    if options.max_requests < 1 {
        return Err(SimError::Option {
            name: "max_requests",
            value: options.max_requests.to_string(),
            allowed: "at least 1",
        });
    }
    Ok(())
}

/// The autoscaler's rules for `policy`, and the slow-down of service by spot
/// checkpointing (1 when there is none).
pub(super) fn scaling_rules(policy: &Policy) -> Result<(ScalingRules, f64), SimError> {
    Ok(match *policy {
        Policy::AlwaysOn { servers } => (fixed(servers), 1.0),
        Policy::OnDemand {
            idle_timeout_s,
            max_servers,
        } => (
            ScalingRules {
                warm_floor: 0,
                idle_timeout_s,
                cap: max_servers,
            },
            1.0,
        ),
        Policy::Hybrid {
            warm,
            idle_timeout_s,
            max_servers,
        } => (
            ScalingRules {
                warm_floor: warm,
                idle_timeout_s,
                cap: max_servers.max(warm),
            },
            1.0,
        ),
        Policy::SpotMix {
            on_demand,
            spot,
            checkpoint_interval_s,
            checkpoint_s,
        } => (
            fixed(on_demand.saturating_add(spot)),
            // Checkpointing costs δ every τ of a spot server's time.
            1.0 + checkpoint_s.max(0.0) / checkpoint_interval_s.max(MIN_CHECKPOINT_INTERVAL_S),
        ),
        Policy::Optimize { .. } => return Err(SimError::NotAPolicy),
    })
}

impl Engine {
    fn new(plan: &Plan, options: &SimOptions) -> Result<Self, SimError> {
        let hw = &plan.hardware;
        let curve = ServiceCurve::new(&plan.service.batch_latency_ms, hw.speed_vs_profiled)
            .ok_or(crate::model::ModelError::NoServiceCurve)?;
        let max_batch = plan.batching.max_batch.max(1);
        let mean_service_s = (0..=max_batch)
            .map(|b| curve.latency_ms(f64::from(b.max(1))) / 1000.0)
            .collect();
        let warmup_s = options.warmup_hours * SECONDS_PER_HOUR;
        let horizon_s = warmup_s + options.hours * SECONDS_PER_HOUR;
        let (rules, slowdown) = scaling_rules(&plan.policy)?;
        let cache = effect(&plan.cache);
        let arrivals = Arrivals::new(
            &plan.workload.rate_rps,
            plan.lazy.fraction_needed.clamp(0.0, 1.0),
            plan.workload.arrival_cv,
            horizon_s,
            Rng::substream(options.seed, STREAM_ARRIVALS),
        )
        // The warm-up is the end of the previous day: the measured hours begin at the
        // plan's midnight.
        .starting_at_day_s(-warmup_s);
        let mut warnings = Vec::new();
        if plan.routing.is_some() {
            warnings.push(
                "routing is not simulated: all server traffic goes to the primary class".into(),
            );
        }
        Ok(Self {
            fleet: Fleet::new(
                rules,
                horizon_s,
                hw.on_demand_usd_per_hour,
                hw.spot_usd_per_hour,
            ),
            calendar: Calendar::new(),
            arrivals,
            next_arrival_s: f64::INFINITY,
            service_rng: Rng::substream(options.seed, STREAM_SERVICE),
            cache_rng: Rng::substream(options.seed, STREAM_CACHE),
            spot_rng: Rng::substream(options.seed, STREAM_SPOT),
            service: UnitVariate::with_cv(plan.service.service_cv),
            mean_service_s,
            spot_slowdown: slowdown,
            interruptions_per_s: hw.spot_interruptions_per_hour.max(0.0) / SECONDS_PER_HOUR,
            cold_start_s: plan.service.cold_start_s.max(0.0),
            waiting: VecDeque::new(),
            closed: VecDeque::new(),
            forming: 0,
            deadline_s: f64::INFINITY,
            max_batch,
            window_s: plan.batching.window_ms.max(0.0) / 1000.0,
            l1_hit: cache.l1_hit_rate,
            any_hit: cache.l1_hit_rate + cache.l2_hit_share,
            l1_ms: cache.l1_latency_ms,
            l2_ms: cache.l2_latency_ms,
            lookup_ms: cache.miss_lookup_ms,
            slo_ms: plan.objective.slo_ms.unwrap_or(f64::INFINITY),
            hist: Histogram::new(),
            requests: 0,
            server_requests: 0,
            in_system: 0,
            cold_requests: 0,
            cold_starts: 0,
            waited_requests: 0,
            batches: 0,
            batched_requests: 0,
            interruptions: 0,
            slo_violations: 0,
            timeline: options.timeline.then(Vec::new),
            measure_at_s: if warmup_s > 0.0 {
                warmup_s
            } else {
                f64::INFINITY
            },
            measure_from_s: 0.0,
            warmup_s,
            next_tick_s: if options.timeline {
                warmup_s + 60.0
            } else {
                f64::INFINITY
            },
            tick_arrivals: 0,
            storage_usd_per_s: plan.cache.storage_usd_per_hour.max(0.0) / SECONDS_PER_HOUR,
            warnings,
            backlog_noted: false,
            stopped: None,
            options: options.clone(),
        })
    }

    /// The fleet at time 0: always-on, warm and spot-mix servers start warm.
    fn start(&mut self, plan: &Plan) {
        let (on_demand, spot) = plan.policy.standing_servers();
        for _ in 0..on_demand {
            self.fleet.add(0.0, false, true);
        }
        for _ in 0..spot {
            let i = self.fleet.add(0.0, true, true);
            self.schedule_interrupt(i, 0.0);
        }
        self.next_arrival_s = self.arrivals.next_s().unwrap_or(f64::INFINITY);
    }

    fn finish(self, plan: &Plan) -> SimResult {
        let hours = (self.fleet.horizon_s() - self.measure_from_s) / 3600.0;
        let tot = self.fleet.totals;
        let per_hour = |x: f64| if hours > 0.0 { x / hours } else { 0.0 };
        let held_s = tot.busy_s + tot.idle_s + tot.booting_s;
        let held = per_hour(held_s / 3600.0);
        let busy = per_hour(tot.busy_s / 3600.0);
        let mut cost = per_hour(tot.cost_usd) + plan.cache.storage_usd_per_hour;
        if let Some(e) = &plan.energy {
            let kwh = energy::kwh_per_hour(held, busy, plan.hardware.power_w, e.idle_power_w);
            cost += energy::usd_per_hour(kwh, e.usd_per_kwh);
        }
        let share = |x: u64| {
            if self.server_requests > 0 {
                x as f64 / self.server_requests as f64
            } else {
                0.0
            }
        };
        SimResult {
            policy: kind_of(&plan.policy),
            hours,
            warmup_hours: self.measure_from_s / 3600.0,
            requests: self.requests,
            completed: self.hist.count(),
            server_requests: self.server_requests,
            latency_ms: self.hist.summary(),
            cost_usd_per_hour: cost,
            cold_starts: self.cold_starts,
            cold_start_fraction: share(self.cold_requests),
            p_wait: share(self.waited_requests),
            spot_interruptions: self.interruptions,
            slo_violations: self.slo_violations,
            server_hours: ServerHours {
                busy: tot.busy_s / 3600.0,
                idle: tot.idle_s / 3600.0,
                booting: tot.booting_s / 3600.0,
            },
            servers_held: held,
            utilization: if held_s > 0.0 {
                (tot.busy_s / held_s).clamp(0.0, 1.0)
            } else {
                0.0
            },
            mean_batch: if self.batches > 0 {
                self.batched_requests as f64 / self.batches as f64
            } else {
                1.0
            },
            warnings: self.warnings,
            stopped: self.stopped,
            timeline: self.timeline.unwrap_or_default(),
        }
    }
}

/// A fixed fleet: every server warm, none started or stopped by the autoscaler.
fn fixed(servers: u32) -> ScalingRules {
    ScalingRules {
        warm_floor: servers,
        idle_timeout_s: f64::INFINITY,
        cap: 0,
    }
}
