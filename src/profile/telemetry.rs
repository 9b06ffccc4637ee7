//! profile layer: NVML telemetry sampled on a thread while kernels run; without NVML the
//! report says why (the loader's own message) and nothing fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};

use super::progress::{LiveTelemetry, ProgressMeter};
use super::report::{Telemetry, TelemetrySample};

/// A running sampler; [`Sampler::stop`] returns what it saw.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<TelemetrySample>>>,
    why_unavailable: Option<String>,
}

/// Loads NVML; the error text is the loader's own message.
pub fn probe() -> Result<Nvml, String> {
    Nvml::init().map_err(|e| format!("NVML unavailable: {e}"))
}

impl Sampler {
    /// Starts sampling every `period` on a thread: GPU 0 through NVML when it loads
    /// (recorded for the report), and this process's CPU use. Each sample is also
    /// published to `meter` as live telemetry.
    pub fn start(period: Duration, meter: Arc<ProgressMeter>) -> Self {
        let (nvml, why_unavailable) = match probe() {
            Ok(n) => (Some(n), None),
            Err(why) => (None, Some(why)),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let why = why_unavailable.clone();
        let handle = std::thread::Builder::new()
            .name("costscope-telemetry".into())
            .spawn(move || sample_loop(nvml.as_ref(), why, &flag, period, &meter));
        match handle {
            Ok(h) => Sampler {
                stop,
                handle: Some(h),
                why_unavailable,
            },
            Err(e) => Sampler {
                stop,
                handle: None,
                why_unavailable: Some(format!("could not start the sampling thread: {e}")),
            },
        }
    }

    /// Stops sampling. `items` inferences ran meanwhile; energy per item comes from the
    /// energy counter (or mean power × time) when NVML worked.
    pub fn stop(mut self, items: u64) -> Telemetry {
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.handle.take().and_then(|h| h.join().ok());
        match (samples, self.why_unavailable.take()) {
            (Some(samples), None) => {
                let energy_j_per_item = energy_j(&samples)
                    .filter(|_| items > 0)
                    .map(|j| j / items as f64);
                Telemetry {
                    available: true,
                    why_unavailable: None,
                    samples,
                    energy_j_per_item,
                }
            }
            (_, why) => unavailable(why.unwrap_or_else(|| "the sampling thread panicked".into())),
        }
    }
}

/// A telemetry section that says why there is none.
pub fn unavailable(why: String) -> Telemetry {
    Telemetry {
        available: false,
        why_unavailable: Some(why),
        samples: Vec::new(),
        energy_j_per_item: None,
    }
}

fn sample_loop(
    nvml: Option<&Nvml>,
    why_unavailable: Option<String>,
    stop: &AtomicBool,
    period: Duration,
    meter: &ProgressMeter,
) -> Vec<TelemetrySample> {
    let mut out = Vec::new();
    let mut gpu_unavailable = why_unavailable;
    let dev = nvml.and_then(|n| match n.device_by_index(0) {
        Ok(d) => Some(d),
        Err(e) => {
            gpu_unavailable = Some(format!("NVML found no GPU 0: {e}"));
            None
        }
    });
    let cores = super::cpu::threads();
    let t0 = Instant::now();
    let mut cpu_prev = process_cpu_s().map(|c| (c, Instant::now()));
    while !stop.load(Ordering::Relaxed) {
        let gpu = dev.as_ref().map(|dev| TelemetrySample {
            t_s: t0.elapsed().as_secs_f64(),
            power_w: dev.power_usage().ok().map(|mw| f64::from(mw) / 1e3),
            energy_mj: dev.total_energy_consumption().ok(),
            util_pct: dev.utilization_rates().ok().map(|u| u.gpu),
            memory_used_mib: dev.memory_info().ok().map(|m| m.used >> 20),
            sm_clock_mhz: dev.clock_info(Clock::SM).ok(),
            temperature_c: dev.temperature(TemperatureSensor::Gpu).ok(),
            throttle_reasons: dev
                .current_throttle_reasons()
                .ok()
                .map(|r| format!("{r:?}")),
        });
        let cpu_now = process_cpu_s().map(|c| (c, Instant::now()));
        let process_cpu_pct = match (cpu_prev, cpu_now) {
            (Some((c0, t0)), Some((c1, t1))) if t1 > t0 => {
                Some(100.0 * (c1 - c0).max(0.0) / (t1 - t0).as_secs_f64())
            }
            _ => None,
        };
        // The first period has no earlier reading to difference against.
        if cpu_prev.is_some() || cpu_now.is_none() {
            meter.set_live(LiveTelemetry {
                gpu: gpu.clone(),
                gpu_unavailable: gpu_unavailable.clone(),
                process_cpu_pct,
                cores,
            });
        }
        cpu_prev = cpu_now;
        if let Some(g) = gpu {
            out.push(g);
        }
        // Sleep in short slices so stopping does not wait out a whole period.
        let wake = Instant::now() + period;
        while !stop.load(Ordering::Relaxed) && Instant::now() < wake {
            std::thread::sleep(Duration::from_millis(10).min(period));
        }
    }
    out
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat`; `None`
/// off Linux or when it cannot be read.
pub fn process_cpu_s() -> Option<f64> {
    #[cfg(target_os = "linux")]
    {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces) start past the last ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        // SAFETY: sysconf only reads a configuration value.
        let per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (per_s > 0).then(|| ticks / per_s as f64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Joules over the samples: the energy counter's difference, else mean power × duration.
pub fn energy_j(samples: &[TelemetrySample]) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    if let (Some(a), Some(b)) = (first.energy_mj, last.energy_mj)
        && b > a
    {
        return Some((b - a) as f64 / 1e3);
    }
    let powers: Vec<f64> = samples.iter().filter_map(|s| s.power_w).collect();
    let dt = last.t_s - first.t_s;
    (!powers.is_empty() && dt > 0.0).then(|| powers.iter().sum::<f64>() / powers.len() as f64 * dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_never_fails_and_explains_absence() {
        let meter = Arc::new(ProgressMeter::default());
        let sampler = Sampler::start(Duration::from_millis(10), meter.clone());
        std::thread::sleep(Duration::from_millis(60));
        let t = sampler.stop(10);
        let live = meter.snapshot().live;
        assert_eq!(
            live.gpu.is_some(),
            t.available,
            "live GPU samples iff NVML works"
        );
        if t.available {
            assert!(t.why_unavailable.is_none());
        } else {
            let why = t.why_unavailable.expect("a reason");
            assert!(why.starts_with("NVML unavailable"), "{why}");
            assert!(t.samples.is_empty() && t.energy_j_per_item.is_none());
            assert_eq!(live.gpu_unavailable.as_deref(), Some(why.as_str()));
        }
    }

    #[test]
    fn process_cpu_time_grows_with_work() {
        let Some(before) = process_cpu_s() else {
            // Only Linux exposes /proc/self/stat; elsewhere None is the documented answer.
            #[cfg(target_os = "linux")]
            panic!("/proc/self/stat is readable on Linux");
            #[cfg(not(target_os = "linux"))]
            return;
        };
        let t0 = Instant::now();
        let mut x = 0u64;
        while t0.elapsed() < Duration::from_millis(80) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let after = process_cpu_s().expect("still readable");
        assert!(after - before >= 0.03, "{before} -> {after}");
    }

    #[test]
    fn energy_from_counter_or_power() {
        let s = |t_s, power_w, energy_mj| TelemetrySample {
            t_s,
            power_w,
            energy_mj,
            util_pct: None,
            memory_used_mib: None,
            sm_clock_mhz: None,
            temperature_c: None,
            throttle_reasons: None,
        };
        assert_eq!(
            energy_j(&[s(0.0, None, Some(1000)), s(1.0, None, Some(3000))]),
            Some(2.0)
        );
        assert_eq!(
            energy_j(&[s(0.0, Some(10.0), None), s(2.0, Some(30.0), None)]),
            Some(40.0)
        );
        assert_eq!(energy_j(&[]), None);
    }
}
