//! profile layer: the MLP presets on the CPU — `gemm` crate GEMMs on all cores with the
//! bias + GELU epilogue in f32, f32 or f16 storage — verified and swept like on the GPU.

use std::time::Instant;

use half::f16;

use crate::profile::cpu::matmul;
use crate::profile::reference::{Rng, gelu, quantize_all, rel_frobenius};
use crate::profile::report::ResultRow;
use crate::profile::stats::{SamplingBudget, measure};
use crate::profile::workloads::mlp::{HostLayer, MlpPreset, random_weights, reference_forward};
use crate::profile::{Precision, ProfileError};

fn epilogue(row_major: &mut [f32], bias: &[f32], with_gelu: bool) {
    for row in row_major.chunks_mut(bias.len().max(1)) {
        for (v, b) in row.iter_mut().zip(bias) {
            let x = *v + b;
            *v = if with_gelu {
                gelu(f64::from(x)) as f32
            } else {
                x
            };
        }
    }
}

/// An MLP preset with host weights, run on the CPU.
pub struct CpuMlp {
    preset: MlpPreset,
    precision: Precision,
    layers: Vec<HostLayer>,
    layers_f16: Vec<[Vec<f16>; 2]>,
}

impl CpuMlp {
    /// Random weights for `preset`; `precision` must be f32 or f16.
    pub fn new(preset: MlpPreset, precision: Precision) -> Result<Self, ProfileError> {
        if let Some(why) = crate::profile::cpu::why_unsupported(precision) {
            return Err(ProfileError::Invalid(why));
        }
        let layers = random_weights(preset, precision);
        let to16 = |v: &[f32]| v.iter().map(|&x| f16::from_f32(x)).collect::<Vec<_>>();
        let layers_f16 = match precision {
            Precision::F16 => layers.iter().map(|l| [to16(&l.w1), to16(&l.w2)]).collect(),
            _ => Vec::new(),
        };
        Ok(CpuMlp {
            preset,
            precision,
            layers,
            layers_f16,
        })
    }

    /// Forward pass of `batch` rows of `input` (batch × d_model).
    pub fn forward(&self, input: &[f32], batch: usize) -> Vec<f32> {
        let (d, h) = (self.preset.d_model, self.preset.d_hidden);
        let mut x = input.to_vec();
        let mut hid = vec![0.0f32; batch * h];
        let mut y = vec![0.0f32; batch * d];
        for (i, l) in self.layers.iter().enumerate() {
            match self.layers_f16.get(i) {
                None => {
                    matmul((batch, h, d), &x, &l.w1, &mut hid, (0.0, 1.0));
                    epilogue(&mut hid, &l.b1, true);
                    matmul((batch, d, h), &hid, &l.w2, &mut y, (0.0, 1.0));
                }
                Some([w1, w2]) => {
                    let x16: Vec<f16> = x.iter().map(|&v| f16::from_f32(v)).collect();
                    let mut h16 = vec![f16::ZERO; batch * h];
                    matmul((batch, h, d), &x16, w1, &mut h16, (f16::ZERO, f16::ONE));
                    hid.iter_mut().zip(&h16).for_each(|(o, v)| *o = v.to_f32());
                    epilogue(&mut hid, &l.b1, true);
                    let hid16: Vec<f16> = hid.iter().map(|&v| f16::from_f32(v)).collect();
                    let mut y16 = vec![f16::ZERO; batch * d];
                    matmul((batch, d, h), &hid16, w2, &mut y16, (f16::ZERO, f16::ONE));
                    y.iter_mut().zip(&y16).for_each(|(o, v)| *o = v.to_f32());
                }
            }
            epilogue(&mut y, &l.b2, false);
            x = quantize_all(self.precision, &y);
        }
        x
    }

    /// Relative error of a forward pass against the f64 reference at `batch`.
    pub fn verify(&self, batch: usize) -> f64 {
        let input = quantize_all(
            self.precision,
            &Rng::from_time().vec(batch * self.preset.d_model, 1.0),
        );
        let want = reference_forward(&self.layers, self.preset, self.precision, &input, batch);
        rel_frobenius(&self.forward(&input, batch), &want)
    }
}

/// Verifies `preset` at the smallest batch (capped at 8), then one timed row per batch.
pub fn sweep(
    preset: MlpPreset,
    precision: Precision,
    batches: &[usize],
    budget: &SamplingBudget,
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<ResultRow>, ProfileError> {
    let model = CpuMlp::new(preset, precision)?;
    let err = model.verify(batches.iter().copied().min().unwrap_or(1).min(8));
    let correct = err <= precision.tolerance();
    let mut rows = Vec::new();
    for &b in batches {
        if cancelled() {
            break;
        }
        let shape = (b, preset.d_model, preset.d_model);
        let mut row = ResultRow::new(
            "cpu",
            preset.workload(),
            precision,
            "gemm-crate+epilogue",
            shape,
        );
        row.batch = Some(b);
        row.rel_error = Some(err);
        row.correct = correct;
        row.chosen = correct;
        if correct {
            let input = Rng::from_time().vec(b * preset.d_model, 1.0);
            let t = measure(crate::profile::stats::TimingMethod::Wall, budget, || {
                let t0 = Instant::now();
                std::hint::black_box(model.forward(&input, b));
                Ok(t0.elapsed().as_secs_f64() * 1e3)
            })?;
            let bytes = (preset.weight_elements() * precision.bytes_per_element()) as f64;
            if t.median_ms > 0.0 {
                row.items_per_s = Some(b as f64 / (t.median_ms / 1e3));
            }
            row.set_timing_with(t, preset.flops_per_item() * b as f64, bytes);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// CPU memory bandwidth (read + write) of a 64 MiB copy, in GB/s.
pub fn bandwidth_gbytes_per_s(budget: &SamplingBudget) -> Result<f64, ProfileError> {
    let n = 16 << 20;
    let src = vec![1.0f32; n];
    let mut dst = vec![0.0f32; n];
    let t = measure(crate::profile::stats::TimingMethod::Wall, budget, || {
        let t0 = Instant::now();
        dst.copy_from_slice(&src);
        std::hint::black_box(&dst);
        Ok(t0.elapsed().as_secs_f64() * 1e3)
    })?;
    Ok(2.0 * (n * 4) as f64 / (t.median_ms * 1e6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::workloads::mlp::PRESETS;

    #[test]
    fn cpu_mlp_matches_reference_and_refuses_bf16() {
        let small = PRESETS[2];
        for p in [Precision::F32, Precision::F16] {
            let err = CpuMlp::new(small, p).expect("supported").verify(3);
            assert!(err <= p.tolerance(), "{}: {err}", p.name());
        }
        assert!(CpuMlp::new(small, Precision::Bf16).is_err());
    }

    #[test]
    fn cpu_gemm_is_correct() {
        for p in [Precision::F32, Precision::F16] {
            let mut g = crate::profile::cpu::CpuGemm::new(p, (33, 17, 65)).expect("supported");
            g.run();
            assert!(g.rel_error() <= p.tolerance());
        }
    }
}
