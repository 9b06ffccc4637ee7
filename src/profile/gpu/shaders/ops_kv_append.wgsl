// profile layer: appends `rows` tokens' K and V per sequence ([batch·rows ×
// kv_heads·head_dim], sequence-major) to the caches ([batch × kv_heads × max_context ×
// head_dim]) at positions pos..pos + rows; two elements per invocation (head_dim is
// even, so a pair never spans two tokens and bf16 words stay whole).
// Slots: 0 k_new, 1 v_new, 2 k_cache, 3 v_cache; params at 4.
struct AppendParams {
    batch: u32, kv_heads: u32, head_dim: u32, max_context: u32,
    pos: u32, ld_kv: u32, rows: u32, pad0: u32,
}
@group(0) @binding(4) var<uniform> p: AppendParams;

@compute @workgroup_size(ELEMENTWISE_WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x * 2u;
    let t = e / p.head_dim;
    let d = e % p.head_dim;
    let kvh = gid.y;
    let b = gid.z;
    if (t >= p.rows || kvh >= p.kv_heads || b >= p.batch) { return; }
    let src = (b * p.rows + t) * p.ld_kv + kvh * p.head_dim + d;
    let dst = ((b * p.kv_heads + kvh) * p.max_context + p.pos + t) * p.head_dim + d;
    store2_k_cache(dst, load_k_new(src), load_k_new(src + 1u), true);
    store2_v_cache(dst, load_v_new(src), load_v_new(src + 1u), true);
}
