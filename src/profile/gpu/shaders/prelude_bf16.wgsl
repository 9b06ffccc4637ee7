// profile layer: bf16 storage emulated as two bf16 per u32 (element i in bits 16*(i&1)),
// f32 arithmetic; rows are padded to an even length so a pair never spans two rows.
@group(0) @binding(0) var<storage, read> a_buf: array<u32>;
@group(0) @binding(1) var<storage, read> b_buf: array<u32>;
@group(0) @binding(2) var<storage, read> bias_buf: array<u32>;
@group(0) @binding(3) var<storage, read_write> c_buf: array<u32>;

fn bf16_at(w: u32, i: u32) -> f32 {
    return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}
fn load_a(i: u32) -> f32 { return bf16_at(a_buf[i >> 1u], i); }
fn load_b(i: u32) -> f32 { return bf16_at(b_buf[i >> 1u], i); }
fn load_bias(i: u32) -> f32 { return bf16_at(bias_buf[i >> 1u], i); }
// Round to nearest even.
fn to_bf16(v: f32) -> u32 {
    let u = bitcast<u32>(v);
    return (u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u;
}
fn write_pair(i: u32, v0: f32, v1: f32, two: bool) {
    var hi = 0u;
    if (two) { hi = to_bf16(v1); }
    c_buf[i >> 1u] = to_bf16(v0) | (hi << 16u);
}
