// profile layer: f16 storage, f32 arithmetic (needs SHADER_F16).
enable f16;
@group(0) @binding(0) var<storage, read> a_buf: array<f16>;
@group(0) @binding(1) var<storage, read> b_buf: array<f16>;
@group(0) @binding(2) var<storage, read> bias_buf: array<f16>;
@group(0) @binding(3) var<storage, read_write> c_buf: array<f16>;

fn load_a(i: u32) -> f32 { return f32(a_buf[i]); }
fn load_b(i: u32) -> f32 { return f32(b_buf[i]); }
fn load_bias(i: u32) -> f32 { return f32(bias_buf[i]); }
fn write_pair(i: u32, v0: f32, v1: f32, two: bool) {
    c_buf[i] = f16(v0);
    if (two) { c_buf[i + 1u] = f16(v1); }
}
