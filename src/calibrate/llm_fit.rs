//! Calibration layer: the least-squares fits of an LLM replica's iteration-time model
//! to measured rows — prefill ms = base + per_token·tokens, decode ms = base +
//! per_seq·sequences + per_context·context tokens — with every coefficient kept
//! non-negative (a negative per-token cost would make longer prompts faster).
//!
//! The fit minimises the squared *relative* error (weights 1/ms²): rows span an order
//! of magnitude or more (batch 1 at a short context against batch 32 at a long one),
//! and an unweighted fit would spend all its freedom on the slowest row. Non-negativity
//! is exact: every subset of the coefficients is solved with the others held at zero
//! and the best non-negative solution kept (three unknowns: seven subsets).

/// One measured iteration: the regressors (the model's columns, e.g. `[1, b, b·C]`)
/// and its median time, ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The model's columns for this row (a 1 for the fixed part first).
    pub x: Vec<f64>,
    /// The measured median, ms.
    pub ms: f64,
}

/// A fit: the coefficients (in the columns' order) and how far it misses its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Coefficients, each ≥ 0.
    pub coef: Vec<f64>,
    /// Per row: (fitted − measured) / measured.
    pub rel_residuals: Vec<f64>,
}

impl Fit {
    /// The largest |relative residual| and its row's index.
    pub fn worst(&self) -> Option<(usize, f64)> {
        self.rel_residuals
            .iter()
            .map(|r| r.abs())
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// The non-negative weighted least-squares fit of `points` (each with the same number
/// of columns, at most 3, and `ms` > 0). Columns the rows cannot tell apart (one batch
/// size: the per-sequence cost is the fixed part again) are solved in the subset that
/// leaves the later one at zero. `None` when no subset is solvable (no rows).
pub fn fit(points: &[Point]) -> Option<Fit> {
    let cols = points.first()?.x.len();
    debug_assert!(cols <= 3 && points.iter().all(|p| p.x.len() == cols));
    let mut best: Option<(f64, Vec<f64>)> = None;
    // Subsets by bit mask; on a tie (an exactly degenerate design) the subset found
    // first — fewer, earlier columns — is kept, so the fixed part takes what a lone
    // batch size cannot attribute.
    let mut masks: Vec<u32> = (1..(1u32 << cols)).collect();
    masks.sort_by_key(|m| (m.count_ones(), *m));
    for mask in masks {
        let Some(coef) = solve_subset(points, cols, mask) else {
            continue;
        };
        if coef.iter().any(|c| *c < 0.0 || !c.is_finite()) {
            continue;
        }
        let sse: f64 = points
            .iter()
            .map(|p| ((predict(&coef, &p.x) - p.ms) / p.ms).powi(2))
            .sum();
        // Strictly better by more than rounding: ties keep the simpler subset.
        if best.as_ref().is_none_or(|(b, _)| sse < b * (1.0 - 1e-9)) {
            best = Some((sse, coef));
        }
    }
    let (_, coef) = best?;
    let rel_residuals = points
        .iter()
        .map(|p| (predict(&coef, &p.x) - p.ms) / p.ms)
        .collect();
    Some(Fit {
        coef,
        rel_residuals,
    })
}

/// Σ coef·x.
pub fn predict(coef: &[f64], x: &[f64]) -> f64 {
    coef.iter().zip(x).map(|(c, x)| c * x).sum()
}

/// The weighted least-squares solution with only the columns in `mask` free (the rest
/// zero), or `None` when those columns are (numerically) dependent on the rows.
fn solve_subset(points: &[Point], cols: usize, mask: u32) -> Option<Vec<f64>> {
    let free: Vec<usize> = (0..cols).filter(|c| mask & (1 << c) != 0).collect();
    let n = free.len();
    // Normal equations AᵀWA c = AᵀWy with W = 1/ms²: rows scaled by 1/ms.
    let mut a = vec![vec![0.0; n + 1]; n];
    for p in points {
        let w = 1.0 / p.ms;
        for (i, &ci) in free.iter().enumerate() {
            for (j, &cj) in free.iter().enumerate() {
                a[i][j] += p.x[ci] * w * p.x[cj] * w;
            }
            a[i][n] += p.x[ci] * w * p.ms * w;
        }
    }
    let sol = gauss(a)?;
    let mut coef = vec![0.0; cols];
    for (i, &c) in free.iter().enumerate() {
        coef[c] = sol[i];
    }
    Some(coef)
}

/// Gaussian elimination with partial pivoting on an n × (n+1) augmented matrix; `None`
/// when a pivot is negligible against its column's scale (a singular system).
fn gauss(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let n = a.len();
    let scale: Vec<f64> = (0..n)
        .map(|c| (0..n).map(|r| a[r][c].abs()).fold(0.0, f64::max))
        .collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-10 * scale[col].max(f64::MIN_POSITIVE) {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..n).map(|i| a[i][n] / a[i][i]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_points(coef: [f64; 3], rows: &[(f64, f64)]) -> Vec<Point> {
        rows.iter()
            .map(|&(b, ctx)| {
                let x = vec![1.0, b, b * ctx];
                Point {
                    ms: predict(&coef, &x),
                    x,
                }
            })
            .collect()
    }

    #[test]
    fn exact_data_gives_back_its_coefficients() {
        let truth = [2.5, 0.125, 0.0005];
        let pts = decode_points(
            truth,
            &[(1.0, 512.0), (8.0, 512.0), (1.0, 2048.0), (8.0, 2048.0)],
        );
        let f = fit(&pts).unwrap();
        for (c, t) in f.coef.iter().zip(truth) {
            assert!((c - t).abs() < 1e-9 * t.max(1.0), "{:?}", f.coef);
        }
        assert!(f.worst().unwrap().1 < 1e-9);
    }

    #[test]
    fn coefficients_never_go_negative() {
        // Bigger batches measured faster (timing noise): the unconstrained slope in b is
        // negative; the fit holds it at zero and puts the time in the fixed part.
        let pts = vec![
            Point {
                x: vec![1.0, 1.0, 32.0],
                ms: 4.0,
            },
            Point {
                x: vec![1.0, 4.0, 128.0],
                ms: 3.0,
            },
            Point {
                x: vec![1.0, 1.0, 96.0],
                ms: 4.2,
            },
            Point {
                x: vec![1.0, 4.0, 384.0],
                ms: 3.3,
            },
        ];
        let f = fit(&pts).unwrap();
        assert!(f.coef.iter().all(|c| *c >= 0.0), "{:?}", f.coef);
        assert!(f.coef[0] > 2.0, "{:?}", f.coef);
        // The residuals are what the fit reports, and they are not small here.
        assert!(f.worst().unwrap().1 > 0.05, "{:?}", f.rel_residuals);
    }

    #[test]
    fn one_batch_size_puts_the_per_sequence_cost_in_the_fixed_part() {
        // b = 1 everywhere: [1, b] are the same column. The earlier one takes it.
        let truth = [3.0, 0.0, 0.001];
        let pts = decode_points(truth, &[(1.0, 100.0), (1.0, 1000.0), (1.0, 3000.0)]);
        let f = fit(&pts).unwrap();
        assert_eq!(f.coef[1], 0.0, "{:?}", f.coef);
        assert!((f.coef[0] - 3.0).abs() < 1e-9 && (f.coef[2] - 0.001).abs() < 1e-12);
    }

    #[test]
    fn relative_weighting_fits_small_rows_as_well_as_large_ones() {
        // Prefill: 1 ms fixed + 0.01 ms/token, one row 100x slower than the other, plus
        // 10 % high on the slow row. The fast row's relative miss stays small.
        let pts = vec![
            Point {
                x: vec![1.0, 16.0],
                ms: 1.16,
            },
            Point {
                x: vec![1.0, 64.0],
                ms: 1.64,
            },
            Point {
                x: vec![1.0, 8192.0],
                ms: 82.92 * 1.1,
            },
        ];
        let f = fit(&pts).unwrap();
        assert!(f.rel_residuals[0].abs() < 0.05, "{:?}", f.rel_residuals);
        assert!(fit(&[]).is_none());
    }
}
