//! Benchmarks of the model layer: the full optimise sweep the Explore panel runs on
//! every slider move (4 policies × servers 1..256 × batch 1..64 on a diurnal day),
//! one evaluation, the break-even search, and the LLM sweep (4 policies × replicas
//! 1..64 on the llm-chatbot preset's day).

// A benchmark's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use costscope::model::{
    Candidate, Evaluator, Plan, Policy, Rate, SweepOptions, break_even, optimize,
};
use costscope::plan::presets;

/// The healthcare preset on a diurnal day (peak 40 req/s), searched over every policy,
/// servers 1..256 and batch sizes 1, 2, 4, …, 64.
fn sweep_plan() -> Plan {
    let mut plan = presets::load("healthcare-triage").expect("preset loads");
    plan.workload.rate_rps = Rate::Diurnal {
        peak: 40.0,
        trough: 4.0,
        peak_hour: 14,
    };
    plan.policy = Policy::Optimize { max_servers: 256 };
    plan.batching.max_batch = 64;
    plan.batching.window_ms = 10.0;
    plan
}

fn benches(c: &mut Criterion) {
    let plan = sweep_plan();
    let options = SweepOptions::for_plan(&plan);
    assert_eq!(options.max_servers, 256);
    assert_eq!(options.batches, vec![1, 2, 4, 8, 16, 32, 64]);
    c.bench_function("optimize_sweep_diurnal_4x256x7", |b| {
        b.iter(|| optimize(black_box(&plan), black_box(&options)).expect("sweep"))
    });
    let ctx = Evaluator::new(&plan).expect("context");
    let candidate = Candidate {
        policy: Policy::Hybrid {
            warm: 2,
            idle_timeout_s: 300.0,
            max_servers: 64,
        },
        batch: 8,
    };
    c.bench_function("evaluate_one_hybrid_diurnal", |b| {
        b.iter(|| ctx.evaluate(black_box(&candidate)))
    });
    c.bench_function("break_even_search", |b| {
        b.iter(|| break_even(black_box(&plan)))
    });
    let mut llm = presets::load("llm-chatbot").expect("preset loads");
    llm.policy = Policy::Optimize { max_servers: 64 };
    let llm_options = SweepOptions::for_plan(&llm);
    assert_eq!(llm_options.max_servers, 64);
    c.bench_function("optimize_sweep_llm_chatbot_4x64", |b| {
        b.iter(|| optimize(black_box(&llm), black_box(&llm_options)).expect("sweep"))
    });
}

criterion_group!(model, benches);
criterion_main!(model);
