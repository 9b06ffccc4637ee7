// profile layer: prefill attention, flash style. A workgroup takes QUERY_TILE query rows
// of one (batch, head); K and V stream through workgroup memory KEY_TILE keys at a time
// while each query keeps a running max, running sum and unnormalised output, so no
// seq_len × seq_len score matrix exists anywhere. Grouped-query: head h reads kv head
// h / (heads / kv_heads). Q, out: [batch·seq × heads·HEAD_DIM]; K, V: [batch·seq ×
// kv_heads·HEAD_DIM]. Slots: 0 q, 1 k, 2 v, 3 out; params at 4.
struct AttnParams {
    seq_len: u32, heads: u32, kv_heads: u32, ld_q: u32,
    ld_kv: u32, causal: u32, scale: f32, pad0: u32,
}
@group(0) @binding(4) var<uniform> p: AttnParams;
var<workgroup> k_tile: array<f32, KEY_TILE * HEAD_DIM>;
var<workgroup> v_tile: array<f32, KEY_TILE * HEAD_DIM>;
// Below any real score; exp(NEG_BIG - m) is 0 for any real running max m.
const NEG_BIG: f32 = -1e30;

fn load_tiles(b: u32, kvh: u32, t0: u32, lid: u32) {
    for (var e = lid; e < KEY_TILE * HEAD_DIM; e += QUERY_TILE) {
        let j = t0 + e / HEAD_DIM;
        var kx = 0.0;
        var vx = 0.0;
        if (j < p.seq_len) {
            let r = (b * p.seq_len + j) * p.ld_kv + kvh * HEAD_DIM + e % HEAD_DIM;
            kx = load_k(r);
            vx = load_v(r);
        }
        k_tile[e] = kx;
        v_tile[e] = vx;
    }
}

fn visible(j: u32, qi: u32) -> bool {
    return j < p.seq_len && (p.causal == 0u || j <= qi);
}

@compute @workgroup_size(QUERY_TILE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wid.z;
    let h = wid.y;
    let q0 = wid.x * QUERY_TILE;
    let qi = q0 + lid;
    let kvh = h / (p.heads / p.kv_heads);
    // Rows past seq_len still load tiles and meet every barrier; they store nothing.
    let qrow = b * p.seq_len + min(qi, p.seq_len - 1u);
    let qbase = qrow * p.ld_q + h * HEAD_DIM;
    var q: array<f32, HEAD_DIM>;
    var acc: array<f32, HEAD_DIM>;
    for (var d = 0u; d < HEAD_DIM; d++) {
        q[d] = load_q(qbase + d) * p.scale;
        acc[d] = 0.0;
    }
    var m = NEG_BIG;
    var l = 0.0;
    // Causal: no key after the tile's last query matters (uniform across the workgroup).
    var kv_end = p.seq_len;
    if (p.causal == 1u) { kv_end = min(p.seq_len, q0 + QUERY_TILE); }
    for (var t0 = 0u; t0 < kv_end; t0 += KEY_TILE) {
        load_tiles(b, kvh, t0, lid);
        workgroupBarrier();
        var s: array<f32, KEY_TILE>;
        var tile_max = NEG_BIG;
        for (var jj = 0u; jj < KEY_TILE; jj++) {
            var sc = 0.0;
            for (var d = 0u; d < HEAD_DIM; d++) { sc = fma(q[d], k_tile[jj * HEAD_DIM + d], sc); }
            s[jj] = sc;
            if (visible(t0 + jj, qi)) { tile_max = max(tile_max, sc); }
        }
        // Rescale what has been summed so far once per tile, not once per key.
        let m_new = max(m, tile_max);
        let corr = exp(m - m_new);
        l *= corr;
        for (var d = 0u; d < HEAD_DIM; d++) { acc[d] *= corr; }
        for (var jj = 0u; jj < KEY_TILE; jj++) {
            if (!visible(t0 + jj, qi)) { continue; }
            let pj = exp(s[jj] - m_new);
            l += pj;
            for (var d = 0u; d < HEAD_DIM; d++) { acc[d] = fma(pj, v_tile[jj * HEAD_DIM + d], acc[d]); }
        }
        m = m_new;
        // The next tile may only overwrite k_tile/v_tile once every query is done here.
        workgroupBarrier();
    }
    if (qi >= p.seq_len) { return; }
    let inv = 1.0 / l;
    for (var d = 0u; d < HEAD_DIM; d += 2u) {
        store2_out(qbase + d, acc[d] * inv, acc[d + 1u] * inv, true);
    }
}
