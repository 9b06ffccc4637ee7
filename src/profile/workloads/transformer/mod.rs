//! profile layer: real transformer models — shapes from Hugging Face `config.json`
//! ([`config`]), exact FLOP and byte accounting ([`accounting`]) and its split by
//! operator ([`ops`]), seeded random weights ([`weights`]) or a safetensors
//! checkpoint's ([`checkpoint`]), and the f64 reference forward pass ([`reference`])
//! every device's forward pass is verified against. The CPU forward pass is in
//! [`crate::profile::cpu::transformer`].

pub mod accounting;
pub mod checkpoint;
pub mod config;
pub mod hf_names;
pub mod op_time;
pub mod ops;
pub mod reference;
pub mod run;
pub mod weights;

pub use config::{Family, TransformerConfig};

use super::Workload;

/// Which pass of a transformer a row measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pass {
    /// An encoder over whole sequences (no mask, no cache).
    Encoder,
    /// A decoder's prompt: whole sequences, causal, filling the KV cache.
    Prefill,
    /// A decoder's step: one new token per sequence against a KV cache.
    Decode,
}

impl Pass {
    /// The passes a family is measured in: encoders once, decoders as prefill + decode.
    pub fn for_family(family: Family) -> &'static [Pass] {
        if family.is_decoder() {
            &[Pass::Prefill, Pass::Decode]
        } else {
            &[Pass::Encoder]
        }
    }

    /// The report's workload for this pass of `model`.
    pub fn workload(self, model: &str) -> Workload {
        let name = model.to_owned();
        match self {
            Pass::Encoder => Workload::Encoder(name),
            Pass::Prefill => Workload::Prefill(name),
            Pass::Decode => Workload::Decode(name),
        }
    }

    /// Causal attention (decoders).
    pub fn causal(self) -> bool {
        self != Pass::Encoder
    }
}
