//! profile layer: GEMM variant that reads A and B through `rgba32float` (f32) or
//! `rgba16float` (f16) textures with `textureLoad` (fast on lavapipe, where storage-buffer
//! loads are expensive); arithmetic is f32.
//!
//! A is stored as texels (⌈K/4⌉ × M): texel (x, r) = A[r, 4x..4x+4]; B as (⌈N/4⌉ × K):
//! texel (x, k) = B[k, 4x..4x+4]; both zero-padded. Each invocation computes 4 rows × 16
//! columns with vec4 accumulators.

use wgpu::util::DeviceExt;

use crate::profile::Precision;

/// Rows per invocation.
pub const TM: u32 = 4;
/// vec4 column groups per invocation (16 columns).
pub const TNV: u32 = 4;

const PRELUDE_F32: &str = "@group(0) @binding(2) var<storage, read> bias_buf: array<f32>;
@group(0) @binding(3) var<storage, read_write> c_buf: array<f32>;
fn load_bias(i: u32) -> f32 { return bias_buf[i]; }
fn write_pair(i: u32, v0: f32, v1: f32, two: bool) {
    c_buf[i] = v0;
    if (two) { c_buf[i + 1u] = v1; }
}
";

const PRELUDE_F16: &str = "enable f16;
@group(0) @binding(2) var<storage, read> bias_buf: array<f16>;
@group(0) @binding(3) var<storage, read_write> c_buf: array<f16>;
fn load_bias(i: u32) -> f32 { return f32(bias_buf[i]); }
fn write_pair(i: u32, v0: f32, v1: f32, two: bool) {
    c_buf[i] = f16(v0);
    if (two) { c_buf[i + 1u] = f16(v1); }
}
";

const TEXTURES: &str = "@group(0) @binding(0) var ta: texture_2d<f32>;
@group(0) @binding(1) var tb: texture_2d<f32>;
fn load_a(i: u32) -> f32 {
    let r = i / p.lda; let kk = i % p.lda;
    return textureLoad(ta, vec2<u32>(kk / 4u, r), 0)[kk % 4u];
}
fn load_b(i: u32) -> f32 {
    let kk = i / p.ldb; let c = i % p.ldb;
    return textureLoad(tb, vec2<u32>(c / 4u, kk), 0)[c % 4u];
}
";

/// The texel format holding operands at `precision` (f32 or f16; bf16 has none).
pub fn format(precision: Precision) -> Option<wgpu::TextureFormat> {
    match precision {
        Precision::F32 => Some(wgpu::TextureFormat::Rgba32Float),
        Precision::F16 => Some(wgpu::TextureFormat::Rgba16Float),
        Precision::Bf16 => None,
    }
}

/// WGSL of the texture variant at `precision` (uses the shared `common.wgsl` epilogue and
/// store); textures are sampled as f32 whatever their storage format.
pub fn source(common: &str, precision: Precision) -> String {
    let prelude = if precision == Precision::F16 {
        PRELUDE_F16
    } else {
        PRELUDE_F32
    };
    let mut decl = String::new();
    let mut body = String::new();
    let mut store = String::new();
    for i in 0..TM {
        decl += &format!("    let r{i} = min(row0 + {i}u, p.m - 1u);\n");
    }
    for j in 0..TNV {
        decl += &format!("    let x{j} = min(col0 / 4u + {j}u, (p.n + 3u) / 4u - 1u);\n");
        for i in 0..TM {
            decl += &format!("    var c{i}_{j} = vec4<f32>(0.0);\n");
        }
    }
    for i in 0..TM {
        body += &format!("        let a{i} = textureLoad(ta, vec2<u32>(t, r{i}), 0);\n");
    }
    for q in 0..4 {
        body += &format!("        let k{q} = min(t * 4u + {q}u, p.k - 1u);\n");
        for j in 0..TNV {
            body += &format!("        let b{q}_{j} = textureLoad(tb, vec2<u32>(x{j}, k{q}), 0);\n");
        }
    }
    let lane = ["x", "y", "z", "w"];
    for i in 0..TM {
        for j in 0..TNV {
            for (q, l) in lane.iter().enumerate() {
                body +=
                    &format!("        c{i}_{j} = fma(vec4<f32>(a{i}.{l}), b{q}_{j}, c{i}_{j});\n");
            }
        }
    }
    for i in 0..TM {
        for j in 0..TNV {
            let c = 4 * j;
            store += &format!(
                "    store_pair(row0 + {i}u, col0 + {c}u, c{i}_{j}.x, c{i}_{j}.y);\n    store_pair(row0 + {i}u, col0 + {c}u + 2u, c{i}_{j}.z, c{i}_{j}.w);\n"
            );
        }
    }
    format!(
        "{prelude}\n{TEXTURES}\n{common}\n@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{
    let row0 = gid.y * {TM}u;
    let col0 = gid.x * {}u;
    if (row0 >= p.m || col0 >= p.n) {{ return; }}
{decl}    let k4 = (p.k + 3u) / 4u;
    for (var t = 0u; t < k4; t++) {{
{body}    }}
{store}}}
",
        TNV * 4
    )
}

/// Bind-group layout: 0/1 float textures, 2 bias, 3 C, 4 params.
pub fn bind_group_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    let tex = |binding| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    };
    let buf = |binding, ty| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("gemm-texture"),
        entries: &[
            tex(0),
            tex(1),
            buf(2, wgpu::BufferBindingType::Storage { read_only: true }),
            buf(3, wgpu::BufferBindingType::Storage { read_only: false }),
            buf(4, wgpu::BufferBindingType::Uniform),
        ],
    })
}

/// Uploads a dense row-major `rows × cols` matrix as an rgba32float (f32) or rgba16float
/// (f16) texture of ⌈cols/4⌉ × rows texels; `None` when the precision has no texture
/// format or the matrix exceeds the device's 2D texture limit.
pub fn upload_matrix(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    precision: Precision,
    data: &[f32],
    rows: usize,
    cols: usize,
) -> Option<wgpu::TextureView> {
    let format = format(precision)?;
    let w = cols.div_ceil(4);
    let max = device.limits().max_texture_dimension_2d as usize;
    if w > max || rows > max {
        return None;
    }
    let mut texels = vec![0.0f32; w * 4 * rows];
    for (r, row) in data.chunks(cols.max(1)).take(rows).enumerate() {
        texels[r * w * 4..r * w * 4 + row.len()].copy_from_slice(row);
    }
    let tex = device.create_texture_with_data(
        queue,
        &wgpu::TextureDescriptor {
            label: Some("gemm-operand"),
            size: wgpu::Extent3d {
                width: w as u32,
                height: rows as u32,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        &match precision {
            Precision::F16 => texels
                .iter()
                .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                .collect(),
            _ => bytemuck::cast_slice::<f32, u8>(&texels).to_vec(),
        },
    );
    Some(tex.create_view(&Default::default()))
}
