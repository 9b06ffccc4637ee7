//! profile layer tests: every transformer op × precision on lavapipe (or whichever adapter
//! is present) against its f64 reference on random data rounded to the storage
//! precision, at odd sizes (d off the workgroup size, S = 1, S off the tile, GQA, causal,
//! a partly filled KV cache) and a prefill long enough that S×S scores would be large.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::profile::gpu::buffers::{decode, encode, storage_buffer};
use costscope::profile::gpu::ops::attention::{
    AttentionDims, DecodeAttention, KvAppend, PrefillAttention, WORKGROUP_F32_BUDGET,
};
use costscope::profile::gpu::ops::norm_rope::{Norm, NormKind, Rope};
use costscope::profile::gpu::ops::pointwise::{
    Elementwise, Embedding, EmbeddingDims, EwInput, EwOp,
};
use costscope::profile::gpu::ops::{OpBinding, OpKernel, reference as r, run_once};
use costscope::profile::gpu::{GpuContext, read_buffer};
use costscope::profile::reference::{Rng, gelu, quantize_all, rel_frobenius};
use costscope::profile::{Precision, ProfileError};

const TIMEOUT: Duration = Duration::from_secs(120);
/// f32 bound: every op, the A&S erf GELU included (its |erf error| ≤ 1.5e-7 is far
/// below it; measured ≈ 1e-7), meets the GEMM tests' 1e-5.
const F32_TOLERANCE: f64 = 1e-5;
/// f16 / bf16 bound: dominated by rounding the output to 8 (bf16) or 11 (f16) bits.
const HALF_TOLERANCE: f64 = 2e-2;

/// Host data (rounded to the storage precision) and its device buffer.
type Tensor = (Vec<f32>, wgpu::Buffer);

/// The device and what a check needs to upload, run and compare.
struct Check {
    ctx: GpuContext,
    rng: Rng,
    seed: u64,
}

impl Check {
    fn new() -> Option<Self> {
        let ctx = profile_common::device()?;
        // Fresh data every run, as the GEMM tests do; the seed is in any failure.
        let seed = Rng::from_time().next_u64();
        Some(Check {
            ctx,
            rng: Rng::new(seed),
            seed,
        })
    }

    /// The precisions this adapter runs (f16's refusal is its own test).
    fn precisions(&self) -> Vec<Precision> {
        if !self.ctx.has_f16 {
            return vec![Precision::F32, Precision::Bf16];
        }
        Precision::ALL.to_vec()
    }

    fn upload(&self, p: Precision, data: &[f32], rows: usize, cols: usize) -> wgpu::Buffer {
        storage_buffer(&self.ctx.device, "test", &encode(p, data, rows, cols))
    }

    /// Random `rows × cols` data rounded to `p` and its device copy.
    fn tensor(&mut self, p: Precision, shape: (usize, usize), s: f32, off: f32) -> Tensor {
        let (rows, cols) = shape;
        let mut v = self.rng.vec(rows * cols, s);
        v.iter_mut().for_each(|x| *x += off);
        let data = quantize_all(p, &v);
        let buf = self.upload(p, &data, rows, cols);
        (data, buf)
    }

    fn run(&self, steps: &[(&OpKernel, &OpBinding)]) {
        run_once(&self.ctx, steps, TIMEOUT).expect("runs");
    }

    fn read(&self, p: Precision, buf: &wgpu::Buffer, rows: usize, cols: usize) -> Vec<f32> {
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        let bytes = read_buffer(device, queue, buf, buf.size(), TIMEOUT).unwrap();
        decode(p, &bytes, rows, cols)
    }

    /// Prints the error of `got` against `want` and fails past the bound.
    fn compare(&self, what: &str, p: Precision, got: &[f32], want: &[f64]) {
        let err = rel_frobenius(got, want);
        eprintln!("{what} {}: {err:.2e}", p.name());
        let bound = if p == Precision::F32 {
            F32_TOLERANCE
        } else {
            HALF_TOLERANCE
        };
        let seed = self.seed;
        assert!(
            err <= bound,
            "{what} {}: {err:e} > {bound} (seed {seed})",
            p.name()
        );
    }
}

#[test]
fn embedding_gather_with_and_without_positions() {
    let Some(mut c) = Check::new() else { return };
    for p in c.precisions() {
        let op = Embedding::new(&c.ctx, p).unwrap();
        for (hidden, with_pos) in [(70, true), (33, false)] {
            let (vocab, max_positions, seq_len, pos_offset) = (11, 16, 5, 3);
            let tokens = 2 * seq_len;
            let ids: Vec<u32> = (0..tokens)
                .map(|_| (c.rng.next_u64() % vocab as u64) as u32)
                .collect();
            let (table, tb) = c.tensor(p, (vocab, hidden), 1.0, 0.0);
            let (pos, pb) = c.tensor(p, (max_positions, hidden), 1.0, 0.0);
            let idb = storage_buffer(&c.ctx.device, "ids", bytemuck::cast_slice(&ids));
            let out = c.upload(p, &[], tokens, hidden);
            let dims = EmbeddingDims {
                tokens,
                hidden,
                vocab,
                seq_len,
                pos_offset,
                max_positions,
            };
            let pos_b = with_pos.then_some(&pb);
            let b = op.bind(&c.ctx.device, dims, [&idb, &tb], pos_b, &out);
            c.run(&[(&op.kernel, &b.unwrap())]);
            let got = c.read(p, &out, tokens, hidden);
            let pos = with_pos.then_some(pos.as_slice());
            let want = r::embedding(&ids, &table, pos, hidden, (seq_len, pos_offset));
            let what = format!("embedding d={hidden} pos={with_pos}");
            c.compare(&what, p, &got, &want);
        }
    }
}

#[test]
fn layer_norm_and_rms_norm_over_odd_rows() {
    let Some(mut c) = Check::new() else { return };
    for p in c.precisions() {
        let op = Norm::new(&c.ctx, p).unwrap();
        // 300 and 7 are off the 128-wide workgroup (and odd lengths pad bf16 rows).
        for (rows, cols) in [(5, 300), (3, 7), (1, 1)] {
            for kind in [NormKind::LayerNorm, NormKind::RmsNorm] {
                // An offset mean: a one-pass E[x²] − mean² would lose digits here.
                let (x, xb) = c.tensor(p, (rows, cols), 1.0, 3.0);
                let (gamma, gb) = c.tensor(p, (1, cols), 1.0, 1.0);
                let (beta, bb) = c.tensor(p, (1, cols), 1.0, 0.0);
                let out = c.upload(p, &[], rows, cols);
                let layer = kind == NormKind::LayerNorm;
                let (beta_b, beta) = (layer.then_some(&bb), layer.then_some(beta.as_slice()));
                let shape = (rows, cols);
                let b = op.bind(&c.ctx.device, kind, shape, 1e-5, [&xb, &gb], beta_b, &out);
                c.run(&[(&op.kernel, &b.unwrap())]);
                let got = c.read(p, &out, rows, cols);
                let want = r::norm(&x, &gamma, beta, cols, 1e-5);
                c.compare(&format!("{kind:?} {rows}x{cols}"), p, &got, &want);
            }
        }
    }
}

fn ew_reference(op: EwOp, a: &[f32], b: &[f32], cols: usize) -> Vec<f64> {
    r::elementwise(a, b, cols, |x, y| match op {
        EwOp::Residual | EwOp::Bias => x + y,
        EwOp::GeluErf => r::gelu_erf(x),
        EwOp::GeluTanh => gelu(x),
        EwOp::SiluGated => r::silu(x) * y,
    })
}

#[test]
fn elementwise_ops_in_place_and_out_of_place() {
    let Some(mut c) = Check::new() else { return };
    let (rows, cols) = (3, 133);
    for p in c.precisions() {
        let kernel = Elementwise::new(&c.ctx, p).unwrap();
        for (op, in_place) in EwOp::ALL.into_iter().flat_map(|o| [(o, false), (o, true)]) {
            // Scale 4 reaches GELU's and SiLU's tails.
            let (a, ab) = c.tensor(p, (rows, cols), 4.0, 0.0);
            let b_rows = if op == EwOp::Bias { 1 } else { rows };
            let (b, bb) = c.tensor(p, (b_rows, cols), 1.0, 0.0);
            let separate = c.upload(p, &[], rows, cols);
            let (input, out) = match in_place {
                true => (EwInput::InPlace, &ab),
                false => (EwInput::Separate(&ab), &separate),
            };
            let b_buf = op.has_b().then_some(&bb);
            let bind = kernel.bind(&c.ctx.device, op, (rows, cols), input, b_buf, out);
            c.run(&[(&kernel.kernel, &bind.unwrap())]);
            let got = c.read(p, out, rows, cols);
            let want = ew_reference(op, &a, &b, cols);
            c.compare(&format!("{op:?} in_place={in_place}"), p, &got, &want);
        }
    }
}

#[test]
fn rope_on_q_and_k_with_a_position_offset() {
    let Some(mut c) = Check::new() else { return };
    let (seq_len, pos_offset, tokens, theta) = (3, 37, 6, 10_000.0);
    for p in c.precisions() {
        // head_dim 6: half is odd, so rotated pairs straddle packed bf16 words.
        for (heads, head_dim) in [(3, 8), (1, 6), (2, 64)] {
            let rope = Rope::new(&c.ctx, p, head_dim, 64, theta).unwrap();
            let (x, xb) = c.tensor(p, (tokens, heads * head_dim), 1.0, 0.0);
            let at = (seq_len, pos_offset);
            let b = rope.bind(&c.ctx.device, (tokens, heads), at, &xb).unwrap();
            c.run(&[(&rope.kernel, &b)]);
            let got = c.read(p, &xb, tokens, heads * head_dim);
            let want = r::rope(&x, (heads, head_dim), at, theta);
            c.compare(&format!("rope heads={heads} hd={head_dim}"), p, &got, &want);
        }
    }
}

/// (batch, heads, kv_heads, head_dim) of a decode case.
type Shape4 = (usize, usize, usize, usize);

/// One prefill case: (batch, seq_len, heads, kv_heads, head_dim, causal).
type PrefillCase = (usize, usize, usize, usize, usize, bool);

fn check_prefill(c: &mut Check, p: Precision, case: PrefillCase) -> (PrefillAttention, OpBinding) {
    let (batch, seq_len, heads, kv_heads, hd, causal) = case;
    let op = PrefillAttention::new(&c.ctx, p, hd).unwrap();
    let rows = batch * seq_len;
    let (q, qb) = c.tensor(p, (rows, heads * hd), 1.0, 0.0);
    let (k, kb) = c.tensor(p, (rows, kv_heads * hd), 1.0, 0.0);
    let (v, vb) = c.tensor(p, (rows, kv_heads * hd), 1.0, 0.0);
    let out = c.upload(p, &[], rows, heads * hd);
    let dims = AttentionDims::new(batch, heads, kv_heads, seq_len);
    let dev = &c.ctx.device;
    let b = op.bind(dev, dims, causal, [&qb, &kb, &vb], &out).unwrap();
    c.run(&[(&op.kernel, &b)]);
    let got = c.read(p, &out, rows, heads * hd);
    let want = r::prefill_attention([&q, &k, &v], (batch, seq_len, heads, kv_heads, hd), causal);
    c.compare(&format!("prefill {case:?}"), p, &got, &want);
    (op, b)
}

#[test]
fn prefill_attention_odd_shapes_gqa_and_causal() {
    let Some(mut c) = Check::new() else { return };
    // S = 1; S = 37 and 33, off the 32-query and 16-key tiles; GQA 4:2 and 2:1; causal.
    let cases: [PrefillCase; 4] = [
        (2, 1, 2, 2, 8, false),
        (1, 37, 4, 2, 16, true),
        (2, 33, 2, 1, 8, false),
        (1, 20, 2, 2, 64, true),
    ];
    for p in c.precisions() {
        for case in cases {
            check_prefill(&mut c, p, case);
        }
    }
}

#[test]
fn long_prefill_never_allocates_a_score_matrix() {
    let Some(mut c) = Check::new() else { return };
    const SEQ: usize = 512;
    let score_matrix_bytes = (SEQ * SEQ * 4) as u64;
    for p in c.precisions() {
        let (op, b) = check_prefill(&mut c, p, (1, SEQ, 1, 1, 16, true));
        // The op's only allocation is its params: no S×S score buffer.
        assert!(b.allocated_bytes() < 256, "{}", b.allocated_bytes());
        // Workgroup memory holds one K/V tile, whatever S is: 16 KiB at most, 1/64 of S×S.
        let (tile_bytes, budget) = (op.workgroup_bytes(), (WORKGROUP_F32_BUDGET * 4) as u64);
        assert!(tile_bytes <= budget, "{tile_bytes}");
        assert!(tile_bytes * 64 <= score_matrix_bytes, "{tile_bytes}");
    }
}

/// Decode against a partly filled cache: the new token's K/V are appended at row
/// `filled`, then attention runs over `filled + 1` rows, in one submission; then the
/// same binding runs again over fewer rows.
/// `shape` = (batch, heads, kv_heads, head_dim), `rows` = (filled, max_context).
fn check_decode(c: &mut Check, p: Precision, shape: Shape4, rows: (usize, usize)) {
    let ((batch, heads, kv_heads, hd), (filled, max_ctx)) = (shape, rows);
    let append = KvAppend::new(&c.ctx, p).unwrap();
    let op = DecodeAttention::new(&c.ctx, p, hd).unwrap();
    let cache_rows = batch * kv_heads * max_ctx;
    // Rows past `filled` hold junk the kernel must not read.
    let (kc, kcb) = c.tensor(p, (cache_rows, hd), 1.0, 0.0);
    let (vc, vcb) = c.tensor(p, (cache_rows, hd), 1.0, 0.0);
    let (kn, knb) = c.tensor(p, (batch, kv_heads * hd), 1.0, 0.0);
    let (vn, vnb) = c.tensor(p, (batch, kv_heads * hd), 1.0, 0.0);
    let (q, qb) = c.tensor(p, (batch, heads * hd), 1.0, 0.0);
    let out = c.upload(p, &[], batch, heads * hd);
    let caches = [&knb, &vnb, &kcb, &vcb];
    let at = (filled, max_ctx);
    let ab = append.bind(&c.ctx.device, (batch, kv_heads, hd), at, caches);
    let dims = AttentionDims::new(batch, heads, kv_heads, filled + 1);
    let dev = &c.ctx.device;
    let views = [&qb, &kcb, &vcb];
    let db = op.bind(dev, dims, max_ctx, views, &out).unwrap();
    c.run(&[(&append.kernel, &ab.unwrap()), (&op.kernel, &db)]);
    let k_want = r::kv_append(&kc, &kn, (batch, kv_heads, hd), at);
    let v_want = r::kv_append(&vc, &vn, (batch, kv_heads, hd), at);
    let k_got = c.read(p, &kcb, cache_rows, hd);
    let v_got = c.read(p, &vcb, cache_rows, hd);
    assert_eq!(k_got, k_want, "K cache after append");
    assert_eq!(v_got, v_want, "V cache after append");
    for context_len in [filled + 1, filled / 2 + 1] {
        if context_len != filled + 1 {
            DecodeAttention::set_context_len(&c.ctx.queue, &db, context_len, max_ctx).unwrap();
            c.run(&[(&op.kernel, &db)]);
        }
        let got = c.read(p, &out, batch, heads * hd);
        let want = r::decode_attention([&q, &k_want, &v_want], shape, (context_len, max_ctx));
        let what = format!("decode {shape:?} ctx={context_len}/{max_ctx}");
        c.compare(&what, p, &got, &want);
    }
}

/// A prompt's `rows` tokens per sequence appended at `pos` in one dispatch: the cache
/// equals appending them one token at a time; every other row keeps its junk.
/// `shape` = (batch, rows, kv_heads, head_dim), `at` = (pos, max_context).
fn check_append_rows(c: &mut Check, p: Precision, shape: Shape4, at: (usize, usize)) {
    let ((batch, rows, kv_heads, hd), (pos, max_ctx)) = (shape, at);
    let append = KvAppend::new(&c.ctx, p).unwrap();
    let (cache_rows, cols) = (batch * kv_heads * max_ctx, kv_heads * hd);
    let (kc, kcb) = c.tensor(p, (cache_rows, hd), 1.0, 0.0);
    let (vc, vcb) = c.tensor(p, (cache_rows, hd), 1.0, 0.0);
    let (kn, knb) = c.tensor(p, (batch * rows, cols), 1.0, 0.0);
    let (vn, vnb) = c.tensor(p, (batch * rows, cols), 1.0, 0.0);
    let dims = (batch, rows, kv_heads, hd);
    let bufs = [&knb, &vnb, &kcb, &vcb];
    let b = append.bind_rows(&c.ctx.device, dims, at, bufs).unwrap();
    c.run(&[(&append.kernel, &b)]);
    let (mut k_want, mut v_want) = (kc, vc);
    for t in 0..rows {
        // Token t of every sequence, batch × cols, as the one-token append takes it.
        let token = |m: &[f32]| -> Vec<f32> {
            m.chunks(cols)
                .skip(t)
                .step_by(rows)
                .flatten()
                .copied()
                .collect()
        };
        let one = (batch, kv_heads, hd);
        k_want = r::kv_append(&k_want, &token(&kn), one, (pos + t, max_ctx));
        v_want = r::kv_append(&v_want, &token(&vn), one, (pos + t, max_ctx));
    }
    assert_eq!(
        c.read(p, &kcb, cache_rows, hd),
        k_want,
        "K cache {shape:?} at {at:?}"
    );
    assert_eq!(
        c.read(p, &vcb, cache_rows, hd),
        v_want,
        "V cache {shape:?} at {at:?}"
    );
}

#[test]
fn kv_append_of_a_whole_prompt_matches_token_by_token() {
    let Some(mut c) = Check::new() else { return };
    for p in c.precisions() {
        check_append_rows(&mut c, p, (2, 5, 2, 16), (3, 12));
        check_append_rows(&mut c, p, (1, 7, 1, 64), (0, 7));
        check_append_rows(&mut c, p, (3, 1, 2, 8), (4, 5));
    }
    // A prompt that runs past the cache is refused in words.
    let p = Precision::F32;
    let append = KvAppend::new(&c.ctx, p).unwrap();
    let buf = c.upload(p, &[], 64, 64);
    let refused = append.bind_rows(&c.ctx.device, (1, 5, 1, 8), (4, 8), [&buf; 4]);
    let err = refused.err().expect("refused").to_string();
    assert!(err.contains("context_len"), "{err}");
}

#[test]
fn decode_attention_against_a_partly_filled_cache() {
    let Some(mut c) = Check::new() else { return };
    for p in c.precisions() {
        // GQA 4:2 with fewer keys than invocations; 150 keys over 64 invocations; one key.
        check_decode(&mut c, p, (2, 4, 2, 16), (22, 40));
        check_decode(&mut c, p, (1, 2, 2, 64), (149, 160));
        check_decode(&mut c, p, (1, 1, 1, 8), (0, 3));
    }
}

#[test]
fn bad_shapes_and_missing_f16_are_refused_in_words() {
    let Some(c) = Check::new() else { return };
    let p = Precision::F32;
    let odd = PrefillAttention::new(&c.ctx, p, 7).err().unwrap();
    assert!(odd.to_string().contains("head_dim must be even"), "{odd}");
    let odd = Rope::new(&c.ctx, p, 5, 8, 1e4).err().unwrap();
    assert!(odd.to_string().contains("even head_dim"), "{odd}");
    let op = PrefillAttention::new(&c.ctx, p, 8).unwrap();
    let (buf, small) = (c.upload(p, &[0.0; 64], 8, 8), c.upload(p, &[0.0; 8], 1, 8));
    let refusal = |dims, q| {
        op.bind(&c.ctx.device, dims, false, [q, &buf, &buf], &buf)
            .err()
    };
    let err = refusal(AttentionDims::new(1, 3, 2, 1), &buf)
        .unwrap()
        .to_string();
    assert!(err.contains("kv_heads dividing heads"), "{err}");
    let err = refusal(AttentionDims::new(1, 1, 1, 9), &small)
        .unwrap()
        .to_string();
    assert!(err.contains("attention Q buffer"), "{err}");
    // f16 on a device the caller opened with no optional features at all.
    let desc = wgpu::DeviceDescriptor::default();
    let (device, queue) = pollster::block_on(c.ctx.adapter.request_device(&desc)).unwrap();
    let bare = GpuContext::from_device(c.ctx.adapter.clone(), device, queue);
    let f16 = Precision::F16;
    let refusals = [
        Embedding::new(&bare, f16).err(),
        Norm::new(&bare, f16).err(),
        Elementwise::new(&bare, f16).err(),
        Rope::new(&bare, f16, 8, 8, 1e4).err(),
        PrefillAttention::new(&bare, f16, 8).err(),
        DecodeAttention::new(&bare, f16, 8).err(),
        KvAppend::new(&bare, f16).err(),
    ];
    for err in refusals.map(|e| e.expect("f16 refused")) {
        assert!(matches!(err, ProfileError::MissingFeature { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("lacks feature SHADER_F16"), "{text}");
    }
    Norm::new(&bare, Precision::Bf16).expect("bf16 needs no feature");
}

#[test]
fn rows_past_one_dispatch_dimension_continue_in_the_next() {
    let Some(mut c) = Check::new() else { return };
    let (p, shape) = (Precision::Bf16, (70_000, 3));
    let (a, ab) = c.tensor(p, shape, 1.0, 0.0);
    let (b, bb) = c.tensor(p, shape, 1.0, 0.0);
    let (gamma, gb) = c.tensor(p, (1, shape.1), 1.0, 1.0);
    let ew = Elementwise::new(&c.ctx, p).unwrap();
    let norm = Norm::new(&c.ctx, p).unwrap();
    let out = c.upload(p, &[], shape.0, shape.1);
    let (dev, rms) = (&c.ctx.device, NormKind::RmsNorm);
    let add = ew.bind(dev, EwOp::Residual, shape, EwInput::InPlace, Some(&bb), &ab);
    let norm_b = norm.bind(dev, rms, shape, 1e-6, [&ab, &gb], None, &out);
    let (add, norm_b) = (add.unwrap(), norm_b.unwrap());
    c.run(&[(&ew.kernel, &add), (&norm.kernel, &norm_b)]);
    let sum: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    let want = r::norm(&quantize_all(p, &sum), &gamma, None, shape.1, 1e-6);
    let got = c.read(p, &out, shape.0, shape.1);
    c.compare("residual + RMSNorm, 70000 rows", p, &got, &want);
}
