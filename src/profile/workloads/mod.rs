//! profile layer: the workloads a profile run measures on every device — the MLP
//! micro-benchmarks (fused GEMM + bias + GELU layers, [`mlp`]) and their GPU batch
//! sweep ([`sweep`]) — and real transformers from Hugging Face configs
//! ([`transformer`]). The CPU path of the same work is in [`super::cpu`].

pub mod mlp;
pub mod sweep;
pub mod transformer;

use serde::{Deserialize, Serialize};

use crate::profile::ProfileError;
use mlp::{MlpPreset, PRESETS};
use transformer::TransformerConfig;
use transformer::config::SHIPPED;

/// The models a run measures, resolved from their names: MLP presets and transformer
/// configs (shipped names or `.json` paths), each in the order given.
#[derive(Clone, Debug, Default)]
pub struct Models {
    /// MLP micro-benchmarks.
    pub mlps: Vec<MlpPreset>,
    /// Transformers from Hugging Face configs.
    pub transformers: Vec<TransformerConfig>,
}

impl Models {
    /// Resolves `names`: an MLP preset name first, then a shipped config or a `.json` file.
    pub fn resolve(names: &[String]) -> Result<Self, ProfileError> {
        let mut models = Models::default();
        for name in names {
            if let Ok(preset) = MlpPreset::by_name(name) {
                models.mlps.push(preset);
            } else if TransformerConfig::is_transformer_name(name) {
                models.transformers.push(TransformerConfig::lookup(name)?);
            } else {
                let mlps: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                let configs: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
                return Err(ProfileError::Invalid(format!(
                    "unknown model `{name}` (known: MLP presets {}; transformers {}; or a config.json path)",
                    mlps.join(", "),
                    configs.join(", ")
                )));
            }
        }
        Ok(models)
    }
}

/// What a report row measured: a GEMM, an MLP preset, or a pass of a transformer.
/// Written in reports as `gemm`, `mlp:<preset>`, `encoder:<model>`, `prefill:<model>`
/// or `decode:<model>` (strings, in JSON and RON alike).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Workload {
    /// A square or model-shaped GEMM (autotuned on GPUs).
    Gemm,
    /// An MLP preset (see [`mlp::PRESETS`]) by name, e.g. `bert-base`.
    Mlp(String),
    /// A transformer encoder's forward pass over whole sequences, by config name.
    Encoder(String),
    /// A decoder's prompt pass (causal, filling the KV cache), by config name.
    Prefill(String),
    /// A decoder's one-token step against a KV cache, by config name.
    Decode(String),
}

/// The prefixes of the named workloads, in the order [`Workload::label`] writes them.
const PREFIXES: [&str; 4] = ["mlp:", "encoder:", "prefill:", "decode:"];

impl Workload {
    /// The report's text: `gemm`, `mlp:<preset>`, `encoder:<model>`, …
    pub fn label(&self) -> String {
        match self {
            Workload::Gemm => "gemm".to_owned(),
            Workload::Mlp(name) => format!("mlp:{name}"),
            Workload::Encoder(name) => format!("encoder:{name}"),
            Workload::Prefill(name) => format!("prefill:{name}"),
            Workload::Decode(name) => format!("decode:{name}"),
        }
    }

    /// The MLP preset's name, for MLP rows.
    pub fn mlp_name(&self) -> Option<&str> {
        match self {
            Workload::Mlp(name) => Some(name),
            _ => None,
        }
    }

    /// The transformer config's name, for encoder rows only.
    pub fn encoder_name(&self) -> Option<&str> {
        match self {
            Workload::Encoder(name) => Some(name),
            _ => None,
        }
    }

    /// The transformer config's name, for encoder, prefill and decode rows.
    pub fn transformer_name(&self) -> Option<&str> {
        match self {
            Workload::Encoder(name) | Workload::Prefill(name) | Workload::Decode(name) => {
                Some(name)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.label())
    }
}

impl From<Workload> for String {
    fn from(w: Workload) -> Self {
        w.label()
    }
}

impl TryFrom<String> for Workload {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        if text == "gemm" {
            return Ok(Workload::Gemm);
        }
        let named = PREFIXES.iter().enumerate().find_map(|(i, p)| {
            let name = text.strip_prefix(p).filter(|n| !n.is_empty())?.to_owned();
            Some(match i {
                0 => Workload::Mlp(name),
                1 => Workload::Encoder(name),
                2 => Workload::Prefill(name),
                _ => Workload::Decode(name),
            })
        });
        named.ok_or_else(|| {
            format!(
                "unknown workload `{text}` (expected gemm, mlp:<preset>, encoder:<model>, prefill:<model> or decode:<model>)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_written_as_before() {
        let rows = vec![Workload::Gemm, Workload::Mlp("bert-base".into())];
        let json = serde_json::to_string(&rows).unwrap();
        assert_eq!(json, r#"["gemm","mlp:bert-base"]"#);
        let ron_text = ron::to_string(&rows).unwrap();
        assert_eq!(ron_text, r#"["gemm","mlp:bert-base"]"#);
        let back: Vec<Workload> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rows);
        assert!(serde_json::from_str::<Workload>(r#""mlp:""#).is_err());
        assert!(serde_json::from_str::<Workload>(r#""conv""#).is_err());
        let tf = vec![
            Workload::Encoder("bert-base-uncased".into()),
            Workload::Prefill("gpt2".into()),
            Workload::Decode("Llama-3.2-1B".into()),
        ];
        let json = serde_json::to_string(&tf).unwrap();
        assert_eq!(
            json,
            r#"["encoder:bert-base-uncased","prefill:gpt2","decode:Llama-3.2-1B"]"#
        );
        assert_eq!(serde_json::from_str::<Vec<Workload>>(&json).unwrap(), tf);
        assert!(serde_json::from_str::<Workload>(r#""decode:""#).is_err());
    }
}
