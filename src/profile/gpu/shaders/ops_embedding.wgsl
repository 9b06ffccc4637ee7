// profile layer: embedding gather, out[t] = table[ids[t]] (+ pos[offset + t % seq_len]);
// two columns per invocation. Slots: 0 ids (u32), 1 table, 2 pos, 3 out; params at 4.
struct EmbParams {
    tokens: u32, cols: u32, ld: u32, seq_len: u32,
    pos_offset: u32, use_pos: u32, vocab: u32, max_pos: u32,
}
@group(0) @binding(4) var<uniform> p: EmbParams;

fn gathered(id: u32, pos: u32, col: u32) -> f32 {
    var v = load_table(id * p.ld + col);
    if (p.use_pos == 1u) { v += load_pos(pos * p.ld + col); }
    return v;
}

@compute @workgroup_size(ELEMENTWISE_WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x * 2u;
    // Tokens past one dimension's workgroup limit continue in z (see ops::row_groups).
    let t = gid.z * MAX_GROUPS_PER_DIM + gid.y;
    if (t >= p.tokens || col >= p.cols) { return; }
    // Out-of-range ids and positions are clamped: a bad id reads a real row, never
    // past the table.
    let id = min(ids_buf[t], p.vocab - 1u);
    let pos = min(p.pos_offset + t % p.seq_len, p.max_pos - 1u);
    let two = col + 1u < p.cols;
    let c1 = select(col, col + 1u, two);
    store2_out(t * p.ld + col, gathered(id, pos, col), gathered(id, pos, c1), two);
}
