//! Model layer: the KV cache as a shared pool of tokens — the spread of a running
//! sequence's context (length-biased output so far, gamma prompt and output lengths)
//! and the admission wait it causes, by Hayward's equivalent-server approximation.
//! docs/llm.md, "The KV cache's spread", derives it.

use super::llm_replica::Replica;

/// The first two moments of the KV tokens one running sequence holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KvMoments {
    /// Mean KV tokens (context and half a block of rounding).
    pub mean_tokens: f64,
    /// Variance of the KV tokens, tokens².
    pub var_tokens2: f64,
}

impl KvMoments {
    /// The moments for `r`'s token mix. A running sequence is seen with probability
    /// proportional to its time running, which is proportional to its output O: the
    /// output length is length-biased and the output so far G is uniform on [0, O].
    /// With O gamma of mean m and CV c, E[Oᵏ⁺¹]/E[O] gives E[G] = m(1 + c²)/2 and
    /// E[G²] = m²(1 + c²)(1 + 2c²)/3; the prompt (gamma, CV c_P) is independent of
    /// O and unbiased; the block rounding is uniform on [0, block).
    pub fn of(r: &Replica) -> Self {
        let (m, c2) = (r.output_tokens, r.output_cv * r.output_cv);
        let g_mean = m * (1.0 + c2) / 2.0;
        let g_sq = m * m * (1.0 + c2) * (1.0 + 2.0 * c2) / 3.0;
        let prompt_sd = r.prompt_tokens * r.prompt_cv;
        Self {
            mean_tokens: r.kv_tokens_per_seq(),
            var_tokens2: prompt_sd * prompt_sd
                + (g_sq - g_mean * g_mean)
                + r.block_tokens * r.block_tokens / 12.0,
        }
    }

    /// Peakedness of the cache's occupancy in tokens: E[X²]/E[X]. The running set is
    /// Poisson (an M/G/∞ occupancy below the cap), so the tokens it holds are a
    /// compound Poisson sum, of variance n·E[X²] against a mean of n·E[X].
    pub fn peakedness_tokens(&self) -> f64 {
        (self.var_tokens2 + self.mean_tokens * self.mean_tokens) / self.mean_tokens
    }
}

/// Erlang B for a real number of servers: the recurrence 1/B(x) = 1 + (x/a)/B(x − 1)
/// from B(r) for the fractional part r, with 1/B(r) = (1 + 1/a)^r — exact at r = 0
/// and r = 1 and, by Jensen, an upper bound of the integral form
/// a∫e^(−at)(1 + t)^r dt between them.
pub fn erlang_b_real(servers: f64, load: f64) -> Option<f64> {
    if !(load.is_finite() && load > 0.0 && servers.is_finite() && servers >= 0.0) {
        return None;
    }
    let whole = servers.floor();
    let mut inv_b = (1.0 + 1.0 / load).powf(servers - whole);
    let mut x = servers - whole;
    for _ in 0..whole as u64 {
        x += 1.0;
        inv_b = 1.0 + x / load * inv_b;
    }
    Some(1.0 / inv_b)
}

/// Erlang C for a real number of servers (from [`erlang_b_real`]); `None` when the
/// load reaches the servers.
pub fn erlang_c_real(servers: f64, load: f64) -> Option<f64> {
    if load >= servers {
        return None;
    }
    let b = erlang_b_real(servers, load)?;
    let rho = load / servers;
    Some(b / (1.0 - rho * (1.0 - b)))
}

/// The KV cache's admission wait with `n` sequences running on average:
/// (probability an arrival waits, mean wait over all arrivals, ms). `drain_per_ms` is
/// how fast a full cache's queue shrinks: the requests per ms a full cache completes
/// (its sequences at the slower decode step of a full cache) less the arrivals.
///
/// Hayward's approximation for peaked traffic: a pool of K tokens offered a compound
/// Poisson occupancy of peakedness z = E[X]·Z (Z = E[X²]/E[X]²) waits like an M/G/c
/// queue of c = K/z servers offered n·E[X]/z — each equivalent customer Z requests.
/// The utilisation n·E[X]/K is the mean-context one; the spread makes the servers
/// fewer, so the queue forms earlier. Those that wait drain as a queue of Z-request
/// customers: Z/drain, times Allen–Cunneen's (c_a² + c_s²)/2; with a residence that
/// does not depend on the running count, Z/drain = R/(c − a) as in Allen–Cunneen.
pub fn kv_admission_wait(r: &Replica, n: f64, drain_per_ms: f64, cv2_sum: f64) -> (f64, f64) {
    let kv = KvMoments::of(r);
    let z = kv.peakedness_tokens();
    let requests_per_customer = z / kv.mean_tokens;
    let servers = r.kv_capacity_tokens / z;
    let load = n / requests_per_customer;
    match erlang_c_real(servers, load) {
        Some(c) if n > 0.0 && drain_per_ms > 0.0 => {
            (c, c * requests_per_customer / drain_per_ms * cv2_sum / 2.0)
        }
        _ => (0.0, 0.0),
    }
}

/// Light load, as a share of the capacity, that the knee's TTFT is measured against.
pub const KNEE_LIGHT_LOAD: f64 = 0.1;

/// How many times its light-load value the mean TTFT is at the knee.
pub const KNEE_TTFT_FACTOR: f64 = 2.0;

/// Bisection steps of the knee search (relative precision 2⁻⁴⁰).
const KNEE_STEPS: usize = 40;

/// The capacity knee, req/s: the rate at which the mean TTFT reaches
/// [`KNEE_TTFT_FACTOR`] × its value at [`KNEE_LIGHT_LOAD`] of the capacity (bisection;
/// the TTFT grows with the rate). The capacity when it never does.
pub fn ttft_knee_rps(r: &Replica) -> f64 {
    let cap = r.capacity_rps();
    let ttft = |rate: f64| r.steady(rate).map_or(f64::INFINITY, |s| s.ttft_mean_ms());
    let target = KNEE_TTFT_FACTOR * ttft(KNEE_LIGHT_LOAD * cap);
    let (mut lo, mut hi) = (KNEE_LIGHT_LOAD * cap, cap);
    for _ in 0..KNEE_STEPS {
        let mid = 0.5 * (lo + hi);
        if ttft(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::queue::erlang_b;

    #[test]
    fn real_erlang_b_is_erlang_b_at_whole_servers_and_between_them_elsewhere() {
        for (c, a) in [(1u32, 0.5), (7, 3.7), (37, 29.4), (64, 60.0)] {
            let exact = erlang_b(c, a).unwrap();
            let real = erlang_b_real(f64::from(c), a).unwrap();
            assert!((real / exact - 1.0).abs() < 1e-12, "{c} {a}");
            let mid = erlang_b_real(f64::from(c) + 0.5, a).unwrap();
            let next = erlang_b(c + 1, a).unwrap();
            assert!(
                mid < exact && mid > next,
                "{c} {a}: {next} < {mid} < {exact}"
            );
        }
        assert!(erlang_c_real(3.5, 3.5).is_none());
        assert!(erlang_c_real(3.5, 3.4).unwrap() > erlang_c_real(3.5, 3.0).unwrap());
    }
}
