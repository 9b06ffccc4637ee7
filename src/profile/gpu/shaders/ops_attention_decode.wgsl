// profile layer: decode attention, one new query per sequence against a KV cache laid
// out [batch × kv_heads × max_context × HEAD_DIM]. A workgroup per (head, batch) splits
// the context_len keys among its DECODE_WORKGROUP invocations, each keeping its own
// running max / sum / output; the partials are merged in workgroup memory.
// Q, out: [batch × heads·HEAD_DIM]. Slots: 0 q, 1 k_cache, 2 v_cache, 3 out; params at 4.
struct DecodeParams {
    heads: u32, kv_heads: u32, max_context: u32, context_len: u32,
    ld_q: u32, scale: f32, pad0: u32, pad1: u32,
}
@group(0) @binding(4) var<uniform> p: DecodeParams;
var<workgroup> part_m: array<f32, DECODE_WORKGROUP>;
var<workgroup> part_l: array<f32, DECODE_WORKGROUP>;
var<workgroup> part_acc: array<f32, DECODE_WORKGROUP * HEAD_DIM>;
const NEG_BIG: f32 = -1e30;

@compute @workgroup_size(DECODE_WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let b = wid.y;
    let kvh = h / (p.heads / p.kv_heads);
    let qbase = b * p.ld_q + h * HEAD_DIM;
    let cache0 = (b * p.kv_heads + kvh) * p.max_context;
    var q: array<f32, HEAD_DIM>;
    var acc: array<f32, HEAD_DIM>;
    for (var d = 0u; d < HEAD_DIM; d++) {
        q[d] = load_q(qbase + d) * p.scale;
        acc[d] = 0.0;
    }
    var m = NEG_BIG;
    var l = 0.0;
    for (var t = lid; t < p.context_len; t += DECODE_WORKGROUP) {
        let kb = (cache0 + t) * HEAD_DIM;
        var s = 0.0;
        for (var d = 0u; d < HEAD_DIM; d++) { s = fma(q[d], load_k_cache(kb + d), s); }
        let m_new = max(m, s);
        let corr = exp(m - m_new);
        let pt = exp(s - m_new);
        l = l * corr + pt;
        for (var d = 0u; d < HEAD_DIM; d++) { acc[d] = fma(pt, load_v_cache(kb + d), acc[d] * corr); }
        m = m_new;
    }
    part_m[lid] = m;
    part_l[lid] = l;
    workgroupBarrier();
    var big_m = NEG_BIG;
    for (var i = 0u; i < DECODE_WORKGROUP; i++) { big_m = max(big_m, part_m[i]); }
    // An invocation that saw no key has l = 0 and acc = 0, so its factor is harmless.
    let mine = exp(m - big_m);
    for (var d = 0u; d < HEAD_DIM; d++) { part_acc[lid * HEAD_DIM + d] = acc[d] * mine; }
    var big_l = 0.0;
    for (var i = 0u; i < DECODE_WORKGROUP; i++) { big_l += part_l[i] * exp(part_m[i] - big_m); }
    workgroupBarrier();
    let inv = 1.0 / big_l;
    for (var d = lid * 2u; d < HEAD_DIM; d += DECODE_WORKGROUP * 2u) {
        var o0 = 0.0;
        var o1 = 0.0;
        for (var i = 0u; i < DECODE_WORKGROUP; i++) {
            o0 += part_acc[i * HEAD_DIM + d];
            o1 += part_acc[i * HEAD_DIM + d + 1u];
        }
        store2_out(qbase + d, o0 * inv, o1 * inv, true);
    }
}
