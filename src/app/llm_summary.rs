//! App layer: Explore's LLM part — the TTFT and TPOT SLOs beside the objective's SLO
//! (undoable like any plan edit), and the recommendation's LLM figures: the same
//! `Evaluation.llm` block `costscope plan --json` prints as `best.llm`.

use eframe::egui;

use super::explore_ui::card;
use super::format::{fmt_sig, thousands};
use super::log_slider::LogControl;
use crate::model::llm::LlmReport;
use crate::model::{LatencyStats, Plan};

/// The TTFT SLO: 10 ms to 10 minutes on the rail; the plan takes (0, 10^9] ms.
pub const TTFT_SLO_MS: LogControl = LogControl::new("TTFT SLO, ms", (10.0, 6e5), (1e-3, 1e9));
/// The TPOT SLO: 1 ms to 10 s on the rail; the plan takes (0, 10^9] ms.
pub const TPOT_SLO_MS: LogControl = LogControl::new("TPOT SLO, ms", (1.0, 1e4), (1e-3, 1e9));

/// A TTFT SLO when one is switched on: 2 s, a chat answer starting promptly.
const DEFAULT_TTFT_SLO_MS: f64 = 2000.0;
/// A TPOT SLO when one is switched on: 150 ms, faster than people read.
const DEFAULT_TPOT_SLO_MS: f64 = 150.0;

/// The TTFT and TPOT SLOs of an LLM plan, each a tick and a value; nothing for a
/// request-level plan (the plan refuses them there).
pub fn slo_controls_ui(ui: &mut egui::Ui, plan: &mut Plan) {
    if plan.workload.tokens.is_none() {
        return;
    }
    let metric = plan.objective.metric.name();
    let o = &mut plan.objective;
    for (slo, control, default, what) in [
        (
            &mut o.ttft_slo_ms,
            TTFT_SLO_MS,
            DEFAULT_TTFT_SLO_MS,
            "time to first token",
        ),
        (
            &mut o.tpot_slo_ms,
            TPOT_SLO_MS,
            DEFAULT_TPOT_SLO_MS,
            "time per output token",
        ),
    ] {
        let mut on = slo.is_some();
        let name = control.label.trim_end_matches(", ms");
        ui.checkbox(&mut on, format!("{name} ({metric})"))
            .on_hover_text(format!(
                "Fleets whose {what} at the latency metric ({metric}) exceeds this are \
                 infeasible."
            ));
        match (on, *slo) {
            (true, None) => *slo = Some(default),
            (false, Some(_)) => *slo = None,
            _ => {}
        }
        if let Some(v) = slo {
            control
                .ui(ui, v)
                .on_hover_text(format!("The largest acceptable {what}, ms."));
        }
    }
}

/// mean / p95 / p99 in ms, as the summary writes them.
pub fn stats_text(s: &LatencyStats) -> String {
    format!(
        "{} / {} / {} ms",
        fmt_sig(s.mean, 4),
        fmt_sig(s.p95, 4),
        fmt_sig(s.p99, 4)
    )
}

/// The cards of the recommendation's LLM figures: (label, value, hover).
pub fn recommendation_cards(plan: &Plan, l: &LlmReport) -> Vec<(&'static str, String, String)> {
    let o = &plan.objective;
    let slo = |v: Option<f64>| v.map_or("none".to_owned(), |ms| format!("{} ms", fmt_sig(ms, 4)));
    vec![
        (
            "TTFT mean / p95 / p99",
            stats_text(&l.ttft_ms),
            "Time to first token over the day: admission wait, prefill, a cold start if any."
                .into(),
        ),
        (
            "TPOT mean / p95 / p99",
            stats_text(&l.tpot_ms),
            "Time per output token after the first.".into(),
        ),
        (
            "output tokens/s",
            fmt_sig(l.output_tokens_per_s, 4),
            "Output tokens delivered per second, day mean (cache hits included).".into(),
        ),
        (
            "$ per 1M output tokens",
            format!("{} $", fmt_sig(l.cost_usd_per_million_output_tokens, 4)),
            "The fleet's cost per hour over the output tokens of an hour, per million.".into(),
        ),
        (
            "$ per 1M tokens (in + out)",
            format!("{} $", fmt_sig(l.cost_usd_per_million_tokens, 4)),
            "The same over prompt and output tokens.".into(),
        ),
        (
            "output tokens per $",
            l.output_tokens_per_usd
                .map_or_else(|| "- (no cost)".to_owned(), |t| fmt_sig(t, 4)),
            "Output tokens of an hour over the fleet's cost per hour (1M over the $ per 1M \
             output tokens)."
                .into(),
        ),
        (
            "output tokens/s per replica",
            fmt_sig(l.output_tokens_per_s_per_replica, 4),
            "Day-mean output tokens/s over the day's mean serving replicas (booting ones \
             left out)."
                .into(),
        ),
        (
            "one replica within the SLOs",
            format!(
                "{} req/s = {} output tokens/s",
                fmt_sig(l.max_requests_per_s_at_slo, 4),
                fmt_sig(l.replica_output_tokens_per_s_at_slo, 4)
            ),
            "The most one warm replica carries within the TTFT, TPOT and latency SLOs (its \
             steady-state capacity without SLOs)."
                .into(),
        ),
        (
            "goodput",
            format!("{} %", fmt_sig(l.goodput * 100.0, 4)),
            "Share of requests within both the TTFT and TPOT SLOs (taken as independent).".into(),
        ),
        (
            "KV cache in use",
            format!(
                "{} % of {} tokens",
                fmt_sig(l.kv_utilization * 100.0, 3),
                thousands(l.kv_capacity_tokens.round() as u64)
            ),
            format!(
                "Mean share of a serving replica's KV cache in use; {} sequences running on \
                 average.",
                fmt_sig(l.mean_running_seqs, 3)
            ),
        ),
        (
            "TTFT / TPOT SLOs",
            format!("{} / {}", slo(o.ttft_slo_ms), slo(o.tpot_slo_ms)),
            format!(
                "At the objective's metric ({}); one warm replica carries at most {} req/s \
                 within them.",
                o.metric.name(),
                fmt_sig(l.max_requests_per_s_at_slo, 4)
            ),
        ),
    ]
}

/// The recommendation's LLM figures under Explore's summary.
pub fn recommendation_ui(ui: &mut egui::Ui, plan: &Plan, l: &LlmReport) {
    ui.label("LLM figures of the recommendation:");
    for (label, value, hover) in recommendation_cards(plan, l) {
        card(ui, label, value, &hover);
    }
}
