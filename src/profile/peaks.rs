//! profile layer: roofline peaks of a GPU — FMA throughput from dependent FMA chains
//! (scalar and vec4, f32 and f16) and memory bandwidth from a vec4 copy kernel.

use super::gpu::GpuContext;
use super::gpu::buffers::{Timer, storage_buffer};
use super::gpu::kernels::compile;
use super::report::Peak;
use super::stats::{SamplingBudget, measure};
use super::{Precision, ProfileError};

const CHAINS: u64 = 8;
const ITERS: u64 = 256;
const WORKGROUP: u64 = 64;

/// WGSL for `CHAINS` dependent FMA chains of `lanes` (1 or 4) at `precision`.
pub fn fma_source(precision: Precision, lanes: u32) -> String {
    let (enable, scalar) = match precision {
        Precision::F16 => ("enable f16;\n", "f16"),
        _ => ("", "f32"),
    };
    let ty = if lanes == 4 {
        format!("vec4<{scalar}>")
    } else {
        scalar.to_string()
    };
    let mut decl = String::new();
    let mut body = String::new();
    for c in 0..CHAINS {
        decl +=
            &format!("    var x{c} = {ty}({scalar}(f32(gid.x % 64u) * 1e-3 + {c}.0 * 0.01));\n");
        body += &format!("        x{c} = fma(x{c}, m, a);\n");
    }
    let sum = (0..CHAINS)
        .map(|c| format!("x{c}"))
        .collect::<Vec<_>>()
        .join(" + ");
    let reduce = if lanes == 4 {
        "s.x + s.y + s.z + s.w"
    } else {
        "s"
    };
    format!(
        "{enable}@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size({WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{
    let m = {ty}({scalar}(0.9999));
    let a = {ty}({scalar}(0.0001));
{decl}    for (var i = 0u; i < {ITERS}u; i++) {{
{body}    }}
    let s = {sum};
    out[gid.x] = f32({reduce});
}}
"
    )
}

const COPY_SRC: &str = "@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * 65535u * 256u;
    if (i < arrayLength(&dst)) { dst[i] = src[i]; }
}
";

/// Measures FMA GFLOP/s of one shader with chains of `lanes` at `precision`.
fn fma_gflops(
    ctx: &GpuContext,
    timer: &Timer,
    budget: &SamplingBudget,
    precision: Precision,
    lanes: u32,
) -> Result<f64, ProfileError> {
    let label = format!("peak-fma-{}x{lanes}", precision.name());
    let (pipeline, ..) = compile(&ctx.device, None, &label, &fma_source(precision, lanes))?;
    let mut groups: u32 = 64;
    let out = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("peak-out"),
        size: 65_535 * WORKGROUP * 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("peak"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: out.as_entire_binding(),
        }],
    });
    let once = |groups: u32| {
        timer.run_pass(ctx, &label, &|pass| {
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(groups, 1, 1);
        })
    };
    // Grow the grid until one dispatch takes at least 20 ms (first run also compiles).
    once(groups)?;
    while groups < 65_535 && best_ms(&once(groups)?) < 20.0 {
        groups = (groups * 4).min(65_535);
    }
    let t = measure(timer.method(), budget, || Ok(best_ms(&once(groups)?)))?;
    let flops = f64::from(groups) * (WORKGROUP * ITERS * CHAINS * 2 * u64::from(lanes)) as f64;
    Ok(flops / (t.median_ms * 1e6))
}

fn best_ms(t: &super::gpu::buffers::RunTimes) -> f64 {
    t.gpu_ms.unwrap_or(t.wall_ms)
}

/// Measures read + write bandwidth of a 32 MiB vec4 copy, in GB/s.
pub fn bandwidth_gbytes_per_s(
    ctx: &GpuContext,
    timer: &Timer,
    budget: &SamplingBudget,
) -> Result<f64, ProfileError> {
    let bytes: u64 = (32 << 20).min(ctx.device.limits().max_storage_buffer_binding_size);
    let (pipeline, ..) = compile(&ctx.device, None, "peak-bandwidth", COPY_SRC)?;
    let src = storage_buffer(&ctx.device, "bw-src", &vec![1u8; bytes as usize]);
    let dst = storage_buffer(&ctx.device, "bw-dst", &vec![0u8; bytes as usize]);
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("bandwidth"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: src.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: dst.as_entire_binding(),
            },
        ],
    });
    let groups = (bytes / 16).div_ceil(256) as u32;
    let (x, y) = (groups.min(65_535), groups.div_ceil(65_535));
    let t = measure(timer.method(), budget, || {
        let r = timer.run_pass(ctx, "bandwidth", &|pass| {
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(x, y, 1);
        })?;
        Ok(best_ms(&r))
    })?;
    Ok(2.0 * bytes as f64 / (t.median_ms * 1e6))
}

/// Peaks of `ctx` for each precision asked for (bf16 runs f32 math, so it shares the f32
/// measurement).
pub fn measure_peaks(
    ctx: &GpuContext,
    timer: &Timer,
    budget: &SamplingBudget,
    precisions: &[Precision],
) -> Result<Vec<Peak>, ProfileError> {
    let bw = bandwidth_gbytes_per_s(ctx, timer, budget)?;
    let mut out = Vec::new();
    let mut measured: Vec<(Precision, f64, f64)> = Vec::new();
    for &p in precisions {
        let math = if p == Precision::F16 {
            Precision::F16
        } else {
            Precision::F32
        };
        if math == Precision::F16 && !ctx.has_f16 {
            continue;
        }
        let (scalar, vec4) = match measured.iter().find(|m| m.0 == math) {
            Some(&(_, s, v)) => (s, v),
            None => {
                let s = fma_gflops(ctx, timer, budget, math, 1)?;
                let v = fma_gflops(ctx, timer, budget, math, 4)?;
                measured.push((math, s, v));
                (s, v)
            }
        };
        out.push(Peak {
            device: ctx.name.clone(),
            precision: p,
            fma_gflops: scalar.max(vec4),
            bandwidth_gbytes_per_s: Some(bw),
            scalar_gflops: Some(scalar),
            vec4_gflops: Some(vec4),
            isa: None,
            isa_gflops: Vec::new(),
        });
    }
    Ok(out)
}
