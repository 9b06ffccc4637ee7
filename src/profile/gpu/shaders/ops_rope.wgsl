// profile layer: rotary position embedding in place on [tokens × heads × head_dim]
// (HF Llama rotate-half: pairs (i, i + head_dim/2)); cos/sin come from a host table
// computed in f64, so long positions lose nothing to f32 angles or GPU sin/cos.
// One invocation per (token, head) owns the whole head. Slots: 0 x, 1 table; params at 2.
struct RopeParams {
    rows: u32, heads: u32, head_dim: u32, ld: u32,
    seq_len: u32, pos_offset: u32, max_pos: u32, pad0: u32,
}
@group(0) @binding(2) var<uniform> p: RopeParams;

@compute @workgroup_size(ELEMENTWISE_WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let head = gid.x;
    // Rows past one dimension's workgroup limit continue in z (see ops::row_groups).
    let row = gid.z * MAX_GROUPS_PER_DIM + gid.y;
    if (head >= p.heads || row >= p.rows) { return; }
    let half = p.head_dim / 2u;
    let pos = min(p.pos_offset + row % p.seq_len, p.max_pos - 1u);
    // Table row `pos`: half cosines then half sines.
    let tab = pos * p.head_dim;
    let base = row * p.ld + head * p.head_dim;
    for (var i = 0u; i < half; i++) {
        let c = table_buf[tab + i];
        let s = table_buf[tab + half + i];
        let x0 = load_x(base + i);
        let x1 = load_x(base + half + i);
        store_x(base + i, x0 * c - x1 * s);
        store_x(base + half + i, x1 * c + x0 * s);
    }
}
