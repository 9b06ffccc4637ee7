//! profile layer: the CPU's FMA peak from dependent FMA chains on every core, measured
//! once per instruction set the CPU runs (scalar, AVX2/FMA, AVX-512F), the highest
//! kept: a FLOP bound must use the widest FMA the cores have, not the one a kernel uses.

use std::time::Instant;

use super::threads;

/// The instruction set a chain of FMAs ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FmaIsa {
    /// `f32::mul_add` on 16 independent scalars.
    Scalar,
    /// 8-lane `vfmadd` on ymm registers (AVX2 + FMA).
    Avx2,
    /// 16-lane `vfmadd` on zmm registers (AVX-512F).
    Avx512,
}

impl FmaIsa {
    /// Name in reports and on the CLI: `scalar`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            FmaIsa::Scalar => "scalar",
            FmaIsa::Avx2 => "avx2",
            FmaIsa::Avx512 => "avx512",
        }
    }

    /// The instruction sets this CPU runs, narrowest first.
    pub fn available() -> Vec<FmaIsa> {
        let mut out = vec![FmaIsa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                out.push(FmaIsa::Avx2);
            }
            if std::is_x86_feature_detected!("avx512f") {
                out.push(FmaIsa::Avx512);
            }
        }
        out
    }
}

/// The CPU's measured FMA peak and how it was reached.
#[derive(Clone, Debug, PartialEq)]
pub struct FmaPeak {
    /// The highest throughput over the instruction sets, GFLOP/s (f32, all cores).
    pub gflops: f64,
    /// The instruction set of `gflops`.
    pub isa: FmaIsa,
    /// Every instruction set measured with its best throughput, GFLOP/s.
    pub by_isa: Vec<(FmaIsa, f64)>,
}

impl FmaPeak {
    /// The best throughput measured on `isa`, if it ran.
    pub fn of(&self, isa: FmaIsa) -> Option<f64> {
        self.by_isa.iter().find(|(i, _)| *i == isa).map(|&(_, g)| g)
    }
}

/// Runs of the FMA chains behind one peak figure (per instruction set).
pub const PEAK_REPEATS: usize = 5;

/// Measures every vector instruction set this CPU runs (the scalar chains only where
/// there is none), best of [`PEAK_REPEATS`] runs each, the runs of the sets interleaved
/// so a burst of load from other processes hits them alike. `iters` is the AVX2 chain
/// length; the others run as many flops.
///
/// A peak is what the cores can reach, so the best run counts: a run during which the
/// scheduler lent a core to another process measures that process, not the CPU.
pub fn fma_peak(iters: u64) -> FmaPeak {
    let all = FmaIsa::available();
    let isas: Vec<FmaIsa> = if all.len() > 1 {
        all.into_iter().filter(|&i| i != FmaIsa::Scalar).collect()
    } else {
        all
    };
    let mut best = vec![0.0f64; isas.len()];
    for _ in 0..PEAK_REPEATS {
        for (b, &isa) in best.iter_mut().zip(&isas) {
            *b = b.max(fma_peak_once(isa, iters));
        }
    }
    let by_isa: Vec<(FmaIsa, f64)> = isas.into_iter().zip(best).collect();
    let (isa, gflops) = by_isa
        .iter()
        .copied()
        .fold((FmaIsa::Scalar, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    FmaPeak {
        gflops,
        isa,
        by_isa,
    }
}

/// One timed run of `isa`'s FMA chains on every core, in GFLOP/s.
fn fma_peak_once(isa: FmaIsa, iters: u64) -> f64 {
    let t = threads();
    let t0 = Instant::now();
    let flops: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..t)
            .map(|i| s.spawn(move || fma_chains(isa, iters, i as f32)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    flops as f64 / t0.elapsed().as_secs_f64() / 1e9
}

/// Runs `isa`'s FMA chains on this thread (`iters` AVX2 iterations' worth of flops);
/// returns the flops done. An ISA the CPU lacks runs the scalar chains.
fn fma_chains(isa: FmaIsa, iters: u64, seed: f32) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        if isa == FmaIsa::Avx512 && std::is_x86_feature_detected!("avx512f") {
            let n = iters * x86::AVX2_FLOPS_PER_ITER / x86::AVX512_FLOPS_PER_ITER;
            // SAFETY: the CPU supports AVX-512F (checked just above).
            std::hint::black_box(unsafe { x86::chains512(n, seed) });
            return n * x86::AVX512_FLOPS_PER_ITER;
        }
        if isa != FmaIsa::Scalar && avx2 {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            std::hint::black_box(unsafe { x86::chains256(iters, seed) });
            return iters * x86::AVX2_FLOPS_PER_ITER;
        }
    }
    let _ = isa;
    let mut acc = [seed; 16];
    for _ in 0..iters {
        for x in &mut acc {
            *x = x.mul_add(0.999_999, 1e-7);
        }
    }
    std::hint::black_box(acc);
    iters * 32
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// 10 independent 8-lane chains × 2 flops.
    pub const AVX2_FLOPS_PER_ITER: u64 = 10 * 8 * 2;
    /// 12 independent 16-lane chains × 2 flops.
    pub const AVX512_FLOPS_PER_ITER: u64 = 12 * 16 * 2;

    /// Dependent FMA chains; 10 in flight hide the FMA latency (4 cycles) on 2 ports.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn chains256(iters: u64, seed: f32) -> f32 {
        let m = _mm256_set1_ps(0.999_999);
        let c = _mm256_set1_ps(1e-7);
        let mut r = [_mm256_set1_ps(seed); 10];
        for _ in 0..iters {
            for x in &mut r {
                *x = _mm256_fmadd_ps(*x, m, c);
            }
        }
        let mut out = [0.0f32; 8];
        let s = r
            .iter()
            .fold(_mm256_setzero_ps(), |a, &b| _mm256_add_ps(a, b));
        // SAFETY: `out` has room for 8 f32.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
        out.iter().sum()
    }

    /// Dependent 16-lane FMA chains; 12 in flight cover two 512-bit FMA ports at up to
    /// 6 cycles of latency.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn chains512(iters: u64, seed: f32) -> f32 {
        let m = _mm512_set1_ps(0.999_999);
        let c = _mm512_set1_ps(1e-7);
        let mut r = [_mm512_set1_ps(seed); 12];
        for _ in 0..iters {
            for x in &mut r {
                *x = _mm512_fmadd_ps(*x, m, c);
            }
        }
        let s = r
            .iter()
            .fold(_mm512_setzero_ps(), |a, &b| _mm512_add_ps(a, b));
        _mm512_reduce_add_ps(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_the_best_measured_isa_and_every_vector_isa_is_measured() {
        let p = fma_peak(200_000);
        assert!(p.gflops > 0.0);
        assert!(p.by_isa.iter().all(|&(_, g)| g > 0.0 && g <= p.gflops));
        assert_eq!(p.of(p.isa), Some(p.gflops));
        for isa in FmaIsa::available() {
            if isa != FmaIsa::Scalar {
                assert!(p.of(isa).is_some(), "{} not measured", isa.name());
            }
        }
    }
}
