//! profile layer: WGSL GEMM kernels (naive, tiled, register-blocked) in f32/f16/bf16
//! storage, with an optional fused bias + GELU epilogue, and their host-side operands.

use crate::profile::gpu::{GpuContext, scoped};
use crate::profile::{Precision, ProfileError};

const COMMON: &str = include_str!("shaders/common.wgsl");
const PRELUDE_F32: &str = include_str!("shaders/prelude_f32.wgsl");
const PRELUDE_F16: &str = include_str!("shaders/prelude_f16.wgsl");
const PRELUDE_BF16: &str = include_str!("shaders/prelude_bf16.wgsl");
const NAIVE: &str = include_str!("shaders/gemm_naive.wgsl");
const TILED: &str = include_str!("shaders/gemm_tiled.wgsl");
const REG: &str = include_str!("shaders/gemm_reg.wgsl");

/// A GEMM kernel variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// One row × two columns per invocation, loads straight from storage.
    Naive,
    /// 16×32 output tile per workgroup through workgroup-shared memory.
    Tiled,
    /// `tm` × `tn` outputs per invocation held in registers (`tn` even).
    Reg {
        /// Rows per invocation.
        tm: u32,
        /// Columns per invocation (even).
        tn: u32,
    },
    /// f32/f16: A and B read through rgba32float/rgba16float textures, 4×16 outputs per
    /// invocation.
    Texture,
}

impl Variant {
    /// Every variant the autotuner tries.
    pub const ALL: [Variant; 6] = [
        Variant::Naive,
        Variant::Tiled,
        Variant::Reg { tm: 4, tn: 4 },
        Variant::Reg { tm: 8, tn: 8 },
        Variant::Reg { tm: 16, tn: 16 },
        Variant::Texture,
    ];

    /// The variants that exist at `precision` (there is no bf16 texture format).
    pub fn for_precision(precision: Precision) -> Vec<Variant> {
        Variant::ALL
            .into_iter()
            .filter(|v| *v != Variant::Texture || precision != Precision::Bf16)
            .collect()
    }

    /// Name used in reports (`naive`, `tiled`, `reg4x4`, …).
    pub fn name(self) -> String {
        match self {
            Variant::Naive => "naive".into(),
            Variant::Tiled => "tiled".into(),
            Variant::Reg { tm, tn } => format!("reg{tm}x{tn}"),
            Variant::Texture => "texture".into(),
        }
    }

    /// Parses a name produced by [`Variant::name`].
    pub fn parse(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == s)
    }

    /// Workgroups to dispatch for an `m` × `n` output.
    pub fn workgroups(self, m: u32, n: u32) -> (u32, u32) {
        let (rows, cols) = match self {
            Variant::Naive => (8, 16),
            Variant::Tiled => (16, 32),
            Variant::Reg { tm, tn } => (8 * tm, 8 * tn),
            Variant::Texture => (
                8 * crate::profile::gpu::texture::TM,
                8 * 4 * crate::profile::gpu::texture::TNV,
            ),
        };
        (n.div_ceil(cols).max(1), m.div_ceil(rows).max(1))
    }
}

/// Full WGSL source of `variant` at `precision`.
pub fn source(variant: Variant, precision: Precision) -> String {
    let prelude = match precision {
        Precision::F32 => PRELUDE_F32,
        Precision::F16 => PRELUDE_F16,
        Precision::Bf16 => PRELUDE_BF16,
    };
    let body = match variant {
        Variant::Naive => NAIVE.to_string(),
        Variant::Tiled => TILED.to_string(),
        Variant::Reg { tm, tn } => reg_source(tm, tn),
        Variant::Texture => return crate::profile::gpu::texture::source(COMMON, precision),
    };
    format!("{prelude}\n{COMMON}\n{body}")
}

fn reg_source(tm: u32, tn: u32) -> String {
    let (mut decl, mut body, mut store) = (String::new(), String::new(), String::new());
    for i in 0..tm {
        decl += &format!("    let r{i} = min(row0 + {i}u, p.m - 1u) * p.lda;\n");
    }
    for j in 0..tn {
        decl += &format!("    let n{j} = min(col0 + {j}u, p.n - 1u);\n");
    }
    for i in 0..tm {
        for j in 0..tn {
            decl += &format!("    var c{i}_{j} = 0.0;\n");
        }
    }
    for i in 0..tm {
        body += &format!("        let a{i} = load_a(r{i} + kk);\n");
    }
    for j in 0..tn {
        body += &format!("        let b{j} = load_b(brow + n{j});\n");
    }
    for i in 0..tm {
        for j in 0..tn {
            body += &format!("        c{i}_{j} = fma(a{i}, b{j}, c{i}_{j});\n");
        }
    }
    for i in 0..tm {
        for j in (0..tn).step_by(2) {
            let j1 = j + 1;
            store += &format!("    store_pair(row0 + {i}u, col0 + {j}u, c{i}_{j}, c{i}_{j1});\n");
        }
    }
    REG.replace("TM", &format!("{tm}u"))
        .replace("TN", &format!("{tn}u"))
        .replace("//@DECL", &decl)
        .replace("//@BODY", &body)
        .replace("//@STORE", &store)
}

/// FNV-1a 64-bit hash, stable across builds (used to key the autotune cache).
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Bind-group and pipeline layout shared by every GEMM kernel.
pub struct GemmLayout {
    /// Bindings: 0 A, 1 B, 2 bias (read-only storage), 3 C (read-write), 4 params (uniform).
    pub bind_group_layout: wgpu::BindGroupLayout,
    /// Pipeline layout wrapping it.
    pub pipeline_layout: wgpu::PipelineLayout,
    /// Layout of the texture variant (A and B as textures).
    pub texture_bind_group_layout: wgpu::BindGroupLayout,
    /// Pipeline layout wrapping it.
    pub texture_pipeline_layout: wgpu::PipelineLayout,
}

impl GemmLayout {
    /// Creates the layout on `device`.
    pub fn new(device: &wgpu::Device) -> Self {
        let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let uniform = wgpu::BindGroupLayoutEntry {
            binding: 4,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let bind_group_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("gemm"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, true),
                storage(3, false),
                uniform,
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("gemm"),
            bind_group_layouts: &[Some(&bind_group_layout)],
            immediate_size: 0,
        });
        let texture_bind_group_layout = crate::profile::gpu::texture::bind_group_layout(device);
        let texture_pipeline_layout =
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("gemm-texture"),
                bind_group_layouts: &[Some(&texture_bind_group_layout)],
                immediate_size: 0,
            });
        GemmLayout {
            bind_group_layout,
            pipeline_layout,
            texture_bind_group_layout,
            texture_pipeline_layout,
        }
    }
}

/// A compiled GEMM pipeline.
pub struct GemmKernel {
    /// Which variant.
    pub variant: Variant,
    /// Storage precision.
    pub precision: Precision,
    /// The compute pipeline.
    pub pipeline: wgpu::ComputePipeline,
    /// FNV-1a hash of the WGSL source.
    pub shader_hash: u64,
    /// Milliseconds to create the shader module.
    pub shader_module_ms: f64,
    /// Milliseconds to create the pipeline.
    pub pipeline_ms: f64,
}

impl GemmKernel {
    /// Encodes one GEMM of `ops` (bound for this kernel's layout) into `pass`.
    pub fn record(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        ops: &crate::profile::gpu::buffers::Operands,
    ) {
        let (x, y) = self.variant.workgroups(ops.m as u32, ops.n as u32);
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &ops.bind_group, &[]);
        pass.dispatch_workgroups(x, y, 1);
    }

    /// Compiles `variant` at `precision`; f16 needs `SHADER_F16` on the device.
    pub fn new(
        ctx: &GpuContext,
        layout: &GemmLayout,
        variant: Variant,
        precision: Precision,
    ) -> Result<Self, ProfileError> {
        if !Variant::for_precision(precision).contains(&variant) {
            return Err(ProfileError::Invalid(format!(
                "variant {} has no {} form",
                variant.name(),
                precision.name()
            )));
        }
        if precision == Precision::F16 && !ctx.has_f16 {
            return Err(ProfileError::MissingFeature {
                adapter: ctx.name.clone(),
                feature: "SHADER_F16".into(),
            });
        }
        let src = source(variant, precision);
        let label = format!("gemm-{}-{}", variant.name(), precision.name());
        let pl = if variant == Variant::Texture {
            &layout.texture_pipeline_layout
        } else {
            &layout.pipeline_layout
        };
        compile(&ctx.device, Some(pl), &label, &src).map(|(pipeline, shader_ms, pipe_ms)| {
            GemmKernel {
                variant,
                precision,
                pipeline,
                shader_hash: fnv1a(&src),
                shader_module_ms: shader_ms,
                pipeline_ms: pipe_ms,
            }
        })
    }
}

/// Compiles WGSL `src` with entry point `main` into a pipeline on `layout` (automatic
/// layout when `None`); shader and
/// pipeline errors are captured in error scopes. Returns the pipeline and the module and
/// pipeline creation times in ms.
pub fn compile(
    device: &wgpu::Device,
    layout: Option<&wgpu::PipelineLayout>,
    label: &str,
    src: &str,
) -> Result<(wgpu::ComputePipeline, f64, f64), ProfileError> {
    let context = format!("compiling {label}");
    let t0 = std::time::Instant::now();
    let module = scoped(device, &context, || {
        device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(src.into()),
        })
    })?;
    let shader_ms = crate::profile::gpu::ms(t0.elapsed());
    let t1 = std::time::Instant::now();
    let pipeline = scoped(device, &context, || {
        device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        })
    })?;
    Ok((pipeline, shader_ms, crate::profile::gpu::ms(t1.elapsed())))
}
