//! profile layer: the workloads a profile run measures on every device — the MLP
//! micro-benchmarks (fused GEMM + bias + GELU layers, [`mlp`]) and their GPU batch
//! sweep ([`sweep`]). The CPU path of the same work is in [`super::cpu`].

pub mod mlp;
pub mod sweep;

use serde::{Deserialize, Serialize};

/// What a report row measured: a GEMM, or an MLP preset. Written in reports as `gemm`
/// or `mlp:<preset>` (strings, in JSON and RON alike).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Workload {
    /// A square or model-shaped GEMM (autotuned on GPUs).
    Gemm,
    /// An MLP preset (see [`mlp::PRESETS`]) by name, e.g. `bert-base`.
    Mlp(String),
}

impl Workload {
    /// The report's text: `gemm` or `mlp:<preset>`.
    pub fn label(&self) -> String {
        match self {
            Workload::Gemm => "gemm".to_owned(),
            Workload::Mlp(name) => format!("mlp:{name}"),
        }
    }

    /// The MLP preset's name, for MLP rows.
    pub fn mlp_name(&self) -> Option<&str> {
        match self {
            Workload::Mlp(name) => Some(name),
            Workload::Gemm => None,
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
        match text.strip_prefix("mlp:") {
            _ if text == "gemm" => Ok(Workload::Gemm),
            Some(name) if !name.is_empty() => Ok(Workload::Mlp(name.to_owned())),
            _ => Err(format!(
                "unknown workload `{text}` (expected gemm or mlp:<preset>)"
            )),
        }
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
    }
}
