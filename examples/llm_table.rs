//! The LLM replica: the analytic model beside the iteration-level simulator at loads
//! 0.1–0.9 of a replica's capacity, for the `llm-chatbot` preset and two token mixes
//! (the table in docs/llm.md). `cargo run --release --example llm_table`.

// An example's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::llm_replica::Replica;
use costscope::plan::presets;
use costscope::sim::llm::{LlmSimOptions, simulate_replica};

fn main() {
    let mixes = [
        ("chat 512/256", 512.0, 256.0),
        ("RAG 3000/200", 3000.0, 200.0),
        ("long 200/1500", 200.0, 1500.0),
    ];
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
            println!(
                "\n{name}, chunked {chunked:?}: capacity {cap:.3} req/s, cap {} seqs",
                r.seq_cap()
            );
            println!(
                "load  | TTFT model  sim     | TPOT model sim   | tok/s model sim  | seqs model sim | preempt"
            );
            for load in [0.1, 0.3, 0.5, 0.7, 0.9] {
                let rate = load * cap;
                let m = r.steady(rate).unwrap();
                let s = simulate_replica(
                    &r,
                    &LlmSimOptions {
                        rate_rps: rate,
                        measure_s: 20_000.0,
                        warmup_s: 2000.0,
                        seed: 1,
                    },
                );
                let (ttft, tpot) = (s.ttft_ms.unwrap().mean, s.tpot_ms.unwrap().mean);
                println!(
                    "{load:.1}   | {:8.1} {:8.1} | {:6.1} {:6.1} | {:7.1} {:7.1} | {:5.1} {:5.1} | {}",
                    m.ttft_mean_ms(),
                    ttft,
                    m.tpot_ms,
                    tpot,
                    rate * r.output_tokens,
                    s.output_tokens_per_s,
                    m.running_seqs,
                    s.mean_running_seqs,
                    s.preemptions
                );
            }
        }
    }
}
