//! Model layer: result caching — Zipf hit rates, L1/L2 tiers, the (r − 1)·C_E
//! savings of reusing a computed result, and the plan with its cache turned off.

use super::types::{Cache, Plan};

/// Terms summed exactly before the Euler–Maclaurin (midpoint integral) tail.
const EXACT_TERMS: u64 = 10_000;

/// Generalised harmonic number H(n, s) = Σ_{i=1..n} i^{−s}.
///
/// Exact for the first 10 000 terms, then the midpoint integral ∫ x^{−s} dx, whose error
/// at that depth is below 1e-9 relative for the skews plans use.
pub fn harmonic(n: u64, s: f64) -> f64 {
    let exact = n.min(EXACT_TERMS);
    let mut sum = 0.0;
    for i in 1..=exact {
        sum += (i as f64).powf(-s);
    }
    if n > exact {
        let a = exact as f64 + 0.5;
        let b = n as f64 + 0.5;
        sum += if (s - 1.0).abs() < 1e-12 {
            (b / a).ln()
        } else {
            (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
        };
    }
    sum
}

/// Hit rate of a cache holding the `cache_items` most popular of `items` keys whose
/// popularity is Zipf(s): H(k, s) / H(N, s). `None` if there are no items.
pub fn zipf_hit_rate(s: f64, items: u64, cache_items: u64) -> Option<f64> {
    if items == 0 {
        return None;
    }
    let k = cache_items.min(items);
    Some((harmonic(k, s) / harmonic(items, s)).clamp(0.0, 1.0))
}

/// What a plan's cache does to traffic and latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheEffect {
    /// Fraction answered by L1.
    pub l1_hit_rate: f64,
    /// Fraction answered by L2 (of all requests).
    pub l2_hit_share: f64,
    /// Fraction that reaches the servers.
    pub miss_rate: f64,
    /// Latency of an L1 hit, ms.
    pub l1_latency_ms: f64,
    /// Latency of an L2 hit (L1 lookup + L2 lookup), ms.
    pub l2_latency_ms: f64,
    /// Lookup latency a miss pays before reaching the servers, ms.
    pub miss_lookup_ms: f64,
}

/// The effect of a plan's cache section.
pub fn effect(cache: &Cache) -> CacheEffect {
    let l1 = match &cache.zipf {
        Some(z) => zipf_hit_rate(z.s, z.items, z.cache_items).unwrap_or(0.0),
        None => cache.hit_rate,
    }
    .clamp(0.0, 1.0);
    // No cache at all: no lookup cost either.
    let lookup_ms = if l1 > 0.0 || cache.l2.is_some() {
        cache.hit_latency_ms
    } else {
        0.0
    };
    let (l2_share, l2_extra_ms) = match &cache.l2 {
        Some(t) => ((1.0 - l1) * t.hit_rate.clamp(0.0, 1.0), t.hit_latency_ms),
        None => (0.0, 0.0),
    };
    CacheEffect {
        l1_hit_rate: l1,
        l2_hit_share: l2_share,
        miss_rate: (1.0 - l1 - l2_share).max(0.0),
        l1_latency_ms: lookup_ms,
        l2_latency_ms: lookup_ms + l2_extra_ms,
        miss_lookup_ms: lookup_ms + l2_extra_ms,
    }
}

/// Whether the plan's cache does anything: answers requests, adds a lookup, or costs
/// storage. Without one, a plan with the cache off is the same plan.
pub fn has_cache(cache: &Cache) -> bool {
    effect(cache).l1_hit_rate > 0.0 || cache.l2.is_some() || cache.storage_usd_per_hour > 0.0
}

/// `plan` with its cache off: no hits (stated or Zipf), no L2, no lookup, no storage.
/// Everything else — reuse r included, which prices computed results — is kept.
pub fn without_cache(plan: &Plan) -> Plan {
    let mut off = plan.clone();
    off.cache.hit_rate = 0.0;
    off.cache.zipf = None;
    off.cache.l2 = None;
    off.cache.storage_usd_per_hour = 0.0;
    off
}

/// Savings of reusing a computed result r times instead of computing it each time:
/// (r − 1)·C_E, with C_E the cost of one evaluation. `None` for r < 1 or bad input.
pub fn reuse_savings_usd(reuse: f64, cost_per_evaluation_usd: f64) -> Option<f64> {
    (reuse >= 1.0 && reuse.is_finite() && cost_per_evaluation_usd.is_finite())
        .then_some((reuse - 1.0) * cost_per_evaluation_usd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_hit_rate_by_hand() {
        // s = 1, N = 1000, k = 100: H(100)/H(1000) = 5.187378/7.485471 = 0.692993.
        let h = zipf_hit_rate(1.0, 1000, 100).unwrap();
        assert!((h - 0.692_993).abs() < 1e-6, "{h}");
        // Uniform popularity: k/N.
        assert!((zipf_hit_rate(0.0, 1000, 250).unwrap() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn harmonic_tail_is_accurate() {
        // H(10^6, 1) = ln(10^6) + γ + 1/(2·10^6) − … = 14.392727.
        assert!((harmonic(1_000_000, 1.0) - 14.392_726_722_865).abs() < 1e-8);
    }

    #[test]
    fn reuse_savings() {
        assert_eq!(reuse_savings_usd(3.0, 0.5), Some(1.0));
        assert_eq!(reuse_savings_usd(0.5, 0.5), None);
    }
}
