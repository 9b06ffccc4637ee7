//! profile layer: the whole-pass checks of a GPU decoder — the f64 reference of a
//! pass at the check shape ([`PassReference`]), the f32 model's top-1 reference for
//! f16/bf16 ([`Top1Reference`]), and [`DecoderCheck`], which runs each (pass, GEMM
//! variant assignment) once against them.

use std::collections::HashMap;

use crate::profile::cpu::transformer_rows::VERIFY_LEN;
use crate::profile::gpu::decoder::GpuDecoder;
use crate::profile::gpu::decoder_rows::{TOP1_SEQUENCES, check_dims, run_assigned};
use crate::profile::gpu::decoder_tune::{DecoderChoice, ProjectionSlot};
use crate::profile::gpu::kernels::Variant;
use crate::profile::gpu::timer::Bench;
use crate::profile::gpu::transformer_rows::verify_layers;
use crate::profile::reference::rel_frobenius;
use crate::profile::workloads::transformer::Pass;
use crate::profile::workloads::transformer::reference;
use crate::profile::workloads::transformer::weights::{Weights, random_tokens};
use crate::profile::{Precision, ProfileError};

/// The f64 reference of one pass at one (batch, len, layers), with its tokens.
pub struct PassReference {
    /// The pass.
    pub pass: Pass,
    dims: (usize, usize, usize),
    tokens: Vec<u32>,
    hidden: Vec<f64>,
    logits: Vec<f64>,
}

impl PassReference {
    /// Random tokens from `seed` and the reference over `w` (a decode check's hidden
    /// rows are each sequence's last).
    pub fn new(
        w: &Weights,
        pass: Pass,
        (batch, len, layers): (usize, usize, usize),
        seed: u64,
    ) -> Self {
        let d = w.cfg.hidden_size;
        let total = if pass == Pass::Decode { len + 1 } else { len };
        let tokens = random_tokens(batch * total, w.cfg.vocab_size, seed);
        let want = reference::forward(w, layers, &tokens, (batch, total));
        let hidden = match pass {
            Pass::Decode => want
                .hidden
                .chunks(total * d)
                .flat_map(|s| s[len * d..].iter().copied())
                .collect(),
            _ => want.hidden,
        };
        PassReference {
            pass,
            dims: (batch, len, layers),
            tokens,
            hidden,
            logits: want.logits,
        }
    }

    /// The device's error against it with the checked pass on `choice`.
    pub fn error(
        &self,
        bench: Bench<'_>,
        model: &GpuDecoder,
        choice: Option<&DecoderChoice>,
    ) -> Result<f64, ProfileError> {
        let got = run_assigned(bench, model, self.pass, self.dims, &self.tokens, choice)?;
        let hidden_err = rel_frobenius(&got.hidden, &self.hidden);
        Ok(hidden_err.max(rel_frobenius(&got.logits, &self.logits)))
    }
}

/// Index of the largest value; `None` when any value is not finite.
fn argmax<T: Copy + Into<f64>>(xs: &[T]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &x) in xs.iter().enumerate() {
        let x: f64 = x.into();
        if !x.is_finite() {
            return None;
        }
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i)
}

/// Share of rows whose arg-max agrees (a row with a non-finite value never does).
fn agreement(got: &[f32], want: &[f64], vocab: usize) -> f64 {
    let rows = want.len() / vocab.max(1);
    let same = got
        .chunks(vocab)
        .zip(want.chunks(vocab))
        .filter(|(g, w)| argmax(g).is_some_and(|i| Some(i) == argmax(w)))
        .count();
    same as f64 / rows.max(1) as f64
}

/// The f32 model's last-position logits, computed exactly, over [`TOP1_SEQUENCES`]
/// sequences of [`VERIFY_LEN`] + 1 tokens through [`verify_layers`].
pub struct Top1Reference {
    tokens: Vec<u32>,
    logits: Vec<f64>,
    /// (sequences, prompt tokens before the last, layers).
    dims: (usize, usize, usize),
    vocab: usize,
}

impl Top1Reference {
    /// Tokens from `seed` and the reference over the unrounded `master` weights.
    pub fn new(master: &Weights, seed: u64) -> Self {
        let cfg = &master.cfg;
        let (batch, layers) = (TOP1_SEQUENCES, verify_layers(cfg));
        let len = VERIFY_LEN.min(cfg.max_positions - 1).max(1);
        let tokens = random_tokens(batch * (len + 1), cfg.vocab_size, seed ^ 0x7091);
        let want = reference::forward(master, layers, &tokens, (batch, len + 1));
        Top1Reference {
            tokens,
            logits: want.logits,
            dims: (batch, len, layers),
            vocab: cfg.vocab_size,
        }
    }

    /// The share of sequences whose device arg-max of `pass` (prefill: all `len + 1`
    /// tokens; decode: the last decoded after the rest was prefilled), with the checked
    /// pass on `choice`, equals the reference's.
    pub fn agreement(
        &self,
        bench: Bench<'_>,
        model: &GpuDecoder,
        pass: Pass,
        choice: Option<&DecoderChoice>,
    ) -> Result<f64, ProfileError> {
        let (batch, len, layers) = self.dims;
        let dims = match pass {
            Pass::Decode => (batch, len, layers),
            _ => (batch, len + 1, layers),
        };
        let got = run_assigned(bench, model, pass, dims, &self.tokens, choice)?;
        Ok(agreement(&got.logits, &self.logits, self.vocab))
    }
}

/// A [`DecoderChoice`] as a hashable list, with its pass.
type CheckId = (Pass, Vec<(ProjectionSlot, Variant)>);

/// The whole-pass checks of a decoder, run once per (pass, assignment): the f64
/// references built once, so the host weights can be freed before any timing.
pub struct DecoderCheck {
    refs: Vec<PassReference>,
    top1: Option<Top1Reference>,
    errors: HashMap<CheckId, f64>,
    agreements: HashMap<CheckId, f64>,
}

impl DecoderCheck {
    /// The references of `passes` over `w` (the weights the model holds) at the check
    /// shape, and, when the model is half precision, the top-1 reference over the f32
    /// `master` weights.
    pub fn new(
        model: &GpuDecoder,
        w: &Weights,
        master: Option<&Weights>,
        passes: &[Pass],
        seed: u64,
    ) -> Self {
        let cfg = model.config();
        let refs = passes
            .iter()
            .map(|&p| PassReference::new(w, p, check_dims(cfg), seed))
            .collect();
        let half = model.precision() != Precision::F32;
        DecoderCheck {
            refs,
            top1: master.filter(|_| half).map(|m| Top1Reference::new(m, seed)),
            errors: HashMap::new(),
            agreements: HashMap::new(),
        }
    }

    /// The relative error of `pass` with its projections on `choice`.
    pub fn error(
        &mut self,
        bench: Bench<'_>,
        model: &GpuDecoder,
        pass: Pass,
        choice: &DecoderChoice,
    ) -> Result<f64, ProfileError> {
        let id = (pass, choice.iter().map(|(s, v)| (*s, *v)).collect());
        if let Some(e) = self.errors.get(&id) {
            return Ok(*e);
        }
        let r = self.refs.iter().find(|r| r.pass == pass).ok_or_else(|| {
            ProfileError::Invalid(format!("the decoder check has no {pass:?} reference"))
        })?;
        let err = r.error(bench, model, Some(choice))?;
        self.errors.insert(id, err);
        Ok(err)
    }

    /// The top-1 agreement of `pass` on `choice` with the f32 model (`None` for f32).
    pub fn agreement(
        &mut self,
        bench: Bench<'_>,
        model: &GpuDecoder,
        pass: Pass,
        choice: &DecoderChoice,
    ) -> Result<Option<f64>, ProfileError> {
        let Some(r) = &self.top1 else {
            return Ok(None);
        };
        let id = (pass, choice.iter().map(|(s, v)| (*s, *v)).collect());
        if let Some(a) = self.agreements.get(&id) {
            return Ok(Some(*a));
        }
        let a = r.agreement(bench, model, pass, Some(choice))?;
        self.agreements.insert(id, a);
        Ok(Some(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_counts_matching_arg_maxes_and_never_a_non_finite_row() {
        // Three rows of vocab 3: the first agrees, the second does not, the third has
        // a NaN on the device (its arg-max would otherwise agree).
        let got = [0.1, 0.9, 0.0, 0.5, 0.2, 0.1, f32::NAN, 0.0, 2.0];
        let want = [0.0, 1.0, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        assert!((agreement(&got, &want, 3) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(argmax(&[1.0f32, 3.0, 3.0, 2.0]), Some(1), "first of a tie");
        assert_eq!(argmax::<f32>(&[]), None);
    }
}
