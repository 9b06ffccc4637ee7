//! profile layer: how far a profile run is — work units done out of planned, the step
//! running now, and the latest live telemetry — shared with whoever draws it (the CLI's
//! bar on stderr, the app's progress bar) from any thread.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::report::TelemetrySample;

/// Progress of one run, written by the runner and the telemetry sampler, read by a UI.
///
/// Work is counted in units: one per GEMM size, one per MLP batch, one for cold start
/// and one for the peaks of a device, so a sweep over many batches weighs what it costs.
#[derive(Debug, Default)]
pub struct ProgressMeter {
    state: Mutex<MeterState>,
}

#[derive(Debug, Default)]
struct MeterState {
    done_units: u64,
    total_units: u64,
    step: String,
    started: Option<Instant>,
    finished: bool,
    live: LiveTelemetry,
}

/// The latest telemetry seen while a run is going on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveTelemetry {
    /// The latest NVML sample, when NVML works.
    pub gpu: Option<TelemetrySample>,
    /// Why there are no GPU samples (the NVML loader's message), once known.
    pub gpu_unavailable: Option<String>,
    /// CPU time this process used over the last sampling period, as a percentage of one
    /// core (200 % = two cores busy). `None` where the OS does not tell.
    pub process_cpu_pct: Option<f64>,
    /// Logical cores, so a reader can say how busy the machine's CPU is.
    pub cores: usize,
}

/// What a progress display needs at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressSnapshot {
    /// Done over planned work, in 0..=1.
    pub fraction: f64,
    /// The step running now (e.g. "cpu: f32 GEMM 128³").
    pub step: String,
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// Seconds left, extrapolated from the pace so far; `None` before any work is done.
    pub eta_s: Option<f64>,
    /// True once the run ended (finished, failed or cancelled).
    pub finished: bool,
    /// The latest live telemetry.
    pub live: LiveTelemetry,
}

impl ProgressMeter {
    fn with<R>(&self, f: impl FnOnce(&mut MeterState) -> R) -> R {
        // A panic while holding the lock cannot leave the counters inconsistent in a way
        // that matters for a progress display, so a poisoned lock is used as is.
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }

    /// Starts the clock with `total_units` of planned work.
    pub fn start(&self, total_units: u64) {
        self.with(|s| {
            *s = MeterState {
                total_units,
                started: Some(Instant::now()),
                live: std::mem::take(&mut s.live),
                ..MeterState::default()
            };
        });
    }

    /// Names the step running now.
    pub fn begin(&self, step: &str) {
        self.with(|s| step.clone_into(&mut s.step));
    }

    /// Counts `units` more work as done (never past the planned total).
    pub fn advance(&self, units: u64) {
        self.with(|s| s.done_units = (s.done_units + units).min(s.total_units));
    }

    /// Units planned for the run.
    pub fn total_units(&self) -> u64 {
        self.with(|s| s.total_units)
    }

    /// Units done so far.
    pub fn done_units(&self) -> u64 {
        self.with(|s| s.done_units)
    }

    /// Marks the work up to `mark` as done, e.g. what a device that failed midway had
    /// left, so the bar still reaches its end.
    pub fn reach(&self, mark: u64) {
        self.with(|s| s.done_units = s.done_units.max(mark.min(s.total_units)));
    }

    /// Marks the run as ended (the share done stays what it was).
    pub fn finish(&self) {
        self.with(|s| {
            s.finished = true;
            s.step.clear();
        });
    }

    /// Replaces the live telemetry (the sampler thread calls this).
    pub fn set_live(&self, live: LiveTelemetry) {
        self.with(|s| s.live = live);
    }

    /// The progress at this instant.
    pub fn snapshot(&self) -> ProgressSnapshot {
        self.with(|s| {
            let elapsed_s = s.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
            // A cancelled or failed run stays where it stopped; a finished one has
            // counted all its units.
            let fraction = if s.total_units == 0 {
                if s.finished { 1.0 } else { 0.0 }
            } else {
                s.done_units as f64 / s.total_units as f64
            };
            ProgressSnapshot {
                fraction,
                step: s.step.clone(),
                elapsed_s,
                eta_s: if s.finished {
                    None
                } else {
                    eta_s(fraction, elapsed_s)
                },
                finished: s.finished,
                live: s.live.clone(),
            }
        })
    }
}

/// Seconds left at a constant pace; `None` before any work is done or once it is all done.
pub fn eta_s(fraction: f64, elapsed_s: f64) -> Option<f64> {
    (fraction > 0.0 && fraction < 1.0 && elapsed_s > 0.0)
        .then(|| elapsed_s * (1.0 - fraction) / fraction)
}

/// `m:ss`, for elapsed and remaining times.
pub fn clock(seconds: f64) -> String {
    let total = Duration::from_secs_f64(seconds.max(0.0)).as_secs();
    format!("{}:{:02}", total / 60, total % 60)
}

impl LiveTelemetry {
    /// One short line: GPU power, utilisation, temperature and clock when NVML samples
    /// exist, and the process's CPU use; empty when nothing is known yet.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(g) = &self.gpu {
            if let Some(w) = g.power_w {
                parts.push(format!("{w:.0} W"));
            }
            if let Some(u) = g.util_pct {
                parts.push(format!("GPU {u} %"));
            }
            if let Some(t) = g.temperature_c {
                parts.push(format!("{t} °C"));
            }
            if let Some(c) = g.sm_clock_mhz {
                parts.push(format!("{c} MHz"));
            }
        }
        if let Some(c) = self.process_cpu_pct {
            parts.push(format!("CPU {:.1}/{} cores busy", c / 100.0, self.cores));
        }
        parts.join(" · ")
    }
}

/// One line with a text bar `width` cells wide, the share done, elapsed and remaining
/// time, the step and the live telemetry — what the CLI redraws on stderr.
pub fn render_line(p: &ProgressSnapshot, width: usize) -> String {
    let filled = ((p.fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    let mut line = format!(
        "[{}{}] {:>3.0} % {}",
        "#".repeat(filled),
        "-".repeat(width - filled),
        100.0 * p.fraction,
        clock(p.elapsed_s)
    );
    if let Some(eta) = p.eta_s {
        line += &format!(" (~{} left)", clock(eta));
    }
    if p.finished && p.fraction < 1.0 {
        line += " stopped";
    }
    if !p.step.is_empty() {
        line += &format!(" {}", p.step);
    }
    let live = p.live.summary();
    if !live.is_empty() {
        line += &format!(" · {live}");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_units_and_never_passes_the_plan() {
        let m = ProgressMeter::default();
        m.start(10);
        m.begin("cpu: f32 GEMM 128³");
        m.advance(3);
        let s = m.snapshot();
        assert_eq!(s.fraction, 0.3);
        assert_eq!(s.step, "cpu: f32 GEMM 128³");
        assert!(!s.finished);
        m.advance(20);
        assert_eq!(m.done_units(), 10);
        m.start(4);
        m.reach(2);
        m.reach(1);
        assert_eq!(m.snapshot().fraction, 0.5);
        m.finish();
        let s = m.snapshot();
        assert!(s.finished && s.fraction == 0.5 && s.step.is_empty());
        assert_eq!(s.eta_s, None, "nothing is left to wait for");
        assert!(render_line(&s, 4).starts_with("[##--]  50 % 0:00 stopped"));
        m.reach(4);
        assert_eq!(m.snapshot().fraction, 1.0);
    }

    #[test]
    fn eta_only_between_start_and_end() {
        assert_eq!(eta_s(0.0, 5.0), None);
        assert_eq!(eta_s(1.0, 5.0), None);
        assert_eq!(eta_s(0.25, 10.0), Some(30.0));
        assert_eq!(clock(75.4), "1:15");
        assert_eq!(clock(-3.0), "0:00");
    }

    #[test]
    fn line_shows_bar_times_step_and_telemetry() {
        let p = ProgressSnapshot {
            fraction: 0.5,
            step: "gpu: tuning f32 GEMM 128³".into(),
            elapsed_s: 10.0,
            eta_s: Some(10.0),
            finished: false,
            live: LiveTelemetry {
                gpu: Some(TelemetrySample {
                    t_s: 1.0,
                    power_w: Some(312.4),
                    energy_mj: None,
                    util_pct: Some(97),
                    memory_used_mib: None,
                    sm_clock_mhz: None,
                    temperature_c: Some(61),
                    throttle_reasons: None,
                }),
                gpu_unavailable: None,
                process_cpu_pct: Some(101.0),
                cores: 2,
            },
        };
        assert_eq!(
            render_line(&p, 10),
            "[#####-----]  50 % 0:10 (~0:10 left) gpu: tuning f32 GEMM 128³ · 312 W · GPU 97 % · 61 °C · CPU 1.0/2 cores busy"
        );
    }
}
