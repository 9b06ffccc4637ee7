// profile layer: elementwise ops on a rows × cols matrix (row stride ld): residual add,
// bias add, GELU (erf and tanh forms), SiLU-gated; two columns per invocation so a
// packed bf16 word has exactly one writer. Slots: 0 a, 1 b, 2 out; params at 3.
struct EwParams {
    rows: u32, cols: u32, ld: u32,
    // 0 residual a + b, 1 bias a + b[col], 2 GELU erf, 3 GELU tanh, 4 silu(a) * b.
    op: u32,
    // 1: `a` is read from `out` itself (an in-place op cannot bind one buffer twice).
    in_place: u32,
    pad0: u32, pad1: u32, pad2: u32,
}
@group(0) @binding(3) var<uniform> p: EwParams;

fn a_at(i: u32) -> f32 {
    if (p.in_place == 1u) { return load_out(i); }
    return load_a(i);
}
fn b_at(i: u32, col: u32) -> f32 {
    if (p.op == 1u) { return load_b(col); }
    if (p.op == 0u || p.op == 4u) { return load_b(i); }
    return 0.0;
}
// GELU with the normal CDF from Abramowitz & Stegun 7.1.26 (|erf error| <= 1.5e-7);
// erfc(|z|) is formed directly so the negative tail keeps its relative accuracy.
fn gelu_erf(x: f32) -> f32 {
    let z = abs(x) * 0.7071067811865476;
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
        + t * (-1.453152027 + t * 1.061405429))));
    let erfc_z = poly * exp(-z * z);
    return x * select(1.0 - 0.5 * erfc_z, 0.5 * erfc_z, x < 0.0);
}
// The clamp keeps tanh away from arguments where some drivers return NaN.
fn gelu_tanh(x: f32) -> f32 {
    let u = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0);
    return 0.5 * x * (1.0 + tanh(u));
}
fn apply(a: f32, b: f32) -> f32 {
    switch p.op {
        case 0u, 1u: { return a + b; }
        case 2u: { return gelu_erf(a); }
        case 3u: { return gelu_tanh(a); }
        default: { return a / (1.0 + exp(-a)) * b; }
    }
}

@compute @workgroup_size(ELEMENTWISE_WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x * 2u;
    // Rows past one dimension's workgroup limit continue in z (see ops::row_groups).
    let row = gid.z * MAX_GROUPS_PER_DIM + gid.y;
    if (row >= p.rows || col >= p.cols) { return; }
    let two = col + 1u < p.cols;
    let c1 = select(col, col + 1u, two);
    let i0 = row * p.ld + col;
    let i1 = row * p.ld + c1;
    let v0 = apply(a_at(i0), b_at(i0, col));
    let v1 = apply(a_at(i1), b_at(i1, c1));
    store2_out(i0, v0, v1, two);
}
