//! profile layer: device buffers for GEMM operands (buffers and, for f32, textures) and
//! the one-shot correctness check of a kernel against the f64 reference.

use std::time::Duration;

use wgpu::util::DeviceExt;

use crate::profile::gpu::kernels::{GemmKernel, GemmLayout};
pub use crate::profile::gpu::timer::{RunTimes, Timer};
use crate::profile::gpu::{self, GpuContext};
use crate::profile::reference::Epilogue;
use crate::profile::{Precision, ProfileError};

/// Row length in elements as stored at `precision` (bf16 rows are padded to even).
pub fn leading_dim(precision: Precision, cols: usize) -> usize {
    match precision {
        Precision::Bf16 => cols.div_ceil(2) * 2,
        _ => cols,
    }
}

/// Encodes a dense row-major `rows × cols` matrix for storage at `precision`, padded to a
/// multiple of 4 bytes (and at least 4); elements missing from `data` are zero.
pub fn encode(precision: Precision, data: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    let ld = leading_dim(precision, cols);
    let mut out = Vec::with_capacity(rows * ld * 4);
    for r in 0..rows {
        for c in 0..ld {
            // Missing elements (short input, row padding) are zero.
            let x = if c < cols {
                data.get(r * cols + c).copied().unwrap_or(0.0)
            } else {
                0.0
            };
            match precision {
                Precision::F32 => out.extend_from_slice(&x.to_le_bytes()),
                Precision::F16 => out.extend_from_slice(&half::f16::from_f32(x).to_le_bytes()),
                Precision::Bf16 => out.extend_from_slice(&half::bf16::from_f32(x).to_le_bytes()),
            }
        }
    }
    out.resize(out.len().div_ceil(4).max(1) * 4, 0);
    out
}

/// Decodes what [`encode`] (or a kernel) wrote back into a dense `rows × cols` f32 matrix.
pub fn decode(precision: Precision, bytes: &[u8], rows: usize, cols: usize) -> Vec<f32> {
    let ld = leading_dim(precision, cols);
    let esz = precision.bytes_per_element();
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let i = (r * ld + c) * esz;
            let x = match precision {
                Precision::F32 => bytes
                    .get(i..i + 4)
                    .map_or(f32::NAN, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                Precision::F16 => bytes.get(i..i + 2).map_or(f32::NAN, |b| {
                    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
                }),
                Precision::Bf16 => bytes.get(i..i + 2).map_or(f32::NAN, |b| {
                    half::bf16::from_le_bytes([b[0], b[1]]).to_f32()
                }),
            };
            out.push(x);
        }
    }
    out
}

/// Creates a storage buffer holding `bytes`.
pub fn storage_buffer(device: &wgpu::Device, label: &str, bytes: &[u8]) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytes,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
    })
}

/// One bound GEMM problem: C (m×n) = A (m×k) · B (k×n) (+ bias, GELU).
#[derive(Clone)]
pub struct Operands {
    /// Output buffer (for readback).
    pub c: wgpu::Buffer,
    /// Bind group for the shared layout.
    pub bind_group: wgpu::BindGroup,
    /// Bind group for the texture variant (f32 operands uploaded by [`Operands::upload`]).
    pub texture_bind_group: Option<wgpu::BindGroup>,
    /// Bias and params buffers (kept for the texture bind group).
    bias_params: Option<(wgpu::Buffer, wgpu::Buffer)>,
    /// Output rows.
    pub m: usize,
    /// Output columns.
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
    /// Storage precision.
    pub precision: Precision,
}

impl Operands {
    /// Binds existing buffers (`a`, `b`, `bias`, `c`) with the given shape and epilogue.
    pub fn bind(
        device: &wgpu::Device,
        layout: &GemmLayout,
        precision: Precision,
        (m, n, k): (usize, usize, usize),
        epilogue: Epilogue,
        [a, b, bias]: [&wgpu::Buffer; 3],
        c: &wgpu::Buffer,
    ) -> Self {
        let params: [u32; 8] = [
            m as u32,
            n as u32,
            k as u32,
            leading_dim(precision, k) as u32,
            leading_dim(precision, n) as u32,
            leading_dim(precision, n) as u32,
            epilogue.code(),
            0,
        ];
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("gemm-params"),
            contents: bytemuck::cast_slice(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
            wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            }
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("gemm"),
            layout: &layout.bind_group_layout,
            entries: &[
                entry(0, a),
                entry(1, b),
                entry(2, bias),
                entry(3, c),
                entry(4, &params),
            ],
        });
        Operands {
            c: c.clone(),
            bind_group,
            texture_bind_group: None,
            bias_params: Some((bias.clone(), params)),
            m,
            n,
            k,
            precision,
        }
    }

    /// Uploads dense f32 `a` (m×k), `b` (k×n) and `bias` (n) and allocates C; allocation
    /// failures come back as [`ProfileError::OutOfMemory`].
    pub fn upload(
        ctx: &GpuContext,
        layout: &GemmLayout,
        precision: Precision,
        shape: (usize, usize, usize),
        epilogue: Epilogue,
        [a, b, bias]: [&[f32]; 3],
    ) -> Result<Self, ProfileError> {
        let device = &ctx.device;
        gpu::scoped(device, "allocating GEMM operands", || {
            let mut ops =
                Self::upload_unscoped(device, layout, precision, shape, epilogue, [a, b, bias]);
            if precision == Precision::F32 || (precision == Precision::F16 && ctx.has_f16) {
                ops.texture_bind_group = ops.texture_bind(ctx, layout, [a, b]);
            }
            ops
        })
    }

    /// Texture copies of A and B bound with this problem's bias, C and params.
    fn texture_bind(
        &self,
        ctx: &GpuContext,
        layout: &GemmLayout,
        [a, b]: [&[f32]; 2],
    ) -> Option<wgpu::BindGroup> {
        use crate::profile::gpu::texture::upload_matrix;
        let p = self.precision;
        let ta = upload_matrix(&ctx.device, &ctx.queue, p, a, self.m, self.k)?;
        let tb = upload_matrix(&ctx.device, &ctx.queue, p, b, self.k, self.n)?;
        let (bias, params) = self.bias_params.as_ref()?;
        Some(ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("gemm-texture"),
            layout: &layout.texture_bind_group_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&ta),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&tb),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: bias.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: self.c.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: params.as_entire_binding(),
                },
            ],
        }))
    }

    fn upload_unscoped(
        device: &wgpu::Device,
        layout: &GemmLayout,
        precision: Precision,
        shape: (usize, usize, usize),
        epilogue: Epilogue,
        [a, b, bias]: [&[f32]; 3],
    ) -> Self {
        let (m, n, k) = shape;
        let ab = storage_buffer(device, "A", &encode(precision, a, m, k));
        let bb = storage_buffer(device, "B", &encode(precision, b, k, n));
        let biasb = storage_buffer(device, "bias", &encode(precision, bias, 1, n));
        let c_bytes = encode(precision, &vec![0.0; m * n], m, n);
        let cb = storage_buffer(device, "C", &c_bytes);
        Operands::bind(
            device,
            layout,
            precision,
            shape,
            epilogue,
            [&ab, &bb, &biasb],
            &cb,
        )
    }

    /// Reads C back as dense f32 (outside any timing).
    pub fn read_c(&self, ctx: &GpuContext, timeout: Duration) -> Result<Vec<f32>, ProfileError> {
        let bytes = gpu::read_buffer(&ctx.device, &ctx.queue, &self.c, self.c.size(), timeout)?;
        Ok(decode(self.precision, &bytes, self.m, self.n))
    }
}

/// Runs `kernel` once on fresh random data of shape `(m, n, k)` and returns its relative
/// Frobenius error against the f64 reference (inputs rounded to the storage precision
/// first, so only the kernel's arithmetic and output rounding are measured).
pub fn verify_gemm(
    ctx: &GpuContext,
    layout: &GemmLayout,
    kernel: &GemmKernel,
    (m, n, k): (usize, usize, usize),
    epilogue: Epilogue,
    timeout: Duration,
) -> Result<f64, ProfileError> {
    use crate::profile::reference::{Rng, gemm_f64, quantize_all, rel_frobenius};
    let p = kernel.precision;
    let mut rng = Rng::from_time();
    let a = quantize_all(p, &rng.vec(m * k, 1.0));
    let b = quantize_all(p, &rng.vec(k * n, 1.0));
    let bias = quantize_all(p, &rng.vec(n, 1.0));
    let ops = Operands::upload(ctx, layout, p, (m, n, k), epilogue, [&a, &b, &bias])?;
    Timer::new(ctx, timeout)
        .run(ctx, &[(kernel, &ops)], "verifying a kernel")
        .map(|_| ())?;
    let got = ops.read_c(ctx, timeout)?;
    Ok(rel_frobenius(
        &got,
        &gemm_f64(&a, &b, &bias, (m, n, k), epilogue),
    ))
}
