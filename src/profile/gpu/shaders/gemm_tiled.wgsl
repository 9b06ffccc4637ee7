// profile layer: workgroup-shared tiled GEMM; a 16×16 workgroup computes a 16×32 tile,
// staging 16-deep slices of A and B in workgroup memory between barriers.
var<workgroup> ta: array<f32, 256>;
var<workgroup> tb: array<f32, 512>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = wid.y * 16u + lid.y;
    let col = wid.x * 32u + lid.x * 2u;
    var s0 = 0.0;
    var s1 = 0.0;
    let tiles = (p.k + 15u) / 16u;
    for (var t = 0u; t < tiles; t++) {
        let k0 = t * 16u;
        ta[lid.y * 16u + lid.x] = a_at(row, k0 + lid.x);
        tb[lid.y * 32u + lid.x * 2u] = b_at(k0 + lid.y, col);
        tb[lid.y * 32u + lid.x * 2u + 1u] = b_at(k0 + lid.y, col + 1u);
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk++) {
            let a = ta[lid.y * 16u + kk];
            s0 = fma(a, tb[kk * 32u + lid.x * 2u], s0);
            s1 = fma(a, tb[kk * 32u + lid.x * 2u + 1u], s1);
        }
        workgroupBarrier();
    }
    store_pair(row, col, s0, s1);
}
