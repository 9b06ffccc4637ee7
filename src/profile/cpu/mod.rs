//! profile layer: native CPU path — the `gemm` crate on all cores (f32, f16), the
//! packed AVX-512 and AVX2 kernels of the transformer pass, and the CPU's FMA peak
//! ([`peak`]: AVX-512, AVX2 or scalar chains, the highest measured).

pub mod agreement;
pub mod attention;
pub mod mlp;
pub mod packed;
pub mod packed512;
#[cfg(test)]
mod packed_tests;
pub mod par_rows;
pub mod peak;
pub mod pointwise;
pub mod pool;
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

/// Measured CPU FMA peak in GFLOP/s over the instruction sets this CPU runs (see
/// [`peak::fma_peak`], which also says which set reached it).
pub fn fma_peak_gflops(iters: u64) -> f64 {
    peak::fma_peak(iters).gflops
}

pub use peak::PEAK_REPEATS;

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
