//! profile layer: WGSL kernels for the non-GEMM operators of a transformer forward pass
//! (embedding, norms, elementwise, RoPE, attention) in f32/f16/bf16 storage, f32 math.
//!
//! Conventions shared by every op (they match the GEMM kernels, so a projection's output
//! feeds an op directly):
//! - a matrix of `rows × cols` is row-major with row stride [`leading_dim`] (bf16 rows
//!   are padded to an even length, so a packed u32 word never spans two rows);
//! - every invocation owns whole u32 words of what it writes, so bf16's packed stores
//!   never race (elementwise ops write column pairs; RoPE and attention own whole heads,
//!   which is why `head_dim` must be even);
//! - an op is compiled once per precision (`new`), bound once per set of buffers
//!   (`bind`, which makes the op's only allocation: a small uniform buffer), and encoded
//!   into a caller's compute pass (`record`), so a whole forward pass can be one submission.

use std::time::Duration;

use wgpu::util::DeviceExt;

use crate::profile::gpu::kernels::compile;
use crate::profile::gpu::{self, GpuContext, scoped};
use crate::profile::{Precision, ProfileError};

pub mod attention;
pub mod norm_rope;
pub mod pointwise;
pub mod prelude;
pub mod reference;

pub use crate::profile::gpu::buffers::leading_dim;
use prelude::{Slot, prelude};

/// Invocations per workgroup of the elementwise-style kernels (embedding, residual, …).
pub const ELEMENTWISE_WORKGROUP: u32 = 64;
/// Largest workgroup count in one dispatch dimension that every adapter accepts.
pub const MAX_GROUPS_PER_DIM: u32 = 65_535;

/// A compiled op: its pipeline, bind-group layout and the buffer slots it expects.
pub struct OpKernel {
    /// The compute pipeline.
    pub pipeline: wgpu::ComputePipeline,
    /// Layout: the slots in order, then a uniform params buffer.
    pub bind_group_layout: wgpu::BindGroupLayout,
    /// Storage precision of the op's activations.
    pub precision: Precision,
    /// Label used in errors (`"rmsnorm-bf16"`, …).
    pub label: String,
    slots: Vec<Slot>,
}

/// One op bound to its buffers: the bind group, its params and how many workgroups.
pub struct OpBinding {
    /// Bind group on the op's layout.
    pub bind_group: wgpu::BindGroup,
    /// The params uniform buffer (the only buffer an op allocates).
    pub params: wgpu::Buffer,
    /// Workgroups dispatched per dimension.
    pub workgroups: [u32; 3],
}

impl OpBinding {
    /// Bytes of device memory this binding allocated (its params buffer only).
    pub fn allocated_bytes(&self) -> u64 {
        self.params.size()
    }
}

impl OpKernel {
    /// Compiles `body` (WGSL with entry point `main`; its params at binding
    /// `slots.len()`) behind the generated prelude for `precision` and `consts`
    /// (`const NAME: u32 = v;` lines). f16 needs SHADER_F16, else `MissingFeature`.
    pub fn new(
        ctx: &GpuContext,
        name: &str,
        precision: Precision,
        slots: &[Slot],
        consts: &[(&str, u32)],
        body: &str,
    ) -> Result<Self, ProfileError> {
        if precision == Precision::F16 && !ctx.has_f16 {
            return Err(ProfileError::MissingFeature {
                adapter: ctx.name.clone(),
                feature: "SHADER_F16 (needed for the f16 form of this op)".into(),
            });
        }
        let label = format!("{name}-{}", precision.name());
        let mut src = prelude(precision, slots);
        for (k, v) in consts {
            src += &format!("const {k}: u32 = {v}u;\n");
        }
        src += body;
        let device = &ctx.device;
        let bind_group_layout = bind_group_layout(device, &label, slots);
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(&label),
            bind_group_layouts: &[Some(&bind_group_layout)],
            immediate_size: 0,
        });
        let (pipeline, _, _) = compile(device, Some(&layout), &label, &src)?;
        Ok(OpKernel {
            pipeline,
            bind_group_layout,
            precision,
            label,
            slots: slots.to_vec(),
        })
    }

    /// Binds `buffers` (one per slot, in order) with `params` (u32 words; f32 fields as
    /// bits) for a dispatch of `workgroups`.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        buffers: &[&wgpu::Buffer],
        params: &[u32],
        workgroups: [u32; 3],
    ) -> Result<OpBinding, ProfileError> {
        if buffers.len() != self.slots.len() {
            return Err(ProfileError::Invalid(format!(
                "{} takes {} buffers, got {}",
                self.label,
                self.slots.len(),
                buffers.len()
            )));
        }
        if let Some(&g) = workgroups.iter().find(|&&g| g > MAX_GROUPS_PER_DIM) {
            return Err(ProfileError::Invalid(format!(
                "{} needs {g} workgroups in one dimension (at most {MAX_GROUPS_PER_DIM})",
                self.label
            )));
        }
        let context = format!("binding {}", self.label);
        scoped(device, &context, || {
            let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(&self.label),
                contents: bytemuck::cast_slice(params),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            });
            let mut entries: Vec<wgpu::BindGroupEntry> = buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.as_entire_binding(),
                })
                .collect();
            entries.push(wgpu::BindGroupEntry {
                binding: buffers.len() as u32,
                resource: params.as_entire_binding(),
            });
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&self.label),
                layout: &self.bind_group_layout,
                entries: &entries,
            });
            OpBinding {
                bind_group,
                params,
                workgroups,
            }
        })
    }

    /// Encodes one dispatch of `binding` into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, binding: &OpBinding) {
        let [x, y, z] = binding.workgroups;
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &binding.bind_group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }
}

fn bind_group_layout(device: &wgpu::Device, label: &str, slots: &[Slot]) -> wgpu::BindGroupLayout {
    let entry = |binding: usize, ty| wgpu::BindGroupLayoutEntry {
        binding: binding as u32,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let mut entries: Vec<_> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let read_only = !s.is_writable();
            entry(i, wgpu::BufferBindingType::Storage { read_only })
        })
        .collect();
    entries.push(entry(slots.len(), wgpu::BufferBindingType::Uniform));
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &entries,
    })
}

/// Bytes a `rows × cols` matrix takes at `precision` (as [`crate::profile::gpu::buffers::encode`]
/// lays it out: padded rows, whole u32 words, at least one word).
pub fn matrix_bytes(precision: Precision, rows: usize, cols: usize) -> u64 {
    let bytes = rows * leading_dim(precision, cols) * precision.bytes_per_element();
    (bytes.div_ceil(4).max(1) * 4) as u64
}

/// `Invalid` unless `buffer` holds at least `need` bytes (so a kernel never reads or
/// writes past what the caller meant to give it).
pub fn check_size(buffer: &wgpu::Buffer, need: u64, what: &str) -> Result<(), ProfileError> {
    if buffer.size() < need {
        return Err(ProfileError::Invalid(format!(
            "{what} buffer has {} bytes, the op needs {need}",
            buffer.size()
        )));
    }
    Ok(())
}

/// Workgroups in (y, z) for `rows` rows, one row per y: rows past
/// [`MAX_GROUPS_PER_DIM`] continue in z (the shader's row is `z · MAX_GROUPS_PER_DIM + y`).
pub fn row_groups(rows: usize) -> (u32, u32) {
    let y = (rows.max(1) as u32).min(MAX_GROUPS_PER_DIM);
    (y, groups(rows, MAX_GROUPS_PER_DIM))
}

/// Workgroups to cover `n` items at `per` items per workgroup (at least one).
pub fn groups(n: usize, per: u32) -> u32 {
    (n.div_ceil(per as usize).max(1)) as u32
}

/// Encodes `steps` into one compute pass of one command buffer, submits it and waits
/// (a convenience for tests and one-off checks; a forward pass records its own).
pub fn run_once(
    ctx: &GpuContext,
    steps: &[(&OpKernel, &OpBinding)],
    timeout: Duration,
) -> Result<(), ProfileError> {
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        for (kernel, binding) in steps {
            kernel.record(&mut pass, binding);
        }
    }
    let sub = scoped(&ctx.device, "running transformer ops", || {
        ctx.queue.submit([enc.finish()])
    })?;
    gpu::wait(&ctx.device, sub, timeout, "transformer ops")?;
    ctx.check_lost()
}
