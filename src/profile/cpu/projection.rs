//! profile layer: one projection of the CPU transformer pass — its weight packed once
//! for the packed kernel (AVX-512 or AVX2 tile, or kept row-major for the `gemm` crate
//! where the CPU lacks both) and its bias — and the one call that applies it to a block
//! of rows.

use super::attention::{Elem, View};
use super::packed::{self, PackedB, Product, Tile, matmul_packed_on};
use super::pointwise::add_bias;
use super::{matmul, threads};

/// How the weight is stored for the kernel that reads it.
enum Weight<T> {
    /// Panels of the packed kernel, run on that tile.
    Packed(PackedB<T>, Tile),
    /// Row-major k × n for the `gemm` crate.
    Plain(Vec<T>),
}

/// `y = x · W + bias` with W (k × n) in storage type `T` and the bias in f32.
pub struct Projection<T> {
    k: usize,
    n: usize,
    bias: Vec<f32>,
    weight: Weight<T>,
}

/// Which kernel a model's projections use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Packed weights and the widest tile the CPU runs, AVX-512 or AVX2 ([`packed`]).
    Packed,
    /// The `gemm` crate on row-major weights.
    GemmCrate,
}

impl Kernel {
    /// The kernel the pass's projections use by default: the packed one where the CPU
    /// runs its AVX-512 tile — over whole bert-base passes on a 2-core AVX-512 VM
    /// (Zen 4) it took 7-22 % less time than the `gemm` crate with the AVX2 attention
    /// tile, interleaved A/B under load (`examples/kernel_ab.rs`, docs/profiler.md) —
    /// else the `gemm` crate: the AVX2 tile was measured slower than the crate over
    /// whole passes on a 2-core AVX2 VM (the k = 3072 down projection and the
    /// 768-column output one), so there it is chosen explicitly ([`Kernel::Packed`]).
    pub fn best() -> Self {
        if packed::Tile::best() == Some(packed::Tile::Avx512) {
            Kernel::Packed
        } else {
            Kernel::GemmCrate
        }
    }

    /// The variant name of CPU transformer rows on this kernel with the packed products
    /// on `tile`: `packed-avx512+attn`, `packed-avx2+attn` or `gemm-crate+attn`.
    pub fn variant(self, tile: Option<Tile>) -> &'static str {
        match (self, tile.filter(|t| t.runs_here())) {
            (Kernel::Packed, Some(Tile::Avx512)) => "packed-avx512+attn",
            (Kernel::Packed, Some(Tile::Avx2)) => "packed-avx2+attn",
            _ => "gemm-crate+attn",
        }
    }
}

impl<T: Elem> Projection<T> {
    /// W from `w` (row-major k × n, already rounded to `T`'s precision) and `bias`
    /// (n values, or empty), stored for `kernel` on `tile` ([`Kernel::GemmCrate`] when
    /// there is no tile or the CPU cannot run it).
    pub fn new(
        w: &[f32],
        bias: &[f32],
        (k, n): (usize, usize),
        (kernel, tile): (Kernel, Option<Tile>),
    ) -> Self {
        assert!(w.len() == k * n, "Projection::new: weight is not k × n");
        let stored: Vec<T> = w.iter().map(|&x| T::from_f32(x)).collect();
        let tile = tile.filter(|t| kernel == Kernel::Packed && t.runs_here());
        let weight = if let Some(tile) = tile {
            let view = View {
                data: &stored[..],
                offset: 0,
                rs: n,
                cs: 1,
            };
            Weight::Packed(PackedB::new(view, (k, n)), tile)
        } else {
            Weight::Plain(stored)
        };
        Projection {
            k,
            n,
            bias: bias.to_vec(),
            weight,
        }
    }

    /// Output columns n.
    pub fn cols(&self) -> usize {
        self.n
    }

    /// `out[..m·n] = x[..m·k] · W + bias` (both row-major), on all cores; `scratch`
    /// holds the packed rows of the packed kernel.
    pub fn apply(&self, m: usize, x: &[T], out: &mut [T], scratch: &mut Vec<f32>) {
        let (k, n) = (self.k, self.n);
        match &self.weight {
            Weight::Packed(b, tile) => {
                let a = View {
                    data: x,
                    offset: 0,
                    rs: k,
                    cs: 1,
                };
                let product = Product {
                    m,
                    a,
                    b,
                    bias: &self.bias,
                    used: (k, n),
                };
                matmul_packed_on(*tile, product, (out, n), scratch, threads());
            }
            Weight::Plain(w) => {
                matmul((m, n, k), x, w, out, (T::ZERO, T::ONE));
                add_bias(&mut out[..m * n], &self.bias);
            }
        }
    }
}
