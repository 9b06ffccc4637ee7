// profile layer: f32 storage for the GEMM kernels (binding layout shared by all variants).
@group(0) @binding(0) var<storage, read> a_buf: array<f32>;
@group(0) @binding(1) var<storage, read> b_buf: array<f32>;
@group(0) @binding(2) var<storage, read> bias_buf: array<f32>;
@group(0) @binding(3) var<storage, read_write> c_buf: array<f32>;

fn load_a(i: u32) -> f32 { return a_buf[i]; }
fn load_b(i: u32) -> f32 { return b_buf[i]; }
fn load_bias(i: u32) -> f32 { return bias_buf[i]; }
fn write_pair(i: u32, v0: f32, v1: f32, two: bool) {
    c_buf[i] = v0;
    if (two) { c_buf[i + 1u] = v1; }
}
