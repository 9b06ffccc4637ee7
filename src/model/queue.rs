//! Model layer: M/G/c queue formulas — Erlang B/C by stable recurrence, Allen–Cunneen
//! mean wait, and the exact M/M/c response-time tail.
//!
//! Everything returns `Option` where the queue may be unstable (load ≥ servers), so no
//! NaN or infinity can leave the model.

/// Two exponential rates closer than this (relative) take the limit form of the
/// hypoexponential, where the general one divides by their difference.
const SAME_RATE_REL: f64 = 1e-9;

/// Erlang B (blocking probability) for `servers` servers and offered load `load`
/// (in Erlangs, λ/μ), by the recurrence B(k) = a·B(k−1) / (k + a·B(k−1)).
///
/// The recurrence has no factorials or powers, so it is stable for thousands of
/// servers. Returns `None` for a negative or non-finite load.
pub fn erlang_b(servers: u32, load: f64) -> Option<f64> {
    if !load.is_finite() || load < 0.0 {
        return None;
    }
    let mut b = 1.0;
    for k in 1..=servers {
        b = load * b / (f64::from(k) + load * b);
    }
    Some(b)
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue.
///
/// Computed from Erlang B: C = B / (1 − ρ(1 − B)), ρ = a/c. `None` when the queue is
/// unstable (a ≥ c) or the input is invalid.
pub fn erlang_c(servers: u32, load: f64) -> Option<f64> {
    let b = erlang_b(servers, load)?;
    erlang_c_from_b(servers, load, b)
}

/// Erlang C from an already computed Erlang B value (for sweeps over `servers`).
pub fn erlang_c_from_b(servers: u32, load: f64, erlang_b: f64) -> Option<f64> {
    if servers == 0 || load >= f64::from(servers) {
        return None;
    }
    let rho = load / f64::from(servers);
    let c = erlang_b / (1.0 - rho * (1.0 - erlang_b));
    c.is_finite().then_some(c.clamp(0.0, 1.0))
}

/// Mean queueing delay (seconds) of an M/G/c (strictly G/G/c) queue by Allen–Cunneen:
/// W_q ≈ W_q(M/M/c) · (c_a² + c_s²) / 2, exact for M/M/c (both CVs 1).
///
/// `arrival_rate_per_s` λ, `service_rate_per_s` μ per server. `None` if unstable.
pub fn allen_cunneen_wait_s(
    servers: u32,
    arrival_rate_per_s: f64,
    service_rate_per_s: f64,
    arrival_cv: f64,
    service_cv: f64,
) -> Option<f64> {
    if service_rate_per_s <= 0.0 || !service_rate_per_s.is_finite() {
        return None;
    }
    let load = arrival_rate_per_s / service_rate_per_s;
    let c = erlang_c(servers, load)?;
    let spare_per_s = f64::from(servers) * service_rate_per_s - arrival_rate_per_s;
    let mmc = c / spare_per_s;
    let wait = mmc * (arrival_cv * arrival_cv + service_cv * service_cv) / 2.0;
    wait.is_finite().then_some(wait)
}

/// P(X + Y > x) for independent X ~ Exp(a), Y ~ Exp(b) (rates per unit of x).
///
/// Uses the limit form (1 + a·x)·e^{−a·x} when the two rates (nearly) coincide.
pub fn hypoexp_survival(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let scale = a.max(b);
    if (a - b).abs() <= SAME_RATE_REL * scale {
        let r = 0.5 * (a + b);
        return ((1.0 + r * x) * (-r * x).exp()).clamp(0.0, 1.0);
    }
    ((b * (-a * x).exp() - a * (-b * x).exp()) / (b - a)).clamp(0.0, 1.0)
}

/// Density of X + Y for X ~ Exp(a), Y ~ Exp(b).
pub fn hypoexp_density(a: f64, b: f64, x: f64) -> f64 {
    if x < 0.0 {
        return 0.0;
    }
    let scale = a.max(b);
    if (a - b).abs() <= SAME_RATE_REL * scale {
        let r = 0.5 * (a + b);
        return r * r * x * (-r * x).exp();
    }
    (a * b * ((-a * x).exp() - (-b * x).exp()) / (b - a)).max(0.0)
}

/// [`hypoexp_survival`] and [`hypoexp_density`] at one `x`, sharing their
/// exponentials (a quantile search needs both at every step); the same values as the
/// two separately.
pub fn hypoexp_survival_density(a: f64, b: f64, x: f64) -> (f64, f64) {
    if x < 0.0 {
        return (1.0, 0.0);
    }
    let scale = a.max(b);
    if (a - b).abs() <= SAME_RATE_REL * scale {
        let r = 0.5 * (a + b);
        let e = (-r * x).exp();
        let survival = if x <= 0.0 {
            1.0
        } else {
            ((1.0 + r * x) * e).clamp(0.0, 1.0)
        };
        return (survival, r * r * x * e);
    }
    let (ea, eb) = ((-a * x).exp(), (-b * x).exp());
    let survival = if x <= 0.0 {
        1.0
    } else {
        ((b * ea - a * eb) / (b - a)).clamp(0.0, 1.0)
    };
    (survival, (a * b * (ea - eb) / (b - a)).max(0.0))
}

/// Exact response-time tail of an M/M/c queue:
/// P(T > t) = (1−C)·e^{−μt} + C·(ν·e^{−μt} − μ·e^{−νt})/(ν − μ), ν = cμ − λ.
///
/// Returns `None` when the queue is unstable.
pub fn mmc_response_survival(
    servers: u32,
    arrival_rate_per_s: f64,
    service_rate_per_s: f64,
    t_s: f64,
) -> Option<f64> {
    let load = arrival_rate_per_s / service_rate_per_s;
    let c = erlang_c(servers, load)?;
    let nu = f64::from(servers) * service_rate_per_s - arrival_rate_per_s;
    let mu = service_rate_per_s;
    let no_wait = (-mu * t_s.max(0.0)).exp();
    Some((1.0 - c) * no_wait + c * hypoexp_survival(nu, mu, t_s))
}

/// The `q` quantile (0 < q < 1) of the exact M/M/c response time, seconds, by
/// bisection on [`mmc_response_survival`]. `None` when unstable or `q` is out of range.
pub fn mmc_response_quantile_s(
    servers: u32,
    arrival_rate_per_s: f64,
    service_rate_per_s: f64,
    q: f64,
) -> Option<f64> {
    if !(q > 0.0 && q < 1.0) {
        return None;
    }
    let tail = 1.0 - q;
    let survival =
        |t: f64| mmc_response_survival(servers, arrival_rate_per_s, service_rate_per_s, t);
    let mut hi = 1.0 / service_rate_per_s;
    while survival(hi)? > tail {
        hi *= 2.0;
        if !hi.is_finite() {
            return None;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if survival(mid)? > tail {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_the_issue_example() {
        // λ = 8/s, μ = 1/s, c = 10: P(wait) = 0.4092 (textbook Erlang C table).
        let c = erlang_c(10, 8.0).unwrap();
        assert!((c - 0.409_2).abs() < 5e-5, "{c}");
    }

    #[test]
    fn erlang_c_mm1_is_rho() {
        for rho in [0.1, 0.5, 0.9, 0.99] {
            assert!((erlang_c(1, rho).unwrap() - rho).abs() < 1e-12);
        }
    }

    #[test]
    fn unstable_is_none() {
        assert!(erlang_c(4, 4.0).is_none());
        assert!(erlang_c(0, 0.5).is_none());
        assert!(allen_cunneen_wait_s(2, 3.0, 1.0, 1.0, 1.0).is_none());
    }

    #[test]
    fn mm1_quantile_is_exponential() {
        // M/M/1 response time is Exp(μ − λ): the q quantile is −ln(1−q)/(μ−λ).
        let q = mmc_response_quantile_s(1, 0.5, 1.0, 0.95).unwrap();
        let expected = -(0.05f64).ln() / 0.5;
        assert!((q - expected).abs() < 1e-9, "{q} vs {expected}");
    }
}
