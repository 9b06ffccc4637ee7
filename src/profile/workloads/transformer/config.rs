//! profile layer: transformer shapes read from Hugging Face `config.json` files — the
//! three families the profiler runs (BERT-style encoders, GPT-2, Llama-style decoders),
//! the configs shipped in `models/`, and a user's own file.

use std::path::Path;

use serde_json::{Map, Value};

use crate::profile::ProfileError;

/// The architecture family a config belongs to; it fixes norms, activation and positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `bert`, `distilbert`, `roberta`: learned positions, post-LayerNorm, GELU (erf),
    /// multi-head attention without a mask.
    Encoder,
    /// `gpt2`: learned positions, pre-LayerNorm, GELU (tanh, `gelu_new`), causal MHA,
    /// tied embeddings.
    Gpt2,
    /// `llama`, `qwen2`, `mistral`: RoPE, pre-RMSNorm, SiLU-gated MLP, causal GQA.
    Llama,
}

impl Family {
    /// True for the causal (decoder) families, which get prefill and decode rows.
    pub fn is_decoder(self) -> bool {
        self != Family::Encoder
    }
}

/// The shape of one transformer, everything the forward pass and its accounting need.
#[derive(Clone, Debug, PartialEq)]
pub struct TransformerConfig {
    /// Name in reports: the shipped name or the file's stem.
    pub name: String,
    /// Architecture family.
    pub family: Family,
    /// Token vocabulary size.
    pub vocab_size: usize,
    /// Model width d.
    pub hidden_size: usize,
    /// MLP inner width (per branch for the gated Llama MLP).
    pub intermediate_size: usize,
    /// Transformer blocks.
    pub num_layers: usize,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads (fewer than `num_heads` under GQA).
    pub num_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Longest sequence the positions allow.
    pub max_positions: usize,
    /// Rows of the learned position table before position 0: RoBERTa numbers its
    /// positions from `pad_token_id + 1` (2 in the published models), so a sequence may
    /// be `max_positions − position_offset` long; 0 for every other family.
    pub position_offset: usize,
    /// Epsilon of LayerNorm / RMSNorm.
    pub norm_eps: f64,
    /// RoPE base (Llama family only).
    pub rope_theta: Option<f64>,
    /// Bias on the Q, K and V projections.
    pub qkv_bias: bool,
    /// The LM head reuses the token embedding table.
    pub tied_embeddings: bool,
}

/// Configs shipped in `models/`, embedded in the binary: (name, config.json text).
pub const SHIPPED: [(&str, &str); 13] = [
    (
        "bert-base-uncased",
        include_str!("../../../../models/bert-base-uncased.json"),
    ),
    (
        "distilbert-base-uncased",
        include_str!("../../../../models/distilbert-base-uncased.json"),
    ),
    (
        "all-MiniLM-L6-v2",
        include_str!("../../../../models/all-MiniLM-L6-v2.json"),
    ),
    (
        "roberta-base",
        include_str!("../../../../models/roberta-base.json"),
    ),
    ("gpt2", include_str!("../../../../models/gpt2.json")),
    (
        "Llama-3.2-1B",
        include_str!("../../../../models/Llama-3.2-1B.json"),
    ),
    (
        "Llama-3.1-8B",
        include_str!("../../../../models/Llama-3.1-8B.json"),
    ),
    (
        "Qwen2.5-0.5B",
        include_str!("../../../../models/Qwen2.5-0.5B.json"),
    ),
    (
        "TinyLlama-1.1B",
        include_str!("../../../../models/TinyLlama-1.1B.json"),
    ),
    (
        "tiny-bert",
        include_str!("../../../../models/tiny-bert.json"),
    ),
    (
        "tiny-gpt2",
        include_str!("../../../../models/tiny-gpt2.json"),
    ),
    (
        "tiny-llama",
        include_str!("../../../../models/tiny-llama.json"),
    ),
    (
        "tiny-qwen2",
        include_str!("../../../../models/tiny-qwen2.json"),
    ),
];

/// Default LayerNorm epsilon of BERT-style configs that do not name one (distilbert).
const ENCODER_DEFAULT_EPS: f64 = 1e-12;
/// Default GPT-2 `layer_norm_epsilon`.
const GPT2_DEFAULT_EPS: f64 = 1e-5;
/// Default Llama `rms_norm_eps` and `rope_theta` (the transformers library's defaults).
const LLAMA_DEFAULT_EPS: f64 = 1e-6;
const LLAMA_DEFAULT_ROPE_THETA: f64 = 10_000.0;
/// RoBERTa's `pad_token_id` when a config does not name one.
const ROBERTA_PAD: usize = 1;
/// GPT-2's MLP is 4·n_embd wide when `n_inner` is null or absent.
const GPT2_MLP_RATIO: usize = 4;

impl TransformerConfig {
    /// A shipped config by name (case-insensitive), or a `.json` file path.
    pub fn lookup(name: &str) -> Result<Self, ProfileError> {
        if name.ends_with(".json") {
            let path = Path::new(name);
            let text = std::fs::read_to_string(path).map_err(|e| ProfileError::io(path, e))?;
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or(name);
            return Self::parse(stem, &path.display().to_string(), &text);
        }
        let (shipped, text) = SHIPPED
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| ProfileError::Invalid(format!("unknown transformer `{name}`")))?;
        Self::parse(shipped, &format!("models/{shipped}.json"), text)
    }

    /// True when `name` is a shipped config or names a `.json` file.
    pub fn is_transformer_name(name: &str) -> bool {
        name.ends_with(".json") || SHIPPED.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Parses config.json `text`; `file` names the source in errors.
    pub fn parse(name: &str, file: &str, text: &str) -> Result<Self, ProfileError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ProfileError::Invalid(format!("{file}: not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| ProfileError::Invalid(format!("{file}: not a JSON object")))?;
        let keys = Keys { file, obj };
        let model_type = keys.string("model_type")?;
        let cfg = match model_type.as_str() {
            "bert" => keys.bert(name, 0)?,
            // RoBERTa's padding token keeps its own position row, the next one is 0.
            "roberta" => keys.bert(name, keys.size_or("pad_token_id", Some(ROBERTA_PAD))? + 1)?,
            "distilbert" => keys.distilbert(name)?,
            "gpt2" => keys.gpt2(name)?,
            "llama" | "qwen2" | "mistral" => keys.llama(name, model_type == "qwen2")?,
            other => {
                return Err(ProfileError::Invalid(format!(
                    "{file}: key `model_type`: unknown model type `{other}` (known: bert, distilbert, roberta, gpt2, llama, qwen2, mistral)"
                )));
            }
        };
        cfg.check(file)
    }

    /// Shape sanity: heads divide the width, kv heads divide the heads, nothing is zero.
    fn check(self, file: &str) -> Result<Self, ProfileError> {
        let bad = |what: &str| Err(ProfileError::Invalid(format!("{file}: {what}")));
        let sizes = [
            self.vocab_size,
            self.hidden_size,
            self.intermediate_size,
            self.num_layers,
            self.num_heads,
            self.num_kv_heads,
            self.head_dim,
            self.max_positions,
        ];
        if sizes.contains(&0) {
            return bad("every size must be at least 1");
        }
        if self.usable_positions() == 0 {
            return bad("key `pad_token_id` leaves no position in `max_position_embeddings`");
        }
        if !self.num_heads.is_multiple_of(self.num_kv_heads) {
            return bad("key `num_key_value_heads` must divide `num_attention_heads`");
        }
        if self.family == Family::Llama && !self.head_dim.is_multiple_of(2) {
            return bad("RoPE needs an even head dimension");
        }
        Ok(self)
    }

    /// The longest sequence a position table allows: `max_positions` less the rows
    /// before position 0 (RoBERTa's).
    pub fn usable_positions(&self) -> usize {
        self.max_positions.saturating_sub(self.position_offset)
    }

    /// Width of all query heads together (h·head_dim).
    pub fn q_dim(&self) -> usize {
        self.num_heads * self.head_dim
    }

    /// Width of all key (or value) heads together (kv_heads·head_dim).
    pub fn kv_dim(&self) -> usize {
        self.num_kv_heads * self.head_dim
    }

    /// Bias on the output projection and the MLP (BERT and GPT-2; not Llama or Qwen2).
    pub fn linear_bias(&self) -> bool {
        self.family != Family::Llama
    }

    /// The Llama family's MLP has a gate branch: three matrices instead of two.
    pub fn gated_mlp(&self) -> bool {
        self.family == Family::Llama
    }
}

/// Typed access to a config's keys with errors naming the file and the key.
struct Keys<'a> {
    file: &'a str,
    obj: &'a Map<String, Value>,
}

impl Keys<'_> {
    fn err(&self, key: &str, what: &str) -> ProfileError {
        ProfileError::Invalid(format!("{}: key `{key}` {what}", self.file))
    }

    fn string(&self, key: &str) -> Result<String, ProfileError> {
        match self.obj.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(self.err(key, "must be a string")),
            None => Err(self.err(key, "is missing")),
        }
    }

    fn size(&self, key: &str) -> Result<usize, ProfileError> {
        self.size_or(key, None)
    }

    /// A positive integer; `default` when absent or null (a required key has none).
    fn size_or(&self, key: &str, default: Option<usize>) -> Result<usize, ProfileError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => default.ok_or_else(|| self.err(key, "is missing")),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| self.err(key, "must be a non-negative integer")),
        }
    }

    fn float_or(&self, key: &str, default: f64) -> Result<f64, ProfileError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| self.err(key, "must be a positive number")),
        }
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool, ProfileError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.err(key, "must be true or false")),
        }
    }

    fn bert(&self, name: &str, position_offset: usize) -> Result<TransformerConfig, ProfileError> {
        let (hidden, heads) = (self.size("hidden_size")?, self.size("num_attention_heads")?);
        Ok(TransformerConfig {
            name: name.to_owned(),
            family: Family::Encoder,
            vocab_size: self.size("vocab_size")?,
            hidden_size: hidden,
            intermediate_size: self.size("intermediate_size")?,
            num_layers: self.size("num_hidden_layers")?,
            num_heads: heads,
            num_kv_heads: heads,
            head_dim: hidden / heads.max(1),
            max_positions: self.size("max_position_embeddings")?,
            position_offset,
            norm_eps: self.float_or("layer_norm_eps", ENCODER_DEFAULT_EPS)?,
            rope_theta: None,
            qkv_bias: true,
            tied_embeddings: true,
        })
    }

    fn distilbert(&self, name: &str) -> Result<TransformerConfig, ProfileError> {
        let (hidden, heads) = (self.size("dim")?, self.size("n_heads")?);
        Ok(TransformerConfig {
            name: name.to_owned(),
            family: Family::Encoder,
            vocab_size: self.size("vocab_size")?,
            hidden_size: hidden,
            intermediate_size: self.size("hidden_dim")?,
            num_layers: self.size("n_layers")?,
            num_heads: heads,
            num_kv_heads: heads,
            head_dim: hidden / heads.max(1),
            max_positions: self.size("max_position_embeddings")?,
            position_offset: 0,
            norm_eps: ENCODER_DEFAULT_EPS,
            rope_theta: None,
            qkv_bias: true,
            tied_embeddings: true,
        })
    }

    fn gpt2(&self, name: &str) -> Result<TransformerConfig, ProfileError> {
        let (hidden, heads) = (self.size("n_embd")?, self.size("n_head")?);
        Ok(TransformerConfig {
            name: name.to_owned(),
            family: Family::Gpt2,
            vocab_size: self.size("vocab_size")?,
            hidden_size: hidden,
            intermediate_size: self.size_or("n_inner", Some(GPT2_MLP_RATIO * hidden))?,
            num_layers: self.size("n_layer")?,
            num_heads: heads,
            num_kv_heads: heads,
            head_dim: hidden / heads.max(1),
            max_positions: self.size("n_positions")?,
            position_offset: 0,
            norm_eps: self.float_or("layer_norm_epsilon", GPT2_DEFAULT_EPS)?,
            rope_theta: None,
            qkv_bias: true,
            tied_embeddings: true,
        })
    }

    fn llama(&self, name: &str, qkv_bias: bool) -> Result<TransformerConfig, ProfileError> {
        let (hidden, heads) = (self.size("hidden_size")?, self.size("num_attention_heads")?);
        Ok(TransformerConfig {
            name: name.to_owned(),
            family: Family::Llama,
            vocab_size: self.size("vocab_size")?,
            hidden_size: hidden,
            intermediate_size: self.size("intermediate_size")?,
            num_layers: self.size("num_hidden_layers")?,
            num_heads: heads,
            num_kv_heads: self.size_or("num_key_value_heads", Some(heads))?,
            head_dim: self.size_or("head_dim", Some(hidden / heads.max(1)))?,
            max_positions: self.size("max_position_embeddings")?,
            position_offset: 0,
            norm_eps: self.float_or("rms_norm_eps", LLAMA_DEFAULT_EPS)?,
            rope_theta: Some(self.float_or("rope_theta", LLAMA_DEFAULT_ROPE_THETA)?),
            qkv_bias: qkv_bias || self.bool_or("attention_bias", false)?,
            tied_embeddings: self.bool_or("tie_word_embeddings", false)?,
        })
    }
}
