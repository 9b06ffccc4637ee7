//! Model layer: response-time distributions as mixtures of simple parts, with mean
//! and quantiles.
//!
//! A request's latency is a mixture — over hours of the day, cache hits and misses,
//! cold and warm starts, waiting or not — of a constant shift plus at most two
//! exponential stages. That keeps every quantile a 1-D root find on a closed-form tail,
//! and makes M/M/c exact: no wait w.p. 1−C gives Exp(μ), a wait gives Exp(ν)+Exp(μ).

use super::evaluation::LatencyStats;
use super::queue::{hypoexp_survival, hypoexp_survival_density};

/// Relative precision of quantiles (far below any measurement's noise).
const QUANTILE_REL_TOL: f64 = 1e-9;

/// Smallest bracket the quantile search starts from and stops at, in ms (so a
/// distribution concentrated at 0 ms still has a bracket to halve).
const MIN_SPAN_MS: f64 = 1e-9;

/// One part of a latency mixture: `shift_ms` plus a random part.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// Exactly `shift_ms`.
    Point,
    /// `shift_ms` + Exp(rate per ms).
    Exp(f64),
    /// `shift_ms` + Exp(a) + Exp(b), rates per ms.
    Hypo(f64, f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Part {
    weight: f64,
    shift_ms: f64,
    stage: Stage,
}

impl Part {
    fn survival(&self, t_ms: f64) -> f64 {
        let x = t_ms - self.shift_ms;
        if x < 0.0 {
            return 1.0;
        }
        match self.stage {
            Stage::Point => 0.0,
            Stage::Exp(r) => (-r * x).exp(),
            Stage::Hypo(a, b) => hypoexp_survival(a, b, x),
        }
    }

    /// [`Self::survival`] and the density at `t_ms` together, one exponential each.
    fn survival_density(&self, t_ms: f64) -> (f64, f64) {
        let x = t_ms - self.shift_ms;
        if x < 0.0 {
            return (1.0, 0.0);
        }
        match self.stage {
            Stage::Point => (0.0, 0.0),
            Stage::Exp(r) => {
                let e = (-r * x).exp();
                (e, r * e)
            }
            Stage::Hypo(a, b) => hypoexp_survival_density(a, b, x),
        }
    }

    fn mean_ms(&self) -> f64 {
        self.shift_ms
            + match self.stage {
                Stage::Point => 0.0,
                Stage::Exp(r) => 1.0 / r,
                Stage::Hypo(a, b) => 1.0 / a + 1.0 / b,
            }
    }
}

/// The shape of a service time with a given mean and coefficient of variation, as
/// one or two branches of (probability, shift, exponential rate).
///
/// CV ≤ 1: a shifted exponential (deterministic at CV 0, exponential at CV 1).
/// CV > 1: a balanced-means two-phase hyperexponential. Both match mean and CV exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceShape {
    branches: [(f64, f64, Option<f64>); 2],
    count: usize,
}

impl ServiceShape {
    /// Shape for a service of `mean_ms` with coefficient of variation `cv`.
    pub fn new(mean_ms: f64, cv: f64) -> Self {
        let cv = cv.max(0.0);
        if cv <= 1.0 {
            let random_ms = cv * mean_ms;
            let rate = (random_ms > 0.0).then(|| 1.0 / random_ms);
            Self {
                branches: [(1.0, mean_ms - random_ms, rate), (0.0, 0.0, None)],
                count: 1,
            }
        } else {
            let c2 = cv * cv;
            let p1 = 0.5 * (1.0 + ((c2 - 1.0) / (c2 + 1.0)).sqrt());
            let p2 = 1.0 - p1;
            Self {
                branches: [
                    (p1, 0.0, Some(2.0 * p1 / mean_ms)),
                    (p2, 0.0, Some(2.0 * p2 / mean_ms)),
                ],
                count: 2,
            }
        }
    }

    fn branches(&self) -> &[(f64, f64, Option<f64>)] {
        &self.branches[..self.count]
    }
}

/// A latency distribution: a weighted mixture of parts. Weights need not sum to one;
/// they are normalised when read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mixture {
    parts: Vec<Part>,
    total_weight: f64,
}

impl Mixture {
    /// An empty mixture.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a point mass of `weight` at `at_ms` (e.g. a cache hit).
    pub fn add_point(&mut self, weight: f64, at_ms: f64) {
        self.push(Part {
            weight,
            shift_ms: at_ms,
            stage: Stage::Point,
        });
    }

    /// Adds a queue's response time with weight `weight`: `shift_ms` (fixed delays),
    /// then with probability `p_wait` an exponential wait of mean `wait_given_wait_ms`,
    /// then a service of shape `service`.
    pub fn add_response(
        &mut self,
        weight: f64,
        shift_ms: f64,
        p_wait: f64,
        wait_given_wait_ms: f64,
        service: &ServiceShape,
    ) {
        // A wait below 1e-12 probability cannot move any reported statistic; skipping
        // it halves the parts of lightly loaded hours.
        let p_wait = if wait_given_wait_ms > 0.0 && p_wait > 1e-12 {
            p_wait.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let wait_rate = 1.0 / wait_given_wait_ms.max(f64::MIN_POSITIVE);
        for &(p, s_shift, s_rate) in service.branches() {
            let shift = shift_ms + s_shift;
            let no_wait = match s_rate {
                Some(r) => Stage::Exp(r),
                None => Stage::Point,
            };
            self.push(Part {
                weight: weight * p * (1.0 - p_wait),
                shift_ms: shift,
                stage: no_wait,
            });
            let waited = match s_rate {
                Some(r) => Stage::Hypo(wait_rate, r),
                None => Stage::Exp(wait_rate),
            };
            self.push(Part {
                weight: weight * p * p_wait,
                shift_ms: shift,
                stage: waited,
            });
        }
    }

    fn push(&mut self, part: Part) {
        if !(part.weight > 0.0 && part.weight.is_finite()) {
            return;
        }
        self.total_weight += part.weight;
        // Identical consecutive parts (e.g. spot states that never wait) merge, so
        // quantiles cost no more for them.
        if let Some(last) = self.parts.last_mut()
            && last.shift_ms == part.shift_ms
            && last.stage == part.stage
        {
            last.weight += part.weight;
            return;
        }
        self.parts.push(part);
    }

    /// True when nothing has been added.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// P(T > t).
    pub fn survival(&self, t_ms: f64) -> f64 {
        if self.total_weight <= 0.0 {
            return 0.0;
        }
        let s: f64 = self.parts.iter().map(|p| p.weight * p.survival(t_ms)).sum();
        (s / self.total_weight).clamp(0.0, 1.0)
    }

    /// P(T > t) and the density at t in one pass over the parts (the same values as
    /// [`Self::survival`] and the density summed part by part).
    fn survival_density(&self, t_ms: f64) -> (f64, f64) {
        let (mut s, mut d) = (0.0, 0.0);
        for p in &self.parts {
            let (ps, pd) = p.survival_density(t_ms);
            s += p.weight * ps;
            d += p.weight * pd;
        }
        (
            (s / self.total_weight).clamp(0.0, 1.0),
            d / self.total_weight,
        )
    }

    /// Mean latency, ms; `None` when empty.
    pub fn mean_ms(&self) -> Option<f64> {
        if self.total_weight <= 0.0 {
            return None;
        }
        let m: f64 = self.parts.iter().map(|p| p.weight * p.mean_ms()).sum();
        Some(m / self.total_weight)
    }

    /// Mean, p50, p95 and p99, ms; `None` when empty or a quantile cannot be found.
    ///
    /// Each quantile is a separate root find, accurate to [`QUANTILE_REL_TOL`]; where
    /// two share a step of the distribution (a point mass such as a deterministic cold
    /// start) each may land anywhere within that tolerance of it, in either order. The
    /// true quantiles are ordered, so each is raised to the one below it: that moves a
    /// value by no more than the tolerance and makes p50 ≤ p95 ≤ p99 hold exactly.
    pub fn latency_stats(&self) -> Option<LatencyStats> {
        let mean = self.mean_ms().filter(|m| m.is_finite())?;
        let p50 = self.quantile_ms(0.50)?;
        let p95 = self.quantile_ms(0.95)?.max(p50);
        let p99 = self.quantile_ms(0.99)?.max(p95);
        Some(LatencyStats {
            mean,
            p50,
            p95,
            p99,
        })
    }

    /// The `q` quantile (0 < q < 1), ms: the smallest t with P(T ≤ t) ≥ q, found by a
    /// safeguarded Newton iteration inside a bisection bracket.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.total_weight <= 0.0 || !(q > 0.0 && q < 1.0) {
            return None;
        }
        let tail = 1.0 - q;
        let mut lo = self
            .parts
            .iter()
            .map(|p| p.shift_ms)
            .fold(f64::INFINITY, f64::min);
        if self.survival(lo) <= tail {
            return Some(lo);
        }
        let mut hi = self.mean_ms()?.max(lo + MIN_SPAN_MS) * 2.0;
        while self.survival(hi) > tail {
            lo = hi;
            hi *= 2.0;
            if !hi.is_finite() {
                return None;
            }
        }
        let mut t = 0.5 * (lo + hi);
        for _ in 0..100 {
            let (survival, d) = self.survival_density(t);
            let g = survival - tail;
            if g > 0.0 {
                lo = t;
            } else {
                hi = t;
            }
            // Newton on S(t) − tail; fall back to bisection if it leaves the bracket.
            let newton = if d > 0.0 { t + g / d } else { f64::NAN };
            let next = if newton > lo && newton < hi {
                newton
            } else {
                0.5 * (lo + hi)
            };
            // Newton may close in from one side only, so stop on a small step as well
            // as on a small bracket.
            let tol = QUANTILE_REL_TOL * next.abs().max(MIN_SPAN_MS);
            if (next - t).abs() <= tol || hi - lo <= tol {
                return Some(next.clamp(lo, hi));
            }
            t = next;
        }
        Some(hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::queue::mmc_response_quantile_s;

    #[test]
    fn mmc_mixture_matches_exact_quantile() {
        // λ = 8, μ = 1, c = 10: wait w.p. C, conditional wait Exp(ν = cμ − λ).
        let c = crate::model::queue::erlang_c(10, 8.0).unwrap();
        let mut m = Mixture::new();
        m.add_response(1.0, 0.0, c, 1000.0 / 2.0, &ServiceShape::new(1000.0, 1.0));
        for q in [0.5, 0.95, 0.99] {
            let exact = mmc_response_quantile_s(10, 8.0, 1.0, q).unwrap() * 1000.0;
            let got = m.quantile_ms(q).unwrap();
            assert!((got - exact).abs() < 1e-6 * exact, "q{q}: {got} vs {exact}");
        }
        assert!((m.mean_ms().unwrap() - 1204.6).abs() < 0.05);
    }

    #[test]
    fn service_shapes_match_mean_and_cv() {
        for cv in [0.0, 0.2, 1.0, 2.0] {
            let s = ServiceShape::new(10.0, cv);
            let mean: f64 = s
                .branches()
                .iter()
                .map(|&(p, d, r)| p * (d + r.map_or(0.0, |r| 1.0 / r)))
                .sum();
            let second: f64 = s
                .branches()
                .iter()
                .map(|&(p, d, r)| {
                    let m = r.map_or(0.0, |r| 1.0 / r);
                    p * (d * d + 2.0 * d * m + 2.0 * m * m)
                })
                .sum();
            let got_cv = (second - mean * mean).max(0.0).sqrt() / mean;
            assert!((mean - 10.0).abs() < 1e-9);
            assert!((got_cv - cv).abs() < 1e-9, "cv {cv}: {got_cv}");
        }
    }

    #[test]
    fn point_masses_give_step_quantiles() {
        let mut m = Mixture::new();
        m.add_point(0.9, 1.0);
        m.add_point(0.1, 100.0);
        assert!((m.quantile_ms(0.5).unwrap() - 1.0).abs() < 1e-9);
        assert!((m.quantile_ms(0.95).unwrap() - 100.0).abs() < 1e-6);
    }
}
