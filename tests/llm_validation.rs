//! Model vs the iteration-level simulator over the validation grid of docs/llm.md:
//! the `llm-chatbot` replica, three token mixes (chat 512/256, RAG 3000/200, long
//! generation 200/1500) × loads 0.1–0.9 of the model's capacity, 20 000 requests a
//! run. Where the model is valid, mean TTFT and TPOT are within 10 % and output tokens
//! per second within 5 %; the cells beyond are pinned to their measured figures (the
//! model optimistic), and so is each mix's capacity knee (mean TTFT twice its value
//! at 0.1 of capacity). `cargo run --release --example llm_table` prints the table.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::llm_kv::ttft_knee_rps;
use costscope::model::llm_replica::Replica;
use costscope::plan::presets;
use costscope::sim::llm::simulate_replica;
use costscope::sim::llm_knee::{KneeScan, sim_ttft_knee_load, validation_options};

const LOADS: [f64; 5] = [0.1, 0.3, 0.5, 0.7, 0.9];

/// A token mix: name, prompt and output tokens, and per load of [`LOADS`] what the
/// grid asserts.
struct Mix {
    name: &'static str,
    prompt: f64,
    output: f64,
    cells: [Cell; 5],
}

/// What one cell asserts.
#[derive(Clone, Copy)]
enum Cell {
    /// TTFT and TPOT within 10 %, output tokens per second within 5 %.
    Within,
    /// Beyond the model's validity: simulated over modelled mean TTFT and TPOT as
    /// measured (2026-12-02) ±10 %; tokens per second still within 5 %.
    Beyond { ttft_ratio: f64, tpot_ratio: f64 },
}

use Cell::{Beyond, Within};

const MIXES: [Mix; 3] = [
    Mix {
        name: "chat",
        prompt: 512.0,
        output: 256.0,
        cells: [
            Within,
            Within,
            Within,
            // 221.2 vs 246.0 ms, 11 %: the first preemptions.
            Beyond {
                ttft_ratio: 1.112,
                tpot_ratio: 1.016,
            },
            Beyond {
                ttft_ratio: 5.157,
                tpot_ratio: 1.049,
            },
        ],
    },
    Mix {
        name: "RAG",
        prompt: 3000.0,
        output: 200.0,
        cells: [
            Within,
            Within,
            Beyond {
                ttft_ratio: 1.373,
                tpot_ratio: 1.057,
            },
            Beyond {
                ttft_ratio: 2.124,
                tpot_ratio: 1.046,
            },
            Beyond {
                ttft_ratio: 2.847,
                tpot_ratio: 1.005,
            },
        ],
    },
    Mix {
        name: "long",
        prompt: 200.0,
        output: 1500.0,
        cells: [
            Within,
            Within,
            Within,
            Beyond {
                ttft_ratio: 1.063,
                tpot_ratio: 1.026,
            },
            // Preemptions recompute prompts and outputs: TPOT doubles.
            Beyond {
                ttft_ratio: 13.89,
                tpot_ratio: 1.936,
            },
        ],
    },
];

fn replica(prompt: f64, output: f64) -> Replica {
    let mut plan = presets::load("llm-chatbot").unwrap();
    let t = plan.workload.tokens.as_mut().unwrap();
    (t.prompt_mean, t.output_mean) = (prompt, output);
    let llm = plan.service.llm.as_ref().unwrap();
    Replica::new(
        plan.workload.tokens.as_ref().unwrap(),
        llm,
        llm.footprint.unwrap(),
        1.0,
        plan.workload.arrival_cv,
    )
    .unwrap()
}

fn within(what: &str, model: f64, sim: f64, tol: f64) {
    let gap = (model / sim - 1.0).abs();
    assert!(
        gap <= tol,
        "{what}: model {model:.2} vs simulated {sim:.2} ({:.1} %)",
        gap * 100.0
    );
}

fn pinned(what: &str, ratio: f64, measured: f64) {
    assert!(
        (ratio / measured - 1.0).abs() <= 0.10,
        "{what}: simulated / model {ratio:.3}, pinned at {measured}"
    );
}

#[test]
fn the_model_meets_the_targets_where_valid_and_beyond_is_pinned() {
    for mix in &MIXES {
        let r = replica(mix.prompt, mix.output);
        let cap = r.capacity_rps();
        for (load, cell) in LOADS.into_iter().zip(mix.cells) {
            let rate = load * cap;
            let m = r.steady(rate).unwrap();
            let s = simulate_replica(&r, &validation_options(rate, 1));
            let at = format!("{} load {load}", mix.name);
            let (ttft, tpot) = (s.ttft_ms.unwrap().mean, s.tpot_ms.unwrap().mean);
            let tokens = rate * r.output_tokens;
            within(
                &format!("{at} tokens/s"),
                tokens,
                s.output_tokens_per_s,
                0.05,
            );
            match cell {
                Within => {
                    within(&format!("{at} TTFT"), m.ttft_mean_ms(), ttft, 0.10);
                    within(&format!("{at} TPOT"), m.tpot_ms, tpot, 0.10);
                }
                Beyond {
                    ttft_ratio,
                    tpot_ratio,
                } => {
                    // The model is optimistic there: it does not see the cache stay
                    // full, the preemptions and their recomputation.
                    assert!(ttft > m.ttft_mean_ms(), "{at}");
                    pinned(&format!("{at} TTFT"), ttft / m.ttft_mean_ms(), ttft_ratio);
                    pinned(&format!("{at} TPOT"), tpot / m.tpot_ms, tpot_ratio);
                }
            }
        }
    }
}

#[test]
fn the_capacity_knee_is_near_the_simulated_one() {
    // Model knee / simulated knee, as loads of the model's capacity (2026-12-02):
    // chat and long generation within the 10 % target, RAG 26 % late.
    for (mix, model_over_sim) in MIXES.iter().zip([1.089, 1.260, 1.044]) {
        let r = replica(mix.prompt, mix.output);
        let cap = r.capacity_rps();
        let model = ttft_knee_rps(&r) / cap;
        let scan = KneeScan {
            capacity_rps: cap,
            load_step: 0.025,
            max_load: 1.0,
            seed: 1,
        };
        let sim = sim_ttft_knee_load(&r, &scan).unwrap();
        let ratio = model / sim;
        assert!(ratio > 1.0, "{}: model {model:.3} sim {sim:.3}", mix.name);
        assert!(
            (ratio / model_over_sim - 1.0).abs() <= 0.03,
            "{}: model {model:.3} / sim {sim:.3} = {ratio:.3}, pinned at {model_over_sim}",
            mix.name
        );
        if mix.name != "RAG" {
            assert!(ratio <= 1.10, "{}: {ratio}", mix.name);
        }
    }
}
