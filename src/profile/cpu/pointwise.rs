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

/// Defines `pub fn $name` that runs `$body` compiled for AVX2 + FMA where the CPU has
/// them (an always-inlined body inside a `target_feature` function, so its loops
/// vectorise eight lanes wide), and as plain code elsewhere.
macro_rules! avx2_fma_dispatch {
    ($(#[$meta:meta])* fn $name:ident<T>($($arg:ident: $ty:ty),* $(,)?) => $body:ident) => {
        $(#[$meta])*
        pub fn $name<T: Elem>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast<T: Elem>($($arg: $ty),*) {
                    $body($($arg),*)
                }
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                return unsafe { fast($($arg),*) };
            }
            $body($($arg),*)
        }
    };
}

/// e^x in f32 without a branch or a libm call (Cephes `expf`: x = n·ln 2 + r, a degree-6
/// polynomial for e^r, 2^n from the exponent bits; relative error ≈ 2e-7). Below
/// [`EXP_ZERO_BELOW`] it returns 0, above 88.3 e^88.3: no result or product of one with a
/// factor over 1e-3 is subnormal (a subnormal operand costs ~100 cycles on x86).
#[inline(always)]
pub fn exp_fast(x: f32) -> f32 {
    let zero = x < EXP_ZERO_BELOW;
    let x = x.clamp(-87.3, 88.3);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // ln 2 in two parts, so r = x − n·ln 2 keeps its low bits.
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = (((((1.987_569_2e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 0.166_666_65)
        * r
        + 0.5)
        * (r * r)
        + r
        + 1.0;
    // 2^n from the exponent bits. n + 127 (in 1..=254 after the clamp) is added to
    // 1.5·2^23, whose low mantissa bits then hold it exactly; shifting the bits left by
    // 23 leaves only them, in the exponent field. A bit cast and a shift vectorise; the
    // saturating `n as i32` does not (LLVM converts lane by lane, ~4x slower GELU).
    let biased = (n + (127.0 + 12_582_912.0)).to_bits() << 23;
    let y = p * f32::from_bits(biased);
    if zero { 0.0 } else { y }
}

/// e^x is taken as 0 below this (e^-80 ≈ 1.8e-35, far under f32 rounding of any sum it
/// joins in a softmax or an erf).
pub const EXP_ZERO_BELOW: f32 = -80.0;

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

avx2_fma_dispatch! {
    /// `act[r][j] = activation(up[r][j])` (times the gate half `up[r][i + j]` for a
    /// gated MLP) for the first `rows` rows; `up` rows are `up_cols` wide, `act` rows `i`.
    fn activate<T>(family: Family, up: &[T], act: &mut [T], shape: (usize, usize, usize))
        => activate_body
}

#[inline(always)]
fn activate_body<T: Elem>(family: Family, up: &[T], act: &mut [T], shape: (usize, usize, usize)) {
    // One loop per family, so the match is not inside the vectorised loop.
    match family {
        Family::Encoder => act_rows(|x| activation(Family::Encoder, x), up, act, shape),
        Family::Gpt2 => act_rows(|x| activation(Family::Gpt2, x), up, act, shape),
        Family::Llama => act_rows(|x| activation(Family::Llama, x), up, act, shape),
    }
}

#[inline(always)]
fn act_rows<T: Elem>(
    f: impl Fn(f32) -> f32,
    up: &[T],
    act: &mut [T],
    (rows, up_cols, i): (usize, usize, usize),
) {
    for (up, act) in up.chunks(up_cols).zip(act.chunks_mut(i)).take(rows) {
        if up_cols == 2 * i {
            let (a, g) = up.split_at(i);
            for ((o, &u), &g) in act.iter_mut().zip(a).zip(g) {
                *o = T::from_f32(f(u.to_f32()) * g.to_f32());
            }
        } else {
            for (o, &u) in act.iter_mut().zip(up) {
                *o = T::from_f32(f(u.to_f32()));
            }
        }
    }
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

avx2_fma_dispatch! {
    /// Normalises every row of `x` (LayerNorm with beta, RMSNorm without) into `out`, and
    /// back into `x` too when `in_place` (the post-LN encoder keeps the normed stream).
    fn norm_rows<T>(x: &mut [f32], out: &mut [T], w: &NormWeights, eps: f64, in_place: bool)
        => norm_body
}

#[inline(always)]
fn norm_body<T: Elem>(x: &mut [f32], out: &mut [T], w: &NormWeights, eps: f64, in_place: bool) {
    let d = w.gamma.len();
    let beta: &[f32] = &w.beta;
    {
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
    }
}

avx2_fma_dispatch! {
    /// `buf += bias`, row by row (nothing without a bias).
    fn add_bias<T>(buf: &mut [T], bias: &[f32]) => add_bias_body
}

#[inline(always)]
fn add_bias_body<T: Elem>(buf: &mut [T], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    for row in buf.chunks_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = T::from_f32(v.to_f32() + b);
        }
    }
}

avx2_fma_dispatch! {
    /// x += proj (+ bias, one value per column of the `d`-wide rows).
    fn residual<T>(x: &mut [f32], proj: &[T], bias: &[f32], d: usize) => residual_body
}

#[inline(always)]
fn residual_body<T: Elem>(x: &mut [f32], proj: &[T], bias: &[f32], d: usize) {
    for (xr, pr) in x.chunks_mut(d).zip(proj.chunks(d)) {
        if bias.is_empty() {
            xr.iter_mut().zip(pr).for_each(|(v, p)| *v += p.to_f32());
        } else {
            for ((v, p), b) in xr.iter_mut().zip(pr).zip(bias) {
                *v += p.to_f32() + b;
            }
        }
    }
}

avx2_fma_dispatch! {
    /// Softmax of `scale ·` each of the first `rows` rows (`keys` wide) of `scores`, in
    /// place; row t sees its first `visible.0` keys (unmasked) or `visible.1 + t`
    /// (causal), and zeros after them.
    fn softmax_rows<T>(scores: &mut [T], shape: (usize, usize), visible: (Option<usize>, usize), scale: f32)
        => softmax_body
}

#[inline(always)]
fn softmax_body<T: Elem>(
    scores: &mut [T],
    shape: (usize, usize),
    visible: (Option<usize>, usize),
    scale: f32,
) {
    let (rows, keys) = shape;
    for (t, row) in scores.chunks_mut(keys).take(rows).enumerate() {
        softmax_row(row, visible.0.unwrap_or(visible.1 + t), scale);
    }
}

/// In place: softmax of `scale · row[..visible]`, zeros after it (the causal mask);
/// eight partial maxima and sums over whole chunks of eight (kept in registers: with a
/// ragged last chunk inside the loop LLVM kept them on the stack, and each masked store
/// and reload cost ~1.8 ns an element, a third of a bert-base attention), the few
/// remaining elements after them.
#[inline(always)]
fn softmax_row<T: Elem>(row: &mut [T], visible: usize, scale: f32) {
    let (live, masked) = row.split_at_mut(visible);
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut chunks = live.chunks_exact(8);
    for c in &mut chunks {
        for (m, v) in lanes.iter_mut().zip(c) {
            let x = v.to_f32() * scale;
            *m = if x > *m { x } else { *m };
        }
    }
    let rest = chunks.remainder().iter().map(|v| v.to_f32() * scale);
    let max = lanes
        .into_iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sums = [0.0f32; 8];
    let mut chunks = live.chunks_exact_mut(8);
    for c in &mut chunks {
        for (sum, v) in sums.iter_mut().zip(c.iter_mut()) {
            let x = exp_fast(v.to_f32() * scale - max);
            *sum += x;
            *v = T::from_f32(x);
        }
    }
    let mut total: f32 = sums.iter().sum();
    for v in chunks.into_remainder() {
        let x = exp_fast(v.to_f32() * scale - max);
        total += x;
        *v = T::from_f32(x);
    }
    let inv = 1.0 / total;
    for v in live.iter_mut() {
        *v = T::from_f32(v.to_f32() * inv);
    }
    masked.fill(T::ZERO);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::workloads::transformer::reference;

    #[test]
    fn exp_fast_is_within_3e_7_of_exp_above_its_flush() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -80.0 + 168.0 * i as f64 / 200_000.0;
            let got = f64::from(exp_fast(x as f32));
            let want = (x as f32 as f64).exp();
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_fast(-1e9), 0.0, "flushed below");
    }

    #[test]
    fn activations_match_their_definitions() {
        for i in -400..=400 {
            let x = i as f64 / 40.0;
            let gelu = 0.5 * x * (1.0 + reference::erf(x / std::f64::consts::SQRT_2));
            let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044_715 * x * x * x);
            let tanh = 0.5 * x * (1.0 + u.tanh());
            let silu = x / (1.0 + (-x).exp());
            for (family, want) in [
                (Family::Encoder, gelu),
                (Family::Gpt2, tanh),
                (Family::Llama, silu),
            ] {
                let got = f64::from(activation(family, x as f32));
                assert!(
                    (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
                    "{family:?} at {x}: {got} vs {want}"
                );
            }
        }
    }
}
