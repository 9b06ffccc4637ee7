//! Model layer: when an elastic LLM fleet starts its next replica — at the first
//! arrival that finds every held replica full, out of slots (`max_num_seqs`) or out of
//! KV cache. The sequences in flight N are the M/M/∞ occupancy of the elastic model
//! ([`super::llm_elastic`]); an arrival finding N = n is turned away by the j held
//! replicas with probability f(n): 1 once n fills their slots, else the chance that
//! the tokens n running sequences hold, and its own prompt, overflow the j caches (a
//! compound sum, taken as normal). Because that sum spreads, a cache overflows at
//! fewer sequences than its mean fit, and the next replica is born sooner than a
//! fixed sequence cap says. docs/llm.md, "Over the fleet and the day", has the
//! recurrence.

use super::llm_kv::KvMoments;
use super::llm_replica::Replica;

/// Beyond this many standard deviations a cache is taken as surely full or free (the
/// normal tail there is below 1e-15).
const SURE_SIGMAS: f64 = 8.0;

/// What turns an arrival away from j held replicas.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fullness {
    /// KV tokens one replica holds.
    kv_tokens: f64,
    /// Most sequences one replica runs.
    max_num_seqs: f64,
    /// KV tokens of one running sequence: mean and variance.
    seq: KvMoments,
    /// An arriving prompt's tokens (and its first token's): mean and variance.
    prompt_mean: f64,
    prompt_var: f64,
}

impl Fullness {
    /// The fullness of replicas like `r`.
    pub(crate) fn of(r: &Replica) -> Self {
        let sd = r.prompt_tokens * r.prompt_cv;
        Self {
            kv_tokens: r.kv_capacity_tokens,
            max_num_seqs: f64::from(r.max_num_seqs.max(1)),
            seq: KvMoments::of(r),
            prompt_mean: r.prompt_tokens + 1.0,
            prompt_var: sd * sd,
        }
    }

    /// Sequences at which `j` replicas' slots are all taken: an arrival there always
    /// starts a replica.
    fn slots(&self, j: u64) -> u64 {
        (j as f64 * self.max_num_seqs).min(u64::MAX as f64) as u64
    }

    /// Probability an arrival finding `n` sequences on `j` replicas finds no room.
    fn turned_away(&self, j: u64, n: u64) -> f64 {
        if n >= self.slots(j) {
            return 1.0;
        }
        let n = n as f64;
        let mean = n * self.seq.mean_tokens + self.prompt_mean;
        let sd = (n * self.seq.var_tokens2 + self.prompt_var).sqrt();
        let z = (mean - j as f64 * self.kv_tokens) / sd.max(f64::MIN_POSITIVE);
        if z > SURE_SIGMAS {
            1.0
        } else if z < -SURE_SIGMAS {
            0.0
        } else {
            0.5 * erfc(-z / std::f64::consts::SQRT_2)
        }
    }
}

/// The complementary error function, fractional error below 1.2e-7 everywhere (the
/// Chebyshev fit of Numerical Recipes' `erfcc`).
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * (-x * x + poly).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Mean seconds from N = `j` (the level just died) until an arrival finds the `j`
/// replicas full, for an M/M/∞ occupancy of mean `m` at arrival rate `lambda`.
///
/// From state n an arrival (rate λ) is turned away with probability fₙ, else N
/// climbs; a completion (rate nμ, μ = λ/m) lowers it. With bₙ the chance of being
/// turned away before reaching n + 1 from n, and tₙ the mean time of that excursion,
/// b₀ = f₀, t₀ = 1/λ and
/// bₙ = (λfₙ + nμ·bₙ₋₁)/(λ + nμ·bₙ₋₁), tₙ = (1 + nμ·tₙ₋₁)/(λ + nμ·bₙ₋₁);
/// the answer is Σₙ≥ⱼ tₙ·Πⱼ≤ᵢ<ₙ(1 − bᵢ). With f a step at the slots it is the
/// M/M/∞ climb to them (tₙ = rₙ/λ of the climb's recurrence). Infinite when the
/// occupancy never gets there in floating point.
pub(crate) fn birth_climb_s(m: f64, lambda: f64, j: u64, full: &Fullness) -> f64 {
    if !(m > 0.0 && lambda > 0.0) {
        return f64::INFINITY;
    }
    let mu = lambda / m;
    let (mut b, mut t) = (0.0_f64, 0.0_f64);
    let (mut total, mut reach) = (0.0_f64, 1.0_f64);
    let last = full.slots(j);
    let mut n = 0_u64;
    loop {
        let f = full.turned_away(j, n);
        let down = n as f64 * mu;
        let denom = lambda + down * b;
        t = (1.0 + down * t) / denom;
        b = (lambda * f + down * b) / denom;
        if n >= j {
            total += reach * t;
            reach *= 1.0 - b;
        }
        if !total.is_finite() {
            return f64::INFINITY;
        }
        if n >= last || reach <= 0.0 {
            return total;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The M/M/∞ climb from `from` to `to` by its own recurrence r_k = 1 + r_{k−1}·k/m.
    fn climb_s(m: f64, lambda: f64, from: u64, to: u64) -> f64 {
        let mut r = 1.0;
        let mut sum = 0.0;
        for k in 0..to {
            if k > 0 {
                r = 1.0 + r * k as f64 / m;
            }
            if k >= from {
                sum += r;
            }
        }
        sum / lambda
    }

    fn slots_only(max_num_seqs: f64) -> Fullness {
        Fullness {
            kv_tokens: f64::INFINITY,
            max_num_seqs,
            seq: KvMoments {
                mean_tokens: 100.0,
                var_tokens2: 100.0,
            },
            prompt_mean: 50.0,
            prompt_var: 25.0,
        }
    }

    #[test]
    fn a_step_at_the_slots_is_the_climb_to_them() {
        for (m, j, cap) in [(3.0, 1, 8.0), (20.0, 2, 16.0), (0.5, 3, 4.0)] {
            let lambda = 0.7;
            let got = birth_climb_s(m, lambda, j, &slots_only(cap));
            let want = climb_s(m, lambda, j, j * cap as u64 + 1);
            assert!((got / want - 1.0).abs() < 1e-9, "{m} {j}: {got} vs {want}");
        }
    }

    #[test]
    fn a_spread_cache_turns_arrivals_away_sooner() {
        // The mean fit is 40 sequences per replica; the slots alone are 64.
        let mut full = slots_only(64.0);
        full.kv_tokens = 4000.0;
        let tight = KvMoments {
            mean_tokens: 100.0,
            var_tokens2: 1.0,
        };
        let wide = KvMoments {
            mean_tokens: 100.0,
            var_tokens2: 100.0 * 100.0,
        };
        let at = |seq| birth_climb_s(20.0, 1.0, 1, &Fullness { seq, ..full });
        let slots = birth_climb_s(20.0, 1.0, 1, &slots_only(64.0));
        assert!(at(wide) < at(tight) && at(tight) < slots);
        // A nearly exact cache is the climb to its mean fit (40 sequences and a
        // prompt of 50 tokens: an arrival finding 40 overflows with 4050).
        let fit = climb_s(20.0, 1.0, 1, 41);
        assert!(
            (at(tight) / fit - 1.0).abs() < 0.05,
            "{} vs {fit}",
            at(tight)
        );
    }

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_1),
            (2.0, 0.004_677_734_981_047_266),
            (-1.0, 1.842_700_792_949_715),
        ] {
            assert!((erfc(x) / want - 1.0).abs() < 2e-7, "{x}: {}", erfc(x));
        }
    }
}
