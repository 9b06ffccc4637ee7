//! sim layer: the event calendar (a binary heap ordered by time, ties broken by server
//! and kind so a run is deterministic) and the arrival process that follows the plan's
//! hourly rate.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::rng::{Rng, UnitVariate};
use crate::model::traffic::{HOURS_PER_DAY, hourly_rates_rps};
use crate::model::types::Rate;

/// Seconds in an hour.
const HOUR_S: f64 = 3600.0;

/// What happens at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventKind {
    /// A server finishes its batch.
    Done,
    /// A server finishes booting.
    BootDone,
    /// A spot server is interrupted.
    Interrupt,
}

/// A scheduled event for one server. `epoch` is the server's epoch when the event was
/// scheduled: an interruption bumps the epoch, which cancels the server's pending
/// completion without searching the heap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Simulated time, seconds since the start.
    pub t_s: f64,
    /// The server it concerns.
    pub server: u32,
    /// What happens.
    pub kind: EventKind,
    /// The server's epoch when scheduled.
    pub epoch: u32,
}

impl Eq for Event {}

impl Ord for Event {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .t_s
            .total_cmp(&self.t_s)
            .then_with(|| other.server.cmp(&self.server))
            .then_with(|| other.kind.cmp(&self.kind))
    }
}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The pending events, earliest first.
#[derive(Debug, Default)]
pub struct Calendar {
    heap: BinaryHeap<Event>,
}

impl Calendar {
    /// An empty calendar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules an event.
    #[inline]
    pub fn push(&mut self, event: Event) {
        self.heap.push(event);
    }

    /// Time of the earliest event, or infinity when none is pending.
    #[inline]
    pub fn next_time_s(&self) -> f64 {
        self.heap.peek().map_or(f64::INFINITY, |e| e.t_s)
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        self.heap.pop()
    }
}

/// Arrivals of a renewal process with unit-mean gaps of a given CV, run in
/// "operational time" Λ(t) = ∫λ: each gap is a unit-mean draw consumed at the hour's
/// rate, carried over hour boundaries. With CV 1 this is exactly a Poisson process with
/// a piecewise-constant (hourly) rate; with other CVs the gaps keep their CV within an
/// hour and the mean rate follows the day exactly.
#[derive(Debug, Clone)]
pub struct Arrivals {
    rates_per_s: [f64; HOURS_PER_DAY],
    gap: UnitVariate,
    rng: Rng,
    t_s: f64,
    horizon_s: f64,
    /// The plan's time of day at run time 0, seconds into its day: a run that begins
    /// with a warm-up starts that long before midnight.
    phase_s: f64,
}

impl Arrivals {
    /// Arrivals at the plan's hourly `rate` times `scale`, with gap CV `cv`, until
    /// `horizon_s` (the day repeats after 24 hours).
    pub fn new(rate: &Rate, scale: f64, cv: f64, horizon_s: f64, rng: Rng) -> Self {
        let mut rates_per_s = hourly_rates_rps(rate);
        for r in &mut rates_per_s {
            // A rate that is not a positive finite number is treated as no traffic.
            *r = if (*r * scale).is_finite() && *r * scale > 0.0 {
                *r * scale
            } else {
                0.0
            };
        }
        Self {
            rates_per_s,
            gap: UnitVariate::with_cv(cv),
            rng,
            t_s: 0.0,
            horizon_s,
            phase_s: 0.0,
        }
    }

    /// The same arrivals with run time 0 at `day_s` seconds into the plan's day (taken
    /// modulo a day), so that a warm-up of `w` seconds ends at midnight with
    /// `day_s = day − w`.
    #[must_use]
    pub fn starting_at_day_s(mut self, day_s: f64) -> Self {
        let day = HOURS_PER_DAY as f64 * HOUR_S;
        self.phase_s = if day_s.is_finite() {
            day_s.rem_euclid(day)
        } else {
            0.0
        };
        self
    }

    /// The plan's hour (0..24) at run time `t_s`.
    fn hour_index(&self, t_s: f64) -> u64 {
        ((t_s.max(0.0) + self.phase_s) / HOUR_S) as u64
    }

    /// The arrival rate at `t_s`, requests per second (the hour's rate, scaled).
    pub fn rate_at_rps(&self, t_s: f64) -> f64 {
        let hour = self.hour_index(t_s);
        self.rates_per_s[(hour % HOURS_PER_DAY as u64) as usize]
    }

    /// Time of the next arrival, seconds; `None` past the horizon.
    #[inline]
    pub fn next_s(&mut self) -> Option<f64> {
        let mut need = self.gap.sample(&mut self.rng);
        // Counted, not recomputed from the time: with a phase, an hour's end in run
        // time may round to just below the boundary.
        let mut hour = self.hour_index(self.t_s);
        loop {
            if self.t_s >= self.horizon_s {
                return None;
            }
            // The end of the plan's hour, in run time.
            let hour_end_s = ((hour + 1) as f64 * HOUR_S - self.phase_s)
                .min(self.horizon_s)
                .max(self.t_s);
            let rate = self.rates_per_s[(hour % HOURS_PER_DAY as u64) as usize];
            let room = (hour_end_s - self.t_s) * rate;
            if rate > 0.0 && need < room {
                self.t_s += need / rate;
                return Some(self.t_s);
            }
            need -= room;
            self.t_s = hour_end_s;
            hour += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_pops_in_time_order_with_deterministic_ties() {
        let mut c = Calendar::new();
        for (t, server) in [(3.0, 0), (1.0, 5), (1.0, 2), (2.0, 1)] {
            c.push(Event {
                t_s: t,
                server,
                kind: EventKind::Done,
                epoch: 0,
            });
        }
        let order: Vec<(f64, u32)> =
            std::iter::from_fn(|| c.pop().map(|e| (e.t_s, e.server))).collect();
        assert_eq!(order, vec![(1.0, 2), (1.0, 5), (2.0, 1), (3.0, 0)]);
        assert_eq!(c.next_time_s(), f64::INFINITY);
    }

    #[test]
    fn arrivals_follow_the_hourly_rate() {
        // 2/s in hour 0, nothing in hour 1, 10/s in hour 2.
        let mut hourly = vec![0.0; 24];
        hourly[0] = 2.0;
        hourly[2] = 10.0;
        let mut a = Arrivals::new(&Rate::Hourly(hourly), 1.0, 1.5, 3.0 * HOUR_S, Rng::new(3));
        let mut per_hour = [0u32; 3];
        while let Some(t) = a.next_s() {
            per_hour[(t / HOUR_S) as usize] += 1;
        }
        assert!((per_hour[0] as f64 - 7_200.0).abs() < 400.0, "{per_hour:?}");
        assert_eq!(per_hour[1], 0);
        assert!(
            (per_hour[2] as f64 - 36_000.0).abs() < 1_000.0,
            "{per_hour:?}"
        );
    }

    #[test]
    fn a_phase_shifts_the_day() {
        // Run time 0 at 23:00 of the plan's day: the first hour is hour 23's (2/s), the
        // second hour 0's (nothing), the third hour 1's (10/s).
        let mut hourly = vec![0.0; 24];
        hourly[23] = 2.0;
        hourly[1] = 10.0;
        let mut a = Arrivals::new(&Rate::Hourly(hourly), 1.0, 1.0, 3.0 * HOUR_S, Rng::new(3))
            .starting_at_day_s(23.0 * HOUR_S);
        assert_eq!(a.rate_at_rps(0.5 * HOUR_S), 2.0);
        assert_eq!(a.rate_at_rps(2.5 * HOUR_S), 10.0);
        let mut per_hour = [0u32; 3];
        while let Some(t) = a.next_s() {
            per_hour[(t / HOUR_S) as usize] += 1;
        }
        assert!((per_hour[0] as f64 - 7_200.0).abs() < 400.0, "{per_hour:?}");
        assert_eq!(per_hour[1], 0);
        assert!(
            (per_hour[2] as f64 - 36_000.0).abs() < 1_000.0,
            "{per_hour:?}"
        );
    }
}
