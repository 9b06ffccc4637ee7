//! profile layer: row normalisation (LayerNorm, RMSNorm; one workgroup per row) and
//! rotary position embedding (HF Llama rotate-half, cos/sin table built on the host).

use crate::profile::gpu::GpuContext;
use crate::profile::gpu::buffers::storage_buffer;
use crate::profile::gpu::ops::prelude::{Access, Slot};
use crate::profile::gpu::ops::{
    ELEMENTWISE_WORKGROUP, MAX_GROUPS_PER_DIM, OpBinding, OpKernel, check_size, groups,
    leading_dim, matrix_bytes, row_groups,
};
use crate::profile::{Precision, ProfileError};

const NORM: &str = include_str!("../shaders/ops_norm.wgsl");
const ROPE: &str = include_str!("../shaders/ops_rope.wgsl");

/// Invocations reducing one row (a power of two: the tree reduction halves it).
pub const NORM_WORKGROUP: u32 = 128;

/// Which normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormKind {
    /// `(x − mean) / √(var + eps) · gamma + beta`.
    LayerNorm,
    /// `x / √(mean(x²) + eps) · gamma`.
    RmsNorm,
}

/// LayerNorm / RMSNorm over rows of a `rows × cols` matrix at one precision.
pub struct Norm {
    /// The compiled op (both kinds share it).
    pub kernel: OpKernel,
}

impl Norm {
    /// Compiles the kernel at `precision`.
    pub fn new(ctx: &GpuContext, precision: Precision) -> Result<Self, ProfileError> {
        let slots = [
            Slot::read("x"),
            Slot::read("gamma"),
            Slot::read("beta"),
            Slot::read_write("out"),
        ];
        let consts = [
            ("NORM_WORKGROUP", NORM_WORKGROUP),
            ("MAX_GROUPS_PER_DIM", MAX_GROUPS_PER_DIM),
        ];
        let kernel = OpKernel::new(ctx, "norm", precision, &slots, &consts, NORM)?;
        Ok(Norm { kernel })
    }

    /// Binds `kind` with `eps` on `x` → `out` (both `rows × cols`, distinct buffers);
    /// `gamma` and `beta` are `1 × cols` (`beta` ignored, and may be `None`, for RMSNorm).
    #[allow(clippy::too_many_arguments)] // each argument is one plain dimension or buffer
    pub fn bind(
        &self,
        device: &wgpu::Device,
        kind: NormKind,
        (rows, cols): (usize, usize),
        eps: f32,
        [x, gamma]: [&wgpu::Buffer; 2],
        beta: Option<&wgpu::Buffer>,
        out: &wgpu::Buffer,
    ) -> Result<OpBinding, ProfileError> {
        let p = self.kernel.precision;
        if cols == 0 || !eps.is_finite() || eps < 0.0 {
            return Err(ProfileError::Invalid(format!(
                "norm needs cols ≥ 1 and eps ≥ 0 (got {cols}, {eps})"
            )));
        }
        check_size(x, matrix_bytes(p, rows, cols), "norm input")?;
        check_size(out, matrix_bytes(p, rows, cols), "norm output")?;
        check_size(gamma, matrix_bytes(p, 1, cols), "norm gamma")?;
        let beta = match (kind, beta) {
            (NormKind::LayerNorm, Some(b)) => {
                check_size(b, matrix_bytes(p, 1, cols), "norm beta")?;
                b
            }
            (NormKind::LayerNorm, None) => {
                return Err(ProfileError::Invalid("LayerNorm needs beta".into()));
            }
            // Never read by RMSNorm; gamma stands in.
            (NormKind::RmsNorm, _) => gamma,
        };
        let code = u32::from(kind == NormKind::RmsNorm);
        let ld = leading_dim(p, cols) as u32;
        let params = [rows as u32, cols as u32, ld, code, eps.to_bits(), 0, 0, 0];
        // One workgroup per row: rows past one dimension's limit continue in y.
        let (gx, gy) = row_groups(rows);
        let workgroups = [gx, gy, 1];
        self.kernel
            .bind(device, &[x, gamma, beta, out], &params, workgroups)
    }

    /// Encodes a bound norm into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, binding: &OpBinding) {
        self.kernel.record(pass, binding);
    }
}

/// Rotary embedding, in place on Q or K laid out `[tokens × heads × head_dim]`.
pub struct Rope {
    /// The compiled op.
    pub kernel: OpKernel,
    /// f32 `[max_positions × head_dim]`: per position, head_dim/2 cosines then sines.
    table: wgpu::Buffer,
    head_dim: usize,
    max_positions: usize,
}

/// cos/sin of `pos · theta^(−2i/head_dim)` for i < head_dim/2, computed in f64 and
/// stored as f32: per position, the cosines then the sines (the shader's table).
pub fn rope_table(head_dim: usize, max_positions: usize, theta: f64) -> Vec<f32> {
    let half = head_dim / 2;
    let mut t = Vec::with_capacity(max_positions * head_dim);
    for pos in 0..max_positions {
        let angles: Vec<f64> = (0..half)
            .map(|i| pos as f64 * theta.powf(-2.0 * i as f64 / head_dim as f64))
            .collect();
        t.extend(angles.iter().map(|a| a.cos() as f32));
        t.extend(angles.iter().map(|a| a.sin() as f32));
    }
    t
}

impl Rope {
    /// Compiles RoPE at `precision` for `head_dim` (even) and positions below
    /// `max_positions`, with base `theta` (10000 in Llama 2).
    pub fn new(
        ctx: &GpuContext,
        precision: Precision,
        head_dim: usize,
        max_positions: usize,
        theta: f64,
    ) -> Result<Self, ProfileError> {
        if head_dim == 0
            || !head_dim.is_multiple_of(2)
            || max_positions == 0
            || !theta.is_finite()
            || theta <= 1.0
        {
            return Err(ProfileError::Invalid(format!(
                "RoPE needs an even head_dim, max_positions ≥ 1 and theta > 1 \
                 (got {head_dim}, {max_positions}, {theta})"
            )));
        }
        let slots = [
            Slot::read_write("x"),
            Slot {
                name: "table",
                access: Access::F32,
            },
        ];
        let consts = [
            ("ELEMENTWISE_WORKGROUP", ELEMENTWISE_WORKGROUP),
            ("MAX_GROUPS_PER_DIM", MAX_GROUPS_PER_DIM),
        ];
        let kernel = OpKernel::new(ctx, "rope", precision, &slots, &consts, ROPE)?;
        let table = rope_table(head_dim, max_positions, theta);
        let table = storage_buffer(&ctx.device, "rope-table", bytemuck::cast_slice(&table));
        Ok(Rope {
            kernel,
            table,
            head_dim,
            max_positions,
        })
    }

    /// Binds `x` (`tokens × heads·head_dim`, rotated in place); token `t` sits at
    /// position `pos_offset + t % seq_len` (clamped below `max_positions`).
    pub fn bind(
        &self,
        device: &wgpu::Device,
        (tokens, heads): (usize, usize),
        (seq_len, pos_offset): (usize, usize),
        x: &wgpu::Buffer,
    ) -> Result<OpBinding, ProfileError> {
        let p = self.kernel.precision;
        let cols = heads * self.head_dim;
        if seq_len == 0 || heads == 0 {
            return Err(ProfileError::Invalid(
                "RoPE needs seq_len, heads ≥ 1".into(),
            ));
        }
        check_size(x, matrix_bytes(p, tokens, cols), "RoPE input")?;
        let params = [
            tokens,
            heads,
            self.head_dim,
            leading_dim(p, cols),
            seq_len,
            pos_offset,
            self.max_positions,
            0,
        ]
        .map(|v| v as u32);
        let (y, z) = row_groups(tokens);
        let workgroups = [groups(heads, ELEMENTWISE_WORKGROUP), y, z];
        self.kernel
            .bind(device, &[x, &self.table], &params, workgroups)
    }

    /// Encodes a bound rotation into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, binding: &OpBinding) {
        self.kernel.record(pass, binding);
    }
}
