//! profile layer: f64 references of the transformer ops, on dense row-major f32 inputs
//! (already rounded to the storage precision), in the same layouts the kernels use.

/// `out[t] = table[ids[t]] (+ pos[pos_offset + t % seq_len])`, `hidden` columns.
pub fn embedding(
    ids: &[u32],
    table: &[f32],
    pos: Option<&[f32]>,
    hidden: usize,
    (seq_len, pos_offset): (usize, usize),
) -> Vec<f64> {
    let mut out = Vec::with_capacity(ids.len() * hidden);
    for (t, &id) in ids.iter().enumerate() {
        let row = id as usize * hidden;
        let prow = (pos_offset + t % seq_len) * hidden;
        for c in 0..hidden {
            let p = pos.map_or(0.0, |p| f64::from(p[prow + c]));
            out.push(f64::from(table[row + c]) + p);
        }
    }
    out
}

/// LayerNorm (with `beta`) or RMSNorm (`beta` = `None`: no mean, no shift) of each row.
pub fn norm(x: &[f32], gamma: &[f32], beta: Option<&[f32]>, cols: usize, eps: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(cols) {
        let v: Vec<f64> = row.iter().map(|&a| f64::from(a)).collect();
        let n = cols as f64;
        let mean = if beta.is_some() {
            v.iter().sum::<f64>() / n
        } else {
            0.0
        };
        let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / n;
        let inv = 1.0 / (var + eps).sqrt();
        for (c, a) in v.iter().enumerate() {
            let shift = beta.map_or(0.0, |b| f64::from(b[c]));
            out.push((a - mean) * inv * f64::from(gamma[c]) + shift);
        }
    }
    out
}

/// erf(x) in f64: Maclaurin series for |x| < 2 (its terms stay below ~20, so little
/// cancellation), continued fraction for erfc beyond; both within ~1e-15, far below
/// what is being checked.
pub fn erf(x: f64) -> f64 {
    let z = x.abs();
    let r = if z < 2.0 {
        // Σ (−1)^n z^(2n+1) / (n! (2n+1)) · 2/√π.
        let (mut term, mut sum) = (z, z);
        for n in 1..80 {
            term *= -z * z / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))).
        let mut t = z;
        for n in (1..60).rev() {
            t = z + (n as f64 / 2.0) / t;
        }
        1.0 - (-z * z).exp() / std::f64::consts::PI.sqrt() / t
    };
    r.copysign(x)
}

/// Exact GELU, `x · Φ(x)`.
pub fn gelu_erf(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// SiLU, `x · σ(x)`.
pub fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

/// `f` applied to each element of `a` (and of `b`, broadcast over rows when `b` is one
/// row of `cols` shorter than `a`).
pub fn elementwise(a: &[f32], b: &[f32], cols: usize, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    a.iter()
        .enumerate()
        .map(|(i, &x)| {
            let y = if b.len() == a.len() {
                b[i]
            } else {
                b.get(i % cols).copied().unwrap_or(0.0)
            };
            f(f64::from(x), f64::from(y))
        })
        .collect()
}

/// HF Llama rotate-half RoPE of `x` (`tokens × heads·head_dim`) with angles in f64.
pub fn rope(
    x: &[f32],
    (heads, head_dim): (usize, usize),
    (seq_len, pos_offset): (usize, usize),
    theta: f64,
) -> Vec<f64> {
    let half = head_dim / 2;
    let mut out: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    for (t, row) in out.chunks_mut(heads * head_dim).enumerate() {
        let pos = (pos_offset + t % seq_len) as f64;
        for head in row.chunks_mut(head_dim) {
            for i in 0..half {
                let a = pos * theta.powf(-2.0 * i as f64 / head_dim as f64);
                let (x0, x1) = (head[i], head[i + half]);
                head[i] = x0 * a.cos() - x1 * a.sin();
                head[i + half] = x1 * a.cos() + x0 * a.sin();
            }
        }
    }
    out
}

/// softmax(q·kᵀ/√head_dim)·v for one query against `keys` rows of `k`/`v` picked by
/// `row_of(j)` (offsets of key j's head in `k` and `v`).
fn attend(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    keys: usize,
    row_of: impl Fn(usize) -> usize,
) -> Vec<f64> {
    let hd = q.len();
    let scale = 1.0 / (hd as f64).sqrt();
    let scores: Vec<f64> = (0..keys)
        .map(|j| {
            let kr = &k[row_of(j)..row_of(j) + hd];
            q.iter()
                .zip(kr)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum::<f64>()
                * scale
        })
        .collect();
    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
    let total: f64 = w.iter().sum();
    let mut out = vec![0.0; hd];
    for (j, wj) in w.iter().enumerate() {
        for (o, &vv) in out.iter_mut().zip(&v[row_of(j)..row_of(j) + hd]) {
            *o += wj / total * f64::from(vv);
        }
    }
    out
}

/// Prefill attention: q `[batch·seq × heads·hd]`, k/v `[batch·seq × kv_heads·hd]`;
/// `dims` = (batch, seq_len, heads, kv_heads, head_dim).
pub fn prefill_attention(
    [q, k, v]: [&[f32]; 3],
    (batch, seq, heads, kv_heads, hd): (usize, usize, usize, usize, usize),
    causal: bool,
) -> Vec<f64> {
    let mut out = vec![0.0; batch * seq * heads * hd];
    let group = heads / kv_heads;
    for b in 0..batch {
        for i in 0..seq {
            for h in 0..heads {
                let qo = ((b * seq + i) * heads + h) * hd;
                let keys = if causal { i + 1 } else { seq };
                let row_of = |j: usize| ((b * seq + j) * kv_heads + h / group) * hd;
                let o = attend(&q[qo..qo + hd], k, v, keys, row_of);
                out[qo..qo + hd].copy_from_slice(&o);
            }
        }
    }
    out
}

/// Decode attention: q `[batch × heads·hd]` against the first `context_len` rows of
/// caches laid out `[batch × kv_heads × max_context × hd]`.
pub fn decode_attention(
    [q, k_cache, v_cache]: [&[f32]; 3],
    (batch, heads, kv_heads, hd): (usize, usize, usize, usize),
    (context_len, max_context): (usize, usize),
) -> Vec<f64> {
    let mut out = vec![0.0; batch * heads * hd];
    let group = heads / kv_heads;
    for b in 0..batch {
        for h in 0..heads {
            let qo = (b * heads + h) * hd;
            let base = (b * kv_heads + h / group) * max_context;
            let o = attend(&q[qo..qo + hd], k_cache, v_cache, context_len, |j| {
                (base + j) * hd
            });
            out[qo..qo + hd].copy_from_slice(&o);
        }
    }
    out
}

/// The cache after appending `new` (`[batch × kv_heads·hd]`) at row `pos`.
pub fn kv_append(
    cache: &[f32],
    new: &[f32],
    (batch, kv_heads, hd): (usize, usize, usize),
    (pos, max_context): (usize, usize),
) -> Vec<f32> {
    let mut out = cache.to_vec();
    for b in 0..batch {
        for h in 0..kv_heads {
            let dst = ((b * kv_heads + h) * max_context + pos) * hd;
            let src = (b * kv_heads + h) * hd;
            out[dst..dst + hd].copy_from_slice(&new[src..src + hd]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values_on_both_branches() {
        assert!((erf(0.5) - 0.520_499_877_813_046_5).abs() < 1e-14);
        assert!((erf(-1.0) + 0.842_700_792_949_714_9).abs() < 1e-14);
        assert!((erf(1.9) - 0.992_790_429_235_257_5).abs() < 1e-14);
        assert!((erf(2.9) - 0.999_958_902_121_900_5).abs() < 1e-14);
        assert!((1.0 - erf(3.5) - 7.430_983_723_414_127e-7).abs() < 1e-16);
    }

    #[test]
    fn attention_of_identical_keys_is_the_mean_of_values() {
        let q = [1.0f32, 0.0];
        let k = [0.5f32, 0.5, 0.5, 0.5];
        let v = [1.0f32, 2.0, 3.0, 4.0];
        let o = prefill_attention([&[1.0, 0.0, 1.0, 0.0], &k, &v], (1, 2, 1, 1, 2), false);
        assert!(
            (o[0] - 2.0).abs() < 1e-12 && (o[3] - 3.0).abs() < 1e-12,
            "{o:?}"
        );
        assert_eq!(attend(&q, &k, &v, 1, |_| 0), vec![1.0, 2.0]);
    }
}
