//! App layer: the Warm / cold panel's simulated day — every fleet simulated over the
//! whole day on a worker (fleets in parallel), with its progress in simulated hours and
//! a cancel that leaves the last finished day in place.

use eframe::egui;

use super::job::{BackgroundJob, Worker};
use super::warm_cold_fleets::FleetSpec;
use crate::model::Plan;
use crate::model::traffic::DAY_HOURS;
use crate::sim::{SimError, SimOptions, SimResult, simulate_observed};

/// Most requests the panel simulates per fleet. The simulator's memory does not grow
/// with requests (a histogram, a per-minute timeline, a bounded queue), so this bounds
/// only time: about a quarter of a minute per fleet at the simulator's speed (README),
/// five times the busiest shipped preset's day (`embedding-cache`, about 2 × 10⁷).
/// Only traffic beyond any shipped preset stops short of the day, and the panel says so.
pub const DAY_MAX_REQUESTS: u64 = 100_000_000;

/// A fleet's progress is sent when it has simulated this much more (hours).
const PROGRESS_STEP_HOURS: f64 = 0.25;

/// A fleet remembers its past through its boots and idle timeouts: after this many of
/// the longest (a cold start plus an idle timeout) its servers no longer depend on how
/// the run began.
const WARMUP_MEMORIES: f64 = 5.0;

/// Shortest warm-up, hours: long enough for a boot and a timeout of every shipped
/// preset (at most 90 s + 600 s) five times over, short enough to add at most a
/// twenty-fourth to the run.
const MIN_WARMUP_HOURS: f64 = 1.0;

/// The warm-up before the day, whole hours: [`WARMUP_MEMORIES`] times the longest cold
/// start plus idle timeout among `fleets`, between [`MIN_WARMUP_HOURS`] and a day; a
/// day when one of them is an elastic LLM fleet.
pub fn warmup_hours(plan: &Plan, fleets: &[FleetSpec]) -> f64 {
    use crate::model::Policy;
    let timeout_s = fleets
        .iter()
        .map(|f| match f.candidate.policy {
            Policy::OnDemand { idle_timeout_s, .. } | Policy::Hybrid { idle_timeout_s, .. } => {
                idle_timeout_s
            }
            _ => 0.0,
        })
        .filter(|s| s.is_finite())
        .fold(0.0, f64::max);
    // An elastic LLM fleet remembers the previous day (`sim::verify::steady_warmup_hours`).
    let steady = fleets
        .iter()
        .map(|f| crate::sim::verify::steady_warmup_hours(&f.candidate.apply_to(plan)))
        .fold(0.0, f64::max);
    if steady > 0.0 {
        return steady.min(DAY_HOURS);
    }
    let memory_s = plan.service.cold_start_s.max(0.0) + timeout_s;
    (WARMUP_MEMORIES * memory_s / crate::model::traffic::SECONDS_PER_HOUR)
        .ceil()
        .clamp(MIN_WARMUP_HOURS, DAY_HOURS)
}

/// The options the panel simulates `fleets` of `plan` with: the day after a warm-up
/// ([`warmup_hours`]) that is neither counted nor plotted, with its timeline.
pub fn day_options(plan: &Plan, fleets: &[FleetSpec], seed: u64) -> SimOptions {
    SimOptions {
        seed,
        hours: DAY_HOURS,
        warmup_hours: warmup_hours(plan, fleets),
        timeline: true,
        max_requests: DAY_MAX_REQUESTS,
        ..SimOptions::default()
    }
}

/// One simulated fleet, or why it could not run.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetDay {
    /// The fleet.
    pub spec: FleetSpec,
    /// Its simulated day, or why there is none.
    pub sim: Result<SimResult, String>,
}

/// A finished day: the plan it was simulated on and each fleet's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// The plan simulated (traffic, prices, objective).
    pub plan: Plan,
    /// The horizon asked for, hours.
    pub hours: f64,
    /// The warm-up simulated before it, neither counted nor plotted, hours.
    pub warmup_hours: f64,
    /// Seed of the run.
    pub seed: u64,
    /// Each fleet, in the order of the fleet list.
    pub fleets: Vec<FleetDay>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DayOutcome {
    /// Every fleet reached the end (or its own error).
    Finished(Box<Day>),
    /// Cancelled; the slowest fleet had reached this hour.
    Cancelled {
        /// Simulated hour of the day of the slowest fleet when it stopped (negative in
        /// the warm-up).
        hour: f64,
    },
}

/// A progress message: fleet index and the simulated hour of the day it has reached
/// (negative in the warm-up).
pub type DayProgress = (usize, f64);

/// The day's job.
pub type WarmColdJob = BackgroundJob<DayOutcome, DayProgress>;

/// The simulation in flight or finished (runtime only).
#[derive(Default)]
pub struct WarmColdRun {
    /// The worker, while it runs.
    pub job: Option<WarmColdJob>,
    /// The last finished day.
    pub day: Option<Day>,
    /// Why the last run gave no day (its worker died, or never started).
    pub error: Option<String>,
    /// A note on the last run: cancelled, and where.
    pub note: Option<String>,
    /// The hour each fleet of the run in flight has reached.
    pub progress: Vec<f64>,
    /// True once Cancel was pressed for the run in flight.
    pub cancelling: bool,
    /// The warm-up of the run in flight, hours.
    pub warmup_hours: f64,
}

impl WarmColdRun {
    /// True while the worker runs.
    pub fn running(&self) -> bool {
        self.job.as_ref().is_some_and(BackgroundJob::running)
    }

    /// Simulates a day of each of `fleets` on `plan` on a worker thread.
    pub fn start(&mut self, plan: &Plan, fleets: Vec<FleetSpec>, seed: u64, ctx: &egui::Context) {
        let options = day_options(plan, &fleets, seed);
        let warmup_hours = options.warmup_hours;
        let n = fleets.len();
        let plan = plan.clone();
        let spawned = BackgroundJob::spawn("simulator", ctx, move |w| {
            simulate_day(&plan, fleets, &options, w)
        });
        match spawned {
            Ok(job) => {
                self.follow(job);
                self.progress = vec![-warmup_hours; n];
                self.warmup_hours = warmup_hours;
            }
            Err(e) => self.error = Some(format!("cannot start the simulator thread: {e}")),
        }
    }

    /// Shows `job` as the simulation in flight (the last day stays until it ends).
    pub fn follow(&mut self, job: WarmColdJob) {
        self.job = Some(job);
        self.error = None;
        self.note = None;
        self.progress.clear();
        self.cancelling = false;
    }

    /// Asks the run in flight to stop; the last finished day stays.
    pub fn cancel(&mut self) {
        if let Some(job) = &self.job {
            job.cancel();
            self.cancelling = true;
        }
    }

    /// The slowest fleet's simulated hour of the day, of the run in flight (negative
    /// in the warm-up).
    pub fn hour(&self) -> f64 {
        self.progress
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(DAY_HOURS)
    }

    /// Takes progress and a finished day from the worker, or says why there is none.
    pub fn poll(&mut self) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        for (i, hour) in job.progress() {
            if let Some(p) = self.progress.get_mut(i) {
                *p = p.max(hour);
            }
        }
        let Some(outcome) = job.poll() else {
            return;
        };
        self.job = None;
        self.cancelling = false;
        match outcome {
            Ok(DayOutcome::Finished(day)) => self.day = Some(*day),
            Ok(DayOutcome::Cancelled { hour }) => {
                let at = if hour < 0.0 {
                    format!("in the warm-up, {:.1} h before the day", -hour)
                } else {
                    format!("at simulated hour {hour:.1} of {DAY_HOURS}")
                };
                self.note = Some(format!(
                    "cancelled {at}; {}",
                    if self.day.is_some() {
                        "the last finished day is shown"
                    } else {
                        "no day simulated yet"
                    }
                ));
            }
            Err(died) => self.error = Some(died.to_string()),
        }
    }
}

/// The worker: each fleet on its own thread (the OS shares the cores), each telling its
/// progress and stopping when the job is cancelled.
fn simulate_day(
    plan: &Plan,
    fleets: Vec<FleetSpec>,
    options: &SimOptions,
    w: &Worker<DayProgress>,
) -> DayOutcome {
    let sims: Vec<Result<SimResult, SimError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = fleets
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                scope.spawn(move || {
                    let p = spec.candidate.apply_to(plan);
                    // The simulator counts hours from the start of the warm-up.
                    let warmup = options.warmup_hours;
                    let mut sent = 0.0;
                    let result = simulate_observed(&p, options, &mut |hour| {
                        if hour - sent >= PROGRESS_STEP_HOURS {
                            sent = hour;
                            w.progress((i, hour - warmup));
                        }
                        !w.cancelled()
                    });
                    w.progress((i, options.hours));
                    result
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(SimError::Option {
                        name: "fleet",
                        value: "panicked".into(),
                        allowed: "a simulation that completes",
                    })
                })
            })
            .collect()
    });
    let stopped_at = sims
        .iter()
        .filter_map(|r| match r {
            Err(SimError::Cancelled { hour }) => Some(*hour - options.warmup_hours),
            _ => None,
        })
        .fold(f64::INFINITY, f64::min);
    // A cancel that came after every fleet had finished loses nothing: the day is kept.
    if stopped_at.is_finite() {
        return DayOutcome::Cancelled { hour: stopped_at };
    }
    DayOutcome::Finished(Box::new(Day {
        plan: plan.clone(),
        hours: options.hours,
        warmup_hours: options.warmup_hours,
        seed: options.seed,
        fleets: fleets
            .into_iter()
            .zip(sims)
            .map(|(spec, sim)| FleetDay {
                spec,
                sim: sim.map_err(|e| e.to_string()),
            })
            .collect(),
    }))
}

/// What the panel says of a fleet that stopped before the end of the day, in its own
/// words (the simulator's warning names command-line flags), or `None` for a whole day.
pub fn stopped_short(r: &SimResult) -> Option<String> {
    use crate::sim::StopReason;
    let stop = r.stopped.as_ref()?;
    let why = match &stop.reason {
        StopReason::RequestLimit(n) => format!(
            "after {n} requests, the most the panel simulates per fleet: lower the peak \
             request rate (Explore) to see the whole day"
        ),
        StopReason::MemoryLimit(n) => format!(
            "{n} requests were waiting, more than a run may hold in memory: the fleet is \
             far too small for this traffic"
        ),
        StopReason::Overload(reason) => format!(
            "overloaded, the fleet cannot carry this traffic ({reason}); its latency is \
             meaningless"
        ),
        StopReason::EventLimit(n) => format!(
            "after {n} events, the most a run may take: shrink the fleet or the spot \
             interruption rate"
        ),
    };
    Some(format!(
        "stopped at hour {:.1} of {DAY_HOURS}: {why}",
        stop.hour
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::traffic::{SECONDS_PER_HOUR, mean_rate_rps};

    #[test]
    fn every_shipped_preset_fits_a_whole_day_under_the_request_cap() {
        for preset in crate::plan::presets::PRESETS {
            let plan = crate::plan::presets::load(preset.name).unwrap();
            // Requests in a day: the mean rate over the day, thinned by lazy evaluation.
            let day = mean_rate_rps(&plan.workload.rate_rps)
                * plan.lazy.fraction_needed
                * DAY_HOURS
                * SECONDS_PER_HOUR;
            // Twice over: a day's Poisson count never comes near the cap.
            assert!(
                2.0 * day < DAY_MAX_REQUESTS as f64,
                "{}: {day:.0} requests a day",
                preset.name
            );
        }
    }

    #[test]
    fn a_stop_is_said_without_command_line_flags() {
        let plan = crate::plan::presets::load("textbook-mmc").unwrap();
        let options = SimOptions {
            max_requests: 1000,
            ..SimOptions::default()
        };
        let r = crate::sim::simulate(&plan, &options).unwrap();
        let said = stopped_short(&r).unwrap();
        assert!(
            said.starts_with("stopped at hour 0.0 of 24: after 1000 requests"),
            "{said}"
        );
        assert!(!said.contains("--"), "{said}");
        let whole = crate::sim::simulate(&plan, &SimOptions::default()).unwrap();
        assert_eq!(stopped_short(&whole), None);
    }
}
