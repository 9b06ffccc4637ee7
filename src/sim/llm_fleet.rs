//! sim layer: the LLM fleet under the plan's policy and diurnal day — replicas are the
//! autoscaler's servers ([`super::autoscaler::Fleet`]: always-on, scale to zero with
//! cold starts, keep k warm, spot mix with interruptions, billed as the request-level
//! simulator bills servers), each running the iteration scheduler of
//! [`super::llm_sched`]. A request goes to an idle replica (the most recently idle),
//! else to the serving or booting replica with the fewest sequences among those with
//! a slot and KV blocks for it, else a replica starts when the policy allows, else it
//! waits at the fleet; an interrupted spot replica's sequences go back to the head of
//! the fleet's queue and are prefilled again. Seeded and deterministic.

use std::collections::VecDeque;

use super::autoscaler::{Fleet, ServerState};
use super::events::{Arrivals, Calendar, Event, EventKind};
use super::llm_sched::{Params, Sched, Seq};
use super::rng::{Rng, UnitVariate};
use super::stats::Histogram;
use super::{SimError, SimOptions, StopReason};
use crate::model::Plan;
use crate::model::cache::effect;
use crate::model::llm::LlmContext;
use crate::model::llm_replica::Replica;
use crate::model::traffic::SECONDS_PER_HOUR;

pub use super::llm_fleet_report::{LlmFleetResult, LlmMinuteRow, SimLlm};

/// The streams of [`super::llm::simulate_replica`] for arrivals and lengths (so one
/// always-on replica at a constant rate sees the same requests), and the fleet's.
const STREAM_ARRIVALS: u64 = 0;
const STREAM_LENGTHS: u64 = 1;
const STREAM_CACHE: u64 = 3;
const STREAM_SPOT: u64 = 4;

/// After arrivals stop, the fleet gets this long (simulated) to drain, ms.
const MAX_DRAIN_MS: f64 = 7.0 * 86_400_000.0;

/// The observer hears the simulated hour once per this many events (a power of two).
const OBSERVE_EVERY_EVENTS: u64 = 1 << 16;

/// Simulates an LLM plan (its own policy): see the module docs.
pub fn simulate_llm(plan: &Plan, options: &SimOptions) -> Result<LlmFleetResult, SimError> {
    simulate_llm_observed(plan, options, &mut |_| true)
}

/// [`simulate_llm`], telling `observe` the simulated hour now and then; stops with
/// [`SimError::Cancelled`] when it returns false.
pub fn simulate_llm_observed(
    plan: &Plan,
    options: &SimOptions,
    observe: &mut dyn FnMut(f64) -> bool,
) -> Result<LlmFleetResult, SimError> {
    super::setup::check_options(options)?;
    let ctx = LlmContext::new(plan)?.ok_or_else(|| SimError::Llm("not an LLM plan".into()))?;
    let replica = ctx.replica.map_err(SimError::Llm)?;
    let mut sim = LlmFleetSim::new(plan, &replica, options)?;
    sim.start(plan);
    if let Some(hour) = sim.run(observe) {
        return Err(SimError::Cancelled { hour });
    }
    Ok(sim.finish(plan, &replica))
}

/// The LLM fleet simulator's state. Times are ms.
pub(super) struct LlmFleetSim {
    pub(super) fleet: Fleet,
    pub(super) reps: Vec<Sched>,
    pub(super) p: Params,
    calendar: Calendar,
    arrivals: Arrivals,
    pub(super) next_arrival_ms: f64,
    lengths: Rng,
    cache_rng: Rng,
    spot_rng: Rng,
    prompt_v: UnitVariate,
    output_v: UnitVariate,
    prompt_mean: f64,
    pub(super) output_mean: f64,
    /// The fleet's queue: requests no replica had room for, FIFO.
    pub(super) queue: VecDeque<Seq>,
    cold_start_ms: f64,
    interrupts_per_ms: f64,
    any_hit: f64,
    l1_hit: f64,
    hit_ms: (f64, f64),
    lookup_ms: f64,
    pub(super) slo_ms: (f64, f64, f64),
    pub(super) ttft: Histogram,
    pub(super) tpot: Histogram,
    pub(super) e2e: Histogram,
    pub(super) c: Counts,
    pub(super) in_system: u64,
    /// The replica at its boundary while the queue is placed (started after).
    holding: Option<u32>,
    pub(super) measure_at_ms: f64,
    pub(super) measure_from_ms: f64,
    pub(super) warmup_ms: f64,
    pub(super) timeline: Option<Vec<LlmMinuteRow>>,
    pub(super) fleet_timeline: Vec<super::MinuteRow>,
    pub(super) next_tick_ms: f64,
    pub(super) tick_last: (u64, u64),
    pub(super) warnings: Vec<String>,
    pub(super) stopped: Option<super::EarlyStop>,
    pub(super) options: SimOptions,
}

/// The run's counters (zeroed when measurement begins).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counts {
    pub requests: u64,
    pub server_requests: u64,
    pub hits: u64,
    pub cold_requests: u64,
    pub cold_starts: u64,
    pub waited: u64,
    pub interruptions: u64,
    pub restarts: u64,
    pub slo_violations: u64,
    pub good: u64,
    pub io_tokens: f64,
    pub clamped: u64,
    pub tick_arrivals: u32,
}

impl LlmFleetSim {
    fn new(plan: &Plan, r: &Replica, options: &SimOptions) -> Result<Self, SimError> {
        let warmup_ms = options.warmup_hours * SECONDS_PER_HOUR * 1000.0;
        let horizon_s = options.warmup_hours * SECONDS_PER_HOUR + options.hours * SECONDS_PER_HOUR;
        let (rules, _) = super::setup::scaling_rules(&plan.policy)?;
        let hw = &plan.hardware;
        let cache = effect(&plan.cache);
        let block = r.block_tokens.max(1.0) as u64;
        let o = &plan.objective;
        let mut warnings = Vec::new();
        if matches!(plan.policy, crate::model::Policy::SpotMix { checkpoint_s, .. } if checkpoint_s > 0.0)
        {
            warnings.push(
                "spot checkpointing is not simulated for LLM replicas: an interrupted \
                 replica's sequences are prefilled again elsewhere"
                    .into(),
            );
        }
        Ok(Self {
            fleet: Fleet::new(
                rules,
                horizon_s,
                hw.on_demand_usd_per_hour,
                hw.spot_usd_per_hour,
            ),
            reps: Vec::new(),
            p: Params {
                block,
                total_blocks: (r.kv_capacity_tokens / r.block_tokens).floor() as u64,
                max_num_seqs: r.max_num_seqs.max(1) as usize,
                chunk: r.chunk_tokens.map(|k| k as u64),
                it: r.iteration.clone(),
                cached_share: 1.0 - r.prefill_tokens / r.prompt_tokens,
            },
            calendar: Calendar::new(),
            arrivals: Arrivals::new(
                &plan.workload.rate_rps,
                plan.lazy.fraction_needed.clamp(0.0, 1.0),
                plan.workload.arrival_cv,
                horizon_s,
                Rng::substream(options.seed, STREAM_ARRIVALS),
            )
            .starting_at_day_s(-warmup_ms / 1000.0),
            next_arrival_ms: f64::INFINITY,
            lengths: Rng::substream(options.seed, STREAM_LENGTHS),
            cache_rng: Rng::substream(options.seed, STREAM_CACHE),
            spot_rng: Rng::substream(options.seed, STREAM_SPOT),
            prompt_v: UnitVariate::with_cv(r.prompt_cv),
            output_v: UnitVariate::with_cv(r.output_cv),
            prompt_mean: r.prompt_tokens,
            output_mean: r.output_tokens,
            queue: VecDeque::new(),
            cold_start_ms: plan.service.cold_start_s.max(0.0) * 1000.0,
            interrupts_per_ms: hw.spot_interruptions_per_hour.max(0.0) / SECONDS_PER_HOUR / 1000.0,
            any_hit: cache.l1_hit_rate + cache.l2_hit_share,
            l1_hit: cache.l1_hit_rate,
            hit_ms: (cache.l1_latency_ms, cache.l2_latency_ms),
            lookup_ms: cache.miss_lookup_ms,
            slo_ms: (
                o.ttft_slo_ms.unwrap_or(f64::INFINITY),
                o.tpot_slo_ms.unwrap_or(f64::INFINITY),
                o.slo_ms.unwrap_or(f64::INFINITY),
            ),
            ttft: Histogram::new(),
            tpot: Histogram::new(),
            e2e: Histogram::new(),
            c: Counts::default(),
            in_system: 0,
            holding: None,
            measure_at_ms: if warmup_ms > 0.0 {
                warmup_ms
            } else {
                f64::INFINITY
            },
            measure_from_ms: 0.0,
            warmup_ms,
            timeline: options.timeline.then(Vec::new),
            fleet_timeline: Vec::new(),
            next_tick_ms: if options.timeline {
                warmup_ms + 60_000.0
            } else {
                f64::INFINITY
            },
            tick_last: (0, 0),
            warnings,
            stopped: None,
            options: options.clone(),
        })
    }

    /// The fleet at time 0: always-on, warm and spot-mix replicas start warm.
    fn start(&mut self, plan: &Plan) {
        use crate::model::Policy;
        let (on_demand, spot) = match plan.policy {
            Policy::AlwaysOn { servers } => (servers, 0),
            Policy::Hybrid { warm, .. } => (warm, 0),
            Policy::SpotMix {
                on_demand, spot, ..
            } => (on_demand, spot),
            Policy::OnDemand { .. } | Policy::Optimize { .. } => (0, 0),
        };
        for k in 0..on_demand + spot {
            let i = self.add_replica(0.0, k >= on_demand, true);
            if k >= on_demand {
                self.schedule_interrupt(i, 0.0);
            }
        }
        self.next_arrival_ms = self.next_arrival();
    }

    fn next_arrival(&mut self) -> f64 {
        self.arrivals.next_s().map_or(f64::INFINITY, |s| s * 1000.0)
    }

    /// A fleet slot with a fresh scheduler (its epoch past the slot's last one).
    fn add_replica(&mut self, t: f64, spot: bool, idle: bool) -> u32 {
        let i = self.fleet.add(t / 1000.0, spot, idle);
        let k = i as usize;
        if k >= self.reps.len() {
            self.reps.resize_with(k + 1, Sched::new);
        }
        let epoch = self.reps[k].epoch.wrapping_add(1);
        self.reps[k] = Sched::new();
        self.reps[k].epoch = epoch;
        i
    }

    fn schedule_interrupt(&mut self, i: u32, t: f64) {
        if self.interrupts_per_ms > 0.0 {
            let t_s = t + self.spot_rng.exp1() / self.interrupts_per_ms;
            self.calendar.push(Event {
                t_s,
                server: i,
                kind: EventKind::Interrupt,
                epoch: 0,
            });
        }
    }

    fn push_event(&mut self, i: u32, t: f64, kind: EventKind, epoch: u32) {
        self.calendar.push(Event {
            t_s: t,
            server: i,
            kind,
            epoch,
        });
    }

    /// Runs to the end; returns the hour it was cancelled at, if it was.
    fn run(&mut self, observe: &mut dyn FnMut(f64) -> bool) -> Option<f64> {
        let mut stopped_at = f64::INFINITY;
        let mut events: u64 = 0;
        loop {
            let t_event = self.calendar.next_time_s();
            let t = t_event
                .min(self.next_arrival_ms)
                .min(self.next_tick_ms)
                .min(self.measure_at_ms);
            if (self.next_arrival_ms.is_infinite() && self.in_system == 0) || t.is_infinite() {
                break;
            }
            if self.next_arrival_ms.is_infinite() {
                stopped_at = stopped_at.min(t);
                if t - stopped_at > MAX_DRAIN_MS {
                    self.warnings.push(format!(
                        "the queue did not drain within {} days after arrivals stopped",
                        MAX_DRAIN_MS / 86_400_000.0
                    ));
                    break;
                }
            }
            events += 1;
            if events & (OBSERVE_EVERY_EVENTS - 1) == 0 && !observe(t / 3.6e6) {
                return Some(t / 3.6e6);
            }
            if events > self.options.max_events {
                self.warnings.push(format!(
                    "stopped after {events} events at {}: the run is too long to simulate whole",
                    self.hour_label(t)
                ));
                self.stop(t, StopReason::EventLimit(self.options.max_events));
                self.fleet.advance(t / 1000.0);
                self.fleet.end_accounting_at(t / 1000.0);
                self.next_tick_ms = f64::INFINITY;
                break;
            }
            self.fleet.advance(t / 1000.0);
            if self.measure_at_ms <= t {
                self.begin_measurement(t);
                continue;
            }
            // Ties: an arrival first (the iteration starting then admits it, as on one
            // replica), then the calendar, then the timeline.
            if self.next_arrival_ms <= t {
                self.on_arrival(t);
            } else if t_event <= t {
                if let Some(e) = self.calendar.pop() {
                    self.on_event(e);
                }
            } else {
                self.tick(t);
            }
        }
        self.end_run();
        None
    }

    fn on_arrival(&mut self, t: f64) {
        self.c.requests += 1;
        self.c.tick_arrivals = self.c.tick_arrivals.saturating_add(1);
        self.next_arrival_ms = self.next_arrival();
        if self.any_hit > 0.0 {
            let u = self.cache_rng.uniform();
            if u < self.any_hit {
                let ms = if u < self.l1_hit {
                    self.hit_ms.0
                } else {
                    self.hit_ms.1
                };
                self.record_hit(ms);
                return;
            }
        }
        let cap = self.p.total_blocks * self.p.block;
        let prompt =
            ((self.prompt_mean * self.prompt_v.sample(&mut self.lengths)).round() as u64).max(1);
        let output =
            ((self.output_mean * self.output_v.sample(&mut self.lengths)).round() as u64).max(1);
        // A sequence the KV cache cannot hold whole would preempt itself forever.
        let prompt_fit = prompt.min(cap.saturating_sub(2 * self.p.block).max(1));
        let output_fit = output.min(cap.saturating_sub(prompt_fit + self.p.block).max(1));
        if (prompt_fit, output_fit) != (prompt, output) {
            self.c.clamped += 1;
        }
        self.c.server_requests += 1;
        self.in_system += 1;
        self.queue.push_back(Seq {
            arrival_ms: t,
            prompt: prompt_fit,
            to_prefill: (prompt_fit - self.p.cached(prompt_fit)).max(1),
            output: output_fit,
            generated: 0,
            first_token_ms: None,
            cold: false,
        });
        self.place(t);
        if !self.queue.is_empty() {
            self.c.waited += 1;
        }
        self.check_limits(t);
    }

    /// Gives the fleet's queue, head first, to replicas with room.
    fn place(&mut self, t: f64) {
        while let Some(head) = self.queue.front().copied() {
            let Some(i) = self.choose(t, &head) else {
                break;
            };
            self.queue.pop_front();
            self.assign(i, head, t);
        }
    }

    /// The replica for `s`: the most recently idle, else the least loaded serving or
    /// booting one with room, else a new one if the policy may start it.
    fn choose(&mut self, t: f64, s: &Seq) -> Option<u32> {
        if let Some(i) = self.fleet.take_idle(t / 1000.0) {
            return Some(i);
        }
        let mut best: Option<(usize, u32)> = None;
        for (i, r) in self.reps.iter().enumerate() {
            let state = self.fleet.servers[i].state;
            if matches!(state, ServerState::Busy | ServerState::Booting)
                && r.room(&self.p, s)
                && best.is_none_or(|(load, _)| r.load() < load)
            {
                best = Some((r.load(), i as u32));
            }
        }
        if let Some((_, i)) = best {
            return Some(i);
        }
        if self.fleet.can_start() {
            let i = self.add_replica(t, false, false);
            self.c.cold_starts += 1;
            let epoch = self.fleet.servers[i as usize].epoch;
            self.push_event(i, t + self.cold_start_ms, EventKind::BootDone, epoch);
            return Some(i);
        }
        None
    }

    fn assign(&mut self, i: u32, mut s: Seq, t: f64) {
        let booting = self.fleet.servers[i as usize].state == ServerState::Booting;
        if booting && !s.cold {
            s.cold = true;
            self.c.cold_requests += 1;
        }
        let r = &mut self.reps[i as usize];
        let head = r.push(&self.p, s);
        if booting || self.holding == Some(i) {
            return;
        }
        if r.step == super::llm_sched::Step::Idle {
            self.start_step(i, t);
        } else if head && let Some(end) = r.cut(t) {
            r.epoch = r.epoch.wrapping_add(1);
            let epoch = r.epoch;
            self.push_event(i, end, EventKind::Done, epoch);
        }
    }

    /// Plans replica `i`'s next step at `t`, or lets it go idle.
    fn start_step(&mut self, i: u32, t: f64) {
        let r = &mut self.reps[i as usize];
        match r.begin(&self.p, t) {
            Some(end) => {
                r.epoch = r.epoch.wrapping_add(1);
                let epoch = r.epoch;
                self.push_event(i, end, EventKind::Done, epoch);
            }
            None => self.fleet.busy_to_idle(i, t / 1000.0),
        }
    }

    fn on_event(&mut self, e: Event) {
        let (i, t) = (e.server, e.t_s);
        let k = i as usize;
        match e.kind {
            EventKind::Interrupt => {
                if self.fleet.servers[k].state != ServerState::Stopped {
                    self.on_interrupt(i, t);
                }
            }
            EventKind::Done if e.epoch == self.reps[k].epoch => {
                let mut done = Vec::new();
                let measuring = self.measure_at_ms.is_infinite();
                self.reps[k].finish(&self.p, t, measuring, &mut done);
                for s in done {
                    self.record(&s, t);
                }
                self.holding = Some(i);
                self.place(t);
                self.holding = None;
                self.start_step(i, t);
            }
            EventKind::BootDone if e.epoch == self.fleet.servers[k].epoch => {
                if self.reps[k].load() > 0 {
                    self.fleet.boot_to_busy(i);
                    self.start_step(i, t);
                } else {
                    self.fleet.boot_to_idle(i, t / 1000.0);
                }
                self.place(t);
            }
            _ => {} // replaced by a later step, or cancelled by an interruption
        }
    }

    /// A spot replica is lost: its sequences go back to the head of the fleet's
    /// queue, to be prefilled again, and a replacement boots in its slot.
    fn on_interrupt(&mut self, i: u32, t: f64) {
        self.c.interruptions += 1;
        self.fleet.interrupt(i);
        let measuring = self.measure_at_ms.is_infinite();
        let r = &mut self.reps[i as usize];
        let lost = r.lose(&self.p, t, measuring);
        r.epoch = r.epoch.wrapping_add(1);
        self.c.restarts += lost.len() as u64;
        for s in lost.into_iter().rev() {
            self.queue.push_front(s);
        }
        let epoch = self.fleet.servers[i as usize].epoch;
        self.push_event(i, t + self.cold_start_ms, EventKind::BootDone, epoch);
        self.schedule_interrupt(i, t);
        self.place(t);
    }

    fn record_hit(&mut self, ms: f64) {
        self.ttft.record(ms);
        self.tpot.record(0.0);
        self.e2e.record(ms);
        self.c.hits += 1;
        self.c.io_tokens += self.prompt_mean + self.output_mean;
        self.count_slo(ms, 0.0, ms);
    }

    /// A completed request's TTFT, TPOT and E2E (with the cache lookup a miss pays).
    fn record(&mut self, s: &Seq, t: f64) {
        self.in_system -= 1;
        let first = s.first_token_ms.unwrap_or(t);
        let ttft = first - s.arrival_ms + self.lookup_ms;
        let e2e = t - s.arrival_ms + self.lookup_ms;
        let tpot = if s.output > 1 {
            (t - first) / (s.output - 1) as f64
        } else {
            0.0
        };
        self.ttft.record(ttft);
        if s.output > 1 {
            self.tpot.record(tpot);
        }
        self.e2e.record(e2e);
        self.c.io_tokens += (s.prompt + s.output) as f64;
        self.count_slo(ttft, tpot, e2e);
    }

    fn count_slo(&mut self, ttft: f64, tpot: f64, e2e: f64) {
        let (ttft_slo, tpot_slo, e2e_slo) = self.slo_ms;
        let good = ttft <= ttft_slo && tpot <= tpot_slo;
        self.c.good += u64::from(good);
        self.c.slo_violations += u64::from(!good || e2e > e2e_slo);
    }
}
