//! profile layer: the AVX-512 tile of the packed CPU products — 8 rows × 32 columns
//! (two of [`packed`](super::packed)'s 16-column B panels, 16 zmm accumulators), A in
//! 8-row f32 panels, K in blocks of [`KC`] (outermost: one K block of A stays in L2 for
//! every column of a worker's chunk, one of the B panel pair in L1 for every row
//! panel); partial sums wait in a per-worker f32 buffer, the bias is added and storage
//! rounded at the last K block.

#[cfg(target_arch = "x86_64")]
use std::ops::Range;

#[cfg(target_arch = "x86_64")]
use super::attention::Elem;
#[cfg(target_arch = "x86_64")]
use super::packed::{NR, OutPtr, Product};

/// Rows of one tile and of one packed A panel.
pub const MR: usize = 8;
/// B panels one tile spans (32 columns: two 16-lane zmm vectors).
const PANELS: usize = 2;
/// K rows per block: the B pair's block is 128 × 32 f32 = 16 KiB, a third of a 48 KiB L1
/// (192 and 320 measured no faster on one core of the AVX-512 VM, 320 slower).
pub const KC: usize = 128;
/// Bytes of packed A one row block keeps in the L2 cache.
#[cfg(target_arch = "x86_64")]
const A_BLOCK_BYTES: usize = 1 << 20;

/// True when this CPU runs the AVX-512 tile (x86-64 with AVX-512F).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The tiles of columns `cols` (starting at a panel boundary) of every row block;
/// `acc` is the worker's buffer of partial sums (grown here).
///
/// # Safety
/// The CPU has AVX-512F; `a` is `p.a` packed in [`MR`]-row panels; C holds m rows of
/// stride `ldc` covering `cols`; no other thread writes those columns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn columns<T: Elem>(
    p: &Product<'_, T>,
    a: &[f32],
    (c, ldc): (OutPtr<T>, usize),
    cols: Range<usize>,
    acc: &mut Vec<f32>,
) {
    let (m, (k, n)) = (p.m, p.used);
    // Panels are laid out for all of B's rows, of which the first k are used.
    let stride = p.b.k * NR;
    let m_panels = m.div_ceil(MR);
    let tile_cols = NR * PANELS;
    let pairs = cols.len().div_ceil(tile_cols);
    // K blocks outermost: one K block of an L2-sized row block of A serves every column
    // pair of `cols`, each pair's K block of B (in L1) every row panel.
    let block = (A_BLOCK_BYTES / (4 * MR * KC.min(k).max(1))).clamp(1, m_panels);
    acc.resize(block * pairs * MR * tile_cols, 0.0);
    let b = p.b.data.as_ptr();
    for ib in (0..m_panels).step_by(block) {
        let last_panel = (ib + block).min(m_panels);
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            let (first, last) = (k0 == 0, k0 + kc == k);
            for (pair, j0) in cols.clone().step_by(tile_cols).enumerate() {
                let w = tile_cols.min(n - j0);
                // SAFETY: panel j0 / NR exists (j0 < n ≤ the panels' columns).
                let panel = unsafe { b.add(j0 / NR * stride) };
                let bias = p.bias.get(j0..j0 + w).unwrap_or(&[]);
                let next = next_block((pair, k0), (pairs, k), (cols.start, n));
                for ip in ib..last_panel {
                    if let Some((j1, k1)) = next {
                        let share = (ip - ib, last_panel - ib);
                        // SAFETY: (j1, k1) is a block of B's panels (`next_block`).
                        unsafe {
                            prefetch_share(
                                b.add(j1 / NR * stride + k1 * NR),
                                (stride, j1, n),
                                share,
                            )
                        };
                    }
                    let rows = MR.min(m - ip * MR);
                    let part = acc[((ip - ib) * pairs + pair) * MR * tile_cols..].as_mut_ptr();
                    // SAFETY: the A panel holds k rows of MR, each B panel k rows of NR
                    // from `panel` on, `part` MR × 32 f32, C the rows × w corner.
                    unsafe {
                        let ap = a.as_ptr().add((ip * k + k0) * MR);
                        let bp = panel.add(k0 * NR);
                        let dst = c.0.add(ip * MR * ldc + j0);
                        let ctx = Step {
                            part,
                            first,
                            last,
                            dst: (dst, ldc),
                            shape: (rows, w),
                            bias,
                        };
                        if w > NR {
                            tile::<T, 2>(kc, ap, (bp, stride), ctx);
                        } else {
                            tile::<T, 1>(kc, ap, (bp, stride), ctx);
                        }
                    }
                }
            }
        }
    }
}

/// The (first column, first K row) of the B block the worker multiplies after the one
/// of column pair `pair` at K row `k0`, if it is in the same chunk.
#[cfg(target_arch = "x86_64")]
fn next_block(
    (pair, k0): (usize, usize),
    (pairs, k): (usize, usize),
    (first_col, n): (usize, usize),
) -> Option<(usize, usize)> {
    let tile_cols = NR * PANELS;
    let (pair, k0) = if pair + 1 < pairs {
        (pair + 1, k0)
    } else {
        (0, k0 + KC)
    };
    let j = first_col + pair * tile_cols;
    (k0 < k && j < n).then_some((j, k0))
}

/// Prefetches part `share.0` of `share.1` of the K block of B at `block` (column `j`,
/// up to two panels `stride` apart, `KC` rows of one 64-byte line each): spread over
/// the row panels of the current block, so the weights a batch-1 pass streams from
/// memory arrive while the current block is multiplied instead of stalling its first
/// tile.
///
/// # Safety
/// `block` points at a K block of a panel of B, `j` its first column.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn prefetch_share<T>(
    block: *const T,
    (stride, j, n): (usize, usize, usize),
    (part, parts): (usize, usize),
) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    let line = 64 / std::mem::size_of::<T>().max(1);
    let panels = if j + NR < n { PANELS } else { 1 };
    let lines = KC * NR / line;
    let (from, to) = (lines * part / parts, lines * (part + 1) / parts);
    for q in 0..panels {
        for l in from..to {
            // A prefetch never faults, so one past B's end (a short last K block) is
            // harmless; `wrapping_add` keeps the address arithmetic defined.
            let at = block.wrapping_add(q * stride + l * line);
            unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast()) };
        }
    }
}

/// Where one K block of a tile starts from and goes.
#[cfg(target_arch = "x86_64")]
struct Step<'b, T> {
    /// MR × 32 f32 partial sums of the earlier K blocks.
    part: *mut f32,
    /// The first K block (no partial sums yet).
    first: bool,
    /// The last K block: store into C with the bias.
    last: bool,
    /// C's tile corner and row stride.
    dst: (*mut T, usize),
    /// Rows and columns of C the tile covers.
    shape: (usize, usize),
    /// The tile's columns of the bias, or empty.
    bias: &'b [f32],
}

/// One K block of an MR × (16·NP) tile.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tile<T: Elem, const NP: usize>(
    kc: usize,
    a: *const f32,
    (b, stride): (*const T, usize),
    s: Step<'_, T>,
) {
    use std::arch::x86_64::*;
    // SAFETY: per `columns`' contract; AVX-512F is enabled in the caller.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); NP]; MR];
        if !s.first {
            for (r, row) in acc.iter_mut().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = _mm512_loadu_ps(s.part.add((r * PANELS + j) * NR));
                }
            }
        }
        for q in 0..kc {
            let mut bv = [_mm512_setzero_ps(); NP];
            for (j, v) in bv.iter_mut().enumerate() {
                *v = load16(b.add(j * stride + q * NR));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(q * MR + r));
                for (v, &bj) in row.iter_mut().zip(&bv) {
                    *v = _mm512_fmadd_ps(av, bj, *v);
                }
            }
        }
        if !s.last {
            for (r, row) in acc.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    _mm512_storeu_ps(s.part.add((r * PANELS + j) * NR), *v);
                }
            }
            return;
        }
        store(&acc, s);
    }
}

/// Sixteen lanes of storage at `p` as f32.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn load16<T: Elem>(p: *const T) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    // SAFETY: the caller keeps 16 elements readable at `p`; T is f16 or f32 as
    // `T::IS_F16` says.
    unsafe {
        if T::IS_F16 {
            _mm512_cvtph_ps(_mm256_loadu_si256(p.cast()))
        } else {
            _mm512_loadu_ps(p.cast())
        }
    }
}

/// The tile's rows × cols corner (+ bias) into C, rounded to storage (nearest even, as
/// `Elem::from_f32`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store<T: Elem, const NP: usize>(
    acc: &[[std::arch::x86_64::__m512; NP]; MR],
    s: Step<'_, T>,
) {
    use std::arch::x86_64::*;
    let ((dst, ldc), (rows, cols)) = (s.dst, s.shape);
    // SAFETY: C holds `rows` rows of `cols` elements at `dst` with stride `ldc`; the
    // bias holds `cols` values when not empty.
    unsafe {
        if cols == NR * NP {
            let mut bias = [_mm512_setzero_ps(); NP];
            if !s.bias.is_empty() {
                for (j, v) in bias.iter_mut().enumerate() {
                    *v = _mm512_loadu_ps(s.bias.as_ptr().add(j * NR));
                }
            }
            for (r, row) in acc.iter().enumerate().take(rows) {
                for (j, (&v, &bj)) in row.iter().zip(&bias).enumerate() {
                    let out = dst.add(r * ldc + j * NR);
                    let v = _mm512_add_ps(v, bj);
                    if T::IS_F16 {
                        let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
                        _mm256_storeu_si256(out.cast(), h);
                    } else {
                        _mm512_storeu_ps(out.cast(), v);
                    }
                }
            }
            return;
        }
        let mut tmp = [0.0f32; NR * PANELS];
        for (r, row) in acc.iter().enumerate().take(rows) {
            for (j, &v) in row.iter().enumerate() {
                _mm512_storeu_ps(tmp.as_mut_ptr().add(j * NR), v);
            }
            for (j, v) in tmp.iter().enumerate().take(cols) {
                let b = s.bias.get(j).copied().unwrap_or(0.0);
                *dst.add(r * ldc + j) = T::from_f32(v + b);
            }
        }
    }
}
