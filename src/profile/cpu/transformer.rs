//! profile layer: a transformer's forward pass on the CPU — projections on all
//! cores, attention over (sequence × head) threads, f32 arithmetic on f32 or f16
//! storage — with every buffer allocated once per shape and reused across timed runs.

use super::attention::{
    AttentionIo, AttentionShape, Elem, HeadPacks, KvIn, QUERY_BLOCK, View, attention, matmul_view,
};
use super::packed::Tile;
use super::par_rows::{par_activate, par_norm_rows};
use super::pointwise::residual;
use super::projection::{Kernel, Projection};
use super::threads;

use crate::profile::reference::Rng;
use crate::profile::workloads::transformer::op_time::OpLap;
use crate::profile::workloads::transformer::ops::OpKind;
use crate::profile::workloads::transformer::weights::{NormWeights, Weights};
use crate::profile::workloads::transformer::{Family, TransformerConfig};

/// One block's weights in storage precision (biases and norms stay f32: they are read
/// once per element of the activations, never by a matmul).
/// The output and down biases are added with the residual, where their time is charged.
struct CpuLayer<T> {
    qkv: Projection<T>,
    o: Projection<T>,
    bo: Vec<f32>,
    up: Projection<T>,
    down: Projection<T>,
    b_down: Vec<f32>,
    norm1: NormWeights,
    norm2: NormWeights,
}

/// A transformer ready to run on the CPU at storage type `T`.
pub struct CpuTransformer<T> {
    cfg: TransformerConfig,
    layers: Vec<CpuLayer<T>>,
    tokens: Vec<T>,
    /// An untied LM head (vocab × d); `None` reads the token table.
    lm_head: Option<Vec<T>>,
    positions: Vec<T>,
    outer_norm: NormWeights,
    /// The tile of the packed products (attention's, and the projections' when packed).
    tile: Option<Tile>,
}

/// Activations, KV cache and scratch for one (batch, rows, cache) shape.
pub struct Buffers<T> {
    batch: usize,
    max_rows: usize,
    cache_cap: usize,
    /// The residual stream, f32, (batch·rows) × d; the final hidden states after a pass.
    pub x: Vec<f32>,
    xn: Vec<T>,
    qkv: Vec<T>,
    heads: Vec<T>,
    attn: Vec<T>,
    proj: Vec<T>,
    up: Vec<T>,
    act: Vec<T>,
    k_cache: Vec<T>,
    v_cache: Vec<T>,
    scores: Vec<T>,
    last: Vec<T>,
    /// LM-head logits of each sequence's last row, batch × vocab (decoders).
    pub logits: Vec<T>,
    rope: (Vec<f32>, Vec<f32>),
    /// The packed rows of the packed projection kernel.
    pack: Vec<f32>,
    /// Each attention worker's packed K, V and query rows.
    head_packs: Vec<HeadPacks<T>>,
}

fn convert<T: Elem>(v: &[f32]) -> Vec<T> {
    v.iter().map(|&x| T::from_f32(x)).collect()
}

impl<T: Elem> CpuTransformer<T> {
    /// The model of `w` in storage type `T` (the values are already rounded to it), its
    /// projections on the fastest kernel this CPU runs.
    pub fn new(w: &Weights) -> Self {
        Self::with_kernel(w, Kernel::best())
    }

    /// [`new`](Self::new) with the projections on `kernel`.
    pub fn with_kernel(w: &Weights, kernel: Kernel) -> Self {
        Self::with_kernel_on(w, kernel, Tile::best())
    }

    /// [`with_kernel`](Self::with_kernel) with the packed products (attention's, and
    /// the projections' on [`Kernel::Packed`]) on `tile`; `None`, or a tile the CPU
    /// lacks, runs them unpacked (attention) and on the `gemm` crate (projections).
    pub fn with_kernel_on(w: &Weights, kernel: Kernel, tile: Option<Tile>) -> Self {
        let tile = tile.filter(|t| t.runs_here());
        let kernel = (kernel, tile);
        let c = &w.cfg;
        let (d, i) = (c.hidden_size, c.intermediate_size);
        let width = c.q_dim() + 2 * c.kv_dim();
        let up_cols = i * if c.gated_mlp() { 2 } else { 1 };
        let layers = w
            .layers
            .iter()
            .map(|l| CpuLayer {
                qkv: Projection::new(&l.wqkv, &l.bqkv, (d, width), kernel),
                o: Projection::new(&l.wo, &[], (c.q_dim(), d), kernel),
                bo: l.bo.clone(),
                up: Projection::new(&l.w_up, &l.b_up, (d, up_cols), kernel),
                down: Projection::new(&l.w_down, &[], (i, d), kernel),
                b_down: l.b_down.clone(),
                norm1: l.norm1.clone(),
                norm2: l.norm2.clone(),
            })
            .collect();
        CpuTransformer {
            cfg: w.cfg.clone(),
            layers,
            tokens: convert(&w.tokens),
            lm_head: (!w.lm_head.is_empty()).then(|| convert(&w.lm_head)),
            positions: convert(&w.positions),
            outer_norm: w.outer_norm.clone(),
            tile,
        }
    }

    /// Buffers for `batch` sequences of up to `max_rows` rows per call and a KV cache
    /// of `cache_cap` positions (filled with small random values: a decode step can be
    /// timed without its prefill, and timing does not depend on the values).
    pub fn buffers(&self, batch: usize, max_rows: usize, cache_cap: usize) -> Buffers<T> {
        let c = &self.cfg;
        let rows = batch * max_rows;
        let up_cols = c.intermediate_size * if c.gated_mlp() { 2 } else { 1 };
        let cache_layers = if c.family.is_decoder() {
            c.num_layers
        } else {
            1
        };
        let cache = cache_layers * batch * cache_cap * c.kv_dim();
        let mut rng = Rng::new(cache as u64);
        let mut random = || convert(&rng.vec(cache, 1.0));
        let (k_cache, v_cache) = (random(), random());
        let half = c.head_dim / 2;
        let mut rope = (vec![0.0; cache_cap * half], vec![0.0; cache_cap * half]);
        if let Some(theta) = c.rope_theta {
            for p in 0..cache_cap {
                for i in 0..half {
                    let freq = theta.powf(-2.0 * i as f64 / c.head_dim as f64);
                    let (sin, cos) = (p as f64 * freq).sin_cos();
                    rope.0[p * half + i] = cos as f32;
                    rope.1[p * half + i] = sin as f32;
                }
            }
        }
        Buffers {
            batch,
            max_rows,
            cache_cap,
            x: vec![0.0; rows * c.hidden_size],
            xn: vec![T::ZERO; rows * c.hidden_size],
            qkv: vec![T::ZERO; rows * (c.q_dim() + 2 * c.kv_dim())],
            heads: vec![T::ZERO; rows * c.q_dim()],
            attn: vec![T::ZERO; rows * c.q_dim()],
            proj: vec![T::ZERO; rows * c.hidden_size],
            up: vec![T::ZERO; rows * up_cols],
            act: vec![T::ZERO; rows * c.intermediate_size],
            k_cache,
            v_cache,
            scores: vec![T::ZERO; threads() * QUERY_BLOCK * cache_cap],
            last: vec![T::ZERO; batch * c.hidden_size],
            logits: vec![T::ZERO; batch * c.vocab_size],
            rope,
            pack: Vec::new(),
            head_packs: (0..threads()).map(|_| HeadPacks::default()).collect(),
        }
    }

    /// The config this model runs.
    pub fn config(&self) -> &TransformerConfig {
        &self.cfg
    }
}

impl<T: Elem> CpuTransformer<T> {
    /// Runs the first `layers` blocks over `tokens` (batch × `rows` ids at positions
    /// `first_pos..first_pos + rows` of each sequence), extending the KV cache; leaves
    /// the final hidden states in `b.x` and, for decoders, the logits in `b.logits`.
    pub fn forward(
        &self,
        b: &mut Buffers<T>,
        tokens: &[u32],
        shape: (usize, usize),
        layers: usize,
    ) {
        self.forward_lap(b, tokens, shape, layers, &mut OpLap::off());
    }

    /// [`forward`](Self::forward), charging each operator's time to `lap`.
    pub fn forward_lap(
        &self,
        b: &mut Buffers<T>,
        tokens: &[u32],
        (rows, first_pos): (usize, usize),
        layers: usize,
        lap: &mut OpLap<'_>,
    ) {
        let c = &self.cfg;
        assert!(
            rows <= b.max_rows && first_pos + rows <= b.cache_cap && tokens.len() == b.batch * rows,
            "forward: shape outside the buffers"
        );
        let (n, d) = (b.batch * rows, c.hidden_size);
        for (r, (xr, &id)) in b.x.chunks_mut(d).zip(tokens).enumerate() {
            let tok = &self.tokens[id as usize * d..][..d];
            let pos = self
                .positions
                .get((first_pos + r % rows) * d..(first_pos + r % rows + 1) * d);
            for (j, v) in xr.iter_mut().enumerate() {
                *v = tok[j].to_f32() + pos.map_or(0.0, |p| p[j].to_f32());
            }
        }
        lap.mark(OpKind::Embedding);
        let outer = (&self.outer_norm, c.norm_eps, true);
        if c.family == Family::Encoder {
            par_norm_rows(&mut b.x[..n * d], &mut b.xn, outer.0, outer.1, outer.2);
            lap.mark(OpKind::Norm);
        }
        for li in 0..layers.min(c.num_layers) {
            self.block(li, b, (rows, first_pos), lap);
        }
        if c.family.is_decoder() {
            par_norm_rows(&mut b.x[..n * d], &mut b.xn, outer.0, outer.1, outer.2);
            lap.mark(OpKind::Norm);
            self.lm_head(b, rows);
            lap.mark(OpKind::LmHead);
        }
    }

    /// Logits of each sequence's last row (the normed stream in `b.x`) into `b.logits`.
    fn lm_head(&self, b: &mut Buffers<T>, rows: usize) {
        let (c, d) = (&self.cfg, self.cfg.hidden_size);
        for (s, last) in b.last.chunks_mut(d).enumerate() {
            let row = &b.x[((s + 1) * rows - 1) * d..][..d];
            last.iter_mut()
                .zip(row)
                .for_each(|(o, &v)| *o = T::from_f32(v));
        }
        let last = View {
            data: &b.last[..],
            offset: 0,
            rs: d,
            cs: 1,
        };
        // Eᵀ read in place: element (k, v) of the d × vocab head is tokens[v·d + k].
        let head = View {
            data: self.lm_head.as_deref().unwrap_or(&self.tokens),
            offset: 0,
            rs: 1,
            cs: d,
        };
        let par = gemm::Parallelism::Rayon(threads());
        matmul_view(
            (b.batch, c.vocab_size, d),
            (&mut b.logits, c.vocab_size),
            (last, head),
            par,
        );
    }

    /// One block; a fused bias is timed with the operator it is fused into (the Q/K/V
    /// and up-projection biases with their projection, the output and down biases with
    /// the residual add).
    fn block(
        &self,
        li: usize,
        b: &mut Buffers<T>,
        (rows, first_pos): (usize, usize),
        lap: &mut OpLap<'_>,
    ) {
        let (c, l) = (&self.cfg, &self.layers[li]);
        let (n, d, i) = (b.batch * rows, c.hidden_size, c.intermediate_size);
        let q_dim = c.q_dim();
        let encoder = c.family == Family::Encoder;
        let x = &mut b.x[..n * d];
        if !encoder {
            par_norm_rows(x, &mut b.xn, &l.norm1, c.norm_eps, false);
            lap.mark(OpKind::Norm);
        }
        l.qkv.apply(n, &b.xn, &mut b.qkv, &mut b.pack);
        lap.mark(OpKind::Qkv);
        if c.rope_theta.is_some() {
            self.rope(b, (rows, first_pos));
            lap.mark(OpKind::Rope);
        }
        // An encoder's attention reads K and V from the QKV rows; a decoder's from its
        // cache, which this call's rows extend.
        let kv = if encoder {
            KvIn::Rows
        } else {
            let cache = self.fill_cache(li, b, (rows, first_pos));
            lap.mark(OpKind::KvAppend);
            KvIn::Cache {
                k: &b.k_cache[cache.clone()],
                v: &b.v_cache[cache],
            }
        };
        let io = AttentionIo {
            qkv: &b.qkv,
            kv,
            heads_out: &mut b.heads[..n * q_dim],
            scores: &mut b.scores,
            packs: &mut b.head_packs,
        };
        let shape = AttentionShape {
            batch: b.batch,
            rows,
            first_pos,
            unmasked_keys: encoder.then_some(rows),
            cache_cap: b.cache_cap,
            heads: (c.num_heads, c.num_kv_heads, c.head_dim),
            tile: self.tile,
        };
        attention(io, shape);
        // Head-major [sequence][head][row][dim] back to rows × (heads·dim).
        let hd = c.head_dim;
        for (task, chunk) in b.heads[..n * q_dim].chunks(rows * hd).enumerate() {
            let (s, h) = (task / c.num_heads, task % c.num_heads);
            for (t, src) in chunk.chunks(hd).enumerate() {
                b.attn[(s * rows + t) * q_dim + h * hd..][..hd].copy_from_slice(src);
            }
        }
        lap.mark(OpKind::Attention);
        l.o.apply(n, &b.attn, &mut b.proj, &mut b.pack);
        lap.mark(OpKind::OProj);
        let x = &mut b.x[..n * d];
        residual(x, &b.proj[..n * d], &l.bo, d);
        lap.mark(OpKind::Residual);
        let (norm, in_place) = if encoder {
            (&l.norm1, true)
        } else {
            (&l.norm2, false)
        };
        par_norm_rows(x, &mut b.xn, norm, c.norm_eps, in_place);
        lap.mark(OpKind::Norm);
        let up_cols = l.up.cols();
        l.up.apply(n, &b.xn, &mut b.up, &mut b.pack);
        lap.mark(OpKind::MlpUp);
        par_activate(c.family, &b.up, &mut b.act, (n, up_cols, i));
        lap.mark(OpKind::MlpAct);
        l.down.apply(n, &b.act, &mut b.proj, &mut b.pack);
        lap.mark(OpKind::MlpDown);
        let x = &mut b.x[..n * d];
        residual(x, &b.proj[..n * d], &l.b_down, d);
        lap.mark(OpKind::Residual);
        if encoder {
            par_norm_rows(x, &mut b.xn, &l.norm2, c.norm_eps, true);
            lap.mark(OpKind::Norm);
        }
    }

    /// RoPE (rotate-half) on every query and key head of the pass's rows.
    fn rope(&self, b: &mut Buffers<T>, (rows, first_pos): (usize, usize)) {
        let c = &self.cfg;
        let (q_dim, kv_dim, hd) = (c.q_dim(), c.kv_dim(), c.head_dim);
        let half = hd / 2;
        let width = q_dim + 2 * kv_dim;
        for (r, row) in b.qkv.chunks_mut(width).take(b.batch * rows).enumerate() {
            let pos = first_pos + r % rows;
            let cos = &b.rope.0[pos * half..][..half];
            let sin = &b.rope.1[pos * half..][..half];
            for head in row[..q_dim + kv_dim].chunks_mut(hd) {
                for k in 0..half {
                    let (x1, x2) = (head[k].to_f32(), head[k + half].to_f32());
                    head[k] = T::from_f32(x1 * cos[k] - x2 * sin[k]);
                    head[k + half] = T::from_f32(x2 * cos[k] + x1 * sin[k]);
                }
            }
        }
    }

    /// K and V of the pass's rows into layer `li`'s cache at their positions; returns
    /// that layer's range of the caches.
    fn fill_cache(
        &self,
        li: usize,
        b: &mut Buffers<T>,
        (rows, first_pos): (usize, usize),
    ) -> std::ops::Range<usize> {
        let c = &self.cfg;
        let (q_dim, kv_dim) = (c.q_dim(), c.kv_dim());
        let width = q_dim + 2 * kv_dim;
        let layer = if c.family.is_decoder() { li } else { 0 };
        let span = b.batch * b.cache_cap * kv_dim;
        for (r, row) in b.qkv.chunks(width).take(b.batch * rows).enumerate() {
            let (s, pos) = (r / rows, first_pos + r % rows);
            let at = layer * span + (s * b.cache_cap + pos) * kv_dim;
            b.k_cache[at..at + kv_dim].copy_from_slice(&row[q_dim..q_dim + kv_dim]);
            b.v_cache[at..at + kv_dim].copy_from_slice(&row[q_dim + kv_dim..]);
        }
        layer * span..(layer + 1) * span
    }
}
