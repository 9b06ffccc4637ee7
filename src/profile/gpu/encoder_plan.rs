//! profile layer: the encoder pass bound to one (batch, seq_len, layers) shape — its
//! steps (each tagged with its operator kind), the variant each projection runs on, its
//! token input and hidden-state output.

use std::collections::BTreeMap;

use crate::profile::gpu::buffers::{Operands, decode};
use crate::profile::gpu::kernels::{GemmKernel, GemmLayout, Variant};
use crate::profile::gpu::ops::OpBinding;
use crate::profile::gpu::transformer::GpuEncoder;
use crate::profile::gpu::{self, GpuContext};
use crate::profile::workloads::transformer::TransformerConfig;
use crate::profile::workloads::transformer::ops::OpKind;
use crate::profile::{Precision, ProfileError};

/// One dispatch of a recorded pass, tagged with the operator kind it belongs to (an
/// `ops` profile times each step on its own and sums them by kind).
pub(super) struct Step {
    pub(super) op: OpKind,
    pub(super) dispatch: Dispatch,
}

/// What a step dispatches.
pub(super) enum Dispatch {
    /// A projection: its operands, the index of its kernel in the model's, whether its
    /// bias epilogue is fused.
    Gemm {
        ops: Box<Operands>,
        kernel: usize,
        bias: bool,
    },
    Embed(OpBinding),
    Norm(OpBinding),
    Ew(OpBinding),
    Attn(OpBinding),
}

/// The variant of each projection of a pass, by its (N, K) columns (within one pass
/// every projection has the same M rows, so (N, K) names its shape).
pub type GemmChoice = BTreeMap<(usize, usize), Variant>;

/// One projection step of a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectionStep {
    /// Its operator kind.
    pub op: OpKind,
    /// (M, N, K).
    pub shape: (usize, usize, usize),
    /// Its bias epilogue is fused.
    pub bias: bool,
    /// The variant it runs on now.
    pub variant: Variant,
}

/// Activations and bindings for one (batch, seq_len, layers) shape.
pub struct EncoderPlan {
    /// Sequences.
    pub batch: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Blocks recorded.
    pub layers: usize,
    pub(super) ids: wgpu::Buffer,
    /// The normed residual stream: the final hidden states after a pass.
    pub(super) hidden: wgpu::Buffer,
    pub(super) steps: Vec<Step>,
}

/// Compiles each of `variants` at `precision`; shader errors leave a variant out.
pub(super) fn compile_all(
    ctx: &GpuContext,
    layout: &GemmLayout,
    precision: Precision,
    variants: &[Variant],
) -> Result<Vec<GemmKernel>, ProfileError> {
    let mut kernels = Vec::with_capacity(variants.len());
    let mut last = None;
    for &v in variants {
        match GemmKernel::new(ctx, layout, v, precision) {
            Ok(k) => kernels.push(k),
            Err(e @ ProfileError::ShaderCompile { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    if kernels.is_empty() {
        return Err(last.unwrap_or_else(|| {
            ProfileError::Invalid("a GPU pass was given no GEMM variant".into())
        }));
    }
    Ok(kernels)
}

impl EncoderPlan {
    /// Every projection step, in recording order, with the variant it runs on.
    pub fn projections(&self, model: &GpuEncoder) -> Vec<ProjectionStep> {
        self.steps
            .iter()
            .filter_map(|s| match &s.dispatch {
                Dispatch::Gemm { ops, kernel, bias } => Some(ProjectionStep {
                    op: s.op,
                    shape: (ops.m, ops.n, ops.k),
                    bias: *bias,
                    variant: model.kernels().get(*kernel)?.variant,
                }),
                _ => None,
            })
            .collect()
    }

    /// The operands of the first projection of columns (N, K), bound to this plan's
    /// buffers (a tuning times candidates on them).
    pub fn operands(&self, (n, k): (usize, usize)) -> Option<&Operands> {
        self.steps.iter().find_map(|s| match &s.dispatch {
            Dispatch::Gemm { ops, .. } if (ops.n, ops.k) == (n, k) => Some(&**ops),
            _ => None,
        })
    }

    /// Puts each projection on the variant `choice` gives its (N, K); `Invalid` when
    /// `choice` misses a projection or names a variant `model` did not compile.
    pub fn assign(&mut self, model: &GpuEncoder, choice: &GemmChoice) -> Result<(), ProfileError> {
        for s in &mut self.steps {
            if let Dispatch::Gemm { ops, kernel, .. } = &mut s.dispatch {
                let (n, k) = (ops.n, ops.k);
                let v = choice.get(&(n, k)).ok_or_else(|| {
                    ProfileError::Invalid(format!(
                        "no GEMM variant chosen for a {n}x{k} projection"
                    ))
                })?;
                *kernel = model
                    .kernels()
                    .iter()
                    .position(|kern| kern.variant == *v)
                    .ok_or_else(|| {
                        ProfileError::Invalid(format!(
                            "GEMM variant {} is not compiled for this encoder",
                            v.name()
                        ))
                    })?;
            }
        }
        Ok(())
    }

    /// The operator kind of each step, in recording order.
    pub fn op_kinds(&self) -> Vec<OpKind> {
        self.steps.iter().map(|s| s.op).collect()
    }

    /// Writes `batch × seq_len` token ids (sequence-major) for the next pass.
    pub fn write_tokens(&self, ctx: &GpuContext, tokens: &[u32]) -> Result<(), ProfileError> {
        if tokens.len() != self.batch * self.seq_len {
            return Err(ProfileError::Invalid(format!(
                "{} token ids for a {}×{} plan",
                tokens.len(),
                self.batch,
                self.seq_len
            )));
        }
        ctx.queue
            .write_buffer(&self.ids, 0, bytemuck::cast_slice(tokens));
        Ok(())
    }

    /// The final hidden states, `(batch·seq_len) × d` dense f32 (outside any timing).
    pub fn read_hidden(
        &self,
        ctx: &GpuContext,
        cfg: &TransformerConfig,
        precision: Precision,
        timeout: std::time::Duration,
    ) -> Result<Vec<f32>, ProfileError> {
        let rows = self.batch * self.seq_len;
        let bytes = gpu::read_buffer(
            &ctx.device,
            &ctx.queue,
            &self.hidden,
            self.hidden.size(),
            timeout,
        )?;
        Ok(decode(precision, &bytes, rows, cfg.hidden_size))
    }
}
