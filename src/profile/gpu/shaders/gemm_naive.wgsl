// profile layer: naive GEMM, one row × two columns per invocation straight from storage.
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.y;
    let col = gid.x * 2u;
    if (row >= p.m || col >= p.n) { return; }
    let c1 = min(col + 1u, p.n - 1u);
    var s0 = 0.0;
    var s1 = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        let a = load_a(row * p.lda + kk);
        s0 += a * load_b(kk * p.ldb + col);
        s1 += a * load_b(kk * p.ldb + c1);
    }
    store_pair(row, col, s0, s1);
}
