//! profile layer: top-1 agreement of a reduced-precision decoder on the CPU — the share
//! of [`SEQUENCES`] sequences whose arg-max over the last position's logits, from the
//! pass over weights rounded to f16, equals the arg-max of the f64 reference over the
//! f32 master weights: how often greedy decoding would pick the same next token.

use super::attention::Elem;
use super::transformer::CpuTransformer;
use super::transformer_rows::{VERIFY_LEN, verify_layers};
use crate::profile::workloads::transformer::Pass;
use crate::profile::workloads::transformer::reference;
use crate::profile::workloads::transformer::weights::{Weights, random_tokens};

/// Sequences the agreement is the share of (each [`VERIFY_LEN`] tokens, plus the decoded
/// one for decode rows).
pub const SEQUENCES: usize = 16;

/// The reference's answers for one pass, computed from the master weights before they
/// are rounded (so the f32 copy need not outlive the model's construction).
#[derive(Clone, Debug)]
pub struct Top1Reference {
    pass: Pass,
    /// Tokens per sequence before the decoded one (prefill: all of them).
    len: usize,
    layers: usize,
    /// [`SEQUENCES`] × (len, or len + 1 for decode) token ids.
    tokens: Vec<u32>,
    /// The reference's arg-max per sequence.
    argmax: Vec<usize>,
}

/// The index of the largest value (the first of equals; NaN counts as largest, so a
/// pass that produced one disagrees rather than agrees by accident).
pub fn argmax(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v.total_cmp(&best.1).is_gt() {
            best = (i, v);
        }
    }
    best.0
}

/// The f64 reference's arg-max of `pass` over `master` (unrounded f32 weights), at
/// [`SEQUENCES`] × [`VERIFY_LEN`] tokens from `seed`, through the blocks the
/// correctness check runs.
pub fn reference(master: &Weights, pass: Pass, seed: u64) -> Top1Reference {
    let cfg = &master.cfg;
    let len = VERIFY_LEN.min(cfg.max_positions - 1).max(1);
    let total = if pass == Pass::Decode { len + 1 } else { len };
    let layers = verify_layers(cfg);
    let tokens = random_tokens(SEQUENCES * total, cfg.vocab_size, seed);
    let out = reference::forward(master, layers, &tokens, (SEQUENCES, total));
    let argmax = out
        .logits
        .chunks(cfg.vocab_size)
        .map(|row| self::argmax(row.iter().copied()))
        .collect();
    Top1Reference {
        pass,
        len,
        layers,
        tokens,
        argmax,
    }
}

/// The share of `r`'s sequences on which `model` picks the reference's token.
pub fn agreement<T: Elem>(model: &CpuTransformer<T>, r: &Top1Reference) -> f64 {
    let cfg = model.config();
    let vocab = cfg.vocab_size;
    let total = if r.pass == Pass::Decode {
        r.len + 1
    } else {
        r.len
    };
    let mut bufs = model.buffers(SEQUENCES, r.len, total);
    if r.pass == Pass::Decode {
        let split = |from: usize, to: usize| -> Vec<u32> {
            r.tokens
                .chunks(total)
                .flat_map(|s| &s[from..to])
                .copied()
                .collect()
        };
        model.forward(&mut bufs, &split(0, r.len), (r.len, 0), r.layers);
        model.forward(&mut bufs, &split(r.len, total), (1, r.len), r.layers);
    } else {
        model.forward(&mut bufs, &r.tokens, (r.len, 0), r.layers);
    }
    let agree = bufs
        .logits
        .chunks(vocab)
        .zip(&r.argmax)
        .filter(|&(row, &want)| argmax(row.iter().map(|v| f64::from(v.to_f32()))) == want)
        .count();
    agree as f64 / r.argmax.len().max(1) as f64
}
