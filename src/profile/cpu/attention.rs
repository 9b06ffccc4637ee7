//! profile layer: the CPU attention of a transformer block — scores and weighted sums
//! as products on views of the QKV rows and the KV cache (each head's K and V packed
//! once per call for the packed kernel when there are several query rows, strided `gemm`
//! calls otherwise), parallelised over (sequence × head) on the [`pool`]'s workers.

use crate::profile::cpu::packed::{PackedB, Product, Tile, matmul_packed_on};
use crate::profile::cpu::pointwise::softmax_rows;
use crate::profile::cpu::{pool, threads};
use std::sync::Mutex;

/// Queries handled together in one scores matrix; a causal block computes keys up to
/// its last query, so at most `QUERY_BLOCK / 2` masked pairs per query are computed
/// (and not counted in the FLOPs, see the accounting).
pub const QUERY_BLOCK: usize = 32;

/// One head runs on one thread: the parallelism is across (sequence × head).
const SERIAL: gemm::Parallelism = gemm::Parallelism::None;

/// A storage element of the CPU forward pass: f32, or f16 with f32 arithmetic.
pub trait Elem: Copy + Send + Sync + Default + 'static {
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// True for IEEE half storage (the packed kernel widens it with F16C), false for f32.
    const IS_F16: bool;
    /// Widens to f32 for arithmetic.
    fn to_f32(self) -> f32;
    /// Rounds an f32 result to storage.
    fn from_f32(x: f32) -> Self;
}

impl Elem for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const IS_F16: bool = false;
    fn to_f32(self) -> f32 {
        self
    }
    fn from_f32(x: f32) -> Self {
        x
    }
}

impl Elem for half::f16 {
    const ZERO: Self = half::f16::ZERO;
    const ONE: Self = half::f16::ONE;
    const IS_F16: bool = true;
    fn to_f32(self) -> f32 {
        half::f16::to_f32(self)
    }
    fn from_f32(x: f32) -> Self {
        half::f16::from_f32(x)
    }
}

/// A strided matrix inside a slice: element (i, j) is `data[offset + i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub struct View<'a, T> {
    /// The backing slice.
    pub data: &'a [T],
    /// Index of element (0, 0).
    pub offset: usize,
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl<T> View<'_, T> {
    /// True when every element of a rows × cols matrix lies inside the slice.
    pub(crate) fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || self.offset + (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// dst (m×n, dense, row stride `ld`) = a (m×k) · b (k×n), on `par` threads.
pub fn matmul_view<T: Elem>(
    (m, n, k): (usize, usize, usize),
    (dst, ld): (&mut [T], usize),
    (a, b): (View<'_, T>, View<'_, T>),
    par: gemm::Parallelism,
) {
    let dst_fits = m == 0 || n == 0 || (m - 1) * ld + n <= dst.len();
    // Checked always: the unsafe call below relies on it.
    assert!(
        dst_fits && a.fits(m, k) && b.fits(k, n),
        "matmul_view out of bounds"
    );
    // SAFETY: the three asserts above keep every element the gemm crate touches inside
    // its slice; `dst` is borrowed exclusively and does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            ld as isize,
            false,
            a.data.as_ptr().add(a.offset),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr().add(b.offset),
            b.cs as isize,
            b.rs as isize,
            T::ZERO,
            T::ONE,
            false,
            false,
            false,
            par,
        );
    }
}

/// Where one attention call reads and writes.
pub struct AttentionIo<'a, T> {
    /// QKV rows, (batch·rows) × (q_dim + 2·kv_dim); Q already rotated.
    pub qkv: &'a [T],
    /// Where the keys and values are read.
    pub kv: KvIn<'a, T>,
    /// Output, head-major: (batch·heads) × rows × head_dim.
    pub heads_out: &'a mut [T],
    /// Scratch for the scores, at least threads × QUERY_BLOCK × cache_cap.
    pub scores: &'a mut [T],
    /// One packing scratch per worker (at least `threads()`).
    pub packs: &'a mut [HeadPacks<T>],
}

/// Where an attention call reads its keys and values.
#[derive(Clone, Copy)]
pub enum KvIn<'a, T> {
    /// This layer's K and V caches, batch × cache_cap × kv_dim each.
    Cache {
        /// The K cache.
        k: &'a [T],
        /// The V cache.
        v: &'a [T],
    },
    /// The K and V columns of the QKV rows themselves: an encoder, whose keys are
    /// exactly this call's rows, needs no cache (and no copy into one).
    Rows,
}

/// One worker's packed K and V of its current head and packed query rows, reused from
/// head to head and call to call.
#[derive(Default)]
pub struct HeadPacks<T> {
    k_t: PackedB<T>,
    v: PackedB<T>,
    rows: Vec<f32>,
}

/// Query rows per sequence from which a head's K and V are packed for the packed kernel:
/// packing reads the head's cache once, which a decode step's single row does not repay.
const PACK_MIN_ROWS: usize = 8;

/// The shape of one attention call.
#[derive(Clone, Copy, Debug)]
pub struct AttentionShape {
    /// Sequences.
    pub batch: usize,
    /// Query rows per sequence in this call.
    pub rows: usize,
    /// Position of the first query row (0 for a prompt, the context for a decode step).
    pub first_pos: usize,
    /// Keys every query sees without a mask (encoders); `None` = causal.
    pub unmasked_keys: Option<usize>,
    /// Cached positions per sequence the caches have room for.
    pub cache_cap: usize,
    /// Query heads, KV heads, head width.
    pub heads: (usize, usize, usize),
    /// The packed kernel's tile for the scores and the weighted sum; `None` (or a tile
    /// the CPU lacks) multiplies the unpacked views.
    pub tile: Option<Tile>,
}

/// softmax(scale · q·kᵀ, masked) · v for every (sequence, head), over all threads.
pub fn attention<T: Elem>(io: AttentionIo<'_, T>, s: AttentionShape) {
    let (heads, _, hd) = s.heads;
    let tasks = s.batch * heads;
    let per_task = s.rows * hd;
    if tasks == 0 || per_task == 0 {
        return;
    }
    let workers = threads().clamp(1, tasks);
    let scratch = QUERY_BLOCK * s.cache_cap;
    let (qkv, kv) = (io.qkv, io.kv);
    // Rows hold only this call's keys: a prompt from position 0, no longer than itself.
    assert!(
        matches!(kv, KvIn::Cache { .. })
            || (s.first_pos == 0 && s.unmasked_keys.is_none_or(|k| k <= s.rows)),
        "attention: keys read from the rows must be the rows"
    );
    // Every worker needs its own scores block; a short pool would skip heads silently.
    assert!(
        io.scores.len() >= workers * scratch && io.packs.len() >= workers,
        "attention scratch pool too small"
    );
    let pack = s.rows >= PACK_MIN_ROWS && s.tile.is_some_and(Tile::runs_here);
    // Workers take (sequence, head) tasks one at a time, so one the scheduler starts
    // late (other processes on the cores) takes fewer instead of holding up the call.
    let queue = Mutex::new(io.heads_out.chunks_mut(per_task).enumerate());
    let work = |(scores, packs): (&mut [T], &mut HeadPacks<T>)| loop {
        let next = queue.lock().map(|mut q| q.next());
        let Ok(Some((task, out))) = next else {
            break;
        };
        let packs = pack.then_some(&mut *packs);
        one_head((qkv, kv), out, (&mut *scores, packs), task, s);
    };
    // One scratch pair per worker; part i of the pool's job takes the i-th.
    let pools: Vec<Mutex<(&mut [T], &mut HeadPacks<T>)>> = (io.scores.chunks_mut(scratch))
        .zip(io.packs.iter_mut())
        .take(workers)
        .map(Mutex::new)
        .collect();
    pool::run(pools.len(), &|i| {
        let mut mine = pools[i].lock().unwrap_or_else(|e| e.into_inner());
        let (scores, packs) = &mut *mine;
        work((scores, packs));
    });
}

/// One (sequence, head): query blocks of scores, softmax, weighted sum; through the
/// packed kernel when `packs` is given.
fn one_head<T: Elem>(
    (qkv, kv): (&[T], KvIn<'_, T>),
    out: &mut [T],
    (scores, mut packs): (&mut [T], Option<&mut HeadPacks<T>>),
    task: usize,
    s: AttentionShape,
) {
    let (heads, kv_heads, hd) = s.heads;
    let (b, h) = (task / heads, task % heads);
    let (q_dim, kv_dim) = (heads * hd, kv_heads * hd);
    let width = q_dim + 2 * kv_dim;
    let g = h / (heads / kv_heads);
    let scale = 1.0 / (hd as f32).sqrt();
    // (K data, V data, K offset, V offset, stride between positions).
    let (kd, vd, k_at, v_at, stride) = match kv {
        KvIn::Cache { k, v } => {
            let at = b * s.cache_cap * kv_dim + g * hd;
            (k, v, at, at, kv_dim)
        }
        KvIn::Rows => {
            let at = b * s.rows * width + q_dim + g * hd;
            (qkv, qkv, at, at + kv_dim, width)
        }
    };
    let k_t = View {
        data: kd,
        offset: k_at,
        rs: 1,
        cs: stride,
    };
    let v = View {
        data: vd,
        offset: v_at,
        rs: stride,
        cs: 1,
    };
    if let Some(p) = packs.as_deref_mut() {
        let all_keys = s.unmasked_keys.unwrap_or(s.first_pos + s.rows);
        p.k_t.pack(k_t, (hd, all_keys));
        p.v.pack(v, (all_keys, hd));
    }
    for t0 in (0..s.rows).step_by(QUERY_BLOCK) {
        let bs = QUERY_BLOCK.min(s.rows - t0);
        let keys = s.unmasked_keys.unwrap_or(s.first_pos + t0 + bs);
        let q = View {
            data: qkv,
            offset: (b * s.rows + t0) * width + h * hd,
            rs: width,
            cs: 1,
        };
        let out = &mut out[t0 * hd..];
        match (packs.as_deref_mut(), s.tile) {
            (Some(p), Some(tile)) => {
                let qk = Product {
                    m: bs,
                    a: q,
                    b: &p.k_t,
                    bias: &[],
                    used: (hd, keys),
                };
                matmul_packed_on(tile, qk, (&mut scores[..], keys), &mut p.rows, 1);
            }
            _ => matmul_view((bs, keys, hd), (&mut scores[..], keys), (q, k_t), SERIAL),
        }
        let visible = (s.unmasked_keys, s.first_pos + t0 + 1);
        softmax_rows(&mut scores[..], (bs, keys), visible, scale);
        let probs = View {
            data: &scores[..],
            offset: 0,
            rs: keys,
            cs: 1,
        };
        match (packs.as_deref_mut(), s.tile) {
            (Some(p), Some(tile)) => {
                let pv = Product {
                    m: bs,
                    a: probs,
                    b: &p.v,
                    bias: &[],
                    used: (keys, hd),
                };
                matmul_packed_on(tile, pv, (out, hd), &mut p.rows, 1);
            }
            _ => matmul_view((bs, hd, keys), (out, hd), (probs, v), SERIAL),
        }
    }
}
