//! The LLM replica: the analytic model beside the iteration-level simulator at loads
//! 0.1–0.9 of a replica's capacity, for the `llm-chatbot` preset and three token mixes,
//! with each side's capacity knee (the table in docs/llm.md).
//! `cargo run --release --example llm_table`.

// An example's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::llm_kv::ttft_knee_rps;
use costscope::model::llm_replica::Replica;
use costscope::plan::presets;
use costscope::sim::llm::{LlmSimOptions, simulate_replica};
use costscope::sim::llm_knee::{KneeScan, sim_ttft_knee_load, validation_options};

/// Thousands separated by a space, as docs/llm.md writes them.
fn ms(v: f64) -> String {
    if v < 1000.0 {
        return format!("{v:.1}");
    }
    let whole = format!("{v:.0}");
    let (head, tail) = whole.split_at(whole.len() - 3);
    format!("{head} {tail}")
}

fn main() {
    let mixes = [
        ("chat 512/256", 512.0, 256.0),
        ("RAG 3000/200", 3000.0, 200.0),
        ("long 200/1500", 200.0, 1500.0),
    ];
    println!(
        "| mix, prefill | load | TTFT ms model / sim | TPOT ms model / sim | output tok/s model / sim | running model / sim | preemptions | model P(wait) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut knees = Vec::new();
    for chunked in [None, Some(2048)] {
        for (name, p, o) in mixes {
            let mut plan = presets::load("llm-chatbot").unwrap();
            let t = plan.workload.tokens.as_mut().unwrap();
            (t.prompt_mean, t.output_mean) = (p, o);
            plan.service.llm.as_mut().unwrap().chunked_prefill_tokens = chunked;
            let llm = plan.service.llm.as_ref().unwrap();
            let r = Replica::new(
                plan.workload.tokens.as_ref().unwrap(),
                llm,
                llm.footprint.unwrap(),
                1.0,
                plan.workload.arrival_cv,
            )
            .unwrap();
            let cap = r.capacity_rps();
            let prefill = chunked.map_or("whole".to_string(), |k| format!("chunks of {k}"));
            for (i, load) in [0.1, 0.3, 0.5, 0.7, 0.9].into_iter().enumerate() {
                let rate = load * cap;
                let m = r.steady(rate).unwrap();
                let s = simulate_replica(&r, &validation_options(rate, 1));
                let (ttft, tpot) = (s.ttft_ms.unwrap().mean, s.tpot_ms.unwrap().mean);
                let label = if i == 0 {
                    format!("{name}, {prefill}")
                } else {
                    String::new()
                };
                println!(
                    "| {label} | {load:.1} | {} / {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {} | {:.4} |",
                    ms(m.ttft_mean_ms()),
                    ms(ttft),
                    m.tpot_ms,
                    tpot,
                    rate * r.output_tokens,
                    s.output_tokens_per_s,
                    m.running_seqs,
                    s.mean_running_seqs,
                    s.preemptions,
                    m.admission_p_wait
                );
            }
            let scan = KneeScan {
                capacity_rps: cap,
                load_step: 0.025,
                max_load: 1.0,
                seed: 1,
            };
            let sim = sim_ttft_knee_load(&r, &scan);
            // Saturated: twice the capacity offered, what the full cache completes.
            let full = simulate_replica(
                &r,
                &LlmSimOptions {
                    rate_rps: 2.0 * cap,
                    measure_s: 20_000.0,
                    warmup_s: 2_000.0,
                    seed: 1,
                },
            );
            let saturated = (
                full.output_tokens_per_s / r.output_tokens / cap,
                full.mean_running_seqs,
                full.preemptions as f64 / 20_000.0,
            );
            knees.push((name, prefill, cap, ttft_knee_rps(&r) / cap, sim, saturated));
        }
    }
    println!(
        "\n| mix, prefill | capacity req/s | knee model | knee sim | model / sim | saturated: completed / capacity, running, preemptions/s |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, prefill, cap, model, sim, (share, running, pre)) in knees {
        let sim_s = sim.map_or("beyond 1.0".into(), |s| format!("{s:.3}"));
        let ratio = sim.map_or("–".into(), |s| format!("{:.2}", model / s));
        println!(
            "| {name}, {prefill} | {cap:.3} | {model:.3} | {sim_s} | {ratio} | {:.1} %, {running:.1}, {pre:.2} |",
            share * 100.0
        );
    }
}
