//! profile layer: MLP inference presets (fused GEMM + bias + GELU layers) on the GPU,
//! verified against an f64 reference and swept over batch sizes.

use std::time::Instant;

use crate::profile::gpu::buffers::{Operands, Timer, encode, storage_buffer};
use crate::profile::gpu::kernels::{GemmKernel, GemmLayout};
use crate::profile::gpu::{self, GpuContext, ms};
use crate::profile::reference::{Epilogue, Rng, gemm_f64, quantize, quantize_all, rel_frobenius};
use crate::profile::{Precision, ProfileError};

/// An MLP preset: `layers` × (d_model → d_hidden with GELU, d_hidden → d_model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MlpPreset {
    /// Preset name (`bert-base`, `distilled`, `small`).
    pub name: &'static str,
    /// Model width.
    pub d_model: usize,
    /// FFN hidden width.
    pub d_hidden: usize,
    /// Number of FFN layers.
    pub layers: usize,
}

/// All presets.
pub const PRESETS: [MlpPreset; 3] = [
    MlpPreset {
        name: "bert-base",
        d_model: 768,
        d_hidden: 3072,
        layers: 12,
    },
    MlpPreset {
        name: "distilled",
        d_model: 768,
        d_hidden: 3072,
        layers: 6,
    },
    MlpPreset {
        name: "small",
        d_model: 256,
        d_hidden: 1024,
        layers: 2,
    },
];

impl MlpPreset {
    /// Looks a preset up by name.
    pub fn by_name(name: &str) -> Result<Self, ProfileError> {
        PRESETS.into_iter().find(|p| p.name == name).ok_or_else(|| {
            let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
            ProfileError::Invalid(format!(
                "unknown model `{name}` (known: {})",
                names.join(", ")
            ))
        })
    }

    /// FLOPs for one item (one row of the batch) through every layer.
    pub fn flops_per_item(&self) -> f64 {
        4.0 * (self.d_model * self.d_hidden * self.layers) as f64
    }

    /// Weight and bias elements in the whole model.
    pub fn weight_elements(&self) -> usize {
        self.layers * (2 * self.d_model * self.d_hidden + self.d_model + self.d_hidden)
    }

    /// Workload name in reports, `mlp:<name>`.
    pub fn workload(&self) -> super::Workload {
        super::Workload::Mlp(self.name.to_owned())
    }
}

/// Host copy of one layer's weights (already rounded to the storage precision).
pub struct HostLayer {
    /// Up-projection, d_model × d_hidden, row-major.
    pub w1: Vec<f32>,
    /// Up-projection bias.
    pub b1: Vec<f32>,
    /// Down-projection, d_hidden × d_model, row-major.
    pub w2: Vec<f32>,
    /// Down-projection bias.
    pub b2: Vec<f32>,
}

/// Random weights for every layer of `preset`, scaled to keep activations O(1) and
/// rounded to `precision`.
pub fn random_weights(preset: MlpPreset, precision: Precision) -> Vec<HostLayer> {
    let (d, h) = (preset.d_model, preset.d_hidden);
    let mut rng = Rng::from_time();
    (0..preset.layers)
        .map(|_| HostLayer {
            w1: quantize_all(precision, &rng.vec(d * h, 1.7 / (d as f32).sqrt())),
            b1: quantize_all(precision, &rng.vec(h, 0.1)),
            w2: quantize_all(precision, &rng.vec(h * d, 1.7 / (h as f32).sqrt())),
            b2: quantize_all(precision, &rng.vec(d, 0.1)),
        })
        .collect()
}

/// f64 reference forward pass of `batch` rows, rounding each stored activation to
/// `precision` as the kernels do.
pub fn reference_forward(
    layers: &[HostLayer],
    preset: MlpPreset,
    precision: Precision,
    input: &[f32],
    batch: usize,
) -> Vec<f64> {
    let (d, h, p) = (preset.d_model, preset.d_hidden, precision);
    let mut x = input.to_vec();
    let mut out = Vec::new();
    for l in layers {
        let hid = gemm_f64(&x, &l.w1, &l.b1, (batch, h, d), Epilogue::BiasGelu);
        let hid: Vec<f32> = hid.iter().map(|&v| quantize(p, v as f32)).collect();
        out = gemm_f64(&hid, &l.w2, &l.b2, (batch, d, h), Epilogue::Bias);
        x = out.iter().map(|&v| quantize(p, v as f32)).collect();
    }
    out
}

/// An MLP's weights resident on a device.
pub struct MlpModel {
    /// The preset.
    pub preset: MlpPreset,
    /// Storage precision.
    pub precision: Precision,
    host: Vec<HostLayer>,
    device_layers: Vec<[wgpu::Buffer; 4]>,
    /// Milliseconds to upload all weights (until the queue finished).
    pub upload_ms: f64,
    /// Bytes uploaded.
    pub upload_bytes: u64,
}

impl MlpModel {
    /// Random weights (scaled to keep activations O(1)) uploaded to `ctx`.
    pub fn upload(
        ctx: &GpuContext,
        preset: MlpPreset,
        precision: Precision,
    ) -> Result<Self, ProfileError> {
        let (d, h) = (preset.d_model, preset.d_hidden);
        let host = random_weights(preset, precision);
        let encoded: Vec<[Vec<u8>; 4]> = host
            .iter()
            .map(|l| {
                [
                    encode(precision, &l.w1, d, h),
                    encode(precision, &l.b1, 1, h),
                    encode(precision, &l.w2, h, d),
                    encode(precision, &l.b2, 1, d),
                ]
            })
            .collect();
        let upload_bytes = encoded.iter().flatten().map(|b| b.len() as u64).sum();
        let t0 = Instant::now();
        let device_layers = gpu::scoped(&ctx.device, "uploading weights", || {
            encoded
                .iter()
                .map(|bufs| {
                    bufs.clone()
                        .map(|b| storage_buffer(&ctx.device, "weights", &b))
                })
                .collect::<Vec<_>>()
        })?;
        gpu::wait_all(
            &ctx.device,
            std::time::Duration::from_secs(120),
            "uploading weights",
        )?;
        Ok(MlpModel {
            preset,
            precision,
            host,
            device_layers,
            upload_ms: ms(t0.elapsed()),
            upload_bytes,
        })
    }

    /// Binds a forward pass for `batch` rows (fresh random input) to `layout`.
    pub fn bind(&self, ctx: &GpuContext, layout: &GemmLayout, batch: usize) -> MlpBatch {
        let (d, h, p) = (self.preset.d_model, self.preset.d_hidden, self.precision);
        let input = quantize_all(p, &Rng::from_time().vec(batch * d, 1.0));
        // The input is never overwritten, so a bound pass can be re-run: layer 0 reads it,
        // later layers ping-pong between two activation buffers.
        let x_in = storage_buffer(&ctx.device, "input", &encode(p, &input, batch, d));
        let x0 = storage_buffer(
            &ctx.device,
            "act0",
            &encode(p, &vec![0.0; batch * d], batch, d),
        );
        let x1 = storage_buffer(
            &ctx.device,
            "act1",
            &encode(p, &vec![0.0; batch * d], batch, d),
        );
        let hid = storage_buffer(
            &ctx.device,
            "hidden",
            &encode(p, &vec![0.0; batch * h], batch, h),
        );
        let mut ops = Vec::new();
        for (l, [w1, b1, w2, b2]) in self.device_layers.iter().enumerate() {
            let (src, dst) = match l {
                0 => (&x_in, &x0),
                _ if l % 2 == 1 => (&x0, &x1),
                _ => (&x1, &x0),
            };
            ops.push(Operands::bind(
                &ctx.device,
                layout,
                p,
                (batch, h, d),
                Epilogue::BiasGelu,
                [src, w1, b1],
                &hid,
            ));
            ops.push(Operands::bind(
                &ctx.device,
                layout,
                p,
                (batch, d, h),
                Epilogue::Bias,
                [&hid, w2, b2],
                dst,
            ));
        }
        MlpBatch { batch, input, ops }
    }

    /// f64 reference of the forward pass (see [`reference_forward`]).
    pub fn reference(&self, input: &[f32], batch: usize) -> Vec<f64> {
        reference_forward(&self.host, self.preset, self.precision, input, batch)
    }
}

/// A forward pass bound for one batch size.
pub struct MlpBatch {
    /// Rows in the batch.
    pub batch: usize,
    /// The input rows (already rounded to the storage precision).
    pub input: Vec<f32>,
    ops: Vec<Operands>,
}

impl MlpBatch {
    /// Runs the forward pass once with `kernel` for every layer.
    pub fn run(
        &self,
        ctx: &GpuContext,
        timer: &Timer,
        kernel: &GemmKernel,
    ) -> Result<f64, ProfileError> {
        let work: Vec<(&GemmKernel, &Operands)> = self.ops.iter().map(|o| (kernel, o)).collect();
        let t = timer.run(ctx, &work, "MLP forward pass")?;
        Ok(t.gpu_ms.unwrap_or(t.wall_ms))
    }

    /// Runs once with `kernel` and returns the relative error of the output against the
    /// precomputed reference `want`.
    pub fn error_against(
        &self,
        ctx: &GpuContext,
        timer: &Timer,
        kernel: &GemmKernel,
        want: &[f64],
    ) -> Result<f64, ProfileError> {
        self.run(ctx, timer, kernel)?;
        let last = self
            .ops
            .last()
            .ok_or_else(|| ProfileError::Invalid("model without layers".into()))?;
        Ok(rel_frobenius(&last.read_c(ctx, timer.timeout)?, want))
    }

    /// Runs once and returns the relative error of the output against `model.reference`.
    pub fn verify(
        &self,
        ctx: &GpuContext,
        timer: &Timer,
        kernel: &GemmKernel,
        model: &MlpModel,
    ) -> Result<f64, ProfileError> {
        self.run(ctx, timer, kernel)?;
        let last = self
            .ops
            .last()
            .ok_or_else(|| ProfileError::Invalid("model without layers".into()))?;
        let got = last.read_c(ctx, timer.timeout)?;
        Ok(rel_frobenius(
            &got,
            &model.reference(&self.input, self.batch),
        ))
    }
}
