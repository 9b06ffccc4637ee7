//! sim layer: what the LLM fleet simulator reports — the request-level figures of
//! [`SimResult`] (E2E as the latency, replica-hours as server-hours and cost), the
//! `llm` block beside the model's (TTFT, TPOT, E2E, tokens, $ per million tokens,
//! goodput, KV use, running sequences), the per-minute timeline with preemptions —
//! and the run's bookkeeping: the warm-up, limits, ticks and the end.

use serde::Serialize;

use super::autoscaler::Integrals;
use super::llm_fleet::{Counts, LlmFleetSim};
use super::stats::{Histogram, SimLatency};
use super::{EarlyStop, MinuteRow, ServerHours, SimResult, StopReason};
use crate::model::evaluate::kind_of;
use crate::model::llm_replica::Replica;
use crate::model::{Plan, energy};

/// Tokens in a million.
const MILLION: f64 = 1e6;

/// The simulated `llm` block: the fields of the model's `LlmReport`, measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimLlm {
    /// Time to first token (cold starts, fleet queue, admission, prefill), ms.
    pub ttft_ms: Option<SimLatency>,
    /// Per request with more than one output token, the mean time between tokens, ms.
    pub tpot_ms: Option<SimLatency>,
    /// Whole request, ms.
    pub e2e_ms: Option<SimLatency>,
    /// Output tokens generated per measured second (cache hits' mean output included).
    pub output_tokens_per_s: f64,
    /// Cost per million output tokens, dollars.
    pub cost_usd_per_million_output_tokens: f64,
    /// Cost per million prompt + output tokens of the completed requests, dollars.
    pub cost_usd_per_million_tokens: f64,
    /// Share of completed requests within both the TTFT and the TPOT SLO.
    pub goodput: f64,
    /// KV-cache bytes per token of the model (the model's figure).
    pub kv_bytes_per_token: f64,
    /// Tokens one replica's KV cache holds (whole blocks).
    pub kv_capacity_tokens: f64,
    /// Time-average share of a serving replica's KV blocks in use.
    pub kv_utilization: f64,
    /// Time-average sequences running on a serving replica.
    pub mean_running_seqs: f64,
    /// Not measured by a simulation (null): the model's figure is in `analytic`.
    pub max_requests_per_s_at_slo: Option<f64>,
    /// Not measured by a simulation (null), as `max_requests_per_s_at_slo`.
    pub replica_output_tokens_per_s_at_slo: Option<f64>,
    /// Output tokens (cache hits' mean output included) per second of serving replica
    /// time (busy or idle, not booting), as the model counts its serving replicas; 0
    /// when no replica served.
    pub output_tokens_per_s_per_replica: f64,
    /// Output tokens per dollar of the run's cost; null when the run cost nothing.
    pub output_tokens_per_usd: Option<f64>,
    /// Sequences preempted (KV exhausted) and recomputed.
    pub preemptions: u64,
    /// Sequences lost with an interrupted spot replica and prefilled again.
    pub restarts: u64,
}

/// One minute of an LLM run's timeline (counts at the end of the minute).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LlmMinuteRow {
    /// Minute since the start of the measured hours.
    pub minute: u32,
    /// Requests that arrived in the minute.
    pub arrivals: u32,
    /// Replicas with sequences.
    pub busy: u32,
    /// Replicas booting.
    pub booting: u32,
    /// Replicas held idle.
    pub idle: u32,
    /// Requests waiting: at the fleet and in the replicas' queues.
    pub queue: u32,
    /// Sequences running over all replicas.
    pub running_seqs: u32,
    /// Share of the serving replicas' KV blocks in use.
    pub kv_utilization: f64,
    /// Preemptions in the minute.
    pub preemptions: u64,
    /// Output tokens generated in the minute.
    pub output_tokens: u64,
    /// Replica cost so far, dollars.
    pub cumulative_cost_usd: f64,
}

/// An LLM fleet run: the request-level figures, the `llm` block and the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmFleetResult {
    /// The figures every simulation has (latency = E2E; a replica is a server).
    #[serde(flatten)]
    pub fleet: SimResult,
    /// The LLM figures.
    pub llm: SimLlm,
    /// Per-minute LLM rows (empty unless asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub llm_timeline: Vec<LlmMinuteRow>,
}

impl LlmFleetSim {
    /// The end of the warm-up at `t`: every counter starts again from zero.
    pub(super) fn begin_measurement(&mut self, t: f64) {
        self.fleet.sweep(t / 1000.0);
        self.fleet.totals = Integrals::default();
        (self.ttft, self.tpot, self.e2e) = (Histogram::new(), Histogram::new(), Histogram::new());
        let clamped = self.c.clamped;
        self.c = Counts {
            clamped,
            ..Counts::default()
        };
        for r in &mut self.reps {
            r.counters = Default::default();
        }
        self.tick_last = (0, 0);
        self.measure_from_ms = t;
        self.measure_at_ms = f64::INFINITY;
    }

    /// `t` in words for a warning.
    pub(super) fn hour_label(&self, t: f64) -> String {
        if t < self.warmup_ms {
            format!("hour {:.2} of the warm-up", t / 3.6e6)
        } else {
            format!("hour {:.2}", (t - self.warmup_ms) / 3.6e6)
        }
    }

    pub(super) fn stop(&mut self, t: f64, reason: StopReason) {
        self.stopped = Some(EarlyStop {
            hour: ((t - self.warmup_ms) / 3.6e6).max(0.0),
            reason,
            warning: self.warnings.len().saturating_sub(1),
        });
    }

    /// Stops arrivals when the fleet's queue outgrows its limits or the request count
    /// reaches its own.
    pub(super) fn check_limits(&mut self, t: f64) {
        let (max_waiting, max_requests) = (
            self.options.max_backlog.min(self.options.max_waiting),
            self.options.max_requests,
        );
        let waiting = self.queue.len();
        let (why, reason) = if waiting > max_waiting {
            (
                format!(
                    "overloaded: {waiting} requests were waiting for a replica at {}; \
                     arrivals stopped there (the fleet at its cap cannot carry this \
                     traffic; the latency shown is meaningless)",
                    self.hour_label(t)
                ),
                StopReason::Overload(format!("{waiting} requests waiting for a replica")),
            )
        } else if self.c.requests >= max_requests && self.next_arrival_ms.is_finite() {
            (
                format!(
                    "stopped after {} requests at {} (raise the request limit or shorten --hours)",
                    self.c.requests,
                    self.hour_label(t)
                ),
                StopReason::RequestLimit(max_requests),
            )
        } else {
            return;
        };
        self.warnings.push(why);
        self.stop(t, reason);
        self.next_arrival_ms = f64::INFINITY;
        self.fleet.end_accounting_at(t / 1000.0);
    }

    fn counter_totals(&self) -> (u64, u64) {
        self.reps.iter().fold((0, 0), |(p, k), r| {
            (p + r.counters.preemptions, k + r.counters.tokens)
        })
    }

    pub(super) fn tick(&mut self, t: f64) {
        self.fleet.sweep(t / 1000.0);
        let (busy, booting, idle) = self.fleet.counts();
        let since_ms = t - self.measure_from_ms;
        let minute = ((since_ms / 60_000.0).round() as u32).saturating_sub(1);
        let cost = self.fleet.totals.cost_usd;
        let queue = self.queue.len() + self.reps.iter().map(|r| r.waiting.len()).sum::<usize>();
        let running: usize = self.reps.iter().map(|r| r.running.len()).sum();
        let used: u64 = self.reps.iter().map(|r| r.used_blocks).sum();
        let serving = f64::from(busy + idle) * self.p.total_blocks as f64;
        let (pre, tokens) = self.counter_totals();
        let row = LlmMinuteRow {
            minute,
            arrivals: self.c.tick_arrivals,
            busy,
            booting,
            idle,
            queue: queue as u32,
            running_seqs: running as u32,
            kv_utilization: if serving > 0.0 {
                used as f64 / serving
            } else {
                0.0
            },
            preemptions: pre - self.tick_last.0,
            output_tokens: tokens - self.tick_last.1,
            cumulative_cost_usd: cost,
        };
        self.tick_last = (pre, tokens);
        self.fleet_timeline.push(MinuteRow {
            minute,
            arrivals: row.arrivals,
            busy,
            booting,
            idle,
            queue: row.queue,
            cumulative_cost_usd: cost,
        });
        if let Some(rows) = &mut self.timeline {
            rows.push(row);
        }
        self.c.tick_arrivals = 0;
        self.next_tick_ms = if t + 60_000.0 <= self.fleet.horizon_s() * 1000.0 {
            t + 60_000.0
        } else {
            f64::INFINITY
        };
    }

    /// After the loop: the warm-up's end if never reached, the remaining ticks, the
    /// bill to the horizon, and what was left unanswered.
    pub(super) fn end_run(&mut self) {
        let end_ms = self.fleet.horizon_s() * 1000.0;
        if self.measure_at_ms.is_finite() {
            if self.measure_at_ms <= end_ms && self.stopped.is_none() {
                let t = self.measure_at_ms;
                self.fleet.advance(t / 1000.0);
                self.begin_measurement(t);
            } else {
                self.measure_at_ms = f64::INFINITY;
                self.warnings.push(format!(
                    "the run stopped inside its {:.2} h warm-up: its figures include the warm-up",
                    self.warmup_ms / 3.6e6
                ));
            }
        }
        while self.next_tick_ms <= end_ms {
            let t = self.next_tick_ms;
            self.fleet.advance(t / 1000.0);
            self.tick(t);
        }
        self.fleet.advance(end_ms / 1000.0);
        self.fleet.sweep(end_ms / 1000.0);
        if self.in_system > 0 {
            self.warnings.push(format!(
                "{} requests were never answered and are not in the latency statistics",
                self.in_system
            ));
        }
        if self.c.clamped > 0 {
            self.warnings.push(format!(
                "{} requests drew a prompt or answer longer than a replica's KV cache holds \
                 and were shortened to fit",
                self.c.clamped
            ));
        }
    }

    /// The run's figures.
    pub(super) fn finish(self, plan: &Plan, r: &Replica) -> LlmFleetResult {
        let hours = (self.fleet.horizon_s() - self.measure_from_ms / 1000.0) / 3600.0;
        let tot = self.fleet.totals;
        let per_hour = |x: f64| if hours > 0.0 { x / hours } else { 0.0 };
        let held_s = tot.busy_s + tot.idle_s + tot.booting_s;
        let (held, busy) = (per_hour(held_s / 3600.0), per_hour(tot.busy_s / 3600.0));
        let mut cost = per_hour(tot.cost_usd) + plan.cache.storage_usd_per_hour;
        if let Some(e) = &plan.energy {
            let kwh = energy::kwh_per_hour(held, busy, plan.hardware.power_w, e.idle_power_w);
            cost += energy::usd_per_hour(kwh, e.usd_per_kwh);
        }
        let c = self.c;
        let share = |x: u64, of: u64| if of > 0 { x as f64 / of as f64 } else { 0.0 };
        let (preemptions, tokens) = self.counter_totals();
        let (seq_ms, block_ms) = self.reps.iter().fold((0.0, 0.0), |(s, b), x| {
            (s + x.counters.seq_ms, b + x.counters.block_ms)
        });
        let serving_ms = (tot.busy_s + tot.idle_s) * 1000.0;
        let measured_s = (hours * 3600.0).max(f64::MIN_POSITIVE);
        let out_per_s = (tokens as f64 + c.hits as f64 * self.output_mean) / measured_s;
        let io_per_s = c.io_tokens / measured_s;
        let per_million = |per_s: f64| {
            if per_s > 0.0 {
                cost / (SECONDS_PER_HOUR_F * per_s) * MILLION
            } else {
                0.0
            }
        };
        let completed = self.e2e.count();
        let llm = SimLlm {
            ttft_ms: self.ttft.summary(),
            tpot_ms: self.tpot.summary(),
            e2e_ms: self.e2e.summary(),
            output_tokens_per_s: out_per_s,
            cost_usd_per_million_output_tokens: per_million(out_per_s),
            cost_usd_per_million_tokens: per_million(io_per_s),
            goodput: share(c.good, completed),
            kv_bytes_per_token: r.footprint.kv_bytes_per_token,
            kv_capacity_tokens: r.kv_capacity_tokens,
            kv_utilization: if serving_ms > 0.0 {
                (block_ms / serving_ms / self.p.total_blocks.max(1) as f64).clamp(0.0, 1.0)
            } else {
                0.0
            },
            mean_running_seqs: if serving_ms > 0.0 {
                seq_ms / serving_ms
            } else {
                0.0
            },
            max_requests_per_s_at_slo: None,
            replica_output_tokens_per_s_at_slo: None,
            output_tokens_per_s_per_replica: if serving_ms > 0.0 {
                out_per_s * measured_s / (serving_ms / 1000.0)
            } else {
                0.0
            },
            output_tokens_per_usd: (cost > 0.0)
                .then(|| out_per_s * SECONDS_PER_HOUR_F / cost)
                .filter(|v| v.is_finite()),
            preemptions,
            restarts: c.restarts,
        };
        let fleet = SimResult {
            policy: kind_of(&plan.policy),
            hours,
            warmup_hours: self.measure_from_ms / 3.6e6,
            requests: c.requests,
            completed,
            server_requests: c.server_requests,
            latency_ms: self.e2e.summary(),
            cost_usd_per_hour: cost,
            cold_starts: c.cold_starts,
            cold_start_fraction: share(c.cold_requests, c.server_requests),
            p_wait: share(c.waited, c.server_requests),
            spot_interruptions: c.interruptions,
            slo_violations: c.slo_violations,
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
            mean_batch: 1.0,
            warnings: self.warnings,
            stopped: self.stopped,
            timeline: if self.timeline.is_some() {
                self.fleet_timeline
            } else {
                Vec::new()
            },
        };
        LlmFleetResult {
            fleet,
            llm,
            llm_timeline: self.timeline.unwrap_or_default(),
        }
    }
}

/// Seconds in an hour, for $ per hour over tokens per second.
const SECONDS_PER_HOUR_F: f64 = crate::model::traffic::SECONDS_PER_HOUR;
