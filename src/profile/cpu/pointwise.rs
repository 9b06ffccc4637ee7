//! profile layer: the pointwise operators of the CPU transformer pass — LayerNorm /
//! RMSNorm, bias and residual adds, the activations (erf GELU, tanh GELU, SiLU), and
//! the exponential softmax uses — in f32 arithmetic on f32 or f16 storage, written as
//! branch-free loops with eight partial sums and compiled for AVX2 + FMA where the CPU
//! has them, so they vectorise eight lanes wide.

use super::attention::Elem;
use crate::profile::workloads::transformer::Family;
use crate::profile::workloads::transformer::weights::NormWeights;

/// Abramowitz & Stegun 7.1.26 coefficients: erf to 1.5e-7, far inside the f32 check.
const ERF_P: f32 = 0.327_591_1;
const ERF_A: [f32; 5] = [
    0.254_829_6,
    -0.284_496_74,
    1.421_413_8,
    -1.453_152,
    1.061_405_4,
];

/// Runs `f` compiled for AVX2 + FMA where the CPU has them (the loops inlined into it
/// then vectorise eight lanes wide), as plain code elsewhere.
#[inline(always)]
pub fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { avx2_fma(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_fma<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// e^x in f32 without a branch or a libm call (Cephes `expf`: x = n·ln 2 + r, a degree-6
/// polynomial for e^r, 2^n from the exponent bits; relative error ≈ 2e-7). Arguments
/// are clamped to [-87.3, 88.3], where e^x stays a normal f32.
#[inline(always)]
pub fn exp_fast(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.3);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // ln 2 in two parts, so r = x − n·ln 2 keeps its low bits.
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = (((((1.987_569_2e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r
        + 4.166_579_6e-2)
        * r
        + 0.166_666_65)
        * r
        + 0.5)
        * (r * r)
        + r
        + 1.0;
    p * f32::from_bits(((n as i32 + 127) << 23) as u32)
}

/// erf in f32 (A&S 7.1.26): the exact series the reference uses costs ~50 terms.
#[inline(always)]
fn erf_fast(x: f32) -> f32 {
    let t = 1.0 / (1.0 + ERF_P * x.abs());
    let poly = ((((ERF_A[4] * t + ERF_A[3]) * t + ERF_A[2]) * t + ERF_A[1]) * t + ERF_A[0]) * t;
    (1.0 - poly * exp_fast(-x * x)).copysign(x)
}

/// The MLP activation of `family` (the gate product is the caller's).
#[inline(always)]
pub fn activation(family: Family, x: f32) -> f32 {
    match family {
        Family::Encoder => 0.5 * x * (1.0 + erf_fast(x * std::f32::consts::FRAC_1_SQRT_2)),
        Family::Gpt2 => {
            let u = (2.0 / std::f32::consts::PI).sqrt() * (x + 0.044_715 * x * x * x);
            // tanh u = 1 − 2 / (e^{2u} + 1): exact at both saturations.
            0.5 * x * (2.0 - 2.0 / (exp_fast(2.0 * u) + 1.0))
        }
        Family::Llama => x / (1.0 + exp_fast(-x)),
    }
}

/// `act[r][j] = activation(up[r][j])` (times the gate half `up[r][i + j]` for a gated
/// MLP) for the first `rows` rows; `up` rows are `up_cols` wide, `act` rows `i`.
pub fn activate<T: Elem>(family: Family, up: &[T], act: &mut [T], (rows, up_cols, i): (usize, usize, usize)) {
    let gated = up_cols == 2 * i;
    simd(|| {
        for (up, act) in up.chunks(up_cols).zip(act.chunks_mut(i)).take(rows) {
            if gated {
                let (a, g) = up.split_at(i);
                for ((o, &u), &g) in act.iter_mut().zip(a).zip(g) {
                    *o = T::from_f32(activation(family, u.to_f32()) * g.to_f32());
                }
            } else {
                for (o, &u) in act.iter_mut().zip(up) {
                    *o = T::from_f32(activation(family, u.to_f32()));
                }
            }
        }
    });
}

/// Σ f(x) over `xs` in eight partial sums (a reduction that vectorises; it differs from
/// a serial sum only by rounding).
#[inline(always)]
pub fn lanes_sum(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Normalises every row of `x` (LayerNorm with beta, RMSNorm without) into `out`, and
/// back into `x` too when `in_place` (the post-LN encoder keeps the normed stream).
pub fn norm_rows<T: Elem>(x: &mut [f32], out: &mut [T], w: &NormWeights, eps: f64, in_place: bool) {
    let d = w.gamma.len();
    let beta: &[f32] = if w.beta.is_empty() {
        &[]
    } else {
        &w.beta
    };
    simd(|| {
        for (row, o) in x.chunks_mut(d).zip(out.chunks_mut(d)) {
            let mean = if beta.is_empty() {
                0.0
            } else {
                lanes_sum(row, |v| v) / d as f32
            };
            let var = lanes_sum(row, |v| (v - mean) * (v - mean)) / d as f32;
            let inv = 1.0 / (var + eps as f32).sqrt();
            for (j, (v, ov)) in row.iter_mut().zip(o.iter_mut()).enumerate() {
                let shift = if beta.is_empty() { 0.0 } else { beta[j] };
                let y = (*v - mean) * inv * w.gamma[j] + shift;
                *ov = T::from_f32(y);
                if in_place {
                    *v = y;
                }
            }
        }
    });
}

/// `buf += bias`, row by row (nothing without a bias).
pub fn add_bias<T: Elem>(buf: &mut [T], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    simd(|| {
        for row in buf.chunks_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = T::from_f32(v.to_f32() + b);
            }
        }
    });
}

/// x += proj (+ bias, one value per column of the `d`-wide rows).
pub fn residual<T: Elem>(x: &mut [f32], proj: &[T], bias: &[f32], d: usize) {
    simd(|| {
        for (xr, pr) in x.chunks_mut(d).zip(proj.chunks(d)) {
            if bias.is_empty() {
                xr.iter_mut().zip(pr).for_each(|(v, p)| *v += p.to_f32());
            } else {
                for ((v, p), b) in xr.iter_mut().zip(pr).zip(bias) {
                    *v += p.to_f32() + b;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::workloads::transformer::reference;

    #[test]
    fn exp_fast_is_within_3e_7_of_exp_over_the_softmax_range() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f64 / 200_000.0;
            let got = f64::from(exp_fast(x as f32));
            let want = (x as f32 as f64).exp();
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_fast(-1e9), exp_fast(-87.3), "clamped below");
    }

    #[test]
    fn activations_match_their_definitions() {
        for i in -400..=400 {
            let x = i as f64 / 40.0;
            let gelu = 0.5 * x * (1.0 + reference::erf(x / std::f64::consts::SQRT_2));
            let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044_715 * x * x * x);
            let tanh = 0.5 * x * (1.0 + u.tanh());
            let silu = x / (1.0 + (-x).exp());
            for (family, want) in [(Family::Encoder, gelu), (Family::Gpt2, tanh), (Family::Llama, silu)] {
                let got = f64::from(activation(family, x as f32));
                assert!((got - want).abs() <= 1e-6 * (1.0 + want.abs()), "{family:?} at {x}: {got} vs {want}");
            }
        }
    }
}
