//! Model layer: the service curve L(b) and dynamic batching (batch size reached in a
//! window, and the wait to form it).

/// L(b): milliseconds to serve one batch of `b` on one server, from measured points.
///
/// Linear between points; below the first point the first point's latency (a smaller
/// batch is never slower); above the last point the last segment's slope, or — with a
/// single point — proportional scaling (no batching gain claimed without a measurement).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCurve {
    points: Vec<(f64, f64)>,
}

impl ServiceCurve {
    /// Builds the curve from (batch, ms) points, divided by `speed` (>1 = faster).
    /// `None` if there are no points or any value is not positive and finite.
    pub fn new(points: &[(u32, f64)], speed: f64) -> Option<Self> {
        if points.is_empty() || !(speed > 0.0 && speed.is_finite()) {
            return None;
        }
        let mut pts: Vec<(f64, f64)> = points
            .iter()
            .map(|&(b, ms)| (f64::from(b), ms / speed))
            .collect();
        if pts
            .iter()
            .any(|&(b, ms)| !(b >= 1.0 && ms > 0.0 && ms.is_finite()))
        {
            return None;
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts.dedup_by(|a, b| a.0 == b.0);
        Some(Self { points: pts })
    }

    /// Milliseconds for a batch of `b` (b ≥ 1, may be fractional: a mean batch size).
    pub fn latency_ms(&self, b: f64) -> f64 {
        let pts = &self.points;
        let (b0, l0) = pts[0];
        if b <= b0 {
            return l0;
        }
        for w in pts.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if b <= x1 {
                return y0 + (y1 - y0) * (b - x0) / (x1 - x0);
            }
        }
        let (bn, ln) = pts[pts.len() - 1];
        if pts.len() == 1 {
            return ln * b / bn;
        }
        let (bp, lp) = pts[pts.len() - 2];
        let slope = ((ln - lp) / (bn - bp)).max(0.0);
        ln + slope * (b - bn)
    }

    /// Largest measured batch size.
    pub fn max_measured_batch(&self) -> u32 {
        self.points.last().map_or(1, |p| p.0 as u32)
    }
}

/// What dynamic batching does at one arrival rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Formation {
    /// Mean batch size actually formed (1 ≤ b ≤ max batch).
    pub mean_batch: f64,
    /// Mean time a request waits for its batch to form, ms.
    pub mean_wait_ms: f64,
}

/// Batches of up to `max_batch`, closed when full or `window_ms` after the first
/// request, at `rate_rps` requests per second.
///
/// The batch fills for τ = min(window, (B − 1)/λ); it holds 1 + λτ requests; the first
/// waits τ, the others on average τ/2.
pub fn formation(max_batch: u32, window_ms: f64, rate_rps: f64) -> Formation {
    if max_batch <= 1 || window_ms <= 0.0 || rate_rps <= 0.0 {
        return Formation {
            mean_batch: 1.0,
            mean_wait_ms: 0.0,
        };
    }
    let fill_ms = (f64::from(max_batch - 1) / rate_rps) * 1000.0;
    let tau_ms = window_ms.min(fill_ms);
    let mean_batch = (1.0 + rate_rps * tau_ms / 1000.0).min(f64::from(max_batch));
    let mean_wait_ms = (tau_ms + (mean_batch - 1.0) * tau_ms / 2.0) / mean_batch;
    Formation {
        mean_batch,
        mean_wait_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_and_extrapolates() {
        let c = ServiceCurve::new(&[(1, 10.0), (8, 24.0)], 1.0).unwrap();
        assert_eq!(c.latency_ms(1.0), 10.0);
        assert_eq!(c.latency_ms(4.5), 17.0);
        assert_eq!(c.latency_ms(15.0), 38.0);
        let single = ServiceCurve::new(&[(1, 1000.0)], 2.0).unwrap();
        assert_eq!(single.latency_ms(3.0), 1500.0);
        assert!(ServiceCurve::new(&[], 1.0).is_none());
        assert!(ServiceCurve::new(&[(1, -1.0)], 1.0).is_none());
    }

    #[test]
    fn formation_by_hand() {
        // 100 req/s, B = 8, window 20 ms: fills in 70 ms > 20 ms, so τ = 20 ms,
        // 3 requests per batch; waits (20 + 2·10)/3 = 13.33 ms.
        let f = formation(8, 20.0, 100.0);
        assert!((f.mean_batch - 3.0).abs() < 1e-12);
        assert!((f.mean_wait_ms - 40.0 / 3.0).abs() < 1e-12);
        // 1000 req/s: full batch of 8 in 7 ms.
        let f = formation(8, 20.0, 1000.0);
        assert!((f.mean_batch - 8.0).abs() < 1e-12);
        assert_eq!(formation(1, 20.0, 1000.0).mean_batch, 1.0);
    }
}
