//! sim layer: a discrete-event fleet simulator — the reference the analytic model is
//! checked against.
//!
//! Seeded and deterministic for a seed. Arrivals follow the plan's hourly rate
//! (Poisson, or gamma gaps with the plan's `arrival_cv`); lazy evaluation thins them
//! to the needed fraction; a cache answers hits at its latency; misses form batches
//! (closed when full or `window_ms` after their first request) that servers serve in
//! L(b)/speed with CV `service_cv`. Servers boot, serve, idle and stop by the policy
//! (always-on, on-demand with MRU dispatch, hybrid, spot mix with interruptions).
//! [`simulate`] returns a [`SimResult`]: latency distribution, cost, cold starts,
//! server-hours and an optional per-minute timeline.

pub mod autoscaler;
mod engine;
pub mod events;
mod limits;
pub mod llm;
mod llm_dispatch;
pub mod llm_fleet;
mod llm_fleet_report;
pub mod llm_knee;
mod llm_sched;
mod llm_seq;
pub mod reference;
pub mod rng;
mod setup;
pub mod stats;
pub mod steady;
pub mod verify;
mod warmup;

use serde::Serialize;

pub use llm_fleet::{LlmFleetResult, simulate_llm, simulate_llm_observed};
pub use setup::{simulate, simulate_observed};
pub use stats::SimLatency;

use crate::model::PolicyKind;
use crate::model::traffic::DAY_HOURS;

/// Why a plan cannot be simulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// The plan asks to optimise rather than naming a policy.
    #[error("the plan's policy is Optimize (a search); choose a concrete policy to simulate")]
    NotAPolicy,
    /// An LLM plan whose replica cannot serve (its KV cache holds no sequence).
    #[error("the plan's LLM replica cannot serve: {0}")]
    Llm(String),
    /// The plan's service curve is unusable.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// A simulation option is out of range.
    #[error("simulation option {name} = {value} is out of range (allowed: {allowed})")]
    Option {
        /// The option.
        name: &'static str,
        /// Its value.
        value: String,
        /// The allowed range in words.
        allowed: &'static str,
    },
    /// The run's observer stopped it (a Cancel button).
    #[error("the simulation was cancelled at simulated hour {hour:.2}")]
    Cancelled {
        /// The simulated hour it had reached.
        hour: f64,
    },
}

/// Why a run stopped arrivals (or stopped whole) before its horizon.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    /// It reached [`SimOptions::max_requests`], this many.
    RequestLimit(u64),
    /// More requests waited than [`SimOptions::max_backlog`] lets a run hold in memory.
    MemoryLimit(usize),
    /// The fleet at its cap could not carry the traffic; why, in words.
    Overload(String),
    /// It reached [`SimOptions::max_events`], this many.
    EventLimit(u64),
}

/// Where and why a run stopped early, for a front end that says it in its own words.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyStop {
    /// The hour of the measured horizon it stopped at (0 when it stopped in the
    /// warm-up).
    pub hour: f64,
    /// Why.
    pub reason: StopReason,
    /// Index into [`SimResult::warnings`] of the warning that says it (in words for
    /// the command line).
    pub warning: usize,
}

/// How long and how to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Seed of every random stream.
    pub seed: u64,
    /// Simulated hours of arrivals (the plan's day repeats after 24), after the
    /// warm-up.
    pub hours: f64,
    /// Hours simulated before `hours` and left out of every counter and the timeline:
    /// the run starts this long before the plan's midnight (the end of the previous
    /// day) with the policy's start-up fleet, so the measured horizon begins from the
    /// fleet's steady state rather than its cold start. 0 measures from the start-up.
    /// Requests in flight at the end of the warm-up are counted when they complete.
    /// The observer of [`simulate_observed`] hears hours since the warm-up began.
    pub warmup_hours: f64,
    /// Record a per-minute timeline.
    pub timeline: bool,
    /// Stop arrivals (with a warning) when this many requests wait for servers and
    /// the fleet at its cap cannot clear them; a backlog it clears (one built while
    /// servers boot) is noted once and simulated on, up to `max_backlog`.
    pub max_waiting: usize,
    /// Stop arrivals (with a warning) when this many requests wait, drainable or not:
    /// the waiting queue holds 8 bytes a request, so this bounds the run's memory
    /// (2²⁴ requests: 128 MiB).
    pub max_backlog: usize,
    /// Stop arrivals (with a warning) after this many requests.
    pub max_requests: u64,
    /// Stop the whole run (with a warning) after this many events — a guard against
    /// plans whose events are not requests (e.g. a storm of spot interruptions on a
    /// huge fleet over a long horizon).
    pub max_events: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            hours: DAY_HOURS,
            warmup_hours: 0.0,
            timeline: false,
            max_waiting: 1_000_000,
            max_backlog: 1 << 24,
            max_requests: 100_000_000,
            max_events: 500_000_000,
        }
    }
}

/// Server time over the simulated horizon, server-hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ServerHours {
    /// Serving (including work later lost to a spot interruption).
    pub busy: f64,
    /// Held but idle.
    pub idle: f64,
    /// Booting (cold starts and spot replacements).
    pub booting: f64,
}

/// One minute of the timeline; server counts are taken at the end of the minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MinuteRow {
    /// Minute since the start (the row covers [minute, minute + 1)).
    pub minute: u32,
    /// Requests that arrived in the minute (cache hits included).
    pub arrivals: u32,
    /// Servers serving.
    pub busy: u32,
    /// Servers booting.
    pub booting: u32,
    /// Servers held idle.
    pub idle: u32,
    /// Requests waiting for a server (batches forming or queued).
    pub queue: u32,
    /// Server and cache cost so far, dollars.
    pub cumulative_cost_usd: f64,
}

/// What a simulation measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimResult {
    /// Policy family simulated.
    pub policy: PolicyKind,
    /// Hours of arrivals actually measured, after the warm-up (less than asked when
    /// stopped early).
    pub hours: f64,
    /// Hours simulated before the measured ones and left out of every figure (0 when
    /// none, or when the run stopped before its warm-up ended: then the figures
    /// include it, and a warning says so).
    #[serde(skip_serializing_if = "is_zero")]
    pub warmup_hours: f64,
    /// Needed requests that arrived (cache hits included; lazily skipped ones are not
    /// requests).
    pub requests: u64,
    /// Requests answered (the latency statistics cover these).
    pub completed: u64,
    /// Requests that reached the servers (cache misses).
    pub server_requests: u64,
    /// Response time of completed requests; null when there were none.
    pub latency_ms: Option<SimLatency>,
    /// Servers (on-demand and spot prices) plus cache storage, per simulated hour.
    pub cost_usd_per_hour: f64,
    /// Servers started on demand for waiting requests.
    pub cold_starts: u64,
    /// Share of server requests that waited for a cold start.
    pub cold_start_fraction: f64,
    /// Share of server requests whose batch queued for a busy fleet.
    pub p_wait: f64,
    /// Spot interruptions.
    pub spot_interruptions: u64,
    /// Completed requests slower than the plan's SLO (0 without an SLO).
    pub slo_violations: u64,
    /// Server time by state.
    pub server_hours: ServerHours,
    /// Mean servers held (billed).
    pub servers_held: f64,
    /// Busy share of held server time.
    pub utilization: f64,
    /// Mean size of the batches served.
    pub mean_batch: f64,
    /// What went wrong or was left out, in words.
    pub warnings: Vec<String>,
    /// Why the run stopped before its horizon, when it did (its warning is among
    /// `warnings`; left out of JSON, which has the warning).
    #[serde(skip)]
    pub stopped: Option<EarlyStop>,
    /// Per-minute timeline (empty unless asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<MinuteRow>,
}

/// Whether a figure is zero (a warm-up left out of JSON when there was none).
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}
