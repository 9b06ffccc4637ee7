//! Benchmarks of the simulator: simulated requests per second on one core for a
//! fixed M/M/c fleet, an on-demand fleet on a diurnal day, a batching fleet, and a
//! spot mix, and a day of the `llm-chatbot` preset's LLM fleet. Criterion reports throughput in requests ("elem/s").
//! Run: `cargo bench --bench simulate`

// A benchmark's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use costscope::model::{Plan, Policy, Rate};
use costscope::plan::presets;
use costscope::sim::{SimOptions, simulate, simulate_llm};

/// About one million requests per iteration.
const REQUESTS: f64 = 1e6;

fn plan(rate_rps: f64, service_ms: f64, policy: Policy) -> Plan {
    let mut p = presets::load("textbook-mmc").expect("preset loads");
    p.workload.rate_rps = Rate::Constant(rate_rps);
    p.service.batch_latency_ms = vec![(1, service_ms)];
    p.policy = policy;
    p
}

fn bench(c: &mut Criterion, name: &str, p: &Plan) {
    let rate = costscope::model::traffic::mean_rate_rps(&p.workload.rate_rps);
    let options = SimOptions {
        hours: REQUESTS / rate / 3600.0,
        ..SimOptions::default()
    };
    let requests = simulate(p, &options).expect("simulates").requests;
    let mut group = c.benchmark_group("simulate");
    group.throughput(Throughput::Elements(requests));
    group.sample_size(20);
    group.bench_function(name, |b| {
        b.iter(|| simulate(black_box(p), black_box(&options)).expect("simulates"))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    // M/M/4 at ρ = 0.8 with 1 ms service.
    let mmc = plan(3200.0, 1.0, Policy::AlwaysOn { servers: 4 });
    bench(c, "mmc_c4_rho0.8", &mmc);

    // On-demand, cap 64, diurnal traffic: starts, idle sweeps and stops.
    let mut od = plan(
        0.0,
        100.0,
        Policy::OnDemand {
            idle_timeout_s: 5.0,
            max_servers: 64,
        },
    );
    od.workload.rate_rps = Rate::Diurnal {
        peak: 200.0,
        trough: 20.0,
        peak_hour: 14,
    };
    od.service.cold_start_s = 2.0;
    bench(c, "on_demand_diurnal", &od);

    // Gamma service (CV 0.6), batches of up to 8 within 2 ms.
    let mut batched = plan(20_000.0, 1.0, Policy::AlwaysOn { servers: 8 });
    batched.service.batch_latency_ms = vec![(1, 1.0), (8, 2.5)];
    batched.service.service_cv = 0.6;
    batched.batching.max_batch = 8;
    batched.batching.window_ms = 2.0;
    bench(c, "batched_gamma", &batched);

    // Spot mix with frequent interruptions.
    let mut spot = plan(
        3200.0,
        1.0,
        Policy::SpotMix {
            on_demand: 2,
            spot: 4,
            checkpoint_interval_s: 600.0,
            checkpoint_s: 1.0,
        },
    );
    spot.hardware.spot_interruptions_per_hour = 60.0;
    spot.service.cold_start_s = 5.0;
    bench(c, "spot_mix", &spot);

    // A day of the llm-chatbot preset's recommended fleet (1 on-demand + 2 spot L4
    // replicas): the LLM fleet simulator, iteration scheduler per replica.
    let mut llm = presets::load("llm-chatbot").expect("preset loads");
    llm.policy = Policy::SpotMix {
        on_demand: 1,
        spot: 2,
        checkpoint_interval_s: 600.0,
        checkpoint_s: 0.0,
    };
    let day = SimOptions::default();
    let requests = simulate_llm(&llm, &day).expect("simulates").fleet.requests;
    let mut group = c.benchmark_group("simulate");
    group.throughput(Throughput::Elements(requests));
    group.sample_size(10);
    group.bench_function("llm_chatbot_day", |b| {
        b.iter(|| simulate_llm(black_box(&llm), black_box(&day)).expect("simulates"))
    });
    group.finish();
}

criterion_group!(simulate_benches, benches);
criterion_main!(simulate_benches);
