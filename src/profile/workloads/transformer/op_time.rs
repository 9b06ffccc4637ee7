//! profile layer: measured per-operator time — the lap clock a CPU pass charges its
//! operators' time to, per-kind medians over samples, and each operator's share of its
//! roofline bound once the device's peaks are known.

use std::time::Instant;

use super::ops::{OpKind, OpMs};
use crate::profile::report::{OpTime, Peak, ResultRow};

/// Where a forward pass's time goes: each [`OpLap::mark`] charges the time since the
/// previous mark (or the start) to an operator kind. Off, a mark is one branch and no
/// clock read, so the plain pass pays nothing for it.
pub struct OpLap<'a> {
    on: Option<(&'a mut OpMs, Instant)>,
}

impl<'a> OpLap<'a> {
    /// A lap that times nothing.
    pub fn off() -> Self {
        OpLap { on: None }
    }

    /// A lap that adds each operator's ms into `ms`, starting now.
    pub fn on(ms: &'a mut OpMs) -> Self {
        OpLap {
            on: Some((ms, Instant::now())),
        }
    }

    /// Charges the time since the last mark to `kind`.
    #[inline]
    pub fn mark(&mut self, kind: OpKind) {
        if let Some((ms, last)) = &mut self.on {
            let now = Instant::now();
            ms[kind.index()] += now.duration_since(*last).as_secs_f64() * 1e3;
            *last = now;
        }
    }
}

/// Per kind, the median of its ms over `samples`.
pub fn median_ms(samples: &[OpMs]) -> OpMs {
    let mut out = [0.0; OpKind::COUNT];
    for (k, slot) in out.iter_mut().enumerate() {
        let mut xs: Vec<f64> = samples.iter().map(|s| s[k]).collect();
        xs.sort_by(f64::total_cmp);
        *slot = crate::profile::stats::percentile(&xs, 50.0);
    }
    out
}

/// Percent of its roofline bound an operator reached on a device with `peak`:
/// 100 × achieved / min(FMA peak, bandwidth × FLOPs/byte), written as the shortest time
/// the roofline allows, max(FLOPs / FMA peak, bytes / bandwidth), over the time taken —
/// the same ratio, and defined for the FLOP-free operators (bound by bandwidth alone).
/// `None` without a bandwidth figure or a positive time.
pub fn roofline_pct(op: &OpTime, peak: &Peak) -> Option<f64> {
    let bandwidth = peak.bandwidth_gbytes_per_s.filter(|b| *b > 0.0)?;
    if op.ms <= 0.0 || peak.fma_gflops <= 0.0 {
        return None;
    }
    let bound_ms = (op.flops / (peak.fma_gflops * 1e6)).max(op.bytes / (bandwidth * 1e6));
    Some(100.0 * bound_ms / op.ms)
}

/// Sets `pct_of_roofline` on every op of every row from the matching device × precision
/// peak; ops of rows without a measured peak keep `None`.
pub fn fill_pct_of_roofline(rows: &mut [ResultRow], peaks: &[Peak]) {
    for r in rows {
        let peak = peaks
            .iter()
            .find(|p| p.device == r.device && p.precision == r.precision);
        for op in &mut r.ops {
            op.pct_of_roofline = peak.and_then(|p| roofline_pct(op, p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Precision;

    #[test]
    fn roofline_share_is_the_bound_over_the_time_taken() {
        let peak = Peak {
            device: "cpu".into(),
            precision: Precision::F32,
            fma_gflops: 100.0,
            bandwidth_gbytes_per_s: Some(10.0),
            scalar_gflops: None,
            vec4_gflops: None,
            isa: None,
            isa_gflops: Vec::new(),
        };
        let op = |flops: f64, bytes: f64, ms: f64| OpTime {
            name: "x".into(),
            ms,
            flops,
            bytes,
            pct_of_roofline: None,
            variant: None,
        };
        // Compute bound: 1 GFLOP at 100 GFLOP/s is 10 ms; taking 20 ms is 50 %.
        assert_eq!(roofline_pct(&op(1e9, 1e6, 20.0), &peak), Some(50.0));
        // Bandwidth bound: 100 MB at 10 GB/s is 10 ms; taking 40 ms is 25 %.
        assert_eq!(roofline_pct(&op(1e6, 1e8, 40.0), &peak), Some(25.0));
        // A FLOP-free op is bound by its bytes alone.
        assert_eq!(roofline_pct(&op(0.0, 1e8, 10.0), &peak), Some(100.0));
        let no_bw = Peak {
            bandwidth_gbytes_per_s: None,
            ..peak.clone()
        };
        assert_eq!(roofline_pct(&op(1e9, 1e6, 20.0), &no_bw), None);
        assert_eq!(roofline_pct(&op(1e9, 1e6, 0.0), &peak), None);
    }

    #[test]
    fn a_lap_charges_the_time_since_its_last_mark_to_the_kind_marked() {
        let mut ms = [0.0; OpKind::COUNT];
        {
            let mut lap = OpLap::on(&mut ms);
            std::thread::sleep(std::time::Duration::from_millis(20));
            lap.mark(OpKind::Qkv);
            std::thread::sleep(std::time::Duration::from_millis(5));
            lap.mark(OpKind::Norm);
            lap.mark(OpKind::Norm);
        }
        let (qkv, norm) = (ms[OpKind::Qkv.index()], ms[OpKind::Norm.index()]);
        assert!(qkv >= 20.0 && norm >= 5.0, "{ms:?}");
        for k in OpKind::ALL
            .iter()
            .filter(|k| ![OpKind::Qkv, OpKind::Norm].contains(k))
        {
            assert_eq!(ms[k.index()], 0.0, "{k:?}");
        }
    }

    #[test]
    fn medians_are_per_kind() {
        let mut a = [0.0; OpKind::COUNT];
        let mut b = a;
        let mut c = a;
        (a[0], b[0], c[0]) = (1.0, 5.0, 2.0);
        (a[3], b[3], c[3]) = (9.0, 7.0, 8.0);
        let m = median_ms(&[a, b, c]);
        assert_eq!((m[0], m[3], m[1]), (2.0, 8.0, 0.0));
    }
}
