//! profile layer: attention kernels — prefill (flash style, online softmax, grouped-query,
//! optional causal mask; no seq_len² buffer), decode against a KV cache, and the append
//! of new tokens' K and V (one per sequence, or a whole prompt) to that cache.
//!
//! KV cache layout: K and V each `[batch × kv_heads × max_context × head_dim]`, row-major
//! at the storage precision, so one (sequence, kv head) is a contiguous
//! `max_context × head_dim` block and the first `context_len` rows are filled.

use crate::profile::gpu::GpuContext;
use crate::profile::gpu::ops::prelude::Slot;
use crate::profile::gpu::ops::{
    ELEMENTWISE_WORKGROUP, OpBinding, OpKernel, check_size, groups, leading_dim, matrix_bytes,
};
use crate::profile::{Precision, ProfileError};

const PREFILL: &str = include_str!("../shaders/ops_attention_prefill.wgsl");
const DECODE: &str = include_str!("../shaders/ops_attention_decode.wgsl");
const APPEND: &str = include_str!("../shaders/ops_kv_append.wgsl");

/// Largest head_dim: each invocation holds a query and an output row in registers.
pub const MAX_HEAD_DIM: usize = 256;
/// Query rows per prefill workgroup (one invocation each).
pub const QUERY_TILE: u32 = 32;
/// f32 values of workgroup memory the K and V tiles (or decode partials) may use:
/// 16 KiB, WebGPU's guaranteed minimum.
pub const WORKGROUP_F32_BUDGET: usize = 4096;

/// Shape of one attention call.
#[derive(Clone, Copy, Debug)]
pub struct AttentionDims {
    /// Sequences.
    pub batch: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (divides `heads`; equal for plain multi-head attention).
    pub kv_heads: usize,
    /// Prefill: tokens per sequence (queries and keys). Decode: filled cache rows.
    pub seq_len: usize,
}

impl AttentionDims {
    /// `batch` sequences, `heads` query heads over `kv_heads` key/value heads, `seq_len`
    /// tokens (prefill) or filled cache rows (decode).
    pub const fn new(batch: usize, heads: usize, kv_heads: usize, seq_len: usize) -> Self {
        AttentionDims {
            batch,
            heads,
            kv_heads,
            seq_len,
        }
    }

    fn check(&self, head_dim: usize) -> Result<(), ProfileError> {
        let d = self;
        if d.batch == 0 || d.seq_len == 0 || d.kv_heads == 0 || !d.heads.is_multiple_of(d.kv_heads)
        {
            return Err(ProfileError::Invalid(format!(
                "attention needs batch, seq_len ≥ 1 and kv_heads dividing heads: {d:?}, \
                 head_dim {head_dim}"
            )));
        }
        Ok(())
    }
}

fn check_head_dim(head_dim: usize) -> Result<(), ProfileError> {
    if head_dim == 0 || !head_dim.is_multiple_of(2) || head_dim > MAX_HEAD_DIM {
        return Err(ProfileError::Invalid(format!(
            "head_dim must be even and at most {MAX_HEAD_DIM} (got {head_dim})"
        )));
    }
    Ok(())
}

/// Keys per K/V tile in workgroup memory: as many as the budget holds for both, ≤ 16.
pub fn key_tile(head_dim: usize) -> u32 {
    (WORKGROUP_F32_BUDGET / (2 * head_dim.max(1))).clamp(1, 16) as u32
}

/// Invocations of a decode workgroup: their partial outputs fit the budget, ≤ 64.
pub fn decode_workgroup(head_dim: usize) -> u32 {
    let n = (WORKGROUP_F32_BUDGET / head_dim.max(1)).clamp(1, 64);
    // A power of two keeps the split of keys even.
    1 << n.ilog2()
}

/// Prefill attention: `softmax(Q·Kᵀ/√head_dim [+ causal mask])·V` for every (sequence,
/// head) in one dispatch. Q and out are `[batch·seq_len × heads·head_dim]`, K and V
/// `[batch·seq_len × kv_heads·head_dim]`.
pub struct PrefillAttention {
    /// The compiled op (head_dim is compiled in).
    pub kernel: OpKernel,
    /// Head dimension it was compiled for.
    pub head_dim: usize,
}

impl PrefillAttention {
    /// Compiles prefill attention at `precision` for `head_dim` (even, ≤ [`MAX_HEAD_DIM`]).
    pub fn new(
        ctx: &GpuContext,
        precision: Precision,
        head_dim: usize,
    ) -> Result<Self, ProfileError> {
        check_head_dim(head_dim)?;
        let slots = [
            Slot::read("q"),
            Slot::read("k"),
            Slot::read("v"),
            Slot::read_write("out"),
        ];
        let consts = [
            ("HEAD_DIM", head_dim as u32),
            ("QUERY_TILE", QUERY_TILE),
            ("KEY_TILE", key_tile(head_dim)),
        ];
        let kernel = OpKernel::new(
            ctx,
            "attention-prefill",
            precision,
            &slots,
            &consts,
            PREFILL,
        )?;
        Ok(PrefillAttention { kernel, head_dim })
    }

    /// Bytes of workgroup memory one workgroup uses (the K and V tiles).
    pub fn workgroup_bytes(&self) -> u64 {
        2 * u64::from(key_tile(self.head_dim)) * self.head_dim as u64 * 4
    }

    /// Binds `[q, k, v]` and `out`; `causal` masks key j > query i (prefill from an empty
    /// cache: query and key positions coincide).
    pub fn bind(
        &self,
        device: &wgpu::Device,
        dims: AttentionDims,
        causal: bool,
        [q, k, v]: [&wgpu::Buffer; 3],
        out: &wgpu::Buffer,
    ) -> Result<OpBinding, ProfileError> {
        dims.check(self.head_dim)?;
        let p = self.kernel.precision;
        let rows = dims.batch * dims.seq_len;
        let (q_cols, kv_cols) = (dims.heads * self.head_dim, dims.kv_heads * self.head_dim);
        check_size(q, matrix_bytes(p, rows, q_cols), "attention Q")?;
        check_size(out, matrix_bytes(p, rows, q_cols), "attention output")?;
        check_size(k, matrix_bytes(p, rows, kv_cols), "attention K")?;
        check_size(v, matrix_bytes(p, rows, kv_cols), "attention V")?;
        let scale = (1.0 / (self.head_dim as f64).sqrt()) as f32;
        let params = [
            dims.seq_len as u32,
            dims.heads as u32,
            dims.kv_heads as u32,
            leading_dim(p, q_cols) as u32,
            leading_dim(p, kv_cols) as u32,
            u32::from(causal),
            scale.to_bits(),
            0,
        ];
        let workgroups = [
            groups(dims.seq_len, QUERY_TILE),
            dims.heads as u32,
            dims.batch as u32,
        ];
        self.kernel
            .bind(device, &[q, k, v, out], &params, workgroups)
    }

    /// Encodes a bound attention into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, binding: &OpBinding) {
        self.kernel.record(pass, binding);
    }
}

/// Decode attention: one query per sequence (`[batch × heads·head_dim]`) against the
/// first `seq_len` rows of the KV cache (layout in the module docs).
pub struct DecodeAttention {
    /// The compiled op (head_dim is compiled in).
    pub kernel: OpKernel,
    /// Head dimension it was compiled for.
    pub head_dim: usize,
}

impl DecodeAttention {
    /// Compiles decode attention at `precision` for `head_dim` (even, ≤ [`MAX_HEAD_DIM`]).
    pub fn new(
        ctx: &GpuContext,
        precision: Precision,
        head_dim: usize,
    ) -> Result<Self, ProfileError> {
        check_head_dim(head_dim)?;
        let slots = [
            Slot::read("q"),
            Slot::read("k_cache"),
            Slot::read("v_cache"),
            Slot::read_write("out"),
        ];
        let consts = [
            ("HEAD_DIM", head_dim as u32),
            ("DECODE_WORKGROUP", decode_workgroup(head_dim)),
        ];
        let kernel = OpKernel::new(ctx, "attention-decode", precision, &slots, &consts, DECODE)?;
        Ok(DecodeAttention { kernel, head_dim })
    }

    /// Binds `q`, the caches (`max_context` rows per (sequence, kv head), the first
    /// `dims.seq_len` filled) and `out`. The context length is a parameter of the binding;
    /// [`DecodeAttention::set_context_len`] moves it on each step without rebinding.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        dims: AttentionDims,
        max_context: usize,
        [q, k_cache, v_cache]: [&wgpu::Buffer; 3],
        out: &wgpu::Buffer,
    ) -> Result<OpBinding, ProfileError> {
        dims.check(self.head_dim)?;
        check_context(dims.seq_len, max_context)?;
        let p = self.kernel.precision;
        let q_cols = dims.heads * self.head_dim;
        let cache_rows = dims.batch * dims.kv_heads * max_context;
        check_size(q, matrix_bytes(p, dims.batch, q_cols), "decode Q")?;
        check_size(out, matrix_bytes(p, dims.batch, q_cols), "decode output")?;
        check_size(
            k_cache,
            matrix_bytes(p, cache_rows, self.head_dim),
            "K cache",
        )?;
        check_size(
            v_cache,
            matrix_bytes(p, cache_rows, self.head_dim),
            "V cache",
        )?;
        let scale = (1.0 / (self.head_dim as f64).sqrt()) as f32;
        let params = [
            dims.heads as u32,
            dims.kv_heads as u32,
            max_context as u32,
            dims.seq_len as u32,
            leading_dim(p, q_cols) as u32,
            scale.to_bits(),
            0,
            0,
        ];
        let workgroups = [dims.heads as u32, dims.batch as u32, 1];
        self.kernel
            .bind(device, &[q, k_cache, v_cache, out], &params, workgroups)
    }

    /// Sets a decode binding's context length (takes effect at the next submission, so
    /// one decode step per submission).
    pub fn set_context_len(
        queue: &wgpu::Queue,
        binding: &OpBinding,
        context_len: usize,
        max_context: usize,
    ) -> Result<(), ProfileError> {
        check_context(context_len, max_context)?;
        // context_len is the fourth u32 of the params.
        queue.write_buffer(
            &binding.params,
            12,
            bytemuck::bytes_of(&(context_len as u32)),
        );
        Ok(())
    }

    /// Encodes a bound decode step into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, binding: &OpBinding) {
        self.kernel.record(pass, binding);
    }
}

fn check_context(context_len: usize, max_context: usize) -> Result<(), ProfileError> {
    if context_len == 0 || context_len > max_context {
        return Err(ProfileError::Invalid(format!(
            "context_len must be in 1..={max_context} (got {context_len})"
        )));
    }
    Ok(())
}

/// Writes new tokens' K and V (one per sequence, or a prefill's `rows`) into the caches
/// at row `pos` (onwards) of every (sequence, kv head).
pub struct KvAppend {
    /// The compiled op.
    pub kernel: OpKernel,
}

impl KvAppend {
    /// Compiles the append at `precision`.
    pub fn new(ctx: &GpuContext, precision: Precision) -> Result<Self, ProfileError> {
        let slots = [
            Slot::read("k_new"),
            Slot::read("v_new"),
            Slot::read_write("k_cache"),
            Slot::read_write("v_cache"),
        ];
        let consts = [("ELEMENTWISE_WORKGROUP", ELEMENTWISE_WORKGROUP)];
        let kernel = OpKernel::new(ctx, "kv-append", precision, &slots, &consts, APPEND)?;
        Ok(KvAppend { kernel })
    }

    /// Binds the new K and V (`batch × kv_heads·head_dim`) and the caches for `pos`.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        (batch, kv_heads, head_dim): (usize, usize, usize),
        (pos, max_context): (usize, usize),
        buffers: [&wgpu::Buffer; 4],
    ) -> Result<OpBinding, ProfileError> {
        self.bind_rows(
            device,
            (batch, 1, kv_heads, head_dim),
            (pos, max_context),
            buffers,
        )
    }

    /// Binds `rows` new tokens per sequence (K and V `batch·rows × kv_heads·head_dim`,
    /// sequence-major: a prefill's projections) and the caches for positions
    /// `pos..pos + rows`.
    pub fn bind_rows(
        &self,
        device: &wgpu::Device,
        (batch, rows, kv_heads, head_dim): (usize, usize, usize, usize),
        (pos, max_context): (usize, usize),
        [k_new, v_new, k_cache, v_cache]: [&wgpu::Buffer; 4],
    ) -> Result<OpBinding, ProfileError> {
        check_head_dim(head_dim)?;
        if rows == 0 {
            return Err(ProfileError::Invalid(
                "a KV append needs at least one row".into(),
            ));
        }
        check_context(pos + rows, max_context)?;
        let p = self.kernel.precision;
        let cols = kv_heads * head_dim;
        let cache_rows = batch * kv_heads * max_context;
        check_size(k_new, matrix_bytes(p, batch * rows, cols), "new K")?;
        check_size(v_new, matrix_bytes(p, batch * rows, cols), "new V")?;
        check_size(k_cache, matrix_bytes(p, cache_rows, head_dim), "K cache")?;
        check_size(v_cache, matrix_bytes(p, cache_rows, head_dim), "V cache")?;
        let ld = leading_dim(p, cols);
        let params = [batch, kv_heads, head_dim, max_context, pos, ld, rows, 0].map(|v| v as u32);
        let per_group = ELEMENTWISE_WORKGROUP * 2;
        let workgroups = [
            groups(rows * head_dim, per_group),
            kv_heads as u32,
            batch as u32,
        ];
        self.kernel.bind(
            device,
            &[k_new, v_new, k_cache, v_cache],
            &params,
            workgroups,
        )
    }

    /// Encodes a bound append into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, binding: &OpBinding) {
        self.kernel.record(pass, binding);
    }
}
