// profile layer: appends one token's K and V per sequence ([batch × kv_heads·head_dim])
// to the caches ([batch × kv_heads × max_context × head_dim]) at position `pos`; two
// elements per invocation (head_dim is even, so bf16 words stay whole).
// Slots: 0 k_new, 1 v_new, 2 k_cache, 3 v_cache; params at 4.
struct AppendParams {
    batch: u32, kv_heads: u32, head_dim: u32, max_context: u32,
    pos: u32, ld_kv: u32, pad0: u32, pad1: u32,
}
@group(0) @binding(4) var<uniform> p: AppendParams;

@compute @workgroup_size(ELEMENTWISE_WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let d = gid.x * 2u;
    let kvh = gid.y;
    let b = gid.z;
    if (d >= p.head_dim || kvh >= p.kv_heads || b >= p.batch) { return; }
    let src = b * p.ld_kv + kvh * p.head_dim + d;
    let dst = ((b * p.kv_heads + kvh) * p.max_context + p.pos) * p.head_dim + d;
    store2_k_cache(dst, load_k_new(src), load_k_new(src + 1u), true);
    store2_v_cache(dst, load_v_new(src), load_v_new(src + 1u), true);
}
