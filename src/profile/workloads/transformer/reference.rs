//! profile layer: the f64 reference forward pass of the three transformer families —
//! written for clarity, not speed, and run at small shapes to check every device's
//! forward pass (relative Frobenius error of the final hidden states and logits).

use super::weights::{LayerWeights, NormWeights, Weights};
use super::{Family, TransformerConfig};

/// Beyond this |x|, erf(x) is ±1 to f64 precision.
const ERF_SATURATES: f64 = 6.0;

/// What a forward pass returns.
#[derive(Clone, Debug, Default)]
pub struct RefOutput {
    /// Final hidden states, (batch·seq) × d, row-major.
    pub hidden: Vec<f64>,
    /// LM-head logits of each sequence's last position, batch × vocab (decoders only).
    pub logits: Vec<f64>,
}

/// erf in f64 by its everywhere-convergent series of positive terms,
/// erf x = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (no cancellation).
pub fn erf(x: f64) -> f64 {
    if x.abs() >= ERF_SATURATES {
        return x.signum();
    }
    let (mut term, mut sum, mut n) = (x, x, 0.0);
    while term.abs() > 1e-17 * sum.abs() {
        n += 1.0;
        term *= 2.0 * x * x / (2.0 * n + 1.0);
        sum += term;
    }
    std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp() * sum
}

/// GELU with erf, as BERT's `gelu`.
pub fn gelu_erf(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// SiLU, x·σ(x).
pub fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

/// y (m×n) = x (m×k) · W (k×n) + bias (empty = none), in f64.
fn linear(x: &[f64], w: &[f32], bias: &[f32], (m, n, k): (usize, usize, usize)) -> Vec<f64> {
    let mut y = vec![0.0; m * n];
    for (xrow, yrow) in x.chunks(k).zip(y.chunks_mut(n)).take(m) {
        for (&xv, wrow) in xrow.iter().zip(w.chunks(n)) {
            for (yv, &wv) in yrow.iter_mut().zip(wrow) {
                *yv += xv * f64::from(wv);
            }
        }
        for (yv, &b) in yrow.iter_mut().zip(bias) {
            *yv += f64::from(b);
        }
    }
    y
}

/// LayerNorm (with beta) or RMSNorm (without) of every row, in place.
fn norm(x: &mut [f64], w: &NormWeights, d: usize, eps: f64) {
    for row in x.chunks_mut(d) {
        let mean = if w.beta.is_empty() {
            0.0
        } else {
            row.iter().sum::<f64>() / d as f64
        };
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            let beta = w.beta.get(j).map_or(0.0, |&b| f64::from(b));
            *v = (*v - mean) * inv * f64::from(w.gamma[j]) + beta;
        }
    }
}

/// Rotates one head vector by RoPE at `pos` (the non-interleaved "rotate half" form).
pub fn rope(v: &mut [f64], pos: usize, theta: f64) {
    let half = v.len() / 2;
    for i in 0..half {
        let freq = theta.powf(-2.0 * i as f64 / v.len() as f64);
        let (sin, cos) = (pos as f64 * freq).sin_cos();
        let (a, b) = (v[i], v[i + half]);
        v[i] = a * cos - b * sin;
        v[i + half] = b * cos + a * sin;
    }
}

/// Attention of every sequence and head over `qkv` rows ((batch·seq) × (q + 2·kv)).
fn attention(cfg: &TransformerConfig, qkv: &mut [f64], (batch, seq): (usize, usize)) -> Vec<f64> {
    let (hd, q_dim, kv_dim) = (cfg.head_dim, cfg.q_dim(), cfg.kv_dim());
    let width = q_dim + 2 * kv_dim;
    if let Some(theta) = cfg.rope_theta {
        for (r, row) in qkv.chunks_mut(width).enumerate() {
            for head in row[..q_dim + kv_dim].chunks_mut(hd) {
                rope(head, r % seq, theta);
            }
        }
    }
    let group = cfg.num_heads / cfg.num_kv_heads;
    let scale = 1.0 / (hd as f64).sqrt();
    let mut out = vec![0.0; batch * seq * q_dim];
    for b in 0..batch {
        for h in 0..cfg.num_heads {
            let (qo, ko) = (h * hd, q_dim + (h / group) * hd);
            let vo = ko + kv_dim;
            for t in 0..seq {
                let keys = if cfg.family.is_decoder() { t + 1 } else { seq };
                let row = |j: usize| &qkv[(b * seq + j) * width..(b * seq + j + 1) * width];
                let q = &row(t)[qo..qo + hd];
                let scores: Vec<f64> = (0..keys)
                    .map(|j| {
                        scale
                            * q.iter()
                                .zip(&row(j)[ko..ko + hd])
                                .map(|(a, c)| a * c)
                                .sum::<f64>()
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let p: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f64 = p.iter().sum();
                let o = &mut out[(b * seq + t) * q_dim + qo..][..hd];
                for (j, pj) in p.iter().enumerate() {
                    for (ov, vv) in o.iter_mut().zip(&row(j)[vo..vo + hd]) {
                        *ov += pj / total * vv;
                    }
                }
            }
        }
    }
    out
}

/// The MLP of every row: GELU (erf or tanh) or the SiLU-gated form.
fn mlp(cfg: &TransformerConfig, l: &LayerWeights, x: &[f64], rows: usize) -> Vec<f64> {
    let (d, i) = (cfg.hidden_size, cfg.intermediate_size);
    let up_cols = if cfg.gated_mlp() { 2 * i } else { i };
    let up = linear(x, &l.w_up, &l.b_up, (rows, up_cols, d));
    let act: Vec<f64> = match cfg.family {
        Family::Encoder => up.iter().map(|&v| gelu_erf(v)).collect(),
        Family::Gpt2 => up
            .iter()
            .map(|&v| crate::profile::reference::gelu(v))
            .collect(),
        Family::Llama => up
            .chunks(2 * i)
            .flat_map(|r| (0..i).map(move |j| silu(r[j]) * r[i + j]))
            .collect(),
    };
    linear(&act, &l.w_down, &l.b_down, (rows, d, i))
}

/// One block, post-LN for encoders and pre-norm otherwise.
fn block(cfg: &TransformerConfig, l: &LayerWeights, x: &mut [f64], shape: (usize, usize)) {
    let (d, eps) = (cfg.hidden_size, cfg.norm_eps);
    let rows = shape.0 * shape.1;
    let qkv_w = cfg.q_dim() + 2 * cfg.kv_dim();
    let attend = |input: &[f64]| {
        let mut qkv = linear(input, &l.wqkv, &l.bqkv, (rows, qkv_w, d));
        let a = attention(cfg, &mut qkv, shape);
        linear(&a, &l.wo, &l.bo, (rows, d, cfg.q_dim()))
    };
    let add = |x: &mut [f64], y: &[f64]| x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
    if cfg.family == Family::Encoder {
        let a = attend(x);
        add(x, &a);
        norm(x, &l.norm1, d, eps);
        let f = mlp(cfg, l, x, rows);
        add(x, &f);
        norm(x, &l.norm2, d, eps);
    } else {
        let mut xn = x.to_vec();
        norm(&mut xn, &l.norm1, d, eps);
        add(x, &attend(&xn));
        let mut xn = x.to_vec();
        norm(&mut xn, &l.norm2, d, eps);
        add(x, &mlp(cfg, l, &xn, rows));
    }
}

/// The forward pass of the first `layers` blocks over `tokens` ((batch·seq) ids at
/// positions 0..seq in each sequence); decoders also return the last position's logits.
pub fn forward(
    w: &Weights,
    layers: usize,
    tokens: &[u32],
    (batch, seq): (usize, usize),
) -> RefOutput {
    let cfg = &w.cfg;
    let d = cfg.hidden_size;
    let mut x = vec![0.0; batch * seq * d];
    for (r, (row, &id)) in x.chunks_mut(d).zip(tokens).enumerate() {
        let tok = &w.tokens[id as usize * d..][..d];
        let pos = w.positions.get((r % seq) * d..(r % seq + 1) * d);
        for (j, v) in row.iter_mut().enumerate() {
            *v = f64::from(tok[j]) + pos.map_or(0.0, |p| f64::from(p[j]));
        }
    }
    if cfg.family == Family::Encoder {
        norm(&mut x, &w.outer_norm, d, cfg.norm_eps);
    }
    for l in w.layers.iter().take(layers) {
        block(cfg, l, &mut x, (batch, seq));
    }
    let mut logits = Vec::new();
    if cfg.family.is_decoder() {
        norm(&mut x, &w.outer_norm, d, cfg.norm_eps);
        for b in 0..batch {
            let last = &x[((b + 1) * seq - 1) * d..][..d];
            logits.extend(w.head().chunks(d).map(|e| {
                last.iter()
                    .zip(e)
                    .map(|(a, &c)| a * f64::from(c))
                    .sum::<f64>()
            }));
        }
    }
    RefOutput { hidden: x, logits }
}
