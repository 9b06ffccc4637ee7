//! Model layer: lazy evaluation — compute only the fraction p of results that is needed.

/// Expected cost when only a fraction `p` of results is computed: E[C] = p·C_full.
/// `None` unless 0 ≤ p ≤ 1 and the cost is finite.
pub fn expected_cost(fraction_needed: f64, full_cost: f64) -> Option<f64> {
    ((0.0..=1.0).contains(&fraction_needed) && full_cost.is_finite())
        .then_some(fraction_needed * full_cost)
}

#[cfg(test)]
mod tests {
    #[test]
    fn p_times_full() {
        assert_eq!(super::expected_cost(0.25, 8.0), Some(2.0));
        assert_eq!(super::expected_cost(1.5, 8.0), None);
    }
}
