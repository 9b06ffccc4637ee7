//! Plan layer: range checks of the LLM sections — `workload.tokens`, `service.llm`
//! and the TTFT / TPOT SLOs — in the words of [`super::validate`]: the field path,
//! the value and the allowed range.

use super::validate::{Check, MAX_PATH_CHARS, MAX_SEQ_LEN};
use crate::model::{LlmService, Plan, Tokens};

/// Most sequences a replica may run at once (vLLM's `max_num_seqs`); the admission
/// queue's Erlang recurrence is O(this) per hour evaluated.
pub const MAX_NUM_SEQS: u32 = 4096;

/// Largest KV block, tokens.
pub const MAX_BLOCK_TOKENS: u32 = 1024;

/// Largest coefficient of variation of a token length.
const MAX_TOKENS_CV: f64 = 10.0;

/// Largest prefix-cache share of prompt tokens: at least 1 % is prefilled, so every
/// request costs the replica some time.
const MAX_PREFIX_HIT: f64 = 0.99;

/// Most memory one replica may state, GB (a node of 16 GPUs of 192 GB is 3 072).
const MAX_GPU_MEMORY_GB: f64 = 10_000.0;

/// Longest fixed part of an iteration, ms.
const MAX_ITERATION_BASE_MS: f64 = 1e5;

/// Largest per-token or per-sequence cost of an iteration, ms.
const MAX_PER_ITEM_MS: f64 = 1e3;

/// Largest cost of reading one cached context token in a decode step, ms.
const MAX_PER_CONTEXT_TOKEN_MS: f64 = 1.0;

/// Longest TTFT or TPOT SLO, ms.
const MAX_SLO_MS: f64 = 1e9;

/// Checks the LLM sections of `plan` (absent ones are fine; one without the other is
/// not).
pub(super) fn llm(c: &mut Check, plan: &Plan) {
    let tokens = plan.workload.tokens.as_ref();
    let service = plan.service.llm.as_ref();
    match (tokens, service) {
        (Some(_), None) => c.fail("service.llm", "absent", "present with workload.tokens"),
        (None, Some(_)) => c.fail("workload.tokens", "absent", "present with service.llm"),
        _ => {}
    }
    if let Some(t) = tokens {
        token_lengths(c, t);
        if plan.batching.max_batch != 1 {
            c.fail(
                "batching.max_batch",
                plan.batching.max_batch,
                "1 with workload.tokens (continuous batching is service.llm.max_num_seqs)",
            );
        }
        if plan.routing.is_some() {
            c.fail("routing", "present", "absent with workload.tokens");
        }
    }
    if let Some(l) = service {
        replica(c, l);
    }
    let o = &plan.objective;
    for (path, slo) in [
        ("objective.ttft_slo_ms", o.ttft_slo_ms),
        ("objective.tpot_slo_ms", o.tpot_slo_ms),
    ] {
        let Some(slo) = slo else { continue };
        c.positive(path, slo, MAX_SLO_MS);
        if tokens.is_none() {
            c.fail(path, slo, "only with workload.tokens");
        }
    }
}

fn token_lengths(c: &mut Check, t: &Tokens) {
    let max = f64::from(MAX_SEQ_LEN);
    c.positive("workload.tokens.prompt_mean", t.prompt_mean, max);
    c.range("workload.tokens.prompt_cv", t.prompt_cv, 0.0, MAX_TOKENS_CV);
    c.range("workload.tokens.output_mean", t.output_mean, 1.0, max);
    c.range("workload.tokens.output_cv", t.output_cv, 0.0, MAX_TOKENS_CV);
    c.range(
        "workload.tokens.prefix_cache_hit",
        t.prefix_cache_hit,
        0.0,
        MAX_PREFIX_HIT,
    );
}

fn replica(c: &mut Check, l: &LlmService) {
    // A shipped name or a path: a path may be longer than a name.
    if l.model.trim().is_empty() {
        c.fail(
            "service.llm.model",
            "\"\"",
            "a shipped config name or a config.json path",
        );
    }
    c.text("service.llm.model", &l.model, MAX_PATH_CHARS);
    c.positive(
        "service.llm.gpu_memory_gb",
        l.gpu_memory_gb,
        MAX_GPU_MEMORY_GB,
    );
    c.positive(
        "service.llm.gpu_memory_utilization",
        l.gpu_memory_utilization,
        1.0,
    );
    c.count("service.llm.max_num_seqs", l.max_num_seqs, 1, MAX_NUM_SEQS);
    c.count(
        "service.llm.kv_block_tokens",
        l.kv_block_tokens,
        1,
        MAX_BLOCK_TOKENS,
    );
    if let Some(k) = l.chunked_prefill_tokens {
        // vLLM requires the budget to cover a decode token of every running sequence;
        // one more leaves room for prefill to progress.
        c.count(
            "service.llm.chunked_prefill_tokens",
            k,
            l.max_num_seqs.saturating_add(1),
            MAX_SEQ_LEN,
        );
    }
    let it = &l.iteration;
    let at = |f: &str| format!("service.llm.iteration.{f}");
    c.range(
        &at("prefill_base_ms"),
        it.prefill_base_ms,
        0.0,
        MAX_ITERATION_BASE_MS,
    );
    c.positive(
        &at("prefill_ms_per_token"),
        it.prefill_ms_per_token,
        MAX_PER_ITEM_MS,
    );
    c.positive(
        &at("decode_base_ms"),
        it.decode_base_ms,
        MAX_ITERATION_BASE_MS,
    );
    c.range(
        &at("decode_ms_per_seq"),
        it.decode_ms_per_seq,
        0.0,
        MAX_PER_ITEM_MS,
    );
    c.range(
        &at("decode_ms_per_context_token"),
        it.decode_ms_per_context_token,
        0.0,
        MAX_PER_CONTEXT_TOKEN_MS,
    );
}
