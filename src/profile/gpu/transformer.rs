//! profile layer: the encoder forward pass (bert family) on the GPU — weights uploaded
//! once per (model, precision), activations and bindings once per (batch, seq_len),
//! every block recorded into one compute pass of one submission: projections through
//! the GEMM kernels (bias epilogue; each projection shape on its own variant, see
//! [`EncoderPlan::assign`]), everything else through the verified ops.

use crate::profile::gpu::buffers::storage_buffer;
use crate::profile::gpu::encoder_plan::{Dispatch, Step, compile_all};
pub use crate::profile::gpu::encoder_plan::{EncoderPlan, GemmChoice, ProjectionStep};
use crate::profile::gpu::kernels::{GemmKernel, GemmLayout, Variant};
use crate::profile::gpu::model::{DeviceModel, GpuLayer, GpuNorm, Linear};
use crate::profile::gpu::ops::attention::{AttentionDims, PrefillAttention};
use crate::profile::gpu::ops::matrix_bytes;
use crate::profile::gpu::ops::norm_rope::{Norm, NormKind};
use crate::profile::gpu::ops::pointwise::{Elementwise, Embedding, EmbeddingDims, EwInput, EwOp};
use crate::profile::gpu::{GpuContext, scoped};
use crate::profile::workloads::transformer::ops::OpKind;
use crate::profile::workloads::transformer::weights::Weights;
use crate::profile::workloads::transformer::{Family, TransformerConfig};
use crate::profile::{Precision, ProfileError};

/// An encoder's weights on the device and its kernels compiled at one precision.
pub struct GpuEncoder {
    cfg: TransformerConfig,
    precision: Precision,
    /// The GEMM variants compiled, in candidate order; steps start on the first.
    kernels: Vec<GemmKernel>,
    embed: Embedding,
    norm: Norm,
    ew: Elementwise,
    attn: PrefillAttention,
    tokens: wgpu::Buffer,
    positions: Option<wgpu::Buffer>,
    outer: GpuNorm,
    layers: Vec<GpuLayer>,
    /// Bound where a projection has no bias (never read: the epilogue adds none).
    no_bias: wgpu::Buffer,
}

/// `Invalid` when one buffer of `bytes` exceeds what the adapter can bind.
pub fn check_buffer(ctx: &GpuContext, bytes: u64, what: &str) -> Result<(), ProfileError> {
    let l = ctx.device.limits();
    let limit = l.max_storage_buffer_binding_size.min(l.max_buffer_size);
    if bytes > limit {
        return Err(ProfileError::Invalid(format!(
            "{what} needs a {bytes}-byte buffer; {} binds at most {limit}",
            ctx.name
        )));
    }
    Ok(())
}

impl GpuEncoder {
    /// Checks sizes against the adapter, compiles the kernels (GEMM `variant`) and
    /// uploads `w` (already rounded to `precision`). Encoders only.
    pub fn upload(
        ctx: &GpuContext,
        layout: &GemmLayout,
        w: &Weights,
        precision: Precision,
        variant: Variant,
    ) -> Result<Self, ProfileError> {
        Self::upload_with(ctx, layout, w, precision, &[variant])
    }

    /// [`GpuEncoder::upload`] with every GEMM variant of `variants` compiled once (a
    /// variant whose shader does not compile on the adapter is left out; none at all
    /// is the error), so a plan can put each projection on its own.
    pub fn upload_with(
        ctx: &GpuContext,
        layout: &GemmLayout,
        w: &Weights,
        precision: Precision,
        variants: &[Variant],
    ) -> Result<Self, ProfileError> {
        let c = &w.cfg;
        if c.family != Family::Encoder {
            return Err(ProfileError::Invalid(format!(
                "{} is not an encoder: the GPU pass runs encoders only",
                c.name
            )));
        }
        let p = precision;
        let (d, i) = (c.hidden_size, c.intermediate_size);
        check_buffer(ctx, matrix_bytes(p, c.vocab_size, d), "the token table")?;
        check_buffer(ctx, matrix_bytes(p, i, d), "an MLP matrix")?;
        let kernels = compile_all(ctx, layout, p, variants)?;
        let model = DeviceModel::upload(ctx, w, p, "uploading encoder weights")?;
        let DeviceModel {
            tokens,
            positions,
            outer,
            layers,
        } = model;
        Ok(GpuEncoder {
            cfg: c.clone(),
            precision,
            kernels,
            embed: Embedding::new(ctx, p)?,
            norm: Norm::new(ctx, p)?,
            ew: Elementwise::new(ctx, p)?,
            attn: PrefillAttention::new(ctx, p, c.head_dim)?,
            tokens,
            positions,
            outer,
            layers,
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

    /// The GEMM variant a new plan's projections start on (the first compiled).
    pub fn variant(&self) -> Variant {
        self.kernels.first().map_or(Variant::Naive, |k| k.variant)
    }

    /// The compiled GEMM kernels, in candidate order.
    pub fn kernels(&self) -> &[GemmKernel] {
        &self.kernels
    }

    /// Allocates activations for `batch` sequences of `seq_len` tokens and binds every
    /// step of the first `layers` blocks (sizes checked against the adapter first).
    pub fn plan(
        &self,
        ctx: &GpuContext,
        layout: &GemmLayout,
        (batch, seq_len): (usize, usize),
        layers: usize,
    ) -> Result<EncoderPlan, ProfileError> {
        let (c, p) = (&self.cfg, self.precision);
        let (n, d, i) = (batch * seq_len, c.hidden_size, c.intermediate_size);
        let widest = d.max(i).max(c.q_dim());
        check_buffer(ctx, matrix_bytes(p, n, widest), "an activation")?;
        let dev = &ctx.device;
        scoped(
            dev,
            "binding the encoder pass",
            || -> Result<_, ProfileError> {
                let act = |cols| {
                    storage_buffer(
                        dev,
                        "activation",
                        &vec![0; matrix_bytes(p, n, cols) as usize],
                    )
                };
                let ids = storage_buffer(dev, "token-ids", &vec![0; n.max(1) * 4]);
                let acts = Activations {
                    x: act(d),
                    h: act(d),
                    proj: act(d),
                    q: act(c.q_dim()),
                    k: act(c.kv_dim()),
                    v: act(c.kv_dim()),
                    att: act(c.q_dim()),
                    up: act(i),
                };
                let bind = Binder {
                    enc: self,
                    dev,
                    layout,
                    n,
                };
                let dims = EmbeddingDims {
                    tokens: n,
                    hidden: d,
                    vocab: c.vocab_size,
                    seq_len,
                    pos_offset: 0,
                    max_positions: c.max_positions,
                };
                let embed = self.embed.bind(
                    dev,
                    dims,
                    [&ids, &self.tokens],
                    self.positions.as_ref(),
                    &acts.x,
                )?;
                let mut steps = vec![
                    Step {
                        op: OpKind::Embedding,
                        dispatch: Dispatch::Embed(embed),
                    },
                    bind.norm(&self.outer, &acts.x, &acts.h)?,
                ];
                let dims = AttentionDims::new(batch, c.num_heads, c.num_kv_heads, seq_len);
                for l in self.layers.iter().take(layers) {
                    steps.extend(bind.block(l, dims, &acts)?);
                }
                Ok(EncoderPlan {
                    batch,
                    seq_len,
                    layers: layers.min(self.layers.len()),
                    ids,
                    hidden: acts.h,
                    steps,
                })
            },
        )?
    }

    /// Encodes every step of `plan` into `pass` (one forward pass, no host round trip).
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, plan: &EncoderPlan) {
        for i in 0..plan.steps.len() {
            self.record_step(pass, plan, i);
        }
    }

    /// Encodes step `index` of `plan` into `pass` (nothing past the last step).
    pub fn record_step(&self, pass: &mut wgpu::ComputePass<'_>, plan: &EncoderPlan, index: usize) {
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
            Dispatch::Attn(b) => self.attn.record(pass, b),
        }
    }
}

/// The activation buffers one pass reuses from block to block.
struct Activations {
    /// The residual stream before each norm.
    x: wgpu::Buffer,
    /// The normalised hidden state (a block's input and output).
    h: wgpu::Buffer,
    /// A projection's output before its residual add.
    proj: wgpu::Buffer,
    q: wgpu::Buffer,
    k: wgpu::Buffer,
    v: wgpu::Buffer,
    /// Attention's output, before the output projection.
    att: wgpu::Buffer,
    /// The MLP's hidden activations.
    up: wgpu::Buffer,
}

/// Binds the steps of one pass of `n` tokens.
struct Binder<'a> {
    enc: &'a GpuEncoder,
    dev: &'a wgpu::Device,
    layout: &'a GemmLayout,
    n: usize,
}

impl Binder<'_> {
    /// `out = a · lin.w (+ lin.bias)`, a step of operator `op`.
    fn gemm(&self, op: OpKind, lin: &Linear, a: &wgpu::Buffer, out: &wgpu::Buffer) -> Step {
        let e = self.enc;
        let ops = lin.bind(
            self.dev,
            self.layout,
            e.precision,
            self.n,
            [a, out],
            &e.no_bias,
        );
        Step {
            op,
            dispatch: Dispatch::Gemm {
                ops: Box::new(ops),
                kernel: 0,
                bias: lin.bias.is_some(),
            },
        }
    }

    /// `out = LayerNorm(x)` with the norm's gamma and beta.
    fn norm(
        &self,
        nw: &GpuNorm,
        x: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<Step, ProfileError> {
        let c = &self.enc.cfg;
        self.enc
            .norm
            .bind(
                self.dev,
                NormKind::LayerNorm,
                (self.n, c.hidden_size),
                c.norm_eps as f32,
                [x, &nw.gamma],
                Some(&nw.beta),
                out,
            )
            .map(|b| Step {
                op: OpKind::Norm,
                dispatch: Dispatch::Norm(b),
            })
    }

    /// `out = a + b`.
    fn residual(
        &self,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<Step, ProfileError> {
        let d = self.enc.cfg.hidden_size;
        self.enc
            .ew
            .bind(
                self.dev,
                EwOp::Residual,
                (self.n, d),
                EwInput::Separate(a),
                Some(b),
                out,
            )
            .map(|b| Step {
                op: OpKind::Residual,
                dispatch: Dispatch::Ew(b),
            })
    }

    /// One post-LN encoder block: attention and the GELU MLP, each with its residual
    /// add and LayerNorm; reads and writes `acts.h`.
    fn block(
        &self,
        l: &GpuLayer,
        dims: AttentionDims,
        acts: &Activations,
    ) -> Result<Vec<Step>, ProfileError> {
        let a = acts;
        let i = self.enc.cfg.intermediate_size;
        let attn = self
            .enc
            .attn
            .bind(self.dev, dims, false, [&a.q, &a.k, &a.v], &a.att)?;
        let gelu = self.enc.ew.bind(
            self.dev,
            EwOp::GeluErf,
            (self.n, i),
            EwInput::InPlace,
            None,
            &a.up,
        )?;
        let step = |op, dispatch| Step { op, dispatch };
        Ok(vec![
            self.gemm(OpKind::Qkv, &l.q, &a.h, &a.q),
            self.gemm(OpKind::Qkv, &l.k, &a.h, &a.k),
            self.gemm(OpKind::Qkv, &l.v, &a.h, &a.v),
            step(OpKind::Attention, Dispatch::Attn(attn)),
            self.gemm(OpKind::OProj, &l.o, &a.att, &a.proj),
            self.residual(&a.h, &a.proj, &a.x)?,
            self.norm(&l.norm1, &a.x, &a.h)?,
            self.gemm(OpKind::MlpUp, &l.up, &a.h, &a.up),
            step(OpKind::MlpAct, Dispatch::Ew(gelu)),
            self.gemm(OpKind::MlpDown, &l.down, &a.up, &a.proj),
            self.residual(&a.h, &a.proj, &a.x)?,
            self.norm(&l.norm2, &a.x, &a.h)?,
        ])
    }
}
