//! sim layer: exact reference results the simulator is checked against where the
//! analytic model only approximates (used by tests and `examples/sim_table.rs`).

/// Exact cold-start fraction of an on-demand fleet with MRU dispatch, no boot time, no
/// cap and exponential service (M/M/∞ busy count B): MRU keeps alive exactly the running
/// maximum of B over the last T, so an arrival finding B = j is cold iff B stayed ≤ j for
/// the past T — by reversibility, iff the first passage j → j+1 takes longer than T.
/// That survival is computed by uniformisation of the birth–death chain on 0..=j.
///
/// Rates and times must be positive. The cost is O(j·(λ + jμ)·T) per level, so this is
/// a reference for tests, not something the model could run in a sweep.
pub fn exact_on_demand_cold_fraction(rate_per_s: f64, service_s: f64, timeout_s: f64) -> f64 {
    let (lam, mu) = (rate_per_s, 1.0 / service_s);
    let load = lam / mu;
    let mut p_j = (-load).exp(); // Poisson(load) at j = 0
    let mut cold = 0.0;
    for j in 0..200usize {
        if j > 0 {
            p_j *= load / j as f64;
        }
        if p_j < 1e-13 {
            if j as f64 > load {
                break;
            }
            continue;
        }
        let q = lam + j as f64 * mu;
        let qt = q * timeout_s;
        let steps = (qt + 12.0 * qt.sqrt() + 30.0) as usize;
        let mut v = vec![0.0; j + 1];
        v[j] = 1.0;
        let mut poisson = (-qt).exp();
        let mut survival = poisson;
        for k in 1..steps {
            let mut next = vec![0.0; j + 1];
            for (i, &x) in v.iter().enumerate() {
                let (up, down) = (lam / q, i as f64 * mu / q);
                next[i] += x * (1.0 - up - down);
                if i > 0 {
                    next[i - 1] += x * down;
                }
                if i < j {
                    next[i + 1] += x * up;
                } // from j, "up" is absorption: the level-(j+1) instance is reused
            }
            v = next;
            poisson *= qt / k as f64;
            survival += poisson * v.iter().sum::<f64>();
        }
        cold += p_j * survival;
    }
    cold
}

#[cfg(test)]
mod tests {
    #[test]
    fn single_level_is_exp_minus_lambda_t() {
        // Load 10⁻⁵: level 1 dominates and its gap is exactly Exp(λ); higher levels
        // add at most P(B ≥ 1) ≈ 10⁻⁵.
        let c = super::exact_on_demand_cold_fraction(0.01, 1e-3, 60.0);
        assert!((c - (-0.6f64).exp()).abs() < 2e-5, "{c}");
    }
}
