//! The iteration-level replica simulator: seeded and deterministic, it conserves
//! requests and KV blocks under preemption, and the analytic replica agrees with it on
//! the chat mix (512/256) below the knee — mean TTFT and TPOT within 10 %, output
//! tokens per second within 5 %, running sequences within 10 % (docs/llm.md has the
//! whole table, `cargo run --release --example llm_table`).

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::Plan;
use costscope::model::llm_replica::Replica;
use costscope::plan::presets;
use costscope::sim::llm::{LlmSimOptions, simulate_replica};

fn replica(chunked: Option<u32>, edit: impl Fn(&mut Plan)) -> Replica {
    let mut plan = presets::load("llm-chatbot").unwrap();
    plan.service.llm.as_mut().unwrap().chunked_prefill_tokens = chunked;
    edit(&mut plan);
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

fn options(rate_rps: f64, seed: u64) -> LlmSimOptions {
    LlmSimOptions {
        rate_rps,
        measure_s: 20_000.0,
        warmup_s: 2_000.0,
        seed,
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let r = replica(None, |_| {});
    let a = simulate_replica(&r, &options(1.0, 7));
    let b = simulate_replica(&r, &options(1.0, 7));
    let c = simulate_replica(&r, &options(1.0, 8));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.completed > 15_000, "{}", a.completed);
}

#[test]
fn the_model_agrees_with_the_simulator_below_the_knee() {
    let within = |what: &str, model: f64, sim: f64, tol: f64| {
        let gap = (model / sim - 1.0).abs();
        assert!(
            gap <= tol,
            "{what}: model {model:.2} vs simulated {sim:.2} ({:.1} %)",
            gap * 100.0
        );
    };
    for chunked in [None, Some(2048)] {
        let r = replica(chunked, |_| {});
        let cap = r.capacity_rps();
        for load in [0.1, 0.3, 0.5] {
            let rate = load * cap;
            let m = r.steady(rate).unwrap();
            let s = simulate_replica(&r, &options(rate, 1));
            let at = format!("{chunked:?} load {load}");
            within(
                &format!("{at} TTFT"),
                m.ttft_mean_ms(),
                s.ttft_ms.unwrap().mean,
                0.10,
            );
            within(
                &format!("{at} TPOT"),
                m.tpot_ms,
                s.tpot_ms.unwrap().mean,
                0.10,
            );
            within(
                &format!("{at} tokens/s"),
                rate * r.output_tokens,
                s.output_tokens_per_s,
                0.05,
            );
            within(
                &format!("{at} running"),
                m.running_seqs,
                s.mean_running_seqs,
                0.10,
            );
            assert_eq!(s.preemptions, 0, "{at}");
        }
    }
}

#[test]
fn a_small_kv_cache_preempts_and_still_serves_every_request() {
    // 19 GB leaves 7920 KV tokens: long prompts and outputs overflow it, sequences are
    // preempted and recomputed, and the queue still drains at a light load.
    let r = replica(None, |p| {
        p.service.llm.as_mut().unwrap().gpu_memory_gb = 19.0;
    });
    let s = simulate_replica(&r, &options(0.2, 3));
    assert!(s.preemptions > 0, "{s:?}");
    assert!(s.kv_utilization > 0.0 && s.kv_utilization <= 1.0, "{s:?}");
    assert!(s.unfinished < 20, "{s:?}");
    // 20 000 s at 0.2 req/s: about 4000 arrivals, all served.
    assert!(s.completed > 3_500, "{s:?}");
}
