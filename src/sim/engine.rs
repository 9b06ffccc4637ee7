//! sim layer: the event loop — arrivals, cache, batch formation, dispatch, service,
//! boots, spot interruptions and the per-minute timeline.

use std::collections::VecDeque;

use super::autoscaler::{Fleet, ScalingRules, ServerState};
use super::events::{Arrivals, Calendar, Event, EventKind};
use super::rng::{Rng, UnitVariate};
use super::stats::Histogram;
use super::{MinuteRow, ServerHours, SimError, SimOptions, SimResult};
use crate::model::batching::ServiceCurve;
use crate::model::cache::effect;
use crate::model::evaluate::kind_of;
use crate::model::{Plan, Policy, energy};

/// Random streams, one per purpose, so that changing one part of a plan (say the
/// cache) does not reshuffle the others (common random numbers across plans).
const STREAM_ARRIVALS: u64 = 1;
const STREAM_SERVICE: u64 = 2;
const STREAM_CACHE: u64 = 3;
const STREAM_SPOT: u64 = 4;
/// After arrivals stop, the queue gets this long (simulated) to drain.
const MAX_DRAIN_S: f64 = 7.0 * 86_400.0;

/// The simulator's state.
struct Engine {
    fleet: Fleet,
    calendar: Calendar,
    arrivals: Arrivals,
    next_arrival_s: f64,
    service_rng: Rng,
    cache_rng: Rng,
    spot_rng: Rng,
    service: UnitVariate,
    /// Mean service seconds of a batch of b (index b), before the spot slowdown.
    mean_service_s: Vec<f64>,
    spot_slowdown: f64,
    interruptions_per_s: f64,
    cold_start_s: f64,
    /// Arrival times of requests waiting for a server: closed batches, then the
    /// forming one, in FIFO order.
    waiting: VecDeque<f64>,
    closed: VecDeque<u32>,
    forming: u32,
    deadline_s: f64,
    max_batch: u32,
    window_s: f64,
    l1_hit: f64,
    any_hit: f64,
    l1_ms: f64,
    l2_ms: f64,
    lookup_ms: f64,
    slo_ms: f64,
    hist: Histogram,
    requests: u64,
    server_requests: u64,
    in_system: u64,
    cold_requests: u64,
    cold_starts: u64,
    waited_requests: u64,
    batches: u64,
    batched_requests: u64,
    interruptions: u64,
    slo_violations: u64,
    timeline: Option<Vec<MinuteRow>>,
    next_tick_s: f64,
    tick_arrivals: u32,
    storage_usd_per_s: f64,
    warnings: Vec<String>,
    options: SimOptions,
}

/// Simulates `plan` (its own policy, which must not be `Optimize`).
pub fn simulate(plan: &Plan, options: &SimOptions) -> Result<SimResult, SimError> {
    if !(options.hours > 0.0 && options.hours <= 24.0 * 366.0) {
        return Err(SimError::Option {
            name: "hours",
            value: options.hours.to_string(),
            allowed: "more than 0, at most 8784 (a year)",
        });
    }
    if matches!(plan.policy, Policy::Optimize { .. }) {
        return Err(SimError::NotAPolicy);
    }
    let mut engine = Engine::new(plan, options)?;
    engine.start(plan);
    engine.run();
    Ok(engine.finish(plan))
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
        let horizon_s = options.hours * 3600.0;
        let (rules, slowdown) = match plan.policy {
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
                1.0 + checkpoint_s.max(0.0) / checkpoint_interval_s.max(1e-9),
            ),
            Policy::Optimize { .. } => return Err(SimError::NotAPolicy),
        };
        let cache = effect(&plan.cache);
        let arrivals = Arrivals::new(
            &plan.workload.rate_rps,
            plan.lazy.fraction_needed.clamp(0.0, 1.0),
            plan.workload.arrival_cv,
            horizon_s,
            Rng::substream(options.seed, STREAM_ARRIVALS),
        );
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
            interruptions_per_s: hw.spot_interruptions_per_hour.max(0.0) / 3600.0,
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
            next_tick_s: if options.timeline {
                60.0
            } else {
                f64::INFINITY
            },
            tick_arrivals: 0,
            storage_usd_per_s: plan.cache.storage_usd_per_hour.max(0.0) / 3600.0,
            warnings,
            options: options.clone(),
        })
    }

    /// The fleet at time 0: always-on, warm and spot-mix servers start warm.
    fn start(&mut self, plan: &Plan) {
        let (on_demand, spot) = match plan.policy {
            Policy::AlwaysOn { servers } => (servers, 0),
            Policy::Hybrid { warm, .. } => (warm, 0),
            Policy::SpotMix {
                on_demand, spot, ..
            } => (on_demand, spot),
            Policy::OnDemand { .. } | Policy::Optimize { .. } => (0, 0),
        };
        for _ in 0..on_demand {
            self.fleet.add(0.0, false, true);
        }
        for _ in 0..spot {
            let i = self.fleet.add(0.0, true, true);
            self.schedule_interrupt(i, 0.0);
        }
        self.next_arrival_s = self.arrivals.next_s().unwrap_or(f64::INFINITY);
    }

    fn schedule_interrupt(&mut self, server: u32, now_s: f64) {
        if self.interruptions_per_s > 0.0 {
            let t_s = now_s + self.spot_rng.exp1() / self.interruptions_per_s;
            self.calendar.push(Event {
                t_s,
                server,
                kind: EventKind::Interrupt,
                epoch: 0,
            });
        }
    }

    fn run(&mut self) {
        let mut stopped_at_s = f64::INFINITY;
        loop {
            let t_event = self.calendar.next_time_s();
            let t = t_event
                .min(self.deadline_s)
                .min(self.next_arrival_s)
                .min(self.next_tick_s);
            if self.next_arrival_s.is_infinite() && self.in_system == 0 {
                break;
            }
            if t.is_infinite() {
                break;
            }
            if self.next_arrival_s.is_infinite() {
                stopped_at_s = stopped_at_s.min(t);
                if t - stopped_at_s > MAX_DRAIN_S {
                    self.warnings.push(format!(
                        "the queue did not drain within {} days after arrivals stopped",
                        MAX_DRAIN_S / 86_400.0
                    ));
                    break;
                }
            }
            self.fleet.advance(t);
            // Ties: completions first (they free servers), then a closing batch, then
            // a new arrival, then the timeline tick.
            if t_event <= t {
                if let Some(e) = self.calendar.pop() {
                    self.on_event(e);
                }
            } else if self.deadline_s <= t {
                self.close_batch(t);
            } else if self.next_arrival_s <= t {
                self.on_arrival(t);
            } else {
                self.tick(t);
            }
        }
        let end_s = self.fleet.horizon_s();
        while self.next_tick_s <= end_s {
            let t = self.next_tick_s;
            self.fleet.advance(t);
            self.tick(t);
        }
        self.fleet.advance(end_s);
        self.fleet.sweep(end_s);
        if self.in_system > 0 {
            self.warnings.push(format!(
                "{} requests were never answered and are not in the latency statistics",
                self.in_system
            ));
        }
    }

    fn on_arrival(&mut self, t: f64) {
        self.requests += 1;
        self.tick_arrivals = self.tick_arrivals.saturating_add(1);
        let next = self.arrivals.next_s();
        self.next_arrival_s = next.unwrap_or(f64::INFINITY);
        if self.any_hit > 0.0 {
            let u = self.cache_rng.uniform();
            if u < self.any_hit {
                let ms = if u < self.l1_hit {
                    self.l1_ms
                } else {
                    self.l2_ms
                };
                self.record(ms);
                self.check_limits(t);
                return;
            }
        }
        self.server_requests += 1;
        self.in_system += 1;
        self.waiting.push_back(t);
        self.forming += 1;
        if self.forming >= self.max_batch || self.window_s <= 0.0 {
            self.close_batch(t);
        } else if self.forming == 1 {
            self.deadline_s = t + self.window_s;
        }
        self.check_limits(t);
    }

    /// Stops arrivals when the queue or the request count passes its limit.
    fn check_limits(&mut self, t: f64) {
        let why = if self.waiting.len() > self.options.max_waiting {
            format!(
                "overloaded: {} requests were waiting at hour {:.2}; arrivals stopped there \
                 (the fleet cannot carry this traffic; the latency shown is meaningless)",
                self.waiting.len(),
                t / 3600.0
            )
        } else if self.requests >= self.options.max_requests && self.next_arrival_s.is_finite() {
            format!(
                "stopped after {} requests at hour {:.2} of {} (raise the request limit or \
                 shorten --hours)",
                self.requests,
                t / 3600.0,
                self.options.hours
            )
        } else {
            return;
        };
        self.warnings.push(why);
        self.next_arrival_s = f64::INFINITY;
        self.fleet.end_accounting_at(t);
    }

    fn close_batch(&mut self, t: f64) {
        let size = self.forming;
        self.forming = 0;
        self.deadline_s = f64::INFINITY;
        if size == 0 {
            return;
        }
        self.closed.push_back(size);
        self.batches += 1;
        self.batched_requests += u64::from(size);
        self.dispatch(t);
        if !self.closed.is_empty() {
            self.waited_requests += u64::from(size);
        }
    }

    /// Gives queued batches to idle servers, or to servers started for them.
    fn dispatch(&mut self, t: f64) {
        while !self.closed.is_empty() {
            if let Some(i) = self.fleet.take_idle(t) {
                self.load_batch(i);
                self.start_service(i, t);
            } else if self.fleet.can_start() {
                let i = self.fleet.add(t, false, false);
                let size = self.load_batch(i);
                self.cold_starts += 1;
                self.cold_requests += u64::from(size);
                self.push(i, t + self.cold_start_s, EventKind::BootDone);
            } else {
                break;
            }
        }
    }

    /// Moves the head batch of the queue onto server `i`; returns its size.
    fn load_batch(&mut self, i: u32) -> u32 {
        let size = self.closed.pop_front().unwrap_or(0);
        let batch = &mut self.fleet.servers[i as usize].batch;
        batch.extend(self.waiting.drain(..size as usize));
        size
    }

    fn push(&mut self, server: u32, t_s: f64, kind: EventKind) {
        let epoch = self.fleet.servers[server as usize].epoch;
        self.calendar.push(Event {
            t_s,
            server,
            kind,
            epoch,
        });
    }

    fn start_service(&mut self, i: u32, t: f64) {
        let s = &self.fleet.servers[i as usize];
        let size = s.batch.len().min(self.mean_service_s.len() - 1);
        let slow = if s.spot { self.spot_slowdown } else { 1.0 };
        let d = self.mean_service_s[size] * slow * self.service.sample(&mut self.service_rng);
        self.push(i, t + d, EventKind::Done);
    }

    fn on_event(&mut self, e: Event) {
        let t = e.t_s;
        let s = &self.fleet.servers[e.server as usize];
        match e.kind {
            EventKind::Interrupt => {
                if s.state != ServerState::Stopped {
                    self.on_interrupt(e.server, t);
                }
            }
            _ if s.epoch != e.epoch => {} // cancelled by an interruption
            EventKind::Done => {
                let i = e.server as usize;
                let mut batch = std::mem::take(&mut self.fleet.servers[i].batch);
                for &a in &batch {
                    self.record((t - a) * 1000.0 + self.lookup_ms);
                }
                self.in_system -= batch.len() as u64;
                batch.clear();
                self.fleet.servers[i].batch = batch;
                if self.closed.is_empty() {
                    self.fleet.busy_to_idle(e.server, t);
                } else {
                    self.load_batch(e.server);
                    self.start_service(e.server, t);
                }
            }
            EventKind::BootDone => {
                if !s.batch.is_empty() {
                    self.fleet.boot_to_busy(e.server);
                    self.start_service(e.server, t);
                } else if !self.closed.is_empty() {
                    self.fleet.boot_to_busy(e.server);
                    self.load_batch(e.server);
                    self.start_service(e.server, t);
                } else {
                    self.fleet.boot_to_idle(e.server, t);
                }
            }
        }
    }

    /// A spot server is lost: its requests go back to the head of the queue (they keep
    /// their arrival times) and a replacement boots.
    fn on_interrupt(&mut self, i: u32, t: f64) {
        self.interruptions += 1;
        self.fleet.interrupt(i);
        let batch = std::mem::take(&mut self.fleet.servers[i as usize].batch);
        if !batch.is_empty() {
            for &a in batch.iter().rev() {
                self.waiting.push_front(a);
            }
            self.closed.push_front(batch.len() as u32);
        }
        let mut batch = batch;
        batch.clear();
        self.fleet.servers[i as usize].batch = batch;
        self.push(i, t + self.cold_start_s, EventKind::BootDone);
        self.schedule_interrupt(i, t);
        self.dispatch(t);
    }

    #[inline]
    fn record(&mut self, ms: f64) {
        self.hist.record(ms);
        if ms > self.slo_ms {
            self.slo_violations += 1;
        }
    }

    fn tick(&mut self, t: f64) {
        self.fleet.sweep(t);
        let (busy, booting, idle) = self.fleet.counts();
        let cost = self.fleet.totals.cost_usd + self.storage_usd_per_s * t;
        if let Some(rows) = &mut self.timeline {
            rows.push(MinuteRow {
                minute: (t / 60.0).round() as u32 - 1,
                arrivals: self.tick_arrivals,
                busy,
                booting,
                idle,
                queue: self.waiting.len() as u32,
                cumulative_cost_usd: cost,
            });
        }
        self.tick_arrivals = 0;
        self.next_tick_s = if t + 60.0 <= self.fleet.horizon_s() {
            t + 60.0
        } else {
            f64::INFINITY
        };
    }

    fn finish(self, plan: &Plan) -> SimResult {
        let hours = self.fleet.horizon_s() / 3600.0;
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
