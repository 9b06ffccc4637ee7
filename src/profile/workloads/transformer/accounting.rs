//! profile layer: exact work of one transformer pass — FLOPs, parameter and KV-cache
//! bytes, compulsory traffic — as pure functions of the config, so every row's GFLOP/s
//! and GB/s divide the same, stated amount of work.
//!
//! Conventions (the same for every device and pass):
//! - a matmul of (m×k)·(k×n) is 2·m·n·k FLOPs;
//! - attention counts 4·head_dim FLOPs per (query, key, head) pair — 2·head_dim for the
//!   score q·k and 2·head_dim for adding p·v — over the pairs actually computed:
//!   all S² pairs for an encoder, the lower triangle with its diagonal, S·(S+1)/2, for a
//!   causal prefill (the masked pairs are skipped, not computed and discarded), and
//!   C + 1 keys for a decode step against C cached tokens;
//! - norms, softmax, activations, RoPE, residual adds and the embedding gather are
//!   *not* counted: together they are O(tokens·width), under 1 % of the matmuls at the
//!   shipped shapes, and leaving them out keeps the figures comparable with the usual
//!   2·parameters·tokens rule;
//! - decoders apply the LM head (d × vocab) to the last position of each sequence in
//!   prefill and to the new token in decode (what a server samples from); encoders
//!   return hidden states and have no head.

use super::{Family, Pass, TransformerConfig};

/// FLOPs of one multiply-add.
const FLOPS_PER_MAC: f64 = 2.0;
/// FLOPs per (query, key, head) pair per head dimension: q·k and p·v, one MAC each.
const ATTENTION_FLOPS_PER_PAIR_DIM: f64 = 4.0;

/// Parameters of one transformer block (matrices, biases, norm weights).
pub fn layer_params(cfg: &TransformerConfig) -> u64 {
    let (d, q, kv, i) = (
        cfg.hidden_size as u64,
        cfg.q_dim() as u64,
        cfg.kv_dim() as u64,
        cfg.intermediate_size as u64,
    );
    let qkv = d * (q + 2 * kv) + u64::from(cfg.qkv_bias) * (q + 2 * kv);
    let out = q * d + u64::from(cfg.linear_bias()) * d;
    let branches = if cfg.gated_mlp() { 2 } else { 1 };
    let mlp = d * i * branches + i * d + u64::from(cfg.linear_bias()) * (i * branches + d);
    qkv + out + mlp + 2 * norm_params(cfg)
}

/// Weights of one norm: gamma and beta for LayerNorm, gamma only for RMSNorm.
fn norm_params(cfg: &TransformerConfig) -> u64 {
    let per = if cfg.family == Family::Llama { 1 } else { 2 };
    per * cfg.hidden_size as u64
}

/// Parameters outside the blocks: token (and learned position) embeddings, the
/// embedding norm (encoders) or final norm (decoders), and an untied LM head.
pub fn embedding_params(cfg: &TransformerConfig) -> u64 {
    let d = cfg.hidden_size as u64;
    let tokens = cfg.vocab_size as u64 * d;
    let positions = match cfg.family {
        Family::Llama => 0,
        _ => cfg.max_positions as u64 * d,
    };
    let head = if cfg.tied_embeddings || !cfg.family.is_decoder() {
        0
    } else {
        tokens
    };
    tokens + positions + norm_params(cfg) + head
}

/// Every parameter of the model.
pub fn total_params(cfg: &TransformerConfig) -> u64 {
    cfg.num_layers as u64 * layer_params(cfg) + embedding_params(cfg)
}

/// Bytes of all weights stored at `elem_bytes` per element.
pub fn weights_bytes(cfg: &TransformerConfig, elem_bytes: usize) -> f64 {
    (total_params(cfg) * elem_bytes as u64) as f64
}

/// Bytes one cached token costs: K and V, every layer, every KV head.
pub fn kv_bytes_per_token(cfg: &TransformerConfig, elem_bytes: usize) -> f64 {
    (2 * cfg.num_layers * cfg.num_kv_heads * cfg.head_dim * elem_bytes) as f64
}

/// Matmul FLOPs of one token through every block (projections and MLP).
pub fn block_matmul_flops_per_token(cfg: &TransformerConfig) -> f64 {
    let (d, q, kv, i) = (
        cfg.hidden_size as f64,
        cfg.q_dim() as f64,
        cfg.kv_dim() as f64,
        cfg.intermediate_size as f64,
    );
    let mlp_matrices = if cfg.gated_mlp() { 3.0 } else { 2.0 };
    let per_layer = d * (q + 2.0 * kv) + q * d + mlp_matrices * d * i;
    FLOPS_PER_MAC * per_layer * cfg.num_layers as f64
}

/// Attention FLOPs for `pairs` (query, key) pairs per head, over every layer and head.
pub fn attention_flops(cfg: &TransformerConfig, pairs: f64) -> f64 {
    let heads = (cfg.num_layers * cfg.num_heads) as f64;
    ATTENTION_FLOPS_PER_PAIR_DIM * cfg.head_dim as f64 * heads * pairs
}

/// (query, key) pairs per head computed by one sequence of `len` in `pass` (`len` is
/// the sequence for encoder/prefill, the cached context for decode).
pub fn attention_pairs(pass: Pass, len: usize) -> f64 {
    let s = len as f64;
    match pass {
        Pass::Encoder => s * s,
        Pass::Prefill => s * (s + 1.0) / 2.0,
        Pass::Decode => s + 1.0,
    }
}

/// Tokens one sequence pushes through the blocks in `pass`.
fn tokens(pass: Pass, len: usize) -> f64 {
    match pass {
        Pass::Decode => 1.0,
        _ => len as f64,
    }
}

/// LM-head FLOPs of one sequence: one position (the last, or the new token) for
/// decoders, none for encoders.
pub fn head_flops(cfg: &TransformerConfig, pass: Pass) -> f64 {
    match pass {
        Pass::Encoder => 0.0,
        _ => FLOPS_PER_MAC * (cfg.hidden_size * cfg.vocab_size) as f64,
    }
}

/// FLOPs of one item: one sequence of `len` tokens (encoder, prefill) or one decoded
/// token against `len` cached ones (decode).
pub fn flops_per_item(cfg: &TransformerConfig, pass: Pass, len: usize) -> f64 {
    tokens(pass, len) * block_matmul_flops_per_token(cfg)
        + attention_flops(cfg, attention_pairs(pass, len))
        + head_flops(cfg, pass)
}

/// Weight bytes one pass reads once, whatever the batch: every block, the norms and,
/// for decoders, the LM head matrix (the embedding rows gathered count per item).
pub fn weights_read_bytes(cfg: &TransformerConfig, pass: Pass, elem_bytes: usize) -> f64 {
    let d = cfg.hidden_size as u64;
    let head = match pass {
        Pass::Encoder => 0,
        _ => cfg.vocab_size as u64 * d,
    };
    let elems = cfg.num_layers as u64 * layer_params(cfg) + norm_params(cfg) + head;
    (elems * elem_bytes as u64) as f64
}

/// Compulsory bytes one item moves apart from the shared weights: embedding (and
/// position) rows gathered, the final hidden states or logits written, and the KV
/// cache written (prefill, decode) and read (decode).
pub fn bytes_per_item(cfg: &TransformerConfig, pass: Pass, len: usize, elem_bytes: usize) -> f64 {
    let d = cfg.hidden_size as f64;
    let e = elem_bytes as f64;
    let t = tokens(pass, len);
    let tables = if cfg.family == Family::Llama {
        1.0
    } else {
        2.0
    };
    let gathered = t * d * e * tables;
    let kv = kv_bytes_per_token(cfg, elem_bytes);
    match pass {
        Pass::Encoder => gathered + t * d * e,
        Pass::Prefill => gathered + t * kv + cfg.vocab_size as f64 * e,
        Pass::Decode => gathered + (len as f64 + 1.0) * kv + cfg.vocab_size as f64 * e,
    }
}

/// Compulsory bytes of one pass over `batch` items: weights once, then per item.
pub fn bytes_per_pass(
    cfg: &TransformerConfig,
    pass: Pass,
    (batch, len): (usize, usize),
    elem_bytes: usize,
) -> f64 {
    weights_read_bytes(cfg, pass, elem_bytes)
        + batch as f64 * bytes_per_item(cfg, pass, len, elem_bytes)
}
