//! Model layer: the first passage j → j+1 of the busy count of an M/M/∞ fleet — how
//! long the busy count takes to climb one level — which decides whether the
//! (j+1)-th most recently used instance outlived its idle timeout.
//!
//! The passage τ_j is an Exp(λ + jμ) holding time, then either a birth (done) or a death
//! followed by τ_{j−1} and a fresh τ_j. That gives its first three moments by a
//! recursion in j; a two-phase hyperexponential with the same three moments (Whitt's
//! fit) stands in for its distribution. One phase is the quick climb, the other the
//! long excursion below; an exponential with the right mean, which is what the level
//! model used before, is exact only for j = 0 and misses the cold fraction by up to 18 %
//! once several instances are alive (`docs/simulator.md`).

/// Half the squared CV above 1 that a passage time needs before a two-phase fit is
/// worth making; below it the exponential of the same mean is as good.
const MIN_EXCESS_SCV: f64 = 1e-9;

/// The first three raw moments of one passage time, in seconds, s², s³.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassageMoments {
    /// E[τ].
    pub m1: f64,
    /// E[τ²].
    pub m2: f64,
    /// E[τ³].
    pub m3: f64,
}

/// The passages τ_0, τ_1, … in turn, at arrival rate `lambda` and per-server service
/// rate `mu` (both per second, positive): an iterator, so the level model walks the
/// levels without allocating.
#[derive(Debug, Clone)]
pub struct Passages {
    lambda: f64,
    mu: f64,
    j: usize,
    /// Moments of τ_{j−1} (zeros before τ_0: its death branch has probability 0).
    prev: PassageMoments,
}

impl Passages {
    /// Starts at τ_0.
    pub fn new(lambda: f64, mu: f64) -> Self {
        Passages {
            lambda,
            mu,
            j: 0,
            prev: PassageMoments {
                m1: 0.0,
                m2: 0.0,
                m3: 0.0,
            },
        }
    }
}

impl Iterator for Passages {
    type Item = PassageMoments;

    fn next(&mut self) -> Option<PassageMoments> {
        let PassageMoments {
            m1: a1,
            m2: a2,
            m3: a3,
        } = self.prev;
        let deaths = self.j as f64 * self.mu;
        let q = self.lambda + deaths;
        // One division per level: this runs for every level of every hour in a sweep.
        let h1 = 1.0 / q;
        let (h2, h3) = (2.0 * h1 * h1, 6.0 * h1 * h1 * h1);
        let down = deaths * h1;
        let per_up = q / self.lambda;
        // τ = h + I·(τ_{j−1} + τ_j'), with I = 1 (a death first) with probability `down`;
        // each moment equation has the unknown on both sides, hence the factor 1/up.
        let b1 = (h1 + down * a1) * per_up;
        let b2 = (h2 + 2.0 * h1 * down * (a1 + b1) + down * (a2 + 2.0 * a1 * b1)) * per_up;
        let b3 = (h3
            + 3.0 * h2 * down * (a1 + b1)
            + 3.0 * h1 * down * (a2 + 2.0 * a1 * b1 + b2)
            + down * (a3 + 3.0 * a2 * b1 + 3.0 * a1 * b2))
            * per_up;
        self.prev = PassageMoments {
            m1: b1,
            m2: b2,
            m3: b3,
        };
        self.j += 1;
        Some(self.prev)
    }
}

/// Moments of τ_j for j = 0..=last (see [`Passages`]).
pub fn passage_moments(lambda: f64, mu: f64, last: usize) -> Vec<PassageMoments> {
    Passages::new(lambda, mu).take(last + 1).collect()
}

/// A mixture of exponentials standing in for a passage time: with probability `p` the
/// mean is `long_s`, otherwise `short_s` (equal means: one exponential).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyperexp {
    /// Weight of the long phase.
    pub p: f64,
    /// Mean of the long phase, s.
    pub long_s: f64,
    /// Mean of the short phase, s.
    pub short_s: f64,
}

impl Hyperexp {
    /// The fit to `m`: three moments when a two-phase hyperexponential has them, else
    /// the first two (balanced means), else an exponential with the right mean (a
    /// squared coefficient of variation at or below 1, which passage times only reach
    /// at j = 0 where they are exactly exponential).
    pub fn fit(m: PassageMoments) -> Self {
        let exponential = Hyperexp {
            p: 1.0,
            long_s: m.m1,
            short_s: m.m1,
        };
        if !(m.m1 > 0.0 && m.m1.is_finite()) {
            return exponential;
        }
        // Normalised moments u_k = E[τ^k]/k! are p·a^k + (1−p)·b^k for phase means a, b.
        let (u1, u2, u3) = (m.m1, m.m2 / 2.0, m.m3 / 6.0);
        let excess = u2 - u1 * u1; // (SCV − 1)·m1²/2
        if excess.partial_cmp(&(MIN_EXCESS_SCV * u1 * u1)) != Some(std::cmp::Ordering::Greater)
            || !u3.is_finite()
        {
            return exponential;
        }
        // a and b are the roots of x² − s·x + t with s, t from u2 = s·u1 − t and
        // u3 = s·u2 − t·u1 (Prony).
        let s = (u3 - u1 * u2) / excess;
        let t = s * u1 - u2;
        let disc = s * s - 4.0 * t;
        if disc >= 0.0 {
            let root = disc.sqrt();
            let (a, b) = ((s + root) / 2.0, (s - root) / 2.0);
            let p = (u1 - b) / (a - b);
            if b > 0.0 && a > b && p > 0.0 && p < 1.0 {
                return Hyperexp {
                    p,
                    long_s: a,
                    short_s: b,
                };
            }
        }
        // Balanced means: p·a = (1−p)·b = m1/2 with the right second moment.
        let scv = m.m2 / (m.m1 * m.m1) - 1.0;
        let p = 0.5 * (1.0 + ((scv - 1.0) / (scv + 1.0)).sqrt());
        Hyperexp {
            p,
            long_s: m.m1 / (2.0 * p),
            short_s: m.m1 / (2.0 * (1.0 - p)),
        }
    }

    /// P(τ > t).
    pub fn survival(&self, t_s: f64) -> f64 {
        self.at(t_s).0
    }

    /// E[(τ − t)⁺] = ∫_t^∞ P(τ > u) du, in seconds.
    pub fn excess_s(&self, t_s: f64) -> f64 {
        self.at(t_s).1
    }

    /// (P(τ > t), E[(τ − t)⁺]) sharing their two exponentials.
    pub fn at(&self, t_s: f64) -> (f64, f64) {
        let long = self.p * decay(t_s / self.long_s);
        let short = (1.0 - self.p) * decay(t_s / self.short_s);
        (long + short, long * self.long_s + short * self.short_s)
    }
}

/// e^{−x} for x ≥ 0, taken as 0 past x = 40 (below 5e-18). The short phase of a
/// passage is usually far past the timeout, and libm's exp is a large share of a sweep;
/// what is dropped, weighted by the phase mean t/x < t/40, stays below 1e-19·t in
/// E[(τ − t)⁺].
fn decay(x: f64) -> f64 {
    if x > 40.0 { 0.0 } else { (-x).exp() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_zero_is_exponential_in_lambda() {
        let m = passage_moments(2.0, 1.0, 0)[0];
        assert!((m.m1 - 0.5).abs() < 1e-15);
        assert!((m.m2 - 2.0 / 4.0).abs() < 1e-15);
        assert!((m.m3 - 6.0 / 8.0).abs() < 1e-15);
        let h = Hyperexp::fit(m);
        assert!((h.survival(1.0) - (-2.0f64).exp()).abs() < 1e-12);
    }

    #[test]
    fn mean_passage_is_p_below_over_the_up_crossing_rate() {
        // Birth–death identity: E[τ_j] = P(B ≤ j) / (λ·P(B = j)), B ~ Poisson(λ/μ).
        let (lambda, mu) = (3.0, 0.7);
        let load = lambda / mu;
        let moments = passage_moments(lambda, mu, 12);
        let (mut pj, mut below) = ((-load).exp(), 0.0);
        for (j, m) in moments.iter().enumerate() {
            if j > 0 {
                pj *= load / j as f64;
            }
            below += pj;
            let want = below / (lambda * pj);
            assert!(
                (m.m1 / want - 1.0).abs() < 1e-12,
                "j={j}: {} vs {want}",
                m.m1
            );
        }
    }

    #[test]
    fn the_fit_keeps_three_moments_and_its_tail_integral_is_the_mean_at_zero() {
        for m in passage_moments(1.0, 1.0, 6).into_iter().skip(1) {
            let h = Hyperexp::fit(m);
            let moment = |k: i32, fact: f64| {
                fact * (h.p * h.long_s.powi(k) + (1.0 - h.p) * h.short_s.powi(k))
            };
            assert!((moment(1, 1.0) / m.m1 - 1.0).abs() < 1e-9, "{m:?} {h:?}");
            assert!((moment(2, 2.0) / m.m2 - 1.0).abs() < 1e-9, "{m:?} {h:?}");
            assert!((moment(3, 6.0) / m.m3 - 1.0).abs() < 1e-9, "{m:?} {h:?}");
            assert!((h.excess_s(0.0) / m.m1 - 1.0).abs() < 1e-12);
            assert_eq!(h.survival(0.0), 1.0);
        }
    }

    #[test]
    fn level_one_survival_is_close_to_the_exact_value() {
        // λ = μ = 1/s, T = 1 s: P(τ_1 > 1 s) is 0.514 exactly (uniformisation,
        // `sim::reference`); the exponential with the right mean says 0.607.
        let h = Hyperexp::fit(passage_moments(1.0, 1.0, 1)[1]);
        let s = h.survival(1.0);
        assert!((s - 0.514).abs() < 0.01, "{s}");
    }
}
