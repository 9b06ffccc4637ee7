//! Benchmarks of the model layer: the full optimise sweep the Explore panel runs on
//! every slider move (4 policies × servers 1..256 × batch 1..64 on a diurnal day),
//! one evaluation, the break-even search, and the LLM sweep (4 policies × replicas
//! 1..64 on the llm-chatbot preset's day), and the hardware-aware sweep: that day's
//! search on each of the catalog's 30 offers (`plan --hardware all`), with and without
//! pruning, and for a routed plan with its two-class mix.

// A benchmark's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use costscope::model::hardware_sweep::{
    OfferCase, scaled_curve, stated_accelerator, sweep, sweep_with,
};
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
        max_num_seqs: None,
    };
    c.bench_function("evaluate_one_hybrid_diurnal", |b| {
        b.iter(|| ctx.evaluate(black_box(&candidate)))
    });
    c.bench_function("break_even_search", |b| {
        b.iter(|| break_even(black_box(&plan)))
    });
    hardware_sweep(c, &plan, &options);
    let mut llm = presets::load("llm-chatbot").expect("preset loads");
    llm.policy = Policy::Optimize { max_servers: 64 };
    let llm_options = SweepOptions::for_plan(&llm);
    assert_eq!(llm_options.max_servers, 64);
    c.bench_function("optimize_sweep_llm_chatbot_4x64", |b| {
        b.iter(|| optimize(black_box(&llm), black_box(&llm_options)).expect("sweep"))
    });
}

/// `plan --hardware all` on the diurnal plan: every shipped offer (30, each with a
/// public price) swept over 4 policies × servers 1..256 × 7 batches.
fn hardware_sweep(c: &mut Criterion, plan: &Plan, options: &SweepOptions) {
    let catalog = costscope::plan::catalog::shipped().expect("catalog");
    assert_eq!(catalog.offers.len(), 30);
    let stated = stated_accelerator(&catalog, &plan.hardware.name).expect("L4");
    let cases: Vec<OfferCase> = catalog
        .offers
        .iter()
        .map(|o| {
            let acc = catalog.accelerator(&o.accelerator).expect("known").clone();
            OfferCase {
                offer: o.clone(),
                curve: scaled_curve(plan, stated, &acc),
                accelerator: acc,
            }
        })
        .collect();
    let once = sweep(plan, options, &cases, Some(stated));
    assert!(once.recommendation.is_some());
    let searched = once
        .offers
        .iter()
        .filter(|o| o.dominated_by.is_none())
        .count();
    eprintln!("hardware sweep: {searched} of 30 offers searched, the rest dominated");
    c.bench_function("hardware_sweep_30_offers_diurnal_4x256x7", |b| {
        b.iter(|| {
            sweep(
                black_box(plan),
                black_box(options),
                black_box(&cases),
                Some(stated),
            )
        })
    });
    // Every offer searched, none pruned: the worst case, a catalog where no offer is
    // as fast and as cheap as another.
    c.bench_function("hardware_sweep_30_offers_unpruned_diurnal_4x256x7", |b| {
        b.iter(|| {
            sweep_with(
                black_box(plan),
                black_box(options),
                black_box(&cases),
                Some(stated),
                false,
            )
        })
    });
    // A routed plan: the sweep plus the two-class mix (each cheaper, undominated offer
    // tried as the second class for 30 % of the traffic).
    let mut routed = plan.clone();
    routed.routing = Some(costscope::model::Routing {
        fraction: 0.3,
        name: "latency-tolerant".into(),
        hardware: plan.hardware.clone(),
        service: None,
        servers: 0,
    });
    let with_mix = sweep(&routed, options, &cases, Some(stated));
    eprintln!(
        "hardware sweep with routing: mix on {}",
        with_mix.mix.as_ref().map_or("none", |m| m.cheap.as_str())
    );
    c.bench_function("hardware_sweep_30_offers_routed_mix_diurnal_4x256x7", |b| {
        b.iter(|| {
            sweep(
                black_box(&routed),
                black_box(options),
                black_box(&cases),
                Some(stated),
            )
        })
    });
}

criterion_group!(model, benches);
criterion_main!(model);
