//! profile layer: device buffers for GEMM operands, dispatch recording and one timed run
//! (GPU timestamps and wall clock around submit + poll; readback is never inside it).

use std::time::{Duration, Instant};

use eframe::egui_wgpu::wgpu;
use eframe::egui_wgpu::wgpu::util::DeviceExt;

use super::gpu::{self, GpuContext, ms};
use super::kernels::{GemmKernel, GemmLayout, Variant};
use super::reference::Epilogue;
use super::{Precision, ProfileError};

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
    #[allow(clippy::too_many_arguments)]
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
            if precision == Precision::F32 {
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
        use super::texture::upload_matrix;
        let ta = upload_matrix(&ctx.device, &ctx.queue, a, self.m, self.k)?;
        let tb = upload_matrix(&ctx.device, &ctx.queue, b, self.k, self.n)?;
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

/// Runs batches of dispatches and times them.
pub struct Timer {
    queries: Option<(wgpu::QuerySet, wgpu::Buffer, wgpu::Buffer, f64)>,
    /// Timeout for one submission.
    pub timeout: Duration,
}

/// One timed run.
#[derive(Clone, Copy, Debug)]
pub struct RunTimes {
    /// Host wall clock from submit until poll returned, ms.
    pub wall_ms: f64,
    /// GPU timestamp difference across the pass, ms (when supported).
    pub gpu_ms: Option<f64>,
}

impl Timer {
    /// A timer using timestamp queries when the device has them.
    pub fn new(ctx: &GpuContext, timeout: Duration) -> Self {
        let queries = ctx.has_timestamps.then(|| {
            let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("ts-resolve"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let read = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("ts-read"),
                size: 16,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let period_ns = f64::from(ctx.queue.get_timestamp_period());
            (set, resolve, read, period_ns)
        });
        Timer { queries, timeout }
    }

    /// True when GPU timestamps are used.
    pub fn has_timestamps(&self) -> bool {
        self.queries.is_some()
    }

    /// Records every (kernel, operands) dispatch in one compute pass, submits, waits.
    pub fn run(
        &self,
        ctx: &GpuContext,
        work: &[(&GemmKernel, &Operands)],
        what: &str,
    ) -> Result<RunTimes, ProfileError> {
        let mut bound = Vec::with_capacity(work.len());
        for (kernel, ops) in work {
            let group = match kernel.variant {
                Variant::Texture => ops.texture_bind_group.as_ref().ok_or_else(|| {
                    ProfileError::Invalid(
                        "texture variant needs f32 operands uploaded as textures".into(),
                    )
                })?,
                _ => &ops.bind_group,
            };
            bound.push((kernel, *ops, group));
        }
        self.run_pass(ctx, what, &|pass| {
            for (kernel, ops, group) in &bound {
                let (x, y) = kernel.variant.workgroups(ops.m as u32, ops.n as u32);
                pass.set_pipeline(&kernel.pipeline);
                pass.set_bind_group(0, *group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        })
    }

    /// Records `record` in one compute pass (with timestamps at its ends), submits and
    /// waits; the wall clock covers submit until the poll returns.
    pub fn run_pass(
        &self,
        ctx: &GpuContext,
        what: &str,
        record: &dyn Fn(&mut wgpu::ComputePass<'_>),
    ) -> Result<RunTimes, ProfileError> {
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        {
            let timestamp_writes =
                self.queries
                    .as_ref()
                    .map(|(set, ..)| wgpu::ComputePassTimestampWrites {
                        query_set: set,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(1),
                    });
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(what),
                timestamp_writes,
            });
            record(&mut pass);
        }
        if let Some((set, resolve, read, _)) = &self.queries {
            enc.resolve_query_set(set, 0..2, resolve, 0);
            enc.copy_buffer_to_buffer(resolve, 0, read, 0, 16);
        }
        let cmd = enc.finish();
        ctx.check_lost()?;
        let t0 = Instant::now();
        let sub = ctx.queue.submit([cmd]);
        let waited = gpu::wait(&ctx.device, sub, self.timeout, what);
        ctx.check_lost()?;
        waited?;
        let wall_ms = ms(t0.elapsed());
        let gpu_ms = match &self.queries {
            None => None,
            Some((_, _, read, period_ns)) => Some(self.read_timestamps(ctx, read, *period_ns)?),
        };
        Ok(RunTimes { wall_ms, gpu_ms })
    }

    fn read_timestamps(
        &self,
        ctx: &GpuContext,
        read: &wgpu::Buffer,
        period_ns: f64,
    ) -> Result<f64, ProfileError> {
        let (tx, rx) = std::sync::mpsc::channel();
        read.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        gpu::wait_all(&ctx.device, self.timeout, "mapping timestamps")?;
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(())) => {}
            _ => return Err(ProfileError::DeviceLost("timestamp map failed".into())),
        }
        let ticks: [u64; 2] = {
            let view = read.get_mapped_range(..).map_err(|e| ProfileError::Gpu {
                context: "reading timestamps".into(),
                reason: e.to_string(),
            })?;
            let words: &[u64] = bytemuck::cast_slice(&view[..]);
            [words[0], words[1]]
        };
        read.unmap();
        Ok(ticks[1].wrapping_sub(ticks[0]) as f64 * period_ns / 1e6)
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
    use super::reference::{Rng, gemm_f64, quantize_all, rel_frobenius};
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
