//! sim layer: the run's limits — arrivals stop (with a warning and a structured
//! [`EarlyStop`](super::EarlyStop)) when the queue outgrows memory, the fleet cannot
//! carry the traffic, or the request limit is reached; a backlog the fleet drains is
//! noted once and simulated on.

use super::engine::Engine;
use crate::model::batching::formation;

/// Longest a queue past `max_waiting` may take to drain, at the capped fleet's
/// capacity, and still count as a backlog (of boots, say) rather than an overload.
const MAX_BACKLOG_DRAIN_S: f64 = 3600.0;

/// What a queue past `max_waiting` means.
enum Backlog {
    /// The capped fleet serves more than arrives, and soon clears the queue.
    Drains { capacity_rps: f64, rate_rps: f64 },
    /// It cannot carry the traffic; why, in words.
    Overload(String),
}

impl Engine {
    /// Records why arrivals (or the run) stopped before the horizon: the warning just
    /// pushed says it in words.
    pub(super) fn stop(&mut self, t: f64, reason: super::StopReason) {
        self.stopped = Some(super::EarlyStop {
            hour: ((t - self.warmup_s) / 3600.0).max(0.0),
            reason,
            warning: self.warnings.len().saturating_sub(1),
        });
    }

    /// Stops arrivals when the queue or the request count passes its limit. A queue
    /// past its limit that the capped fleet drains (a backlog built while servers
    /// boot) is noted once and simulated on.
    pub(super) fn check_limits(&mut self, t: f64) {
        use super::StopReason;
        let (why, reason) = if self.waiting.len()
            > self.options.max_backlog.max(self.options.max_waiting)
        {
            (
                format!(
                    "stopped arrivals at {}: {} requests were waiting, more than the {} \
                     a run may hold in memory (shorten --hours or lower the rate)",
                    self.hour_label(t),
                    self.waiting.len(),
                    self.options.max_backlog
                ),
                StopReason::MemoryLimit(self.options.max_backlog),
            )
        } else if self.waiting.len() > self.options.max_waiting {
            match self.backlog(t) {
                Backlog::Drains {
                    capacity_rps,
                    rate_rps,
                } => {
                    self.note_backlog(t, capacity_rps, rate_rps);
                    return;
                }
                Backlog::Overload(reason) => (
                    format!(
                        "overloaded: {} requests were waiting at {}; arrivals stopped \
                         there (the fleet cannot carry this traffic: {reason}; the latency \
                         shown is meaningless)",
                        self.waiting.len(),
                        self.hour_label(t)
                    ),
                    StopReason::Overload(reason),
                ),
            }
        } else if self.requests >= self.options.max_requests && self.next_arrival_s.is_finite() {
            (
                format!(
                    "stopped after {} requests at {} of {} (raise the request limit or \
                     shorten --hours)",
                    self.requests,
                    self.hour_label(t),
                    self.options.hours
                ),
                StopReason::RequestLimit(self.options.max_requests),
            )
        } else {
            return;
        };
        self.warnings.push(why);
        self.stop(t, reason);
        self.next_arrival_s = f64::INFINITY;
        self.fleet.end_accounting_at(t);
    }

    /// Whether the queue at `t` is one the fleet at its cap drains: the server-bound
    /// arrival rate against what that many servers serve in the batches this rate
    /// forms, and the time the difference takes to clear the queue.
    fn backlog(&self, t: f64) -> Backlog {
        let rate_rps = self.arrivals.rate_at_rps(t) * (1.0 - self.any_hit);
        let servers = self.fleet.max_alive();
        let window_ms = self.window_s * 1000.0;
        let batch = formation(self.max_batch, window_ms, rate_rps).mean_batch;
        // The table holds whole batches; the smaller one below a fractional mean
        // under-states the capacity, never over-states it.
        let size = (batch.floor() as usize).clamp(1, self.mean_service_s.len() - 1);
        let batch_s = self.mean_service_s[size] * self.spot_slowdown;
        let capacity_rps = f64::from(servers) * size as f64 / batch_s;
        if rate_rps >= capacity_rps {
            return Backlog::Overload(format!(
                "{rate_rps:.1} req/s reach servers that, {servers} at most, serve \
                 {capacity_rps:.1} req/s"
            ));
        }
        let drain_s = self.waiting.len() as f64 / (capacity_rps - rate_rps);
        if drain_s > MAX_BACKLOG_DRAIN_S {
            return Backlog::Overload(format!(
                "{servers} servers, at most, would take {:.1} h to clear the queue",
                drain_s / 3600.0
            ));
        }
        Backlog::Drains {
            capacity_rps,
            rate_rps,
        }
    }

    /// Says once that a long queue was a backlog the fleet drains, not an overload.
    fn note_backlog(&mut self, t: f64, capacity_rps: f64, rate_rps: f64) {
        if self.backlog_noted {
            return;
        }
        self.backlog_noted = true;
        let (_, booting, _) = self.fleet.counts();
        let cause = if booting > 0 {
            format!(" while {booting} servers booted")
        } else {
            String::new()
        };
        self.warnings.push(format!(
            "a backlog of over {} requests built up by {}{cause}: not an overload, \
             the fleet at its cap serves {capacity_rps:.1} req/s against {rate_rps:.1} \
             arriving and clears it (the waiting requests' latency includes the wait)",
            self.options.max_waiting,
            self.hour_label(t)
        ));
    }
}
