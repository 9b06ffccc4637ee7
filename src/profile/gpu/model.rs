//! profile layer: a transformer's weights on the GPU, shared by the encoder and decoder
//! passes — projections with their bias, norms and blocks uploaded once per (model,
//! precision) — and the one way a projection is bound as a GEMM step.

use crate::profile::gpu::buffers::{Operands, encode, storage_buffer};
use crate::profile::gpu::kernels::GemmLayout;
use crate::profile::gpu::{GpuContext, scoped};
use crate::profile::reference::Epilogue;
use crate::profile::workloads::transformer::weights::{NormWeights, Weights};
use crate::profile::{Precision, ProfileError};

/// A matrix on the device with its bias (`None` without linear bias).
pub(super) struct Linear {
    pub(super) w: wgpu::Buffer,
    pub(super) bias: Option<wgpu::Buffer>,
    /// Input and output columns.
    pub(super) k: usize,
    pub(super) n: usize,
}

impl Linear {
    /// Binds `out = a · w (+ bias)` over `rows` rows; `no_bias` is bound in the bias
    /// slot when there is none (never read: the epilogue adds nothing).
    #[allow(clippy::too_many_arguments)] // each argument is one plain dimension or buffer
    pub(super) fn bind(
        &self,
        dev: &wgpu::Device,
        layout: &GemmLayout,
        precision: Precision,
        rows: usize,
        [a, out]: [&wgpu::Buffer; 2],
        no_bias: &wgpu::Buffer,
    ) -> Operands {
        let (epi, bias) = match &self.bias {
            Some(b) => (Epilogue::Bias, b),
            None => (Epilogue::None, no_bias),
        };
        Operands::bind(
            dev,
            layout,
            precision,
            (rows, self.n, self.k),
            epi,
            [a, &self.w, bias],
            out,
        )
    }
}

/// One norm's gamma and beta (zeros for RMSNorm, which never reads them).
pub(super) struct GpuNorm {
    pub(super) gamma: wgpu::Buffer,
    pub(super) beta: wgpu::Buffer,
}

/// One block: Q, K and V as three projections (attention reads them separately); a
/// gated MLP's up projection split into its gate and up halves.
pub(super) struct GpuLayer {
    pub(super) q: Linear,
    pub(super) k: Linear,
    pub(super) v: Linear,
    pub(super) o: Linear,
    /// The gate half of a gated MLP (`None` otherwise).
    pub(super) gate: Option<Linear>,
    pub(super) up: Linear,
    pub(super) down: Linear,
    pub(super) norm1: GpuNorm,
    pub(super) norm2: GpuNorm,
}

/// A model's weights on the device at one precision.
pub(super) struct DeviceModel {
    pub(super) tokens: wgpu::Buffer,
    pub(super) positions: Option<wgpu::Buffer>,
    /// The embedding LayerNorm (encoders) or the final norm (decoders).
    pub(super) outer: GpuNorm,
    pub(super) layers: Vec<GpuLayer>,
}

/// Columns `from..from + cols` of a row-major `rows × width` matrix.
pub(super) fn columns(m: &[f32], width: usize, from: usize, cols: usize) -> Vec<f32> {
    m.chunks(width)
        .flat_map(|r| r[from..from + cols].iter().copied())
        .collect()
}

/// `from..from + cols` of a bias (empty stays empty: no bias).
fn bias_part(b: &[f32], from: usize, cols: usize) -> Vec<f32> {
    b.get(from..from + cols)
        .map(<[f32]>::to_vec)
        .unwrap_or_default()
}

impl DeviceModel {
    /// Uploads `w` (already rounded to `precision`) inside an error scope named by
    /// `what`; sizes are the caller's to check against the adapter first.
    pub(super) fn upload(
        ctx: &GpuContext,
        w: &Weights,
        precision: Precision,
        what: &str,
    ) -> Result<Self, ProfileError> {
        let c = &w.cfg;
        let (d, i) = (c.hidden_size, c.intermediate_size);
        let up = |data: &[f32], rows, cols| {
            storage_buffer(&ctx.device, &c.name, &encode(precision, data, rows, cols))
        };
        let linear = |m: &[f32], bias: &[f32], (k, n): (usize, usize)| Linear {
            w: up(m, k, n),
            bias: (!bias.is_empty()).then(|| up(bias, 1, n)),
            k,
            n,
        };
        let norm = |n: &NormWeights| GpuNorm {
            gamma: up(&n.gamma, 1, d),
            beta: up(&n.beta, 1, d),
        };
        // A slice of a matrix's columns (with its bias) as a projection of its own.
        let split = |m: &[f32], b: &[f32], width: usize, (from, cols): (usize, usize)| {
            linear(
                &columns(m, width, from, cols),
                &bias_part(b, from, cols),
                (d, cols),
            )
        };
        let (qd, kvd) = (c.q_dim(), c.kv_dim());
        let width = qd + 2 * kvd;
        scoped(&ctx.device, what, || {
            let layers = w
                .layers
                .iter()
                .map(|l| {
                    let (gate, up) = if c.gated_mlp() {
                        // Gate columns first in w_up (d × 2i).
                        let gate = split(&l.w_up, &l.b_up, 2 * i, (0, i));
                        (Some(gate), split(&l.w_up, &l.b_up, 2 * i, (i, i)))
                    } else {
                        (None, linear(&l.w_up, &l.b_up, (d, i)))
                    };
                    GpuLayer {
                        q: split(&l.wqkv, &l.bqkv, width, (0, qd)),
                        k: split(&l.wqkv, &l.bqkv, width, (qd, kvd)),
                        v: split(&l.wqkv, &l.bqkv, width, (qd + kvd, kvd)),
                        o: linear(&l.wo, &l.bo, (qd, d)),
                        gate,
                        up,
                        down: linear(&l.w_down, &l.b_down, (i, d)),
                        norm1: norm(&l.norm1),
                        norm2: norm(&l.norm2),
                    }
                })
                .collect::<Vec<_>>();
            let positions = (!w.positions.is_empty()).then(|| up(&w.positions, c.max_positions, d));
            DeviceModel {
                tokens: up(&w.tokens, c.vocab_size, d),
                positions,
                outer: norm(&w.outer_norm),
                layers,
            }
        })
    }
}
