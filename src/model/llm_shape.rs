//! Model layer: a decoder's shape and what it costs in memory — weights bytes and KV
//! bytes per token — as pure arithmetic. The counting rule is the profiler's
//! (`profile::workloads::transformer::accounting`); `tests/llm_footprint.rs` checks the
//! two agree on every shipped decoder config.

use serde::Serialize;

use super::types::Precision;

/// The shape numbers of a causal decoder that its memory depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderShape {
    /// Token vocabulary size.
    pub vocab_size: u64,
    /// Model width d.
    pub hidden_size: u64,
    /// MLP inner width (per branch for a gated MLP).
    pub intermediate_size: u64,
    /// Transformer blocks.
    pub num_layers: u64,
    /// Query heads.
    pub num_heads: u64,
    /// Key/value heads.
    pub num_kv_heads: u64,
    /// Width of one head.
    pub head_dim: u64,
    /// Learned position rows (GPT-2); 0 with RoPE.
    pub learned_positions: u64,
    /// Llama family: RMSNorm, SiLU-gated MLP (three matrices), no linear biases.
    pub llama_family: bool,
    /// Bias on the Q, K and V projections (GPT-2, Qwen2).
    pub qkv_bias: bool,
    /// The LM head reuses the token embedding table.
    pub tied_embeddings: bool,
}

/// What one replica's memory holds per model: weights, and KV per cached token.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Footprint {
    /// Bytes of all weights.
    pub weights_bytes: f64,
    /// Bytes one cached token costs: K and V, every layer, every KV head.
    pub kv_bytes_per_token: f64,
}

impl DecoderShape {
    /// Parameters of one block: projections, MLP, biases, the two norms.
    pub fn layer_params(&self) -> u64 {
        let (d, i) = (self.hidden_size, self.intermediate_size);
        let q = self.num_heads * self.head_dim;
        let kv = self.num_kv_heads * self.head_dim;
        let linear_bias = u64::from(!self.llama_family);
        let qkv = d * (q + 2 * kv) + u64::from(self.qkv_bias) * (q + 2 * kv);
        let out = q * d + linear_bias * d;
        let branches = if self.llama_family { 2 } else { 1 };
        let mlp = d * i * branches + i * d + linear_bias * (i * branches + d);
        qkv + out + mlp + 2 * self.norm_params()
    }

    /// Gamma (RMSNorm) or gamma and beta (LayerNorm).
    fn norm_params(&self) -> u64 {
        let per = if self.llama_family { 1 } else { 2 };
        per * self.hidden_size
    }

    /// Every parameter: blocks, token and position tables, final norm, untied head.
    pub fn total_params(&self) -> u64 {
        let tokens = self.vocab_size * self.hidden_size;
        let positions = self.learned_positions * self.hidden_size;
        let head = if self.tied_embeddings { 0 } else { tokens };
        self.num_layers * self.layer_params() + tokens + positions + self.norm_params() + head
    }

    /// Weights and KV bytes per token stored at `precision`.
    pub fn footprint(&self, precision: Precision) -> Footprint {
        let bytes = precision.bytes_per_element() as u64;
        Footprint {
            weights_bytes: (self.total_params() * bytes) as f64,
            kv_bytes_per_token: (2 * self.num_layers * self.num_kv_heads * self.head_dim * bytes)
                as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_3_1_8b_has_its_published_size() {
        // config.json of meta-llama/Llama-3.1-8B: 8.03 B parameters, 128 KiB of bf16
        // KV per token (32 layers · 8 KV heads · 128 · 2 · 2 bytes).
        let shape = DecoderShape {
            vocab_size: 128_256,
            hidden_size: 4096,
            intermediate_size: 14_336,
            num_layers: 32,
            num_heads: 32,
            num_kv_heads: 8,
            head_dim: 128,
            learned_positions: 0,
            llama_family: true,
            qkv_bias: false,
            tied_embeddings: false,
        };
        assert_eq!(shape.total_params(), 8_030_261_248);
        let f = shape.footprint(Precision::Bf16);
        assert_eq!(f.kv_bytes_per_token, 131_072.0);
        assert_eq!(f.weights_bytes, 16_060_522_496.0);
    }
}
