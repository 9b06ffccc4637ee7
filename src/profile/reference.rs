//! profile layer: f64 CPU reference, random test data and storage-precision rounding.

use super::Precision;

/// Small deterministic PRNG (xorshift64*), enough for test matrices.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator; seed 0 is replaced by a fixed non-zero constant.
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Fresh generator seeded from the clock, for "fresh random data" on every run.
    pub fn from_time() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Rng::new(nanos)
    }

    /// Next raw 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// `len` values uniform in [-scale, scale).
    pub fn vec(&mut self, len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|_| self.uniform() * scale).collect()
    }
}

/// Rounds `x` to what storage at `precision` keeps (round to nearest even).
pub fn quantize(precision: Precision, x: f32) -> f32 {
    match precision {
        Precision::F32 => x,
        Precision::F16 => half::f16::from_f32(x).to_f32(),
        Precision::Bf16 => half::bf16::from_f32(x).to_f32(),
    }
}

/// Rounds every element (see [`quantize`]).
pub fn quantize_all(precision: Precision, xs: &[f32]) -> Vec<f32> {
    xs.iter().map(|&x| quantize(precision, x)).collect()
}

/// What the fused epilogue adds after the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    /// Plain GEMM.
    None,
    /// Add the bias.
    Bias,
    /// Add the bias, then GELU (tanh approximation).
    BiasGelu,
}

impl Epilogue {
    /// Code passed to the shader's `epilogue` parameter.
    pub fn code(self) -> u32 {
        match self {
            Epilogue::None => 0,
            Epilogue::Bias => 1,
            Epilogue::BiasGelu => 2,
        }
    }
}

/// GELU, tanh approximation, in f64.
pub fn gelu(x: f64) -> f64 {
    let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
    0.5 * x * (1.0 + u.tanh())
}

/// C = A·B (+ bias, GELU) in f64; A is m×k, B is k×n, both row-major and dense.
pub fn gemm_f64(
    a: &[f32],
    b: &[f32],
    bias: &[f32],
    (m, n, k): (usize, usize, usize),
    epilogue: Epilogue,
) -> Vec<f64> {
    let mut c = vec![0.0f64; m * n];
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        for kk in 0..k {
            let av = f64::from(a[i * k + kk]);
            let brow = &b[kk * n..(kk + 1) * n];
            for (cv, &bv) in row.iter_mut().zip(brow) {
                *cv += av * f64::from(bv);
            }
        }
        if epilogue != Epilogue::None {
            for (j, cv) in row.iter_mut().enumerate() {
                let x = *cv + f64::from(bias[j]);
                *cv = if epilogue == Epilogue::BiasGelu {
                    gelu(x)
                } else {
                    x
                };
            }
        }
    }
    c
}

/// Relative Frobenius error ‖got − want‖ / ‖want‖ (absolute when ‖want‖ is 0); NaN or
/// infinity anywhere gives infinity.
pub fn rel_frobenius(got: &[f32], want: &[f64]) -> f64 {
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (&g, &w) in got.iter().zip(want) {
        let d = f64::from(g) - w;
        diff += d * d;
        norm += w * w;
    }
    let e = if norm > 0.0 {
        (diff / norm).sqrt()
    } else {
        diff.sqrt()
    };
    if e.is_finite() { e } else { f64::INFINITY }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_matches_hand_product() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        let c = gemm_f64(&a, &b, &[1.0, -1.0], (2, 2, 2), Epilogue::Bias);
        assert_eq!(c, vec![20.0, 21.0, 44.0, 49.0]);
    }

    #[test]
    fn rel_error_and_gelu() {
        assert_eq!(rel_frobenius(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!((rel_frobenius(&[2.0], &[1.0]) - 1.0).abs() < 1e-12);
        assert!(rel_frobenius(&[f32::NAN], &[1.0]).is_infinite());
        assert!((gelu(1.0) - 0.841_192).abs() < 1e-5);
        assert_eq!(quantize(Precision::Bf16, 1.0 + 1.0 / 512.0), 1.0);
    }
}
