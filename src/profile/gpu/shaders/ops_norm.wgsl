// profile layer: LayerNorm / RMSNorm over rows of `cols`, one workgroup per row, sums
// reduced in workgroup memory; two passes (mean, then squared deviations) so a large
// mean does not cancel. Slots: 0 x, 1 gamma, 2 beta, 3 out; params at 4.
struct NormParams {
    rows: u32, cols: u32, ld: u32,
    // 0 LayerNorm (gamma, beta), 1 RMSNorm (gamma only, no mean subtracted).
    kind: u32,
    eps: f32, pad0: u32, pad1: u32, pad2: u32,
}
@group(0) @binding(4) var<uniform> p: NormParams;
var<workgroup> partial: array<f32, NORM_WORKGROUP>;

fn workgroup_sum(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var s = NORM_WORKGROUP / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { partial[lid] += partial[lid + s]; }
        workgroupBarrier();
    }
    let total = partial[0];
    // Nobody may overwrite `partial` for the next sum before everyone has read it.
    workgroupBarrier();
    return total;
}

fn normed(base: u32, col: u32, mean: f32, inv: f32) -> f32 {
    var y = (load_x(base + col) - mean) * inv * load_gamma(col);
    if (p.kind == 0u) { y += load_beta(col); }
    return y;
}

@compute @workgroup_size(NORM_WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.y * MAX_GROUPS_PER_DIM + wid.x;
    // Every invocation reaches every barrier: out-of-range rows read row 0 and skip stores.
    let live = row < p.rows;
    let base = select(0u, row, live) * p.ld;
    let n = f32(p.cols);
    var mean = 0.0;
    if (p.kind == 0u) {
        var s = 0.0;
        for (var c = lid; c < p.cols; c += NORM_WORKGROUP) { s += load_x(base + c); }
        mean = workgroup_sum(lid, s) / n;
    }
    var ss = 0.0;
    for (var c = lid; c < p.cols; c += NORM_WORKGROUP) {
        let d = load_x(base + c) - mean;
        ss += d * d;
    }
    let inv = 1.0 / sqrt(workgroup_sum(lid, ss) / n + p.eps);
    if (!live) { return; }
    for (var c = lid * 2u; c < p.cols; c += NORM_WORKGROUP * 2u) {
        let two = c + 1u < p.cols;
        let c1 = select(c, c + 1u, two);
        store2_out(base + c, normed(base, c, mean, inv), normed(base, c1, mean, inv), two);
    }
}
