//! profile layer: NVML telemetry sampled on a thread while kernels run; without NVML the
//! report says why (the loader's own message) and nothing fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};

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
    /// Starts sampling GPU 0 every `period`, or records why it cannot.
    pub fn start(period: Duration) -> Self {
        let nvml = match probe() {
            Ok(n) => n,
            Err(why) => {
                return Sampler {
                    stop: Arc::new(AtomicBool::new(true)),
                    handle: None,
                    why_unavailable: Some(why),
                };
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("costscope-nvml".into())
            .spawn(move || sample_loop(&nvml, &flag, period));
        match handle {
            Ok(h) => Sampler {
                stop,
                handle: Some(h),
                why_unavailable: None,
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

fn sample_loop(nvml: &Nvml, stop: &AtomicBool, period: Duration) -> Vec<TelemetrySample> {
    let mut out = Vec::new();
    let Ok(dev) = nvml.device_by_index(0) else {
        return out;
    };
    let t0 = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        out.push(TelemetrySample {
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
        std::thread::sleep(period);
    }
    out
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
        let t = Sampler::start(Duration::from_millis(10)).stop(10);
        if t.available {
            assert!(t.why_unavailable.is_none());
        } else {
            let why = t.why_unavailable.expect("a reason");
            assert!(why.starts_with("NVML unavailable"), "{why}");
            assert!(t.samples.is_empty() && t.energy_j_per_item.is_none());
        }
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
