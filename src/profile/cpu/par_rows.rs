//! profile layer: the CPU pass's row-wise pointwise operators (the norms, the MLP
//! activation) split by whole rows over the [`pool`]'s workers, so they do not leave
//! all but one core idle between two parallel products.

use super::attention::Elem;
use super::pointwise::{activate, norm_rows};
use super::{pool, threads};
use crate::profile::workloads::transformer::Family;
use crate::profile::workloads::transformer::weights::NormWeights;
use std::sync::Mutex;

/// Elements each extra part must have: handing a part to a [`pool`] worker costs a
/// few µs, a few K elements of a LayerNorm on one core (a bert-base norm of 128 rows,
/// ~100 µs, splits in two).
const PAR_MIN_ELEMS: usize = 1 << 14;

/// Row blocks for `rows` rows of `width` elements: at most one per core, none smaller
/// than [`PAR_MIN_ELEMS`]; returns rows per block.
fn rows_per_part(rows: usize, width: usize) -> usize {
    let parts = threads()
        .min(rows * width / PAR_MIN_ELEMS)
        .clamp(1, rows.max(1));
    rows.div_ceil(parts).max(1)
}

/// [`norm_rows`] over the cores: every row of `x` (rows of `w.gamma.len()`) normalised
/// into `out` (and back into `x` when `in_place`).
pub fn par_norm_rows<T: Elem>(
    x: &mut [f32],
    out: &mut [T],
    w: &NormWeights,
    eps: f64,
    in_place: bool,
) {
    let d = w.gamma.len().max(1);
    let per = rows_per_part(x.len() / d, d) * d;
    if per >= x.len() {
        return norm_rows(x, out, w, eps, in_place);
    }
    let parts: Vec<Mutex<(&mut [f32], &mut [T])>> = (x.chunks_mut(per))
        .zip(out.chunks_mut(per))
        .map(Mutex::new)
        .collect();
    pool::run(parts.len(), &|p| {
        let mut part = parts[p].lock().unwrap_or_else(|e| e.into_inner());
        let (xc, oc) = &mut *part;
        norm_rows(xc, oc, w, eps, in_place);
    });
}

/// [`activate`] over the cores: the first `rows` rows of `up` (`up_cols` wide) into
/// `act` (`i` wide).
pub fn par_activate<T: Elem>(
    family: Family,
    up: &[T],
    act: &mut [T],
    (rows, up_cols, i): (usize, usize, usize),
) {
    let per = rows_per_part(rows, up_cols);
    if per >= rows {
        return activate(family, up, act, (rows, up_cols, i));
    }
    let parts: Vec<Mutex<(&[T], &mut [T])>> = (up.chunks(per * up_cols))
        .zip(act.chunks_mut(per * i))
        .map(Mutex::new)
        .collect();
    pool::run(parts.len(), &|p| {
        let mut part = parts[p].lock().unwrap_or_else(|e| e.into_inner());
        let (u, a) = &mut *part;
        let n = per.min(rows - p * per);
        activate(family, u, a, (n, up_cols, i));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rows_match_the_serial_operators() {
        let (rows, d) = (300, 768);
        let x: Vec<f32> = (0..rows * d)
            .map(|v| ((v * 37 % 101) as f32 - 50.0) * 0.01)
            .collect();
        let w = NormWeights {
            gamma: (0..d).map(|j| 1.0 + j as f32 * 1e-3).collect(),
            beta: (0..d).map(|j| j as f32 * -1e-3).collect(),
        };
        assert!(rows_per_part(rows, d) < rows, "the test must split");
        let (mut xs, mut xp) = (x.clone(), x.clone());
        let (mut os, mut op) = (vec![0.0f32; rows * d], vec![0.0f32; rows * d]);
        norm_rows(&mut xs, &mut os, &w, 1e-12, true);
        par_norm_rows(&mut xp, &mut op, &w, 1e-12, true);
        assert_eq!((xs, os), (xp, op));
        let (up_cols, i) = (2 * d, d);
        let up: Vec<f32> = (0..rows * up_cols)
            .map(|v| ((v % 17) as f32 - 8.0) * 0.2)
            .collect();
        for (family, cols) in [(Family::Encoder, i), (Family::Llama, up_cols)] {
            let (mut s, mut p) = (vec![0.0f32; rows * i], vec![0.0f32; rows * i]);
            activate(family, &up, &mut s, (rows, cols, i));
            par_activate(family, &up, &mut p, (rows, cols, i));
            assert_eq!(s, p, "{family:?}");
        }
    }
}
