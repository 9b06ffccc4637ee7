//! profile layer: transformer weights in the layout every forward pass (the f64
//! reference, the CPU and GPU paths) reads — seeded random ones (timing does not depend
//! on the values, correctness only needs both sides to read the same ones) or a
//! checkpoint's — and [`for_run`], the one way a sweep gets them.

use std::path::Path;

use super::{Family, TransformerConfig};
use crate::profile::reference::{Rng, quantize_all};
use crate::profile::{Precision, ProfileError};

/// Scale of the matrices relative to 1/√fan_in: keeps activations O(1) through the
/// blocks so softmax and the norms work in their ordinary range.
const MATRIX_GAIN: f32 = 1.0;
/// Half-width of the uniform biases, norm offsets and gamma spread around 1.
const SMALL: f32 = 0.1;

/// One norm's weights: gamma, and beta for LayerNorm (empty for RMSNorm).
#[derive(Clone, Debug)]
pub struct NormWeights {
    /// Scale, one per channel.
    pub gamma: Vec<f32>,
    /// Offset, one per channel; empty for RMSNorm.
    pub beta: Vec<f32>,
}

/// One block's weights, matrices row-major with the input dimension first.
#[derive(Clone, Debug)]
pub struct LayerWeights {
    /// Q, K and V projections side by side: d × (q_dim + 2·kv_dim).
    pub wqkv: Vec<f32>,
    /// Their bias (q_dim + 2·kv_dim), empty without QKV bias.
    pub bqkv: Vec<f32>,
    /// Output projection: q_dim × d.
    pub wo: Vec<f32>,
    /// Its bias (d), empty without linear bias.
    pub bo: Vec<f32>,
    /// MLP up projection: d × i, or d × 2i for a gated MLP (gate columns first).
    pub w_up: Vec<f32>,
    /// Its bias, empty without linear bias.
    pub b_up: Vec<f32>,
    /// MLP down projection: i × d.
    pub w_down: Vec<f32>,
    /// Its bias (d), empty without linear bias.
    pub b_down: Vec<f32>,
    /// The attention norm (after the residual for encoders, before attention otherwise).
    pub norm1: NormWeights,
    /// The MLP norm (after the residual for encoders, before the MLP otherwise).
    pub norm2: NormWeights,
}

/// A whole model's weights, already rounded to the storage precision.
#[derive(Clone, Debug)]
pub struct Weights {
    /// The shape these weights fill.
    pub cfg: TransformerConfig,
    /// Token embeddings, vocab × d; also the LM head (logits = h·Eᵀ) when `lm_head` is
    /// empty. An untied model's head has the same shape and cost, so random weights
    /// share one table.
    pub tokens: Vec<f32>,
    /// An untied LM head, vocab × d like `tokens` (a checkpoint's `lm_head.weight`);
    /// empty when the head is the token table.
    pub lm_head: Vec<f32>,
    /// Learned positions, max_positions × d (empty for RoPE models).
    pub positions: Vec<f32>,
    /// The embedding LayerNorm (encoders) or the final norm (decoders).
    pub outer_norm: NormWeights,
    /// The blocks.
    pub layers: Vec<LayerWeights>,
}

impl Weights {
    /// Random weights for `cfg` from `seed`, rounded to `precision`.
    pub fn random(cfg: &TransformerConfig, precision: Precision, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let (d, i) = (cfg.hidden_size, cfg.intermediate_size);
        let qkv = cfg.q_dim() + 2 * cfg.kv_dim();
        let up = if cfg.gated_mlp() { 2 * i } else { i };
        let mut mat = |rows: usize, cols: usize| {
            let scale = MATRIX_GAIN / (rows as f32).sqrt();
            quantize_all(precision, &rng.vec(rows * cols, scale))
        };
        let layers_mats: Vec<_> = (0..cfg.num_layers)
            .map(|_| [mat(d, qkv), mat(cfg.q_dim(), d), mat(d, up), mat(i, d)])
            .collect();
        let tokens = mat(1, cfg.vocab_size * d);
        let positions = match cfg.family {
            Family::Llama => Vec::new(),
            _ => mat(1, cfg.max_positions * d),
        };
        let mut small = |len: usize, on: bool| {
            let v = if on { rng.vec(len, SMALL) } else { Vec::new() };
            quantize_all(precision, &v)
        };
        let bias = cfg.linear_bias();
        let layers = layers_mats
            .into_iter()
            .map(|[wqkv, wo, w_up, w_down]| LayerWeights {
                wqkv,
                bqkv: small(qkv, cfg.qkv_bias),
                wo,
                bo: small(d, bias),
                w_up,
                b_up: small(up, bias),
                w_down,
                b_down: small(d, bias),
                norm1: Self::norm(cfg, precision, &mut small),
                norm2: Self::norm(cfg, precision, &mut small),
            })
            .collect();
        let outer_norm = Self::norm(cfg, precision, &mut small);
        Weights {
            cfg: cfg.clone(),
            tokens,
            lm_head: Vec::new(),
            positions,
            outer_norm,
            layers,
        }
    }

    /// The LM head, vocab × d (row v is token v's output embedding).
    pub fn head(&self) -> &[f32] {
        if self.lm_head.is_empty() {
            &self.tokens
        } else {
            &self.lm_head
        }
    }

    /// These weights with every value rounded to `precision` (in place: no second copy).
    pub fn rounded(mut self, precision: Precision) -> Self {
        if precision == Precision::F32 {
            return self;
        }
        let mut all = vec![
            &mut self.tokens,
            &mut self.lm_head,
            &mut self.positions,
            &mut self.outer_norm.gamma,
            &mut self.outer_norm.beta,
        ];
        for l in &mut self.layers {
            all.extend([
                &mut l.wqkv,
                &mut l.bqkv,
                &mut l.wo,
                &mut l.bo,
                &mut l.w_up,
                &mut l.b_up,
                &mut l.w_down,
                &mut l.b_down,
                &mut l.norm1.gamma,
                &mut l.norm1.beta,
                &mut l.norm2.gamma,
                &mut l.norm2.beta,
            ]);
        }
        for v in all {
            *v = quantize_all(precision, v);
        }
        self
    }

    fn norm(
        cfg: &TransformerConfig,
        precision: Precision,
        small: &mut impl FnMut(usize, bool) -> Vec<f32>,
    ) -> NormWeights {
        let d = cfg.hidden_size;
        let gamma: Vec<f32> = small(d, true).iter().map(|g| 1.0 + g).collect();
        NormWeights {
            gamma: quantize_all(precision, &gamma),
            beta: small(d, cfg.family != Family::Llama),
        }
    }
}

/// A sweep's weights and where they came from.
#[derive(Clone, Debug)]
pub struct RunWeights {
    /// The weights.
    pub weights: Weights,
    /// Their source for the report's `weights` field: `random (seed N)` or the file's path.
    pub label: String,
}

/// The f32 master weights of a run: the checkpoint at `source` as stored (converted to
/// f32, not rounded), or random ones from `seed` when `source` is `None`.
pub fn master(
    cfg: &TransformerConfig,
    source: Option<&Path>,
    seed: u64,
) -> Result<RunWeights, ProfileError> {
    match source {
        Some(path) => Ok(RunWeights {
            weights: Weights::load(cfg, path, Precision::F32)?,
            label: path.display().to_string(),
        }),
        None => Ok(RunWeights {
            weights: Weights::random(cfg, Precision::F32, seed),
            label: format!("random (seed {seed})"),
        }),
    }
}

/// The weights every sweep (CPU, GPU encoder, GPU decoder) runs on: [`master`] rounded
/// to `precision`.
pub fn for_run(
    cfg: &TransformerConfig,
    precision: Precision,
    source: Option<&Path>,
    seed: u64,
) -> Result<RunWeights, ProfileError> {
    let run = master(cfg, source, seed)?;
    Ok(RunWeights {
        weights: run.weights.rounded(precision),
        label: run.label,
    })
}

/// Seeded random token ids in [0, vocab).
pub fn random_tokens(count: usize, vocab: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| (rng.next_u64() % vocab.max(1) as u64) as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::reference::quantize_all;

    #[test]
    fn rounding_touches_every_tensor_and_keeps_f32_as_it_is() {
        let cfg = TransformerConfig::lookup("tiny-qwen2").unwrap_or_else(|e| panic!("{e}"));
        let w = Weights::random(&cfg, Precision::F32, 3);
        let b = w.clone().rounded(Precision::Bf16);
        let all = |w: &Weights| -> Vec<f32> {
            let l = &w.layers[1];
            [
                &w.tokens,
                &w.outer_norm.gamma,
                &l.wqkv,
                &l.bqkv,
                &l.w_down,
                &l.norm2.gamma,
            ]
            .into_iter()
            .flatten()
            .copied()
            .collect()
        };
        let rounded = all(&b);
        assert_eq!(rounded, quantize_all(Precision::Bf16, &all(&w)));
        assert_ne!(rounded, all(&w), "bf16 changes random f32 values");
        assert_eq!(all(&w.clone().rounded(Precision::F32)), all(&w));
    }
}
