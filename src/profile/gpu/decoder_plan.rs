//! profile layer: the steps of one GPU decoder pass bound to their buffers — the
//! activations a shape needs; per pre-norm block norm → Q/K/V → RoPE → KV append →
//! attention → O → residual → norm → MLP → residual; then the final norm, the gather of
//! each sequence's last row and the LM head.

use crate::profile::gpu::buffers::{Operands, storage_buffer};
use crate::profile::gpu::decoder::{DecoderShape, GpuDecoder};
use crate::profile::gpu::kernels::GemmLayout;
use crate::profile::gpu::model::{GpuLayer, GpuNorm, Linear};
use crate::profile::gpu::ops::attention::AttentionDims;
use crate::profile::gpu::ops::norm_rope::NormKind;
use crate::profile::gpu::ops::pointwise::{EmbeddingDims, EwInput, EwOp};
use crate::profile::gpu::ops::{OpBinding, matrix_bytes};
use crate::profile::workloads::transformer::ops::OpKind;
use crate::profile::workloads::transformer::{Family, Pass, TransformerConfig};
use crate::profile::{Precision, ProfileError};

/// Every layer's K and V cache for `batch` sequences of up to `capacity` positions, laid
/// out as [`crate::profile::gpu::ops::attention`] says. Cloning shares the buffers, so a
/// prefill plan and a decode plan can work on one cache.
#[derive(Clone)]
pub struct KvCache {
    /// Sequences.
    pub batch: usize,
    /// Positions per sequence.
    pub capacity: usize,
    pub(super) layers: Vec<[wgpu::Buffer; 2]>,
}

impl KvCache {
    /// Layer `i`'s K and V buffers.
    pub fn layer(&self, i: usize) -> Option<&[wgpu::Buffer; 2]> {
        self.layers.get(i)
    }
}

/// A zero-filled storage buffer of `bytes` (wgpu zeroes new buffers).
pub(super) fn zeroed(dev: &wgpu::Device, label: &str, bytes: u64) -> wgpu::Buffer {
    dev.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

/// A row-major `rows × cols` matrix transposed.
pub(super) fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows * cols];
    for (r, row) in m.chunks(cols).enumerate().take(rows) {
        for (c, &v) in row.iter().enumerate() {
            t[c * rows + r] = v;
        }
    }
    t
}

/// One dispatch of a recorded pass.
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
    Rope(OpBinding),
    Append(OpBinding),
    Prefill(OpBinding),
    Decode(OpBinding),
}

/// One step: the operator kind it is charged to (a row's `ops`) and what it dispatches.
pub(super) struct Step {
    pub(super) op: OpKind,
    pub(super) dispatch: Dispatch,
}

fn step(op: OpKind, dispatch: Dispatch) -> Step {
    Step { op, dispatch }
}

/// The buffers one pass reuses from block to block.
pub(super) struct Activations {
    /// Token ids, batch·rows u32.
    pub(super) ids: wgpu::Buffer,
    /// Row of each sequence's last token in `h`, batch u32.
    last_ids: wgpu::Buffer,
    /// The residual stream.
    x: wgpu::Buffer,
    /// A norm's output (a sublayer's input; the final hidden states after the pass).
    pub(super) h: wgpu::Buffer,
    /// A projection's output before its residual add.
    proj: wgpu::Buffer,
    q: wgpu::Buffer,
    k: wgpu::Buffer,
    v: wgpu::Buffer,
    /// Attention's output, before the output projection.
    att: wgpu::Buffer,
    /// The MLP's up projection (activated in place for GPT-2).
    up: wgpu::Buffer,
    /// A gated MLP's gate projection, then silu(gate)·up.
    gate: Option<wgpu::Buffer>,
    /// Each sequence's last normed row (prefill; decode reads `h` directly).
    last: Option<wgpu::Buffer>,
    /// LM-head logits, batch × vocab.
    pub(super) logits: wgpu::Buffer,
}

impl Activations {
    /// Zeroed activations for `shape` of `c` at precision `p`.
    pub(super) fn new(
        dev: &wgpu::Device,
        c: &TransformerConfig,
        p: Precision,
        shape: DecoderShape,
    ) -> Self {
        let (batch, rows) = (shape.batch, shape.rows());
        let n = batch * rows;
        let act = |r, cols| zeroed(dev, "activation", matrix_bytes(p, r, cols));
        let last_ids: Vec<u32> = (0..batch).map(|b| (b * rows + rows - 1) as u32).collect();
        let (d, i) = (c.hidden_size, c.intermediate_size);
        Activations {
            ids: zeroed(dev, "token-ids", (n * 4) as u64),
            last_ids: storage_buffer(dev, "last-rows", bytemuck::cast_slice(&last_ids)),
            x: act(n, d),
            h: act(n, d),
            proj: act(n, d),
            q: act(n, c.q_dim()),
            k: act(n, c.kv_dim()),
            v: act(n, c.kv_dim()),
            att: act(n, c.q_dim()),
            up: act(n, i),
            gate: c.gated_mlp().then(|| act(n, i)),
            last: (rows > 1).then(|| act(batch, d)),
            logits: act(batch, c.vocab_size),
        }
    }
}

/// Binds the steps of one pass of `shape` over a cache of `capacity` positions.
pub(super) struct Binder<'a> {
    pub(super) dec: &'a GpuDecoder,
    pub(super) dev: &'a wgpu::Device,
    pub(super) layout: &'a GemmLayout,
    pub(super) shape: DecoderShape,
    pub(super) capacity: usize,
}

impl Binder<'_> {
    /// Tokens in the pass.
    fn n(&self) -> usize {
        self.shape.batch * self.shape.rows()
    }

    /// `out = a · lin.w (+ lin.bias)` over `rows` rows, a step of operator `op`.
    fn gemm(
        &self,
        op: OpKind,
        lin: &Linear,
        rows: usize,
        a: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Step {
        let d = self.dec;
        let ops = lin.bind(
            self.dev,
            self.layout,
            d.precision,
            rows,
            [a, out],
            &d.no_bias,
        );
        let dispatch = Dispatch::Gemm {
            ops: Box::new(ops),
            kernel: 0,
            bias: lin.bias.is_some(),
        };
        step(op, dispatch)
    }

    /// `out = norm(x)`: LayerNorm for GPT-2, RMSNorm for Llama.
    fn norm(
        &self,
        nw: &GpuNorm,
        x: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<Step, ProfileError> {
        let c = &self.dec.cfg;
        let kind = match c.family {
            Family::Llama => NormKind::RmsNorm,
            _ => NormKind::LayerNorm,
        };
        let dims = (self.n(), c.hidden_size);
        let eps = c.norm_eps as f32;
        let b = self.dec.norm.bind(
            self.dev,
            kind,
            dims,
            eps,
            [x, &nw.gamma],
            Some(&nw.beta),
            out,
        )?;
        Ok(step(OpKind::Norm, Dispatch::Norm(b)))
    }

    /// `x += proj`, in place.
    fn add(&self, x: &wgpu::Buffer, proj: &wgpu::Buffer) -> Result<Step, ProfileError> {
        let dims = (self.n(), self.dec.cfg.hidden_size);
        let b = self.dec.ew.bind(
            self.dev,
            EwOp::Residual,
            dims,
            EwInput::InPlace,
            Some(proj),
            x,
        )?;
        Ok(step(OpKind::Residual, Dispatch::Ew(b)))
    }

    /// RoPE, then K and V into the cache, then attention into `a.att`.
    fn attention(
        &self,
        a: &Activations,
        [kc, vc]: &[wgpu::Buffer; 2],
    ) -> Result<Vec<Step>, ProfileError> {
        let (dec, c, s) = (self.dec, &self.dec.cfg, self.shape);
        let (batch, rows, pos) = (s.batch, s.rows(), s.first_pos());
        let mut steps = Vec::new();
        if let Some(rope) = &dec.rope {
            for (buf, heads) in [(&a.q, c.num_heads), (&a.k, c.num_kv_heads)] {
                let b = rope.bind(self.dev, (self.n(), heads), (rows, pos), buf)?;
                steps.push(step(OpKind::Rope, Dispatch::Rope(b)));
            }
        }
        let kv = (batch, rows, c.num_kv_heads, c.head_dim);
        let bufs = [&a.k, &a.v, kc, vc];
        let append = dec
            .append
            .bind_rows(self.dev, kv, (pos, self.capacity), bufs)?;
        steps.push(step(OpKind::KvAppend, Dispatch::Append(append)));
        let (h, kvh) = (c.num_heads, c.num_kv_heads);
        steps.push(step(
            OpKind::Attention,
            match s.pass {
                Pass::Decode => {
                    // The new token attends to the cache including itself.
                    let dims = AttentionDims::new(batch, h, kvh, pos + 1);
                    let qkv = [&a.q, kc, vc];
                    Dispatch::Decode(
                        dec.decode
                            .bind(self.dev, dims, self.capacity, qkv, &a.att)?,
                    )
                }
                _ => {
                    // From an empty cache the prompt attends to itself, causally.
                    let dims = AttentionDims::new(batch, h, kvh, rows);
                    let qkv = [&a.q, &a.k, &a.v];
                    Dispatch::Prefill(dec.prefill.bind(self.dev, dims, true, qkv, &a.att)?)
                }
            },
        ));
        Ok(steps)
    }

    /// The MLP of `h` into `proj`: GELU-tanh (GPT-2) or SiLU-gated (Llama).
    fn mlp(&self, l: &GpuLayer, a: &Activations) -> Result<Vec<Step>, ProfileError> {
        let (n, i) = (self.n(), self.dec.cfg.intermediate_size);
        let ew = &self.dec.ew;
        Ok(match (&l.gate, &a.gate) {
            (Some(gate), Some(g)) => {
                let act = ew.bind(
                    self.dev,
                    EwOp::SiluGated,
                    (n, i),
                    EwInput::InPlace,
                    Some(&a.up),
                    g,
                )?;
                vec![
                    self.gemm(OpKind::MlpUp, gate, n, &a.h, g),
                    self.gemm(OpKind::MlpUp, &l.up, n, &a.h, &a.up),
                    step(OpKind::MlpAct, Dispatch::Ew(act)),
                    self.gemm(OpKind::MlpDown, &l.down, n, g, &a.proj),
                ]
            }
            _ => {
                let act = ew.bind(
                    self.dev,
                    EwOp::GeluTanh,
                    (n, i),
                    EwInput::InPlace,
                    None,
                    &a.up,
                )?;
                vec![
                    self.gemm(OpKind::MlpUp, &l.up, n, &a.h, &a.up),
                    step(OpKind::MlpAct, Dispatch::Ew(act)),
                    self.gemm(OpKind::MlpDown, &l.down, n, &a.up, &a.proj),
                ]
            }
        })
    }

    /// One pre-norm block on the residual stream `a.x`.
    fn block(
        &self,
        l: &GpuLayer,
        a: &Activations,
        cache: &[wgpu::Buffer; 2],
    ) -> Result<Vec<Step>, ProfileError> {
        let n = self.n();
        let mut steps = vec![
            self.norm(&l.norm1, &a.x, &a.h)?,
            self.gemm(OpKind::Qkv, &l.q, n, &a.h, &a.q),
            self.gemm(OpKind::Qkv, &l.k, n, &a.h, &a.k),
            self.gemm(OpKind::Qkv, &l.v, n, &a.h, &a.v),
        ];
        steps.extend(self.attention(a, cache)?);
        steps.push(self.gemm(OpKind::OProj, &l.o, n, &a.att, &a.proj));
        steps.push(self.add(&a.x, &a.proj)?);
        steps.push(self.norm(&l.norm2, &a.x, &a.h)?);
        steps.extend(self.mlp(l, a)?);
        steps.push(self.add(&a.x, &a.proj)?);
        Ok(steps)
    }

    /// Every step: embedding, the blocks (block `i` writing `caches[i]`), the final
    /// norm of every row, each sequence's last row gathered, the LM head.
    pub(super) fn steps(
        &self,
        a: &Activations,
        caches: &[[wgpu::Buffer; 2]],
    ) -> Result<Vec<Step>, ProfileError> {
        let (dec, c, s) = (self.dec, &self.dec.cfg, self.shape);
        let dims = EmbeddingDims {
            tokens: self.n(),
            hidden: c.hidden_size,
            vocab: c.vocab_size,
            seq_len: s.rows(),
            pos_offset: s.first_pos(),
            max_positions: c.max_positions,
        };
        let table = [&a.ids, &dec.model.tokens];
        let pos = dec.model.positions.as_ref();
        let embed = dec.embed.bind(self.dev, dims, table, pos, &a.x)?;
        let mut steps = vec![step(OpKind::Embedding, Dispatch::Embed(embed))];
        for (l, cache) in dec.model.layers.iter().zip(caches) {
            steps.extend(self.block(l, a, cache)?);
        }
        steps.push(self.norm(&dec.model.outer, &a.x, &a.h)?);
        let last = match &a.last {
            Some(last) => {
                // The embedding gather, with the normed rows as its table.
                let dims = EmbeddingDims {
                    tokens: s.batch,
                    hidden: c.hidden_size,
                    vocab: self.n(),
                    seq_len: 1,
                    pos_offset: 0,
                    max_positions: 0,
                };
                let gather = dec
                    .embed
                    .bind(self.dev, dims, [&a.last_ids, &a.h], None, last)?;
                // Charged to the head: it exists only to feed it.
                steps.push(step(OpKind::LmHead, Dispatch::Embed(gather)));
                last
            }
            None => &a.h,
        };
        steps.push(self.gemm(OpKind::LmHead, &dec.head, s.batch, last, &a.logits));
        Ok(steps)
    }
}
