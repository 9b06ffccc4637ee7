//! profile layer: elementwise transformer ops (residual add, bias add, GELU in erf and
//! tanh form, SiLU-gated) and the embedding gather with a learned position table.

use crate::profile::gpu::GpuContext;
use crate::profile::gpu::buffers::storage_buffer;
use crate::profile::gpu::ops::prelude::{Access, Slot};
use crate::profile::gpu::ops::{
    ELEMENTWISE_WORKGROUP, MAX_GROUPS_PER_DIM, OpBinding, OpKernel, check_size, groups,
    leading_dim, matrix_bytes, row_groups,
};
use crate::profile::{Precision, ProfileError};

const ELEMENTWISE: &str = include_str!("../shaders/ops_elementwise.wgsl");
const EMBEDDING: &str = include_str!("../shaders/ops_embedding.wgsl");

/// Columns handled by one invocation (a whole packed bf16 word).
const COLS_PER_INVOCATION: u32 = 2;

/// Which elementwise op; the code is the shader's `op` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EwOp {
    /// `out = a + b` (a residual connection; `b` has the same shape).
    Residual,
    /// `out = a + bias[col]` (`b` is one row of `cols`).
    Bias,
    /// `out = a · Φ(a)`, the exact (erf) GELU.
    GeluErf,
    /// `out = ½a(1 + tanh(√(2/π)(a + 0.044715a³)))`.
    GeluTanh,
    /// `out = silu(a) · b` with `a` the gate and `b` the up projection (Llama's MLP).
    SiluGated,
}

impl EwOp {
    /// Every elementwise op.
    pub const ALL: [EwOp; 5] = [
        EwOp::Residual,
        EwOp::Bias,
        EwOp::GeluErf,
        EwOp::GeluTanh,
        EwOp::SiluGated,
    ];

    fn code(self) -> u32 {
        match self {
            EwOp::Residual => 0,
            EwOp::Bias => 1,
            EwOp::GeluErf => 2,
            EwOp::GeluTanh => 3,
            EwOp::SiluGated => 4,
        }
    }

    /// True when the op reads a second operand `b`.
    pub fn has_b(self) -> bool {
        matches!(self, EwOp::Residual | EwOp::Bias | EwOp::SiluGated)
    }
}

/// Where an elementwise op reads `a` from.
pub enum EwInput<'a> {
    /// From its own buffer; `out` is written separately.
    Separate(&'a wgpu::Buffer),
    /// From `out`, overwritten in place.
    InPlace,
}

/// The elementwise kernel at one precision (every [`EwOp`] shares the pipeline).
pub struct Elementwise {
    /// The compiled op.
    pub kernel: OpKernel,
    /// Bound in place of an operand an op does not read: WebGPU forbids binding the
    /// output buffer again, so unused slots need a buffer of their own.
    dummy: wgpu::Buffer,
}

impl Elementwise {
    /// Compiles the kernel at `precision`.
    pub fn new(ctx: &GpuContext, precision: Precision) -> Result<Self, ProfileError> {
        let slots = [Slot::read("a"), Slot::read("b"), Slot::read_write("out")];
        let consts = [
            ("ELEMENTWISE_WORKGROUP", ELEMENTWISE_WORKGROUP),
            ("MAX_GROUPS_PER_DIM", MAX_GROUPS_PER_DIM),
        ];
        let kernel = OpKernel::new(ctx, "elementwise", precision, &slots, &consts, ELEMENTWISE)?;
        let dummy = storage_buffer(&ctx.device, "elementwise-unused", &[0; 4]);
        Ok(Elementwise { kernel, dummy })
    }

    /// Binds `op` on a `rows × cols` matrix: `a` (or `out` itself), `b` when the op
    /// reads one (a `1 × cols` bias for [`EwOp::Bias`]), and `out`.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        op: EwOp,
        (rows, cols): (usize, usize),
        a: EwInput<'_>,
        b: Option<&wgpu::Buffer>,
        out: &wgpu::Buffer,
    ) -> Result<OpBinding, ProfileError> {
        let p = self.kernel.precision;
        let need = matrix_bytes(p, rows, cols);
        check_size(out, need, "elementwise output")?;
        let b = match (op.has_b(), b) {
            (true, Some(b)) => b,
            (false, _) => &self.dummy,
            (true, None) => {
                return Err(ProfileError::Invalid(format!(
                    "{op:?} needs a second operand"
                )));
            }
        };
        if op.has_b() {
            let b_rows = if op == EwOp::Bias { 1 } else { rows };
            check_size(
                b,
                matrix_bytes(p, b_rows, cols),
                "elementwise second operand",
            )?;
        }
        let (a, in_place) = match a {
            EwInput::Separate(a) => {
                check_size(a, need, "elementwise input")?;
                (a, 0)
            }
            EwInput::InPlace => (&self.dummy, 1),
        };
        let ld = leading_dim(p, cols);
        let params = [rows, cols, ld].map(|v| v as u32);
        let params = [
            params[0],
            params[1],
            params[2],
            op.code(),
            in_place,
            0,
            0,
            0,
        ];
        let per_group = ELEMENTWISE_WORKGROUP * COLS_PER_INVOCATION;
        let (y, z) = row_groups(rows);
        let workgroups = [groups(cols, per_group), y, z];
        self.kernel.bind(device, &[a, b, out], &params, workgroups)
    }

    /// Encodes a bound op into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, binding: &OpBinding) {
        self.kernel.record(pass, binding);
    }
}

/// Shape of one embedding lookup.
#[derive(Clone, Copy, Debug)]
pub struct EmbeddingDims {
    /// Tokens looked up (`batch × seq_len`, sequence-major).
    pub tokens: usize,
    /// Hidden size `d`.
    pub hidden: usize,
    /// Rows of the token table.
    pub vocab: usize,
    /// Tokens per sequence; token `t` sits at position `pos_offset + t % seq_len`.
    pub seq_len: usize,
    /// Position of each sequence's first token (the cache length when decoding).
    pub pos_offset: usize,
    /// Rows of the position table (0 when the model has none, e.g. Llama).
    pub max_positions: usize,
}

/// Token-embedding gather with an optional learned position embedding added.
pub struct Embedding {
    /// The compiled op.
    pub kernel: OpKernel,
}

impl Embedding {
    /// Compiles the gather at `precision`.
    pub fn new(ctx: &GpuContext, precision: Precision) -> Result<Self, ProfileError> {
        let slots = [
            Slot {
                name: "ids",
                access: Access::U32,
            },
            Slot::read("table"),
            Slot::read("pos"),
            Slot::read_write("out"),
        ];
        let consts = [
            ("ELEMENTWISE_WORKGROUP", ELEMENTWISE_WORKGROUP),
            ("MAX_GROUPS_PER_DIM", MAX_GROUPS_PER_DIM),
        ];
        let kernel = OpKernel::new(ctx, "embedding", precision, &slots, &consts, EMBEDDING)?;
        Ok(Embedding { kernel })
    }

    /// Binds `ids` (`tokens` u32), `table` (`vocab × hidden`), `pos` (`max_positions ×
    /// hidden`, or `None`) and `out` (`tokens × hidden`). Ids past the table are clamped.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        dims: EmbeddingDims,
        [ids, table]: [&wgpu::Buffer; 2],
        pos: Option<&wgpu::Buffer>,
        out: &wgpu::Buffer,
    ) -> Result<OpBinding, ProfileError> {
        let p = self.kernel.precision;
        let d = dims;
        if d.vocab == 0 || d.seq_len == 0 || (pos.is_some() && d.max_positions == 0) {
            return Err(ProfileError::Invalid(format!(
                "embedding needs vocab, seq_len (and max_positions with a position table) ≥ 1: {d:?}"
            )));
        }
        check_size(ids, (d.tokens * 4) as u64, "token ids")?;
        check_size(table, matrix_bytes(p, d.vocab, d.hidden), "embedding table")?;
        check_size(out, matrix_bytes(p, d.tokens, d.hidden), "embedding output")?;
        if let Some(pos) = pos {
            check_size(
                pos,
                matrix_bytes(p, d.max_positions, d.hidden),
                "position table",
            )?;
        }
        let params = [
            d.tokens,
            d.hidden,
            leading_dim(p, d.hidden),
            d.seq_len,
            d.pos_offset,
            usize::from(pos.is_some()),
            d.vocab,
            d.max_positions.max(1),
        ]
        .map(|v| v as u32);
        let per_group = ELEMENTWISE_WORKGROUP * COLS_PER_INVOCATION;
        let (y, z) = row_groups(d.tokens);
        let workgroups = [groups(d.hidden, per_group), y, z];
        // Without a position table the token table stands in (never read: use_pos = 0).
        let pos = pos.unwrap_or(table);
        self.kernel
            .bind(device, &[ids, table, pos, out], &params, workgroups)
    }

    /// Encodes a bound gather into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, binding: &OpBinding) {
        self.kernel.record(pass, binding);
    }
}
