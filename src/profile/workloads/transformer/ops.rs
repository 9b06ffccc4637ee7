//! profile layer: where the work of one transformer pass lies, operator by operator —
//! the FLOPs and compulsory bytes of each operator kind as pure functions of the config,
//! and the per-kind times a device measured turned into a report row's `ops` (how they
//! are measured and their roofline share: [`super::op_time`]).
//!
//! FLOPs follow [`super::accounting`] exactly: the projections, attention and the LM head
//! carry FLOPs and their sum is the row's `flops_per_item × batch`; the operators the
//! accounting leaves out (norms, activations, RoPE, residual adds, the embedding gather,
//! the KV append) carry 0 FLOPs and are bound by their bytes alone.
//!
//! Bytes are what the operator must move if it runs as a kernel of its own: the weights
//! it reads (their sum over the operators is [`super::accounting::weights_read_bytes`]
//! exactly), the activations it reads and writes, the KV cache it writes or reads. The
//! sum over the operators is therefore larger than the row's compulsory bytes, which do
//! not count the intermediate activations a pass hands from one operator to the next.

use super::accounting as acc;
use super::{Family, Pass, TransformerConfig};
use crate::profile::report::OpTime;

/// FLOPs of one multiply-add.
const FLOPS_PER_MAC: f64 = 2.0;

/// An operator kind of a transformer pass; its calls in every block are summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Token (and learned position) rows gathered into the residual stream.
    Embedding,
    /// Every LayerNorm / RMSNorm: the blocks', the embedding norm (encoders) and the
    /// final norm (decoders).
    Norm,
    /// The Q, K and V projections with their bias.
    Qkv,
    /// Rotary position embedding of Q and K (Llama family).
    Rope,
    /// K and V written into the KV cache (decoders).
    KvAppend,
    /// Scores, softmax and the weighted sum of V.
    Attention,
    /// The attention output projection.
    OProj,
    /// The two residual adds of each block.
    Residual,
    /// The MLP's up projection (with the gate branch, Llama family).
    MlpUp,
    /// The MLP's activation (GELU, or SiLU times the gate).
    MlpAct,
    /// The MLP's down projection.
    MlpDown,
    /// The LM head over each sequence's last position (decoders).
    LmHead,
}

/// Milliseconds per operator kind, indexed by [`OpKind::index`].
pub type OpMs = [f64; OpKind::COUNT];

impl OpKind {
    /// How many kinds there are.
    pub const COUNT: usize = 12;
    /// Every kind, in the order a pass runs them.
    pub const ALL: [OpKind; OpKind::COUNT] = [
        OpKind::Embedding,
        OpKind::Norm,
        OpKind::Qkv,
        OpKind::Rope,
        OpKind::KvAppend,
        OpKind::Attention,
        OpKind::OProj,
        OpKind::Residual,
        OpKind::MlpUp,
        OpKind::MlpAct,
        OpKind::MlpDown,
        OpKind::LmHead,
    ];

    /// The report's name (`qkv`, `mlp_up`, …).
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Embedding => "embedding",
            OpKind::Norm => "norm",
            OpKind::Qkv => "qkv",
            OpKind::Rope => "rope",
            OpKind::KvAppend => "kv_append",
            OpKind::Attention => "attention",
            OpKind::OProj => "o_proj",
            OpKind::Residual => "residual",
            OpKind::MlpUp => "mlp_up",
            OpKind::MlpAct => "mlp_act",
            OpKind::MlpDown => "mlp_down",
            OpKind::LmHead => "lm_head",
        }
    }

    /// Its slot in an [`OpMs`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// True when a `pass` of `cfg` runs this operator at all.
    pub fn applies(self, cfg: &TransformerConfig, pass: Pass) -> bool {
        match self {
            OpKind::Rope => cfg.family == Family::Llama,
            OpKind::KvAppend | OpKind::LmHead => pass != Pass::Encoder,
            _ => true,
        }
    }
}

/// The work of one operator kind in one pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpWork {
    /// The operator.
    pub kind: OpKind,
    /// FLOPs, as [`super::accounting`] counts them.
    pub flops: f64,
    /// Weight bytes read (matrices, biases, norm weights).
    pub weight_bytes: f64,
    /// Activation and KV-cache bytes read and written.
    pub activation_bytes: f64,
}

impl OpWork {
    /// Every byte the operator moves.
    pub fn bytes(&self) -> f64 {
        self.weight_bytes + self.activation_bytes
    }
}

/// The work of every operator kind a `pass` of `cfg` runs over `batch` items of `len`
/// (tokens, or cached tokens for decode) at `elem_bytes` per element, in pass order.
pub fn op_work(
    cfg: &TransformerConfig,
    pass: Pass,
    (batch, len): (usize, usize),
    elem_bytes: usize,
) -> Vec<OpWork> {
    OpKind::ALL
        .iter()
        .filter(|k| k.applies(cfg, pass))
        .map(|&k| work_of(k, cfg, pass, (batch, len), elem_bytes))
        .collect()
}

fn work_of(
    kind: OpKind,
    cfg: &TransformerConfig,
    pass: Pass,
    (batch, len): (usize, usize),
    elem_bytes: usize,
) -> OpWork {
    let (d, q, kv, i) = (
        cfg.hidden_size as f64,
        cfg.q_dim() as f64,
        cfg.kv_dim() as f64,
        cfg.intermediate_size as f64,
    );
    let (b, e, layers) = (batch as f64, elem_bytes as f64, cfg.num_layers as f64);
    let rows = b * if pass == Pass::Decode {
        1.0
    } else {
        len as f64
    };
    let linear_bias = f64::from(u8::from(cfg.linear_bias()));
    let branches = if cfg.gated_mlp() { 2.0 } else { 1.0 };
    let norm_weights = if cfg.family == Family::Llama {
        d
    } else {
        2.0 * d
    };
    // A projection of `k → n` columns in every block: (FLOPs, weight elements,
    // activation elements) with `bias` elements of bias.
    let linear = |k: f64, n: f64, bias: f64| {
        (
            FLOPS_PER_MAC * rows * k * n * layers,
            (k * n + bias) * layers,
            rows * (k + n) * layers,
        )
    };
    let (flops, weights, acts) = match kind {
        OpKind::Embedding => {
            let tables = if cfg.family == Family::Llama {
                1.0
            } else {
                2.0
            };
            (0.0, 0.0, rows * d * (tables + 1.0))
        }
        OpKind::Norm => {
            let calls = 2.0 * layers + 1.0;
            (0.0, calls * norm_weights, calls * 2.0 * rows * d)
        }
        OpKind::Qkv => linear(
            d,
            q + 2.0 * kv,
            f64::from(u8::from(cfg.qkv_bias)) * (q + 2.0 * kv),
        ),
        OpKind::Rope => (0.0, 0.0, 2.0 * rows * (q + kv) * layers),
        OpKind::KvAppend => (0.0, 0.0, 2.0 * rows * 2.0 * kv * layers),
        OpKind::Attention => {
            let keys = if pass == Pass::Decode {
                b * (len as f64 + 1.0)
            } else {
                rows
            };
            let flops = b * acc::attention_flops(cfg, acc::attention_pairs(pass, len));
            (flops, 0.0, (2.0 * rows * q + 2.0 * keys * kv) * layers)
        }
        OpKind::OProj => linear(q, d, linear_bias * d),
        OpKind::Residual => (0.0, 0.0, 2.0 * 3.0 * rows * d * layers),
        OpKind::MlpUp => linear(d, i * branches, linear_bias * i * branches),
        OpKind::MlpAct => (0.0, 0.0, rows * (i * branches + i) * layers),
        OpKind::MlpDown => linear(i, d, linear_bias * d),
        OpKind::LmHead => {
            let vocab = cfg.vocab_size as f64;
            (b * acc::head_flops(cfg, pass), vocab * d, b * (d + vocab))
        }
    };
    OpWork {
        kind,
        flops,
        weight_bytes: weights * e,
        activation_bytes: acts * e,
    }
}

/// The report's `ops` for a row: every operator kind the pass runs (and any other kind
/// that measured time) with its ms from `ms`, its FLOPs and bytes; the roofline share is
/// filled later, once the peaks are known
/// ([`super::op_time::fill_pct_of_roofline`]).
pub fn op_times(
    cfg: &TransformerConfig,
    pass: Pass,
    shape: (usize, usize),
    elem_bytes: usize,
    ms: &OpMs,
) -> Vec<OpTime> {
    let work = op_work(cfg, pass, shape, elem_bytes);
    OpKind::ALL
        .iter()
        .filter_map(|&k| {
            let w = work.iter().find(|w| w.kind == k);
            let t = ms[k.index()];
            (w.is_some() || t > 0.0).then(|| OpTime {
                name: k.name().to_owned(),
                ms: t,
                flops: w.map_or(0.0, |w| w.flops),
                bytes: w.map_or(0.0, OpWork::bytes),
                pct_of_roofline: None,
                variant: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::workloads::transformer::config::SHIPPED;

    fn shipped() -> Vec<TransformerConfig> {
        SHIPPED
            .iter()
            .map(|(n, _)| TransformerConfig::lookup(n).expect("shipped config parses"))
            .collect()
    }

    #[test]
    fn op_flops_sum_exactly_to_the_rows_flops_for_every_shipped_config_and_pass() {
        for cfg in shipped() {
            for &pass in Pass::for_family(cfg.family) {
                for (batch, len) in [(1, 1), (3, 7), (1, 128), (8, 512)] {
                    let ops = op_work(&cfg, pass, (batch, len), 2);
                    let sum: f64 = ops.iter().map(|o| o.flops).sum();
                    let row = acc::flops_per_item(&cfg, pass, len) * batch as f64;
                    assert_eq!(sum, row, "{} {pass:?} b{batch} len{len}", cfg.name);
                }
            }
        }
    }

    #[test]
    fn op_weights_sum_exactly_to_the_weights_a_pass_reads_and_bytes_cover_the_row() {
        for cfg in shipped() {
            for &pass in Pass::for_family(cfg.family) {
                for e in [2, 4] {
                    let (batch, len) = (2, 64);
                    let ops = op_work(&cfg, pass, (batch, len), e);
                    let weights: f64 = ops.iter().map(|o| o.weight_bytes).sum();
                    assert_eq!(
                        weights,
                        acc::weights_read_bytes(&cfg, pass, e),
                        "{}",
                        cfg.name
                    );
                    // Per-operator traffic includes the activations handed between
                    // operators, so it is never below the pass's compulsory bytes.
                    let bytes: f64 = ops.iter().map(OpWork::bytes).sum();
                    let row = acc::bytes_per_pass(&cfg, pass, (batch, len), e);
                    assert!(bytes >= row, "{} {pass:?}: {bytes} < {row}", cfg.name);
                }
            }
        }
    }

    #[test]
    fn each_family_runs_its_own_operators() {
        let names = |model: &str, pass| -> Vec<&str> {
            let cfg = TransformerConfig::lookup(model).expect("shipped");
            op_work(&cfg, pass, (1, 8), 4)
                .iter()
                .map(|o| o.kind.name())
                .collect()
        };
        let encoder = [
            "embedding",
            "norm",
            "qkv",
            "attention",
            "o_proj",
            "residual",
            "mlp_up",
            "mlp_act",
            "mlp_down",
        ];
        assert_eq!(names("tiny-bert", Pass::Encoder), encoder);
        let gpt2 = names("tiny-gpt2", Pass::Prefill);
        assert!(
            gpt2.contains(&"kv_append") && gpt2.contains(&"lm_head") && !gpt2.contains(&"rope")
        );
        assert_eq!(names("tiny-llama", Pass::Decode).len(), OpKind::COUNT);
        // A matmul of (m×k)·(k×n) is 2·m·n·k: tiny-bert's up projection, 8 tokens, 2 blocks.
        let cfg = TransformerConfig::lookup("tiny-bert").expect("shipped");
        let up = work_of(OpKind::MlpUp, &cfg, Pass::Encoder, (1, 8), 4);
        assert_eq!(up.flops, 2.0 * 8.0 * 64.0 * 128.0 * 2.0);
        assert_eq!(up.weight_bytes, (64.0 * 128.0 + 128.0) * 2.0 * 4.0);
    }
}
