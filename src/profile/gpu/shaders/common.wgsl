// profile layer: parameters, bounds-checked loads, fused bias + GELU epilogue, paired store.
struct Params {
    m: u32, n: u32, k: u32,
    lda: u32, ldb: u32, ldc: u32,
    // 0 = plain GEMM, 1 = + bias, 2 = + bias then GELU (tanh approximation).
    epilogue: u32,
    pad: u32,
}
@group(0) @binding(4) var<uniform> p: Params;

fn a_at(row: u32, kk: u32) -> f32 {
    if (row < p.m && kk < p.k) { return load_a(row * p.lda + kk); }
    return 0.0;
}
fn b_at(kk: u32, col: u32) -> f32 {
    if (kk < p.k && col < p.n) { return load_b(kk * p.ldb + col); }
    return 0.0;
}
fn epilogue(v: f32, col: u32) -> f32 {
    if (p.epilogue == 0u) { return v; }
    let x = v + load_bias(col);
    if (p.epilogue == 1u) { return x; }
    let u = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0);
    return 0.5 * x * (1.0 + tanh(u));
}
// Stores C[row, col] and C[row, col + 1] (the second only if in range); col is even.
fn store_pair(row: u32, col: u32, v0: f32, v1: f32) {
    if (row >= p.m || col >= p.n) { return; }
    let two = col + 1u < p.n;
    let c1 = min(col + 1u, p.n - 1u);
    write_pair(row * p.ldc + col, epilogue(v0, col), epilogue(v1, c1), two);
}
