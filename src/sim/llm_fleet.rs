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
use super::llm_sched::Sched;
use super::llm_seq::{Params, Seq};
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
    pub(super) calendar: Calendar,
    pub(super) arrivals: Arrivals,
    pub(super) next_arrival_ms: f64,
    pub(super) lengths: Rng,
    pub(super) cache_rng: Rng,
    pub(super) spot_rng: Rng,
    pub(super) prompt_v: UnitVariate,
    pub(super) output_v: UnitVariate,
    pub(super) prompt_mean: f64,
    pub(super) output_mean: f64,
    /// The fleet's queue: requests no replica had room for, FIFO.
    pub(super) queue: VecDeque<Seq>,
    pub(super) cold_start_ms: f64,
    pub(super) interrupts_per_ms: f64,
    pub(super) any_hit: f64,
    pub(super) l1_hit: f64,
    pub(super) hit_ms: (f64, f64),
    pub(super) lookup_ms: f64,
    pub(super) slo_ms: (f64, f64, f64),
    pub(super) ttft: Histogram,
    pub(super) tpot: Histogram,
    pub(super) e2e: Histogram,
    pub(super) c: Counts,
    pub(super) in_system: u64,
    /// The replica at its boundary while the queue is placed (started after).
    pub(super) holding: Option<u32>,
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
        let (on_demand, spot) = plan.policy.standing_servers();
        for k in 0..on_demand + spot {
            let i = self.add_replica(0.0, k >= on_demand, true);
            if k >= on_demand {
                self.schedule_interrupt(i, 0.0);
            }
        }
        self.next_arrival_ms = self.next_arrival();
    }

    pub(super) fn next_arrival(&mut self) -> f64 {
        self.arrivals.next_s().map_or(f64::INFINITY, |s| s * 1000.0)
    }

    /// A fleet slot with a fresh scheduler (its epoch past the slot's last one). The
    /// slot keeps its measured counters: the replicas that ran in it before produced
    /// those tokens, and the run's totals sum the slots.
    pub(super) fn add_replica(&mut self, t: f64, spot: bool, idle: bool) -> u32 {
        let i = self.fleet.add(t / 1000.0, spot, idle);
        let k = i as usize;
        if k >= self.reps.len() {
            self.reps.resize_with(k + 1, Sched::new);
        }
        let (epoch, counters) = (self.reps[k].epoch.wrapping_add(1), self.reps[k].counters);
        self.reps[k] = Sched::new();
        (self.reps[k].epoch, self.reps[k].counters) = (epoch, counters);
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

    pub(super) fn push_event(&mut self, i: u32, t: f64, kind: EventKind, epoch: u32) {
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
        let mut last = 0.0;
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
            last = t;
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
        // A long drain means requests piled up faster than the replicas served them.
        let drain_ms = last - stopped_at.min(last);
        if drain_ms > (0.01 * self.fleet.horizon_s() * 1000.0).max(60_000.0) {
            self.warnings.push(format!(
                "the queue took {:.2} h to drain after arrivals stopped: the fleet is \
                 probably overloaded, and latency grows with the simulated time",
                drain_ms / 3.6e6
            ));
        }
        self.end_run();
        None
    }

    /// Plans replica `i`'s next step at `t`, or lets it go idle.
    pub(super) fn start_step(&mut self, i: u32, t: f64) {
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
            EventKind::Interrupt if self.fleet.servers[k].state != ServerState::Stopped => {
                self.on_interrupt(i, t);
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
}
