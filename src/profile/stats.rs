//! profile layer: repeated timing until the coefficient of variation settles, and its summary.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::ProfileError;

/// How a sample was timed. Written in reports as the strings `timestamp` and `wall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum TimingMethod {
    /// GPU timestamp queries at the ends of the compute pass.
    Timestamp,
    /// The host clock around submit + poll (or around the CPU call).
    Wall,
}

impl TimingMethod {
    /// The report's text.
    pub fn name(self) -> &'static str {
        match self {
            TimingMethod::Timestamp => "timestamp",
            TimingMethod::Wall => "wall",
        }
    }
}

impl From<TimingMethod> for String {
    fn from(m: TimingMethod) -> Self {
        m.name().to_owned()
    }
}

impl TryFrom<String> for TimingMethod {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        match text.as_str() {
            "timestamp" => Ok(TimingMethod::Timestamp),
            "wall" => Ok(TimingMethod::Wall),
            other => Err(format!(
                "unknown timing method `{other}` (expected timestamp or wall)"
            )),
        }
    }
}

impl std::fmt::Display for TimingMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// Summary of repeated timings of one kernel (all milliseconds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// GPU timestamp queries or the wall clock.
    pub method: TimingMethod,
    /// Median sample.
    pub median_ms: f64,
    /// 5th percentile.
    pub p5_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Fastest sample.
    pub min_ms: f64,
    /// Slowest sample.
    pub max_ms: f64,
    /// Coefficient of variation (standard deviation / mean); 0 when there is a single
    /// sample (then `stable` is false).
    pub cv: f64,
    /// True when the target CV was reached before the budget ran out.
    pub stable: bool,
    /// Number of timed samples (warm-up excluded).
    pub samples: usize,
}

/// How long and how often to sample one measurement (not to be confused with a serving
/// plan).
#[derive(Clone, Copy, Debug)]
pub struct SamplingBudget {
    /// Untimed runs before sampling starts.
    pub warmup: usize,
    /// Samples taken even if the CV is reached earlier.
    pub min_samples: usize,
    /// Hard cap on samples.
    pub max_samples: usize,
    /// Stop once the CV is at most this.
    pub target_cv: f64,
    /// Stop once this much wall time was spent sampling (at least `min_samples` unless a
    /// single sample is longer than the budget, then at least 3).
    pub time: Duration,
}

impl SamplingBudget {
    /// `time` of sampling to reach `target_cv`, with sensible counts.
    pub fn new(time: Duration, target_cv: f64) -> Self {
        SamplingBudget {
            warmup: 2,
            min_samples: 5,
            max_samples: 1000,
            target_cv,
            time,
        }
    }
}

/// Calls `sample` (which returns one duration in ms) until the budget says stop; the first
/// `warmup` calls are discarded.
pub fn measure(
    method: TimingMethod,
    budget: &SamplingBudget,
    mut sample: impl FnMut() -> Result<f64, ProfileError>,
) -> Result<Timing, ProfileError> {
    for _ in 0..budget.warmup {
        sample()?;
    }
    let start = Instant::now();
    let mut xs = Vec::new();
    loop {
        xs.push(sample()?);
        let cv = coefficient_of_variation(&xs);
        let over_budget = start.elapsed() >= budget.time;
        if xs.len() >= budget.max_samples
            || (xs.len() >= budget.min_samples && cv <= budget.target_cv)
            || (over_budget && xs.len() >= 3.min(budget.min_samples))
        {
            return Ok(summarize(method, &xs, budget.target_cv));
        }
    }
}

/// Summarises samples (ms); `stable` means CV ≤ `target_cv`.
pub fn summarize(method: TimingMethod, xs: &[f64], target_cv: f64) -> Timing {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    // A single sample has no spread to measure: report 0 and never call it stable.
    let cv = coefficient_of_variation(&s);
    let (cv, stable) = if cv.is_finite() {
        (cv, cv <= target_cv)
    } else {
        (0.0, false)
    };
    Timing {
        method,
        median_ms: percentile(&s, 50.0),
        p5_ms: percentile(&s, 5.0),
        p95_ms: percentile(&s, 95.0),
        p99_ms: percentile(&s, 99.0),
        min_ms: s.first().copied().unwrap_or(0.0),
        max_ms: s.last().copied().unwrap_or(0.0),
        cv,
        stable,
        samples: s.len(),
    }
}

/// Linear-interpolated percentile of sorted data (`p` in 0..=100); 0 for no data.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let pos = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}

/// Sample standard deviation over mean; infinite for fewer than two samples.
pub fn coefficient_of_variation(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::INFINITY;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return f64::INFINITY;
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    var.sqrt() / mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&s, 50.0), 3.0);
        assert_eq!(percentile(&s, 0.0), 1.0);
        assert_eq!(percentile(&s, 100.0), 5.0);
        assert!((percentile(&s, 95.0) - 4.8).abs() < 1e-12);
    }

    #[test]
    fn single_sample_is_finite_and_unstable() {
        let t = summarize(TimingMethod::Wall, &[4.0], 0.02);
        assert_eq!(
            (t.cv, t.stable, t.samples, t.median_ms),
            (0.0, false, 1, 4.0)
        );
    }

    #[test]
    fn constant_samples_stop_at_min_and_are_stable() {
        let budget = SamplingBudget::new(Duration::from_secs(10), 0.02);
        let mut calls = 0;
        let t = measure(TimingMethod::Wall, &budget, || {
            calls += 1;
            Ok(2.0)
        })
        .expect("no error");
        assert_eq!(t.samples, budget.min_samples);
        assert_eq!(calls, budget.min_samples + budget.warmup);
        assert!(t.stable && t.cv == 0.0 && t.median_ms == 2.0);
    }

    #[test]
    fn noisy_samples_end_at_budget_unstable() {
        let budget = SamplingBudget::new(Duration::from_millis(20), 0.02);
        let mut i = 0u32;
        let t = measure(TimingMethod::Wall, &budget, || {
            i += 1;
            std::thread::sleep(Duration::from_millis(1));
            Ok(if i.is_multiple_of(2) { 1.0 } else { 3.0 })
        })
        .expect("no error");
        assert!(!t.stable);
        assert!(t.cv > 0.3);
        assert_eq!((t.min_ms, t.max_ms), (1.0, 3.0));
    }
}
