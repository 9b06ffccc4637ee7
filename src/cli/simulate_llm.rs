//! CLI layer: the LLM lines of `costscope simulate` — TTFT, TPOT, E2E, tokens, $ per
//! million tokens, goodput and the KV cache, analytic beside simulated — and the LLM
//! timeline CSV (with preemptions per minute).

use std::io::Write;

use anyhow::Context as _;

use crate::model::llm::LlmReport;
use crate::model::{Evaluation, LatencyStats};
use crate::sim::SimLatency;
use crate::sim::llm_fleet::{LlmFleetResult, SimLlm};

/// The LLM rows under the request-level table: the model's `llm` block (when the
/// candidate has one) beside the simulated one.
pub fn write_llm_rows(
    out: &mut dyn Write,
    a: &Evaluation,
    s: &LlmFleetResult,
) -> anyhow::Result<()> {
    let m: Option<&LlmReport> = a.llm.as_ref();
    let l: &SimLlm = &s.llm;
    let num = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    let al = |f: fn(&LlmReport) -> &LatencyStats, g: fn(&LatencyStats) -> f64| m.map(|r| g(f(r)));
    let sl = |x: &Option<SimLatency>, g: fn(&SimLatency) -> f64| x.as_ref().map(g);
    let af = |f: fn(&LlmReport) -> f64| m.map(f);
    let rows: [(&str, Option<f64>, Option<f64>); 18] = [
        (
            "TTFT mean ms",
            al(|r| &r.ttft_ms, |x| x.mean),
            sl(&l.ttft_ms, |x| x.mean),
        ),
        (
            "TTFT p50 ms",
            al(|r| &r.ttft_ms, |x| x.p50),
            sl(&l.ttft_ms, |x| x.p50),
        ),
        (
            "TTFT p95 ms",
            al(|r| &r.ttft_ms, |x| x.p95),
            sl(&l.ttft_ms, |x| x.p95),
        ),
        (
            "TTFT p99 ms",
            al(|r| &r.ttft_ms, |x| x.p99),
            sl(&l.ttft_ms, |x| x.p99),
        ),
        (
            "TPOT mean ms",
            al(|r| &r.tpot_ms, |x| x.mean),
            sl(&l.tpot_ms, |x| x.mean),
        ),
        (
            "TPOT p95 ms",
            al(|r| &r.tpot_ms, |x| x.p95),
            sl(&l.tpot_ms, |x| x.p95),
        ),
        (
            "E2E p95 ms",
            al(|r| &r.e2e_ms, |x| x.p95),
            sl(&l.e2e_ms, |x| x.p95),
        ),
        (
            "output tokens/s",
            af(|r| r.output_tokens_per_s),
            Some(l.output_tokens_per_s),
        ),
        (
            "$/M output tokens",
            af(|r| r.cost_usd_per_million_output_tokens),
            Some(l.cost_usd_per_million_output_tokens),
        ),
        (
            "$/M tokens",
            af(|r| r.cost_usd_per_million_tokens),
            Some(l.cost_usd_per_million_tokens),
        ),
        ("goodput", af(|r| r.goodput), Some(l.goodput)),
        (
            "KV utilization",
            af(|r| r.kv_utilization),
            Some(l.kv_utilization),
        ),
        (
            "running seqs/replica",
            af(|r| r.mean_running_seqs),
            Some(l.mean_running_seqs),
        ),
        (
            "KV capacity tokens",
            af(|r| r.kv_capacity_tokens),
            Some(l.kv_capacity_tokens),
        ),
        (
            "max req/s at SLO",
            af(|r| r.max_requests_per_s_at_slo),
            l.max_requests_per_s_at_slo,
        ),
        (
            "max out tok/s at SLO",
            af(|r| r.replica_output_tokens_per_s_at_slo),
            l.replica_output_tokens_per_s_at_slo,
        ),
        (
            "out tok/s per replica",
            af(|r| r.output_tokens_per_s_per_replica),
            Some(l.output_tokens_per_s_per_replica),
        ),
        (
            "output tokens per $",
            m.and_then(|r| r.output_tokens_per_usd),
            l.output_tokens_per_usd,
        ),
    ];
    for (what, x, y) in rows {
        writeln!(out, "{what:<22} {:>14} {:>14}", num(x), num(y))?;
    }
    writeln!(
        out,
        "{:<22} {:>14} {:>14}",
        "preemptions", "-", l.preemptions
    )?;
    writeln!(
        out,
        "{:<22} {:>14} {:>14}",
        "restarts (spot)", "-", l.restarts
    )?;
    Ok(())
}

/// The LLM run's timeline, one row per simulated minute.
pub fn write_llm_timeline(path: &std::path::Path, r: &LlmFleetResult) -> anyhow::Result<()> {
    let mut text = String::from(
        "minute,arrivals,busy,booting,idle,queue,running_seqs,kv_utilization,preemptions,output_tokens,cumulative_cost_usd\n",
    );
    for m in &r.llm_timeline {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{:.4},{},{},{:.6}\n",
            m.minute,
            m.arrivals,
            m.busy,
            m.booting,
            m.idle,
            m.queue,
            m.running_seqs,
            m.kv_utilization,
            m.preemptions,
            m.output_tokens,
            m.cumulative_cost_usd
        ));
    }
    crate::files::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
