//! profile layer: the CPU pass's matrix products on x86-64 — the right operand packed
//! into 16-column panels (weights once per model, attention's K and V per head), the
//! left one into f32 row panels per call, and a register tile over them (f32
//! arithmetic on f32 or f16 storage, a bias added as the tile is stored), split over
//! the cores by column panels. The tile is chosen at run time ([`Tile::best`]): the
//! 8 × 32 AVX-512 one of [`packed512`](super::packed512), else a 6 × 16 AVX2/FMA one;
//! without AVX2, FMA and F16C the pass keeps the `gemm` crate (see [`available`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::attention::{Elem, View};

/// Rows of one tile (6 × 2 accumulators + 2 B vectors + 1 broadcast = 15 of the 16
/// AVX2 registers).
pub const MR: usize = 6;
/// Columns of one tile and of one packed panel (two 8-lane vectors).
pub const NR: usize = 16;
/// Bytes of packed left operand one row block keeps in the L2 cache while every column
/// panel of the right one passes over it.
const A_BLOCK_BYTES: usize = 1 << 20;
/// Column panels a worker takes at a time (64 columns: ~0.1 ms of work at 128 rows).
const CHUNK_PANELS: usize = 4;

/// A register tile of the packed kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tile {
    /// 8 × 32, AVX-512F ([`packed512`](super::packed512)).
    Avx512,
    /// 6 × 16, AVX2 + FMA + F16C.
    Avx2,
}

impl Tile {
    /// The widest tile this CPU runs, if any.
    pub fn best() -> Option<Tile> {
        if !available() {
            None
        } else if super::packed512::available() {
            Some(Tile::Avx512)
        } else {
            Some(Tile::Avx2)
        }
    }

    /// True when this CPU runs the tile.
    pub fn runs_here(self) -> bool {
        available() && (self == Tile::Avx2 || super::packed512::available())
    }

    /// Rows of the tile and of its packed A panels.
    fn rows(self) -> usize {
        match self {
            Tile::Avx512 => super::packed512::MR,
            Tile::Avx2 => MR,
        }
    }

    /// Name in variants and logs: `avx512` or `avx2`.
    pub fn name(self) -> &'static str {
        match self {
            Tile::Avx512 => "avx512",
            Tile::Avx2 => "avx2",
        }
    }
}

/// True when this CPU runs the packed kernel (x86-64 with AVX2, FMA and F16C; the
/// AVX-512 tile additionally needs AVX-512F).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A k × n matrix in [`NR`]-column panels: element (p, j) at
/// `((j / NR) · k + p) · NR + j % NR`; the columns past n of the last panel are zero.
#[derive(Default)]
pub struct PackedB<T> {
    pub(super) k: usize,
    n: usize,
    pub(super) data: Vec<T>,
}

impl<T: Elem> PackedB<T> {
    /// `b` (k × n, any strides) packed.
    pub fn new(b: View<'_, T>, shape: (usize, usize)) -> Self {
        let mut p = PackedB {
            k: 0,
            n: 0,
            data: Vec::new(),
        };
        p.pack(b, shape);
        p
    }

    /// Repacks `b` (k × n) into this buffer, reusing its memory.
    pub fn pack(&mut self, b: View<'_, T>, (k, n): (usize, usize)) {
        assert!(b.fits(k, n), "PackedB::pack: view out of bounds");
        let panels = n.div_ceil(NR);
        // Every element of a whole panel is written below, so only a ragged last panel
        // is zeroed (zeroing all of it first cost a memset of the whole matrix a call).
        self.data.truncate(panels * k * NR);
        self.data.resize(panels * k * NR, T::ZERO);
        for (jp, panel) in self.data.chunks_mut(k * NR).enumerate() {
            let cols = NR.min(n - jp * NR);
            if cols < NR {
                panel.fill(T::ZERO);
            }
            let first = b.offset + jp * NR * b.cs;
            if b.cs == 1 {
                // Rows contiguous (weights, V): each panel row is one copy.
                for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
                    dst[..cols].copy_from_slice(&b.data[first + p * b.rs..][..cols]);
                }
            } else if b.rs == 1 {
                // Columns contiguous (attention's Kᵀ): each column read in order.
                for c in 0..cols {
                    let col = &b.data[first + c * b.cs..][..k];
                    for (dst, &v) in panel.chunks_exact_mut(NR).zip(col) {
                        dst[c] = v;
                    }
                }
            } else {
                for (p, dst) in panel.chunks_mut(NR).enumerate() {
                    let row = first + p * b.rs;
                    for (c, d) in dst[..cols].iter_mut().enumerate() {
                        *d = b.data[row + c * b.cs];
                    }
                }
            }
        }
        (self.k, self.n) = (k, n);
    }

    /// (k, n).
    pub fn shape(&self) -> (usize, usize) {
        (self.k, self.n)
    }
}

/// The first m rows of `a` (m × k, any strides) as f32 `mr`-row panels: element
/// (i, p) at `((i / mr) · k + p) · mr + i % mr`, rows past m zero.
fn pack_a<T: Elem>(a: View<'_, T>, (m, k): (usize, usize), mr: usize, out: &mut Vec<f32>) {
    assert!(a.fits(m, k), "pack_a: view out of bounds");
    // Whole panels are written in full below; only a ragged last one is zeroed first.
    out.truncate(m.div_ceil(mr) * k * mr);
    out.resize(m.div_ceil(mr) * k * mr, 0.0);
    for (ip, panel) in out.chunks_mut(k * mr).enumerate() {
        let rows = mr.min(m - ip * mr);
        if rows < mr {
            panel.fill(0.0);
        }
        let first = a.offset + ip * mr * a.rs;
        if a.cs == 1 && rows == mr && mr <= MAX_MR {
            // Rows stored contiguously (every projection's input): the panel is written
            // in order from `mr` row streams, which vectorises; the strided walk below
            // took ~1 ns an element, ~5 % of a bert-base pass, on one core while the
            // other waited.
            let mut src: [&[T]; MAX_MR] = [&[]; MAX_MR];
            for (r, s) in src.iter_mut().enumerate().take(mr) {
                *s = &a.data[first + r * a.rs..][..k];
            }
            for (p, dst) in panel.chunks_exact_mut(mr).enumerate() {
                for (d, row) in dst.iter_mut().zip(&src[..mr]) {
                    *d = row[p].to_f32();
                }
            }
            continue;
        }
        for r in 0..rows {
            let row = first + r * a.rs;
            for (p, d) in panel.iter_mut().skip(r).step_by(mr).enumerate() {
                *d = a.data[row + p * a.cs].to_f32();
            }
        }
    }
}

/// The most rows a tile has (the AVX-512 one's).
const MAX_MR: usize = 8;

/// One product C = A · B (+ bias) through the packed kernel.
pub struct Product<'a, T> {
    /// Rows of A and C.
    pub m: usize,
    /// A, m × k.
    pub a: View<'a, T>,
    /// B, packed.
    pub b: &'a PackedB<T>,
    /// Added to every row of C: n values, or empty for none.
    pub bias: &'a [f32],
    /// The (k, n) used: the first k rows and n columns of B (at most its shape; a
    /// causal attention block reads a prefix of the packed keys).
    pub used: (usize, usize),
}

/// C (m × n, row stride `ldc`) = A · B + bias on the widest tile this CPU runs, on
/// `threads` threads (the column panels split between them); `scratch` holds the
/// packed A. Panics when a shape does not fit its slice, or when the CPU lacks the
/// kernel (callers check [`available`]).
pub fn matmul_packed<T: Elem>(
    p: Product<'_, T>,
    c: (&mut [T], usize),
    scratch: &mut Vec<f32>,
    threads: usize,
) {
    matmul_packed_on(Tile::best().unwrap_or(Tile::Avx2), p, c, scratch, threads);
}

/// [`matmul_packed`] on `tile`. Panics when the CPU lacks it ([`Tile::runs_here`]).
pub fn matmul_packed_on<T: Elem>(
    tile: Tile,
    p: Product<'_, T>,
    (c, ldc): (&mut [T], usize),
    scratch: &mut Vec<f32>,
    threads: usize,
) {
    let (m, (k, n)) = (p.m, p.used);
    let (bk, bn) = p.b.shape();
    assert!(
        k <= bk && n <= bn,
        "matmul_packed: more of B used than it holds"
    );
    assert!(
        m == 0 || n == 0 || ((m - 1) * ldc + n <= c.len() && ldc >= n),
        "matmul_packed: C out of bounds"
    );
    assert!(
        p.bias.is_empty() || p.bias.len() == n,
        "matmul_packed: bias length"
    );
    assert!(
        tile.runs_here(),
        "matmul_packed: the CPU lacks the {tile:?} tile"
    );
    if m == 0 || n == 0 {
        return;
    }
    pack_a(p.a, (m, k), tile.rows(), scratch);
    let panels = n.div_ceil(NR);
    let chunks = panels.div_ceil(CHUNK_PANELS);
    let workers = threads.clamp(1, chunks);
    let out = OutPtr(c.as_mut_ptr());
    // Workers take column chunks from a shared counter, so one the scheduler starts late
    // (other processes on the cores) takes fewer instead of holding up the call.
    let next = AtomicUsize::new(0);
    let job = || {
        // The AVX-512 tile's partial sums between K blocks, one buffer per worker.
        let mut partial = Vec::new();
        loop {
            let chunk = next.fetch_add(1, Ordering::Relaxed);
            if chunk >= chunks {
                break;
            }
            let cols = chunk * CHUNK_PANELS * NR..((chunk + 1) * CHUNK_PANELS * NR).min(n);
            // SAFETY: the asserts above keep every tile inside `c`, `b`, `scratch` and
            // the bias (packed for `tile`'s rows); each chunk is taken once, so no
            // element is written by two workers; the CPU runs `tile` (asserted).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                match tile {
                    Tile::Avx512 => {
                        super::packed512::columns(&p, scratch, (out, ldc), cols, &mut partial);
                    }
                    Tile::Avx2 => avx::columns(&p, scratch, (out, ldc), cols),
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = (cols, out, &mut partial);
        }
    };
    super::pool::run(workers, &|_| job());
}

/// C's base pointer, shared by workers that write disjoint columns.
#[derive(Clone, Copy)]
pub(super) struct OutPtr<T>(pub(super) *mut T);
// SAFETY: each worker writes only its own column range (see `matmul_packed`).
unsafe impl<T: Send> Send for OutPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for OutPtr<T> {}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{A_BLOCK_BYTES, Elem, MR, NR, OutPtr, Product};

    /// Eight lanes of storage at `p` as f32.
    #[inline(always)]
    unsafe fn load8<T: Elem>(p: *const T) -> __m256 {
        // SAFETY: the caller keeps 8 elements readable at `p`; T is f16 or f32 as
        // `T::IS_F16` says.
        unsafe {
            if T::IS_F16 {
                _mm256_cvtph_ps(_mm_loadu_si128(p.cast()))
            } else {
                _mm256_loadu_ps(p.cast())
            }
        }
    }

    /// Eight f32 lanes rounded to storage at `p` (nearest even, as `Elem::from_f32`).
    #[inline(always)]
    unsafe fn store8<T: Elem>(p: *mut T, v: __m256) {
        // SAFETY: as `load8`, for writing.
        unsafe {
            if T::IS_F16 {
                _mm_storeu_si128(p.cast(), _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v));
            } else {
                _mm256_storeu_ps(p.cast(), v);
            }
        }
    }

    /// The tiles of columns `cols` (whole panels but the last) of every row block.
    ///
    /// # Safety
    /// The CPU has AVX2, FMA and F16C; `a` is `p.a` packed; C holds m rows of stride
    /// `ldc` covering `cols`; no other thread writes those columns.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn columns<T: Elem>(
        p: &Product<'_, T>,
        a: &[f32],
        (c, ldc): (OutPtr<T>, usize),
        cols: Range<usize>,
    ) {
        let (m, (k, n)) = (p.m, p.used);
        // Panels are laid out for all of B's rows, of which the first k are used.
        let stride = p.b.k * NR;
        let m_panels = m.div_ceil(MR);
        let block = (A_BLOCK_BYTES / (4 * MR * k.max(1))).max(1);
        let b = p.b.data.as_ptr();
        for ib in (0..m_panels).step_by(block) {
            for j0 in cols.clone().step_by(NR) {
                let panel = unsafe { b.add(j0 / NR * stride) };
                let w = NR.min(n - j0);
                for ip in ib..(ib + block).min(m_panels) {
                    let rows = MR.min(m - ip * MR);
                    // SAFETY: per the function's contract.
                    unsafe {
                        let acc = tile(k, a.as_ptr().add(ip * k * MR), panel);
                        let dst = c.0.add(ip * MR * ldc + j0);
                        let bias = p.bias.get(j0..j0 + w).unwrap_or(&[]);
                        store(acc, (dst, ldc), (rows, w), bias);
                    }
                }
            }
        }
    }

    /// A 6 × 16 tile: Σ over k of a packed A panel column times a packed B panel row.
    #[inline(always)]
    unsafe fn tile<T: Elem>(k: usize, a: *const f32, b: *const T) -> [[__m256; 2]; MR] {
        // SAFETY: AVX is enabled in every caller (`columns`).
        let mut acc = [[unsafe { _mm256_setzero_ps() }; 2]; MR];
        for q in 0..k {
            // SAFETY: the panels hold k rows of MR (A) and NR (B) elements.
            unsafe {
                let b0 = load8(b.add(q * NR));
                let b1 = load8(b.add(q * NR + 8));
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = _mm256_broadcast_ss(&*a.add(q * MR + r));
                    row[0] = _mm256_fmadd_ps(av, b0, row[0]);
                    row[1] = _mm256_fmadd_ps(av, b1, row[1]);
                }
            }
        }
        acc
    }

    /// The tile's `rows × cols` corner (+ bias) into C at `dst`.
    #[inline(always)]
    unsafe fn store<T: Elem>(
        acc: [[__m256; 2]; MR],
        (dst, ldc): (*mut T, usize),
        (rows, cols): (usize, usize),
        bias: &[f32],
    ) {
        // SAFETY: C holds `rows` rows of `cols` elements at `dst` with stride `ldc`.
        unsafe {
            if cols == NR {
                let (b0, b1) = if bias.is_empty() {
                    (_mm256_setzero_ps(), _mm256_setzero_ps())
                } else {
                    (
                        _mm256_loadu_ps(bias.as_ptr()),
                        _mm256_loadu_ps(bias.as_ptr().add(8)),
                    )
                };
                for (r, row) in acc.iter().enumerate().take(rows) {
                    store8(dst.add(r * ldc), _mm256_add_ps(row[0], b0));
                    store8(dst.add(r * ldc + 8), _mm256_add_ps(row[1], b1));
                }
                return;
            }
            let mut tmp = [0.0f32; NR];
            for (r, row) in acc.iter().enumerate().take(rows) {
                _mm256_storeu_ps(tmp.as_mut_ptr(), row[0]);
                _mm256_storeu_ps(tmp.as_mut_ptr().add(8), row[1]);
                for (j, v) in tmp.iter().enumerate().take(cols) {
                    *dst.add(r * ldc + j) = T::from_f32(v + bias.get(j).copied().unwrap_or(0.0));
                }
            }
        }
    }
}
