//! profile layer: the decoder forward pass (GPT-2 and Llama families) on the GPU —
//! weights, and the LM head transposed to d × vocab, uploaded and kernels compiled once
//! per (model, precision) — every GEMM variant the projections are tuned over; see
//! [`super::decoder_tune`]; activations, a KV cache and every binding once per shape
//! (`plan`); the whole pass — embedding, pre-norm blocks, final norm, LM head on each
//! sequence's last position — recorded into one compute pass of one submission.

use std::time::Duration;

use crate::profile::gpu::buffers::{decode, encode, storage_buffer};
pub use crate::profile::gpu::decoder_plan::KvCache;
use crate::profile::gpu::decoder_plan::{Activations, Binder, Dispatch, Step, transpose, zeroed};
use crate::profile::gpu::encoder_plan::compile_all;
use crate::profile::gpu::kernels::{GemmKernel, GemmLayout, Variant};
use crate::profile::gpu::model::{DeviceModel, Linear};
use crate::profile::gpu::ops::attention::{DecodeAttention, KvAppend, PrefillAttention};
use crate::profile::gpu::ops::matrix_bytes;
use crate::profile::gpu::ops::norm_rope::{Norm, Rope};
use crate::profile::gpu::ops::pointwise::{Elementwise, Embedding};
use crate::profile::gpu::transformer::check_buffer;
use crate::profile::gpu::{self, GpuContext, scoped};
use crate::profile::workloads::transformer::ops::OpKind;
use crate::profile::workloads::transformer::weights::Weights;
use crate::profile::workloads::transformer::{Pass, TransformerConfig};
use crate::profile::{Precision, ProfileError};

/// A decoder's weights on the device and its kernels compiled at one precision.
pub struct GpuDecoder {
    pub(super) cfg: TransformerConfig,
    pub(super) precision: Precision,
    /// The GEMM variants compiled, in candidate order; a new plan's steps start on the
    /// first.
    pub(super) kernels: Vec<GemmKernel>,
    pub(super) embed: Embedding,
    pub(super) norm: Norm,
    pub(super) ew: Elementwise,
    pub(super) prefill: PrefillAttention,
    pub(super) decode: DecodeAttention,
    pub(super) append: KvAppend,
    /// RoPE on Q and K (Llama family); `None` with learned positions (GPT-2).
    pub(super) rope: Option<Rope>,
    pub(super) model: DeviceModel,
    /// `head()ᵀ`, d × vocab, so the GEMM kernels compute logits = h · head.
    pub(super) head: Linear,
    /// Bound where a projection has no bias (never read: the epilogue adds none).
    pub(super) no_bias: wgpu::Buffer,
}

/// One pass a plan runs: a prefill of `len` tokens from an empty cache, or a decode
/// step of one token per sequence after `len` cached ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderShape {
    /// [`Pass::Prefill`] or [`Pass::Decode`].
    pub pass: Pass,
    /// Sequences.
    pub batch: usize,
    /// Prompt tokens (prefill) or cached tokens (decode).
    pub len: usize,
}

impl DecoderShape {
    /// `batch` prompts of `seq_len` tokens.
    pub const fn prefill(batch: usize, seq_len: usize) -> Self {
        DecoderShape {
            pass: Pass::Prefill,
            batch,
            len: seq_len,
        }
    }

    /// One new token for each of `batch` sequences with `context_len` cached tokens.
    pub const fn decode(batch: usize, context_len: usize) -> Self {
        DecoderShape {
            pass: Pass::Decode,
            batch,
            len: context_len,
        }
    }

    /// Tokens per sequence the pass pushes through the blocks.
    pub fn rows(&self) -> usize {
        if self.pass == Pass::Decode {
            1
        } else {
            self.len
        }
    }

    /// Position of each sequence's first token in the pass.
    pub fn first_pos(&self) -> usize {
        if self.pass == Pass::Decode {
            self.len
        } else {
            0
        }
    }

    /// Cache positions filled once the pass has run.
    pub fn cache_len(&self) -> usize {
        self.first_pos() + self.rows()
    }
}

/// Activations and bindings of one [`DecoderShape`] over the first `layers` blocks.
pub struct DecoderPlan {
    /// The pass and its size.
    pub shape: DecoderShape,
    /// Blocks recorded.
    pub layers: usize,
    precision: Precision,
    hidden_size: usize,
    vocab: usize,
    ids: wgpu::Buffer,
    /// The final-normed hidden states, (batch·rows) × d.
    hidden: wgpu::Buffer,
    /// Each sequence's last-position logits, batch × vocab.
    logits: wgpu::Buffer,
    pub(super) steps: Vec<Step>,
}

impl GpuDecoder {
    /// Checks sizes against the adapter, compiles the kernels (GEMM `variant`) and
    /// uploads `w` (already rounded to `precision`). GPT-2 and Llama families only.
    pub fn upload(
        ctx: &GpuContext,
        layout: &GemmLayout,
        w: &Weights,
        precision: Precision,
        variant: Variant,
    ) -> Result<Self, ProfileError> {
        Self::upload_with(ctx, layout, w, precision, &[variant])
    }

    /// [`GpuDecoder::upload`] with every GEMM variant of `variants` compiled once (one
    /// whose shader does not compile on the adapter is left out; none at all is the
    /// error), so a plan can put each projection shape on its own.
    pub fn upload_with(
        ctx: &GpuContext,
        layout: &GemmLayout,
        w: &Weights,
        precision: Precision,
        variants: &[Variant],
    ) -> Result<Self, ProfileError> {
        let c = &w.cfg;
        if !c.family.is_decoder() {
            return Err(ProfileError::Invalid(format!(
                "{} is not a decoder: the GPU decoder pass runs GPT-2 and Llama families",
                c.name
            )));
        }
        let p = precision;
        let (d, i, vocab) = (c.hidden_size, c.intermediate_size, c.vocab_size);
        check_buffer(ctx, matrix_bytes(p, vocab, d), "the token table")?;
        check_buffer(ctx, matrix_bytes(p, d, vocab), "the LM head")?;
        if !w.positions.is_empty() {
            check_buffer(
                ctx,
                matrix_bytes(p, c.max_positions, d),
                "the position table",
            )?;
        }
        let block = matrix_bytes(p, d, i.max(c.q_dim())).max(matrix_bytes(p, i, d));
        check_buffer(ctx, block, "a block matrix")?;
        let kernels = compile_all(ctx, layout, p, variants)?;
        let model = DeviceModel::upload(ctx, w, p, "uploading decoder weights")?;
        let head = scoped(&ctx.device, "uploading the LM head", || {
            let t = transpose(w.head(), vocab, d);
            storage_buffer(&ctx.device, "lm-head", &encode(p, &t, d, vocab))
        })?;
        let rope = match c.rope_theta {
            Some(theta) => Some(Rope::new(ctx, p, c.head_dim, c.max_positions, theta)?),
            None => None,
        };
        Ok(GpuDecoder {
            cfg: c.clone(),
            precision,
            kernels,
            embed: Embedding::new(ctx, p)?,
            norm: Norm::new(ctx, p)?,
            ew: Elementwise::new(ctx, p)?,
            prefill: PrefillAttention::new(ctx, p, c.head_dim)?,
            decode: DecodeAttention::new(ctx, p, c.head_dim)?,
            append: KvAppend::new(ctx, p)?,
            rope,
            model,
            head: Linear {
                w: head,
                bias: None,
                k: d,
                n: vocab,
            },
            no_bias: storage_buffer(&ctx.device, "no-bias", &[0; 4]),
        })
    }

    /// The config this model runs.
    pub fn config(&self) -> &TransformerConfig {
        &self.cfg
    }

    /// The storage precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The GEMM variant a new plan's projections and LM head start on (the first
    /// compiled).
    pub fn variant(&self) -> Variant {
        self.kernels.first().map_or(Variant::Naive, |k| k.variant)
    }

    /// The compiled GEMM kernels, in candidate order.
    pub fn kernels(&self) -> &[GemmKernel] {
        &self.kernels
    }

    /// A zeroed KV cache (every layer) for `batch` sequences of `capacity` positions.
    pub fn kv_cache(
        &self,
        ctx: &GpuContext,
        batch: usize,
        capacity: usize,
    ) -> Result<KvCache, ProfileError> {
        let c = &self.cfg;
        let rows = batch * c.num_kv_heads * capacity;
        let bytes = matrix_bytes(self.precision, rows, c.head_dim);
        check_buffer(ctx, bytes, "one layer's K or V cache")?;
        let layers = scoped(&ctx.device, "allocating the KV cache", || {
            (0..c.num_layers)
                .map(|_| {
                    [
                        zeroed(&ctx.device, "k-cache", bytes),
                        zeroed(&ctx.device, "v-cache", bytes),
                    ]
                })
                .collect()
        })?;
        Ok(KvCache {
            batch,
            capacity,
            layers,
        })
    }

    /// Allocates activations for `shape` and binds every step of the first `layers`
    /// blocks, writing K and V into `cache` (sizes checked against the adapter first).
    pub fn plan(
        &self,
        ctx: &GpuContext,
        layout: &GemmLayout,
        shape: DecoderShape,
        layers: usize,
        cache: &KvCache,
    ) -> Result<DecoderPlan, ProfileError> {
        let (c, p) = (&self.cfg, self.precision);
        let (batch, rows) = (shape.batch, shape.rows());
        if batch == 0 || rows == 0 || cache.batch != batch || cache.capacity < shape.cache_len() {
            return Err(ProfileError::Invalid(format!(
                "a decoder plan of {shape:?} needs batch and rows ≥ 1 and a cache of {batch} \
                 × ≥ {} positions (got {} × {})",
                shape.cache_len(),
                cache.batch,
                cache.capacity
            )));
        }
        if shape.cache_len() > c.max_positions {
            return Err(ProfileError::Invalid(format!(
                "{shape:?} reaches position {} of {}'s {} positions",
                shape.cache_len() - 1,
                c.name,
                c.max_positions
            )));
        }
        let n = batch * rows;
        let widest = c.hidden_size.max(c.intermediate_size).max(c.q_dim());
        check_buffer(ctx, matrix_bytes(p, n, widest), "an activation")?;
        check_buffer(ctx, matrix_bytes(p, batch, c.vocab_size), "the logits")?;
        let dev = &ctx.device;
        scoped(
            dev,
            "binding the decoder pass",
            || -> Result<_, ProfileError> {
                let acts = Activations::new(dev, c, p, shape);
                let bind = Binder {
                    dec: self,
                    dev,
                    layout,
                    shape,
                    capacity: cache.capacity,
                };
                let layers = layers.min(self.model.layers.len());
                let steps = bind.steps(&acts, &cache.layers[..layers])?;
                Ok(DecoderPlan {
                    shape,
                    layers,
                    precision: p,
                    hidden_size: c.hidden_size,
                    vocab: c.vocab_size,
                    ids: acts.ids,
                    hidden: acts.h,
                    logits: acts.logits,
                    steps,
                })
            },
        )?
    }

    /// Encodes every step of `plan` into `pass` (one forward pass, no host round trip).
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, plan: &DecoderPlan) {
        for i in 0..plan.steps.len() {
            self.record_step(pass, plan, i);
        }
    }

    /// Encodes step `index` of `plan` into `pass` (the ops profile records each step in
    /// its own timestamped pass); an index past the end records nothing.
    pub fn record_step(&self, pass: &mut wgpu::ComputePass<'_>, plan: &DecoderPlan, index: usize) {
        let Some(step) = plan.steps.get(index) else {
            return;
        };
        match &step.dispatch {
            Dispatch::Gemm { ops, kernel, .. } => {
                // `assign` only sets indices of compiled kernels.
                if let Some(k) = self.kernels.get(*kernel) {
                    k.record(pass, ops);
                }
            }
            Dispatch::Embed(b) => self.embed.record(pass, b),
            Dispatch::Norm(b) => self.norm.record(pass, b),
            Dispatch::Ew(b) => self.ew.record(pass, b),
            Dispatch::Rope(b) => {
                if let Some(r) = &self.rope {
                    r.record(pass, b);
                }
            }
            Dispatch::Append(b) => self.append.record(pass, b),
            Dispatch::Prefill(b) => self.prefill.record(pass, b),
            Dispatch::Decode(b) => self.decode.record(pass, b),
        }
    }
}

impl DecoderPlan {
    /// The operator kind of every step, in order (what an ops profile sums by).
    pub fn op_kinds(&self) -> Vec<OpKind> {
        self.steps.iter().map(|s| s.op).collect()
    }

    /// Writes `batch × rows` token ids (sequence-major) for the next pass.
    pub fn write_tokens(&self, ctx: &GpuContext, tokens: &[u32]) -> Result<(), ProfileError> {
        let (batch, rows) = (self.shape.batch, self.shape.rows());
        if tokens.len() != batch * rows {
            return Err(ProfileError::Invalid(format!(
                "{} token ids for a {batch}×{rows} decoder plan",
                tokens.len()
            )));
        }
        ctx.queue
            .write_buffer(&self.ids, 0, bytemuck::cast_slice(tokens));
        Ok(())
    }

    /// The final-normed hidden states, `(batch·rows) × d` dense f32 (outside any timing).
    pub fn read_hidden(
        &self,
        ctx: &GpuContext,
        timeout: Duration,
    ) -> Result<Vec<f32>, ProfileError> {
        let rows = self.shape.batch * self.shape.rows();
        self.read(ctx, &self.hidden, (rows, self.hidden_size), timeout)
    }

    /// Each sequence's last-position logits, `batch × vocab` dense f32.
    pub fn read_logits(
        &self,
        ctx: &GpuContext,
        timeout: Duration,
    ) -> Result<Vec<f32>, ProfileError> {
        self.read(ctx, &self.logits, (self.shape.batch, self.vocab), timeout)
    }

    fn read(
        &self,
        ctx: &GpuContext,
        buf: &wgpu::Buffer,
        (rows, cols): (usize, usize),
        timeout: Duration,
    ) -> Result<Vec<f32>, ProfileError> {
        let bytes = gpu::read_buffer(&ctx.device, &ctx.queue, buf, buf.size(), timeout)?;
        Ok(decode(self.precision, &bytes, rows, cols))
    }
}
