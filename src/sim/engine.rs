//! sim layer: the event loop — arrivals, cache, batch formation, dispatch, service,
//! boots, spot interruptions and the per-minute timeline.

use std::collections::VecDeque;

use super::autoscaler::{Fleet, ServerState};
use super::events::{Arrivals, Calendar, Event, EventKind};
use super::rng::{Rng, UnitVariate};
use super::stats::Histogram;
use super::{MinuteRow, SimOptions};

/// After arrivals stop, the queue gets this long (simulated) to drain.
const MAX_DRAIN_S: f64 = 7.0 * DAY_S;

/// Seconds in a day.
const DAY_S: f64 = 86_400.0;

/// The observer of a run hears the simulated time once per this many events (a power
/// of two, so the check is a mask): often enough for a progress bar and a prompt
/// cancel (tens of milliseconds at the simulator's speed), rarely enough to cost
/// nothing measurable.
const OBSERVE_EVERY_EVENTS: u64 = 1 << 16;

/// The simulator's state.
pub(super) struct Engine {
    pub(super) fleet: Fleet,
    pub(super) calendar: Calendar,
    pub(super) arrivals: Arrivals,
    pub(super) next_arrival_s: f64,
    pub(super) service_rng: Rng,
    pub(super) cache_rng: Rng,
    pub(super) spot_rng: Rng,
    pub(super) service: UnitVariate,
    /// Mean service seconds of a batch of b (index b), before the spot slowdown.
    pub(super) mean_service_s: Vec<f64>,
    pub(super) spot_slowdown: f64,
    pub(super) interruptions_per_s: f64,
    pub(super) cold_start_s: f64,
    /// Arrival times of requests waiting for a server: closed batches, then the
    /// forming one, in FIFO order.
    pub(super) waiting: VecDeque<f64>,
    pub(super) closed: VecDeque<u32>,
    pub(super) forming: u32,
    pub(super) deadline_s: f64,
    pub(super) max_batch: u32,
    pub(super) window_s: f64,
    pub(super) l1_hit: f64,
    pub(super) any_hit: f64,
    pub(super) l1_ms: f64,
    pub(super) l2_ms: f64,
    pub(super) lookup_ms: f64,
    pub(super) slo_ms: f64,
    pub(super) hist: Histogram,
    pub(super) requests: u64,
    pub(super) server_requests: u64,
    pub(super) in_system: u64,
    pub(super) cold_requests: u64,
    pub(super) cold_starts: u64,
    pub(super) waited_requests: u64,
    pub(super) batches: u64,
    pub(super) batched_requests: u64,
    pub(super) interruptions: u64,
    pub(super) slo_violations: u64,
    /// When the warm-up ends and counting begins (infinity once begun, or without a
    /// warm-up).
    pub(super) measure_at_s: f64,
    /// When counting began: every counter and the timeline cover the time since.
    pub(super) measure_from_s: f64,
    /// The warm-up asked for, seconds.
    pub(super) warmup_s: f64,
    pub(super) timeline: Option<Vec<MinuteRow>>,
    pub(super) next_tick_s: f64,
    pub(super) tick_arrivals: u32,
    pub(super) storage_usd_per_s: f64,
    pub(super) warnings: Vec<String>,
    /// Whether the note on a backlog the fleet drains has been given.
    pub(super) backlog_noted: bool,
    /// Why arrivals (or the run) stopped before the horizon, if they did.
    pub(super) stopped: Option<super::EarlyStop>,
    pub(super) options: SimOptions,
}

impl Engine {
    pub(super) fn schedule_interrupt(&mut self, server: u32, now_s: f64) {
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

    /// Runs the event loop to the end; `observe` hears the simulated hour now and then
    /// and stops the run by returning false. Returns the hour it was stopped at, if so.
    pub(super) fn run(&mut self, observe: &mut dyn FnMut(f64) -> bool) -> Option<f64> {
        let mut stopped_at_s = f64::INFINITY;
        let mut last_s = 0.0;
        let mut events: u64 = 0;
        loop {
            let t_event = self.calendar.next_time_s();
            let t = t_event
                .min(self.deadline_s)
                .min(self.next_arrival_s)
                .min(self.next_tick_s)
                .min(self.measure_at_s);
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
                        MAX_DRAIN_S / DAY_S
                    ));
                    break;
                }
            }
            events += 1;
            if events & (OBSERVE_EVERY_EVENTS - 1) == 0 && !observe(t / 3600.0) {
                return Some(t / 3600.0);
            }
            if events > self.options.max_events {
                self.warnings.push(format!(
                    "stopped after {events} events at {}: the run is too long to \
                     simulate whole (shorten --hours or shrink the fleet)",
                    self.hour_label(t)
                ));
                self.stop(t, super::StopReason::EventLimit(self.options.max_events));
                self.fleet.advance(t);
                self.fleet.end_accounting_at(t);
                self.next_tick_s = f64::INFINITY;
                break;
            }
            last_s = t;
            self.fleet.advance(t);
            if self.measure_at_s <= t {
                if self.stopped.is_none() {
                    self.begin_measurement(t);
                } else {
                    self.warmup_unfinished();
                }
                continue;
            }
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
        // Nothing was left to simulate before the warm-up's end (no traffic), or the run
        // stopped inside it.
        if self.measure_at_s.is_finite() {
            if self.measure_at_s <= end_s && self.stopped.is_none() {
                let t = self.measure_at_s;
                self.fleet.advance(t);
                self.begin_measurement(t);
            } else {
                self.warmup_unfinished();
            }
        }
        // A long drain means work piled up faster than the fleet served it, even if the
        // queue never reached its limit.
        let drain_s = last_s - stopped_at_s.min(last_s);
        if drain_s > (0.01 * end_s).max(60.0) {
            self.warnings.push(format!(
                "the queue took {:.2} h to drain after arrivals stopped: the fleet is \
                 probably overloaded, and latency grows with the simulated time",
                drain_s / 3600.0
            ));
        }
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
        None
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
        // Fast path: a batch of one with nothing queued goes straight to an idle server
        // (the common case below saturation; it skips the waiting deques).
        if (self.max_batch == 1 || self.window_s <= 0.0)
            && self.closed.is_empty()
            && let Some(i) = self.fleet.take_idle(t)
        {
            self.fleet.servers[i as usize].batch.push(t);
            self.batches += 1;
            self.batched_requests += 1;
            self.start_service(i, t);
            self.check_limits(t);
            return;
        }
        self.waiting.push_back(t);
        self.forming += 1;
        if self.forming >= self.max_batch || self.window_s <= 0.0 {
            self.close_batch(t);
        } else if self.forming == 1 {
            self.deadline_s = t + self.window_s;
        }
        self.check_limits(t);
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
        let since_s = t - self.measure_from_s;
        let cost = self.fleet.totals.cost_usd + self.storage_usd_per_s * since_s;
        if let Some(rows) = &mut self.timeline {
            rows.push(MinuteRow {
                minute: ((since_s / 60.0).round() as u32).saturating_sub(1),
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
}
