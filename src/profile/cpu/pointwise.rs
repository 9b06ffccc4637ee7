//! profile layer: the pointwise operators of the CPU transformer pass — LayerNorm /
//! RMSNorm, bias and residual adds, the activations (erf GELU, tanh GELU, SiLU) — in f32
//! arithmetic on f32 or f16 storage.

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

/// erf in f32 (A&S 7.1.26): the exact series the reference uses costs ~50 terms.
fn erf_fast(x: f32) -> f32 {
    let t = 1.0 / (1.0 + ERF_P * x.abs());
    let poly = ERF_A.iter().rev().fold(0.0, |acc, a| acc * t + a) * t;
    (1.0 - poly * (-x * x).exp()).copysign(x)
}

/// The MLP activation of `family` (the gate product is the caller's).
pub fn activation(family: Family, x: f32) -> f32 {
    match family {
        Family::Encoder => 0.5 * x * (1.0 + erf_fast(x * std::f32::consts::FRAC_1_SQRT_2)),
        Family::Gpt2 => {
            let u = (2.0 / std::f32::consts::PI).sqrt() * (x + 0.044_715 * x * x * x);
            0.5 * x * (1.0 + u.tanh())
        }
        Family::Llama => x / (1.0 + (-x).exp()),
    }
}

/// Normalises every row of `x` (LayerNorm with beta, RMSNorm without) into `out`, and
/// back into `x` too when `in_place` (the post-LN encoder keeps the normed stream).
pub fn norm_rows<T: Elem>(x: &mut [f32], out: &mut [T], w: &NormWeights, eps: f64, in_place: bool) {
    let d = w.gamma.len();
    for (row, o) in x.chunks_mut(d).zip(out.chunks_mut(d)) {
        let mean = if w.beta.is_empty() {
            0.0
        } else {
            row.iter().sum::<f32>() / d as f32
        };
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
        let inv = 1.0 / (var + eps as f32).sqrt();
        for (j, (v, ov)) in row.iter_mut().zip(o).enumerate() {
            let y = (*v - mean) * inv * w.gamma[j] + w.beta.get(j).copied().unwrap_or(0.0);
            *ov = T::from_f32(y);
            if in_place {
                *v = y;
            }
        }
    }
}

/// `buf += bias`, row by row (nothing without a bias).
pub fn add_bias<T: Elem>(buf: &mut [T], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    for row in buf.chunks_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = T::from_f32(v.to_f32() + b);
        }
    }
}

/// x += proj (+ bias).
pub fn residual<T: Elem>(x: &mut [f32], proj: &[T], bias: &[f32]) {
    let d = bias.len().max(1);
    for (i, (v, p)) in x.iter_mut().zip(proj).enumerate() {
        *v += p.to_f32() + bias.get(i % d).copied().unwrap_or(0.0);
    }
}
