//! Plan layer: `service.llm.model` → the decoder's shape → weights and KV bytes per
//! token ([`crate::model::llm_shape`]). The model is a config shipped in `models/`
//! (the files the profiler embeds) or a Hugging Face `config.json` path; the keys read
//! are the profiler's, and `tests/llm_footprint.rs` checks both read the same shape.

use std::path::Path;

use serde_json::{Map, Value};

use crate::model::Plan;
use crate::model::llm_shape::DecoderShape;

/// The decoder configs shipped in `models/` (the profiler's decoders), by name.
pub const SHIPPED_DECODERS: [(&str, &str); 8] = [
    ("gpt2", include_str!("../../models/gpt2.json")),
    (
        "Llama-3.2-1B",
        include_str!("../../models/Llama-3.2-1B.json"),
    ),
    (
        "Llama-3.1-8B",
        include_str!("../../models/Llama-3.1-8B.json"),
    ),
    (
        "Qwen2.5-0.5B",
        include_str!("../../models/Qwen2.5-0.5B.json"),
    ),
    (
        "TinyLlama-1.1B",
        include_str!("../../models/TinyLlama-1.1B.json"),
    ),
    ("tiny-gpt2", include_str!("../../models/tiny-gpt2.json")),
    ("tiny-llama", include_str!("../../models/tiny-llama.json")),
    ("tiny-qwen2", include_str!("../../models/tiny-qwen2.json")),
];

/// GPT-2's MLP is 4·n_embd wide when `n_inner` is null or absent.
const GPT2_MLP_RATIO: u64 = 4;

/// Fills `service.llm.footprint` from its model; `base` is the folder a relative
/// `config.json` path is read from. The error is one line naming the model and why.
pub fn resolve(plan: &mut Plan, base: Option<&Path>) -> Result<(), String> {
    let Some(llm) = plan.service.llm.as_mut() else {
        return Ok(());
    };
    let shape = shape_of(&llm.model, base)?;
    llm.footprint = Some(shape.footprint(llm.precision));
    Ok(())
}

/// Most characters of a user's model name or path an error repeats: the error stays
/// one short line whatever was typed.
const MAX_NAME_CHARS: usize = 80;

/// `s`, cut to [`MAX_NAME_CHARS`] with an ellipsis when longer.
fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_NAME_CHARS {
        s.to_owned()
    } else {
        let head: String = s.chars().take(MAX_NAME_CHARS).collect();
        format!("{head}...")
    }
}

/// The decoder shape of a shipped config name (any case) or a `.json` path.
pub fn shape_of(model: &str, base: Option<&Path>) -> Result<DecoderShape, String> {
    if model.ends_with(".json") {
        let path = match base {
            Some(dir) if Path::new(model).is_relative() => dir.join(model),
            _ => Path::new(model).to_owned(),
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", clip(&path.display().to_string())))?;
        return parse(&path.display().to_string(), &text);
    }
    let (name, text) = SHIPPED_DECODERS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(model))
        .ok_or_else(|| {
            let known: Vec<&str> = SHIPPED_DECODERS.iter().map(|d| d.0).collect();
            format!(
                "unknown model `{}` (shipped decoders: {}; or a config.json path)",
                clip(model),
                known.join(", ")
            )
        })?;
    parse(&format!("models/{name}.json"), text)
}

/// A decoder's shape from config.json text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<DecoderShape, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("{file}: not JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| format!("{file}: not a JSON object"))?;
    let k = Keys { file, obj };
    let model_type = match obj.get("model_type") {
        Some(Value::String(s)) => s.as_str(),
        _ => {
            return Err(format!(
                "{file}: key `model_type` is missing or not a string"
            ));
        }
    };
    let shape = match model_type {
        "gpt2" => {
            let (d, heads) = (k.size("n_embd", None)?, k.size("n_head", None)?);
            DecoderShape {
                vocab_size: k.size("vocab_size", None)?,
                hidden_size: d,
                intermediate_size: k.size("n_inner", Some(GPT2_MLP_RATIO * d))?,
                num_layers: k.size("n_layer", None)?,
                num_heads: heads,
                num_kv_heads: heads,
                head_dim: d / heads.max(1),
                learned_positions: k.size("n_positions", None)?,
                llama_family: false,
                qkv_bias: true,
                tied_embeddings: true,
            }
        }
        "llama" | "qwen2" | "mistral" => {
            let d = k.size("hidden_size", None)?;
            let heads = k.size("num_attention_heads", None)?;
            DecoderShape {
                vocab_size: k.size("vocab_size", None)?,
                hidden_size: d,
                intermediate_size: k.size("intermediate_size", None)?,
                num_layers: k.size("num_hidden_layers", None)?,
                num_heads: heads,
                num_kv_heads: k.size("num_key_value_heads", Some(heads))?,
                head_dim: k.size("head_dim", Some(d / heads.max(1)))?,
                learned_positions: 0,
                llama_family: true,
                qkv_bias: model_type == "qwen2" || k.flag("attention_bias", false)?,
                tied_embeddings: k.flag("tie_word_embeddings", false)?,
            }
        }
        other => {
            return Err(format!(
                "{file}: model_type `{other}` is not a decoder costscope serves (gpt2, llama, qwen2, mistral)"
            ));
        }
    };
    let sizes = [
        shape.vocab_size,
        shape.hidden_size,
        shape.intermediate_size,
        shape.num_layers,
        shape.num_heads,
        shape.num_kv_heads,
        shape.head_dim,
    ];
    if sizes.contains(&0) {
        return Err(format!("{file}: every size must be at least 1"));
    }
    Ok(shape)
}

/// Typed access to a config's keys with errors naming the file and the key.
struct Keys<'a> {
    file: &'a str,
    obj: &'a Map<String, Value>,
}

impl Keys<'_> {
    /// A non-negative integer; `default` when absent or null.
    fn size(&self, key: &str, default: Option<u64>) -> Result<u64, String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => {
                default.ok_or_else(|| format!("{}: key `{key}` is missing", self.file))
            }
            Some(v) => v.as_u64().ok_or_else(|| {
                format!("{}: key `{key}` must be a non-negative integer", self.file)
            }),
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("{}: key `{key}` must be true or false", self.file)),
        }
    }
}
