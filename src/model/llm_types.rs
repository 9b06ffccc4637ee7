//! Model layer: the plan sections of LLM serving — a request's tokens
//! (`workload.tokens`) and the replica that serves them (`service.llm`), part of the
//! RON contract like [`super::types`]. Both are optional: a plan without them is a
//! request-level plan and evaluates as before.

use serde::{Deserialize, Serialize};

use super::llm_shape::Footprint;
use super::types::Precision;

/// Token lengths of one request: the prompt read in and the output generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    /// Mean prompt length, tokens.
    pub prompt_mean: f64,
    /// Coefficient of variation of the prompt length (0 = every prompt the same).
    #[serde(default)]
    pub prompt_cv: f64,
    /// Mean output length, tokens (the first comes from the prefill).
    pub output_mean: f64,
    /// Coefficient of variation of the output length.
    #[serde(default)]
    pub output_cv: f64,
    /// Share of prompt tokens whose KV is already cached (a shared system prompt, RAG
    /// context reused): they are not prefilled again, but still occupy the KV cache.
    #[serde(default)]
    pub prefix_cache_hit: f64,
}

/// One LLM replica: the model, its memory, the scheduler's limits and how long an
/// iteration takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmService {
    /// A config shipped with the profiler (`Llama-3.1-8B`, `Qwen2.5-0.5B`, …) or a
    /// Hugging Face `config.json` path; weights and KV bytes per token follow from it.
    pub model: String,
    /// Storage precision of the weights and the KV cache.
    #[serde(default = "default_precision")]
    pub precision: Precision,
    /// Memory of one replica's GPU(s), GB (10⁹ bytes).
    pub gpu_memory_gb: f64,
    /// Share of that memory the server may use (vLLM's `gpu_memory_utilization`,
    /// 0.9 by default); activations and the CUDA context live in the rest.
    #[serde(default = "default_memory_utilization")]
    pub gpu_memory_utilization: f64,
    /// Most sequences running at once (vLLM's `max_num_seqs`).
    pub max_num_seqs: u32,
    /// Tokens per KV-cache block (vLLM's `block_size`, 16 by default).
    #[serde(default = "default_block_tokens")]
    pub kv_block_tokens: u32,
    /// Chunked prefill: most tokens (decode and prefill together) in one iteration
    /// (vLLM's `max_num_batched_tokens`); `None` runs each prompt in its own
    /// iteration, pausing decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunked_prefill_tokens: Option<u32>,
    /// How long one iteration takes.
    pub iteration: IterationTime,
    /// Weights and KV bytes per token of `model`, filled when the plan is loaded
    /// (the plan layer reads the config); never written to a plan file.
    #[serde(skip)]
    pub footprint: Option<Footprint>,
}

/// The iteration-time model of one replica, on the device the numbers are for
/// (divided by `hardware.speed_vs_profiled`).
///
/// prefill_ms = `prefill_base_ms` + `prefill_ms_per_token`·tokens;
/// decode_step_ms = `decode_base_ms` + `decode_ms_per_seq`·running sequences +
/// `decode_ms_per_context_token`·context tokens of all running sequences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IterationTime {
    /// Fixed cost of a prefill iteration, ms.
    pub prefill_base_ms: f64,
    /// Prefill cost per prompt token, ms.
    pub prefill_ms_per_token: f64,
    /// Fixed cost of a decode step (reading the weights), ms.
    pub decode_base_ms: f64,
    /// Decode cost per running sequence, ms.
    pub decode_ms_per_seq: f64,
    /// Decode cost per cached context token (reading the KV cache), ms.
    pub decode_ms_per_context_token: f64,
}

/// vLLM's defaults for the precision of the weights and KV cache (bf16 checkpoints).
fn default_precision() -> Precision {
    Precision::Bf16
}

/// vLLM's default `gpu_memory_utilization`.
pub const DEFAULT_MEMORY_UTILIZATION: f64 = 0.9;

fn default_memory_utilization() -> f64 {
    DEFAULT_MEMORY_UTILIZATION
}

/// vLLM's default KV block size, tokens.
pub const DEFAULT_BLOCK_TOKENS: u32 = 16;

fn default_block_tokens() -> u32 {
    DEFAULT_BLOCK_TOKENS
}
