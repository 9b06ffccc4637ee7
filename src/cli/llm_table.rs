//! CLI layer: the LLM lines of `costscope plan` — the replica's model and memory in the
//! header, and TTFT, TPOT, tokens and the KV cache of an evaluation.

use std::io::Write;

use crate::model::llm::LlmReport;
use crate::model::{LatencyStats, Plan};

/// Bytes in a GB (10⁹), as plans state GPU memory.
const BYTES_PER_GB: f64 = 1e9;

/// "Tokens: …" and "Replica: …" lines for an LLM plan; nothing for another.
pub fn write_llm_header(out: &mut dyn Write, plan: &Plan) -> std::io::Result<()> {
    let (Some(t), Some(l)) = (&plan.workload.tokens, &plan.service.llm) else {
        return Ok(());
    };
    writeln!(
        out,
        "Tokens: prompt {:.0} (CV {:.2}, {:.0} % from the prefix cache), output {:.0} (CV {:.2})",
        t.prompt_mean,
        t.prompt_cv,
        t.prefix_cache_hit * 100.0,
        t.output_mean,
        t.output_cv
    )?;
    let weights = l.footprint.map_or_else(
        || "-".into(),
        |f| format!("{:.2}", f.weights_bytes / BYTES_PER_GB),
    );
    writeln!(
        out,
        "Replica: {} {} ({weights} GB of weights) on {} GB x {}; max_num_seqs {}, KV blocks of {} tokens{}",
        l.model,
        l.precision,
        l.gpu_memory_gb,
        l.gpu_memory_utilization,
        l.max_num_seqs,
        l.kv_block_tokens,
        l.chunked_prefill_tokens
            .map_or_else(String::new, |k| format!(", chunked prefill {k} tokens"))
    )?;
    let o = &plan.objective;
    let slo = |s: Option<f64>| s.map_or_else(|| "none".into(), |v| format!("{v} ms"));
    writeln!(
        out,
        "LLM SLOs ({}): TTFT {}, TPOT {}",
        o.metric.name(),
        slo(o.ttft_slo_ms),
        slo(o.tpot_slo_ms)
    )
}

fn stats(l: &LatencyStats) -> String {
    format!(
        "mean {:.1}   p50 {:.1}   p95 {:.1}   p99 {:.1}",
        l.mean, l.p50, l.p95, l.p99
    )
}

/// An evaluation's LLM figures, indented like the rest of its block.
pub fn write_llm(out: &mut dyn Write, r: &LlmReport) -> std::io::Result<()> {
    writeln!(out, "  TTFT (ms)        {}", stats(&r.ttft_ms))?;
    writeln!(out, "  TPOT (ms)        {}", stats(&r.tpot_ms))?;
    writeln!(
        out,
        "  tokens           {:.1} output tokens/s; {:.3} $ per million output tokens, {:.3} $ per million tokens in + out",
        r.output_tokens_per_s, r.cost_usd_per_million_output_tokens, r.cost_usd_per_million_tokens
    )?;
    writeln!(
        out,
        "  per dollar       {} output tokens per $",
        r.output_tokens_per_usd.map_or_else(
            || "- (the fleet costs nothing)".into(),
            |t| format!("{t:.0}")
        )
    )?;
    writeln!(
        out,
        "  goodput          {:.2} % of requests within the TTFT and TPOT SLOs",
        r.goodput * 100.0
    )?;
    writeln!(
        out,
        "  replica          {:.1} sequences running on average; at most {:.3} req/s = {:.1} output tokens/s within the SLOs",
        r.mean_running_seqs, r.max_requests_per_s_at_slo, r.replica_output_tokens_per_s_at_slo
    )?;
    writeln!(
        out,
        "  per replica      {:.1} output tokens/s per serving replica, day mean",
        r.output_tokens_per_s_per_replica
    )?;
    writeln!(
        out,
        "  KV cache         {:.0} tokens of {:.0} KiB each; {:.1} % in use",
        r.kv_capacity_tokens,
        r.kv_bytes_per_token / 1024.0,
        r.kv_utilization * 100.0
    )
}
