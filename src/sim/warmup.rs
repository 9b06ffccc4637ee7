//! sim layer: the warm-up — a run's first hours simulated and left out of every
//! counter and the timeline, so that the measured horizon starts from the fleet's
//! steady state instead of its cold start-up.

use super::autoscaler::Integrals;
use super::engine::Engine;
use super::stats::Histogram;

impl Engine {
    /// The end of the warm-up at `t`: every counter starts again from zero, the fleet
    /// and the queue as they are. Idle servers whose timeout ran out stop first, so
    /// that no idle time before `t` is taken back from the measured hours.
    pub(super) fn begin_measurement(&mut self, t: f64) {
        self.fleet.sweep(t);
        self.fleet.totals = Integrals::default();
        self.hist = Histogram::new();
        self.requests = 0;
        self.server_requests = 0;
        self.cold_requests = 0;
        self.cold_starts = 0;
        self.waited_requests = 0;
        self.batches = 0;
        self.batched_requests = 0;
        self.interruptions = 0;
        self.slo_violations = 0;
        self.tick_arrivals = 0;
        self.measure_from_s = t;
        self.measure_at_s = f64::INFINITY;
    }

    /// The run stopped before its warm-up ended: nothing is left out, and a warning
    /// says so.
    pub(super) fn warmup_unfinished(&mut self) {
        self.measure_at_s = f64::INFINITY;
        self.warnings.push(format!(
            "the run stopped inside its {:.2} h warm-up: its figures include the warm-up",
            self.warmup_s / 3600.0
        ));
    }

    /// `t` in words for a warning: the measured hour, or the warm-up's.
    pub(super) fn hour_label(&self, t: f64) -> String {
        if t < self.warmup_s {
            format!("hour {:.2} of the warm-up", t / 3600.0)
        } else {
            format!("hour {:.2}", (t - self.warmup_s) / 3600.0)
        }
    }
}
