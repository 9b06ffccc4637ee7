//! profile layer: native CPU path — the `gemm` crate on all cores (f32, f16) and the CPU's
//! FMA peak from dependent FMA chains (AVX2/FMA when available, scalar otherwise).

pub mod agreement;
pub mod attention;
pub mod mlp;
pub mod packed;
pub mod pointwise;
pub mod projection;
pub mod transformer;
pub mod transformer_rows;

use std::time::Instant;

use crate::profile::reference::{Epilogue, Rng, gemm_f64, rel_frobenius};
use crate::profile::stats::{SamplingBudget, Timing, measure};
use crate::profile::{Precision, ProfileError};

/// Threads the CPU path uses (all logical cores).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Why the CPU path cannot run `precision`, if it cannot.
pub fn why_unsupported(precision: Precision) -> Option<String> {
    match precision {
        Precision::Bf16 => {
            Some("the gemm crate has no bf16 kernel; the CPU path runs f32 and f16".into())
        }
        _ => None,
    }
}

/// Dense row-major matrices for one CPU GEMM at a precision.
pub struct CpuGemm {
    m: usize,
    n: usize,
    k: usize,
    data: CpuData,
}

enum CpuData {
    F32 {
        a: Vec<f32>,
        b: Vec<f32>,
        c: Vec<f32>,
    },
    F16 {
        a: Vec<half::f16>,
        b: Vec<half::f16>,
        c: Vec<half::f16>,
    },
}

impl CpuGemm {
    /// Random operands of shape (m, n, k) at `precision` (f32 or f16).
    pub fn new(
        precision: Precision,
        (m, n, k): (usize, usize, usize),
    ) -> Result<Self, ProfileError> {
        if let Some(why) = why_unsupported(precision) {
            return Err(ProfileError::Invalid(why));
        }
        let mut rng = Rng::from_time();
        let a = rng.vec(m * k, 1.0);
        let b = rng.vec(k * n, 1.0);
        let data = match precision {
            Precision::F16 => CpuData::F16 {
                a: a.iter().map(|&x| half::f16::from_f32(x)).collect(),
                b: b.iter().map(|&x| half::f16::from_f32(x)).collect(),
                c: vec![half::f16::ZERO; m * n],
            },
            _ => CpuData::F32 {
                a,
                b,
                c: vec![0.0; m * n],
            },
        };
        Ok(CpuGemm { m, n, k, data })
    }

    /// Runs C = A·B once on all cores.
    pub fn run(&mut self) {
        let shape = (self.m, self.n, self.k);
        match &mut self.data {
            CpuData::F32 { a, b, c } => matmul(shape, a, b, c, (0.0, 1.0)),
            CpuData::F16 { a, b, c } => {
                matmul(shape, a, b, c, (gemm::f16::ZERO, gemm::f16::ONE));
            }
        }
    }

    /// Relative Frobenius error of the last result against the f64 reference.
    pub fn rel_error(&self) -> f64 {
        let (m, n, k) = (self.m, self.n, self.k);
        let (a, b, c): (Vec<f32>, Vec<f32>, Vec<f32>) = match &self.data {
            CpuData::F32 { a, b, c } => (a.clone(), b.clone(), c.clone()),
            CpuData::F16 { a, b, c } => (
                a.iter().map(|x| x.to_f32()).collect(),
                b.iter().map(|x| x.to_f32()).collect(),
                c.iter().map(|x| x.to_f32()).collect(),
            ),
        };
        rel_frobenius(&c, &gemm_f64(&a, &b, &[], (m, n, k), Epilogue::None))
    }
}

/// Verifies then times a CPU GEMM: (rel_error, timing or None when incorrect).
pub fn profile_gemm(
    precision: Precision,
    shape: (usize, usize, usize),
    budget: &SamplingBudget,
) -> Result<(f64, Option<Timing>), ProfileError> {
    let mut g = CpuGemm::new(precision, shape)?;
    g.run();
    let err = g.rel_error();
    if err > precision.tolerance() {
        return Ok((err, None));
    }
    let t = measure(crate::profile::stats::TimingMethod::Wall, budget, || {
        let t0 = Instant::now();
        g.run();
        Ok(t0.elapsed().as_secs_f64() * 1e3)
    })?;
    Ok((err, Some(t)))
}

/// Measured CPU FMA peak in GFLOP/s: dependent FMA chains on every core, best of
/// [`PEAK_REPEATS`] runs of `iters` iterations each.
///
/// A peak is what the cores can reach, so the best run counts: a run during which the
/// scheduler lent a core to another process measures that process, not the CPU.
pub fn fma_peak_gflops(iters: u64) -> f64 {
    (0..PEAK_REPEATS)
        .map(|_| fma_peak_once(iters))
        .fold(0.0, f64::max)
}

/// Runs of the FMA chains behind one peak figure.
pub const PEAK_REPEATS: usize = 5;

/// One timed run of the FMA chains on every core, in GFLOP/s.
fn fma_peak_once(iters: u64) -> f64 {
    let t = threads();
    let t0 = Instant::now();
    let flops: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..t)
            .map(|i| s.spawn(move || fma_chains(iters, i as f32)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    flops as f64 / t0.elapsed().as_secs_f64() / 1e9
}

/// Runs FMA chains on this thread; returns the flops done.
fn fma_chains(iters: u64, seed: f32) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        let sink = unsafe { avx2::chains(iters, seed) };
        std::hint::black_box(sink);
        return iters * avx2::FLOPS_PER_ITER;
    }
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
mod avx2 {
    use std::arch::x86_64::*;

    /// 10 independent 8-lane chains × 2 flops.
    pub const FLOPS_PER_ITER: u64 = 10 * 8 * 2;

    /// Dependent FMA chains; 10 in flight hide the FMA latency on 2 ports.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn chains(iters: u64, seed: f32) -> f32 {
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
}

/// C (m×n) = A (m×k) · B (k×n), row-major, on all cores.
pub(crate) fn matmul<T: Copy + 'static>(
    (m, n, k): (usize, usize, usize),
    a: &[T],
    b: &[T],
    c: &mut [T],
    (zero, one): (T, T),
) {
    debug_assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the slices hold at least m×k, k×n and m×n row-major elements (column stride
    // 1, row stride = columns), checked by the callers' construction; `c` is exclusive.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            zero,
            one,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(threads()),
        )
    }
}
