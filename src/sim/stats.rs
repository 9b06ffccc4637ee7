//! sim layer: the response-time record — a log-linear histogram with 1024 bins per
//! power of two (bin width ≤ 0.1 % of the value), an exact mean and maximum — so a
//! billion requests take the same 480 KiB as a thousand.

use serde::Serialize;

/// Mantissa bits kept in a bin index: 2¹⁰ bins per octave.
const MANTISSA_BITS: u32 = 10;
/// Smallest resolved latency, ms (2⁻²⁰ ms ≈ 1 ns); smaller values share the first bin.
const MIN_MS: f64 = 1.0 / (1u64 << 20) as f64;
/// Octaves covered: 2⁻²⁰ ms … 2⁴⁰ ms (about 35 years); larger values share the last bin.
const OCTAVES: usize = 60;

/// Response-time statistics of the simulated requests, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SimLatency {
    /// Mean (exact).
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest seen (exact).
    pub max: f64,
}

impl SimLatency {
    /// The statistic an objective uses (the simulator's side of `LatencyStats::get`).
    pub fn get(&self, metric: crate::model::Metric) -> f64 {
        use crate::model::Metric;
        match metric {
            Metric::Mean => self.mean,
            Metric::P50 => self.p50,
            Metric::P95 => self.p95,
            Metric::P99 => self.p99,
        }
    }
}

/// A latency histogram. Quantiles are read at the middle of their bin, so their
/// relative error is at most 2⁻¹¹ ≈ 0.05 %.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    n: u64,
    sum_ms: f64,
    min_ms: f64,
    max_ms: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            counts: vec![0; OCTAVES << MANTISSA_BITS],
            n: 0,
            sum_ms: 0.0,
            min_ms: f64::INFINITY,
            max_ms: 0.0,
        }
    }

    /// Bin of a latency: the top bits of its IEEE-754 representation (exponent and the
    /// first mantissa bits) are a log-linear index, with no logarithm to compute.
    #[inline]
    fn bin(ms: f64) -> usize {
        let x = ms.max(MIN_MS);
        let shift = 52 - MANTISSA_BITS;
        let i = (x.to_bits() >> shift) - (MIN_MS.to_bits() >> shift);
        (i as usize).min((OCTAVES << MANTISSA_BITS) - 1)
    }

    /// The middle of bin `i`, ms.
    fn bin_mid_ms(i: usize) -> f64 {
        let shift = 52 - MANTISSA_BITS;
        let lo = f64::from_bits(((i as u64) + (MIN_MS.to_bits() >> shift)) << shift);
        let hi = f64::from_bits(((i as u64 + 1) + (MIN_MS.to_bits() >> shift)) << shift);
        0.5 * (lo + hi)
    }

    /// Records one response time, ms (negative values count as 0).
    #[inline]
    pub fn record(&mut self, ms: f64) {
        let ms = ms.max(0.0);
        self.counts[Self::bin(ms)] += 1;
        self.n += 1;
        self.sum_ms += ms;
        self.min_ms = self.min_ms.min(ms);
        self.max_ms = self.max_ms.max(ms);
    }

    /// Requests recorded.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Requests recorded above `threshold_ms` (to bin resolution: a bin counts when its
    /// middle is above the threshold).
    pub fn count_above(&self, threshold_ms: f64) -> u64 {
        let first = Self::bin(threshold_ms);
        let mut above: u64 = self.counts[first + 1..].iter().sum();
        if Self::bin_mid_ms(first) > threshold_ms {
            above += self.counts[first];
        }
        above
    }

    /// The `q`-quantile (0 < q ≤ 1) by the nearest-rank rule; `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                // The end bins also hold everything out of range: report the exact
                // extreme there rather than a bin middle.
                let ms = match i {
                    0 => self.min_ms,
                    _ if i + 1 == self.counts.len() => self.max_ms,
                    _ => Self::bin_mid_ms(i),
                };
                return Some(ms.clamp(self.min_ms, self.max_ms));
            }
        }
        Some(self.max_ms)
    }

    /// Mean, quantiles and maximum; `None` when empty.
    pub fn summary(&self) -> Option<SimLatency> {
        Some(SimLatency {
            mean: self.sum_ms / self.n.max(1) as f64,
            p50: self.quantile_ms(0.50)?,
            p95: self.quantile_ms(0.95)?,
            p99: self.quantile_ms(0.99)?,
            max: self.max_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_a_uniform_grid_are_within_bin_resolution() {
        let mut h = Histogram::new();
        for i in 1..=100_000 {
            h.record(f64::from(i) * 0.01);
        }
        let s = h.summary().unwrap();
        assert!((s.mean - 500.005).abs() < 1e-6, "{}", s.mean);
        for (q, want) in [(s.p50, 500.0), (s.p95, 950.0), (s.p99, 990.0)] {
            assert!((q - want).abs() / want < 6e-4, "{q} vs {want}");
        }
        assert_eq!(s.max, 1000.0);
        let above = h.count_above(900.0);
        assert!((9_990..=10_010).contains(&above), "{above}");
    }

    #[test]
    fn point_mass_and_extremes() {
        let mut h = Histogram::new();
        assert!(h.summary().is_none());
        h.record(0.0);
        h.record(2.0);
        h.record(1e15);
        assert_eq!(h.count(), 3);
        assert_eq!(h.quantile_ms(0.2), Some(0.0));
        let mid = h.quantile_ms(0.5).unwrap();
        assert!((mid - 2.0).abs() < 2.0 * 6e-4, "{mid}");
        assert_eq!(h.quantile_ms(1.0), Some(1e15));
    }
}
