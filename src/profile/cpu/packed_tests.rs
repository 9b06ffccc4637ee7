//! profile layer (tests): the packed kernel's AVX-512 and AVX2 tiles against the f64
//! reference and against the `gemm` crate, on shapes that are no multiple of a tile
//! (M, N, K), K past one K block, several threads, and a prefix of B used.

use super::attention::{Elem, View};
use super::packed::{PackedB, Product, Tile, matmul_packed_on};
use super::packed512::KC;
use crate::profile::reference::{Epilogue, Rng, gemm_f64, rel_frobenius};

fn view<T>(data: &[T], cols: usize) -> View<'_, T> {
    View {
        data,
        offset: 0,
        rs: cols,
        cs: 1,
    }
}

fn rounded<T: Elem>(v: Vec<f32>) -> Vec<T> {
    v.iter().map(|&x| T::from_f32(x)).collect()
}

fn widened<T: Elem>(v: &[T]) -> Vec<f32> {
    v.iter().map(|x| x.to_f32()).collect()
}

/// C = A · B + bias on `tile` for the (m, n, k) prefix of a B packed as `full`; returns
/// C's first n columns (row stride n + 3: the columns past n must stay untouched).
fn run<T: Elem>(
    tile: Tile,
    (a, b, bias): (&[T], &[T], &[f32]),
    (m, n, k): (usize, usize, usize),
    full: (usize, usize),
    threads: usize,
) -> Vec<f32> {
    let packed = PackedB::new(view(b, full.1), full);
    let ldc = n + 3;
    let mut c = vec![T::from_f32(7.0); m * ldc];
    let product = Product {
        m,
        a: view(a, k),
        b: &packed,
        bias,
        used: (k, n),
    };
    matmul_packed_on(tile, product, (&mut c, ldc), &mut Vec::new(), threads);
    assert!(
        c.chunks(ldc)
            .all(|r| r[n..].iter().all(|v| v.to_f32() == 7.0)),
        "{tile:?} {m}x{n}x{k} wrote past column n"
    );
    c.chunks(ldc).flat_map(|r| widened(&r[..n])).collect()
}

/// Checks every tile this CPU runs on (m, n, k) used from a B of shape `full`.
fn check<T: Elem>((m, n, k): (usize, usize, usize), full: (usize, usize), tol: f64) {
    let mut rng = Rng::new((m * 1000 + n * 10 + k) as u64);
    let a: Vec<T> = rounded(rng.vec(m * k, 1.0));
    let b: Vec<T> = rounded(rng.vec(full.0 * full.1, 1.0));
    let bias = rng.vec(n, 1.0);
    // The used prefix of B, row-major k × n, for the references.
    let b_used: Vec<f32> = (0..k)
        .flat_map(|p| widened(&b[p * full.1..p * full.1 + n]))
        .collect();
    let want = gemm_f64(&widened(&a), &b_used, &bias, (m, n, k), Epilogue::Bias);
    // The `gemm` crate on the same operands, plus the bias, in f32.
    let mut plain = vec![0.0f32; m * n];
    super::matmul((m, n, k), &widened(&a), &b_used, &mut plain, (0.0, 1.0));
    for row in plain.chunks_mut(n.max(1)) {
        row.iter_mut().zip(&bias).for_each(|(c, b)| *c += b);
    }
    for tile in [Tile::Avx512, Tile::Avx2] {
        if !tile.runs_here() {
            continue;
        }
        for threads in [1, 2, 3] {
            let got = run(tile, (&a, &b, &bias), (m, n, k), full, threads);
            let err = rel_frobenius(&got, &want);
            assert!(
                err < tol,
                "{tile:?} {m}x{n}x{k} on {threads}: rel error {err}"
            );
            if !T::IS_F16 {
                let vs_plain =
                    rel_frobenius(&got, &plain.iter().map(|&x| x as f64).collect::<Vec<_>>());
                assert!(
                    vs_plain < 1e-6,
                    "{tile:?} {m}x{n}x{k}: {vs_plain} from the gemm crate"
                );
            }
        }
    }
}

#[test]
fn every_tile_matches_the_reference_and_the_gemm_crate_on_ragged_shapes() {
    assert!(
        !super::packed512::available() || Tile::best() == Some(Tile::Avx512),
        "an AVX-512 CPU must get the AVX-512 tile"
    );
    for shape in [
        (1, 1, 1),
        (7, 17, 5),
        (13, 40, 33),
        (9, 33, KC + 1),
        (17, 47, 2 * KC + 7),
        (128, 96, 64),
        (6, 16, 300),
        (33, 65, 385),
    ] {
        let full = (shape.2, shape.1);
        check::<f32>(shape, full, 1e-6);
        check::<half::f16>(shape, full, 2e-3);
    }
}

#[test]
fn a_prefix_of_the_packed_b_is_used_as_attention_uses_it() {
    // Causal blocks read the first keys of a packed K; P · V the first rows of V.
    check::<f32>((11, 37, 29), (45, 70), 1e-6);
    check::<half::f16>((11, 37, 29), (45, 70), 2e-3);
    check::<f32>((8, 32, KC + 3), (KC + 40, 48), 1e-6);
}
