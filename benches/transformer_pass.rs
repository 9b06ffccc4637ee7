//! profile layer benchmark: where a transformer pass's time goes.
//!
//! - GPU (the first wgpu adapter, lavapipe here): the host overhead of one encoder pass —
//!   the wall clock of one `run_pass` (submit until the poll returns) against the sum
//!   of its kernels' GPU timestamps (each step timed in its own pass, as an `ops`
//!   profile does), for tiny-bert and all-MiniLM-L6-v2 at 32 tokens, batch 1;
//! - CPU: the cost of lapping every operator (`forward_lap` against `forward` on
//!   tiny-bert at 128 tokens), and bert-base-uncased at 128 tokens, batch 1, against the
//!   FLOP-bound estimate from the measured CPU FMA peak.
//!
//! Prints `RESULT` lines to stderr after criterion's own output.

// A benchmark's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use costscope::profile::Precision;
use costscope::profile::cpu::fma_peak_gflops;
use costscope::profile::cpu::transformer::CpuTransformer;
use costscope::profile::gpu::kernels::GemmLayout;
use costscope::profile::gpu::op_timer::StepTimer;
use costscope::profile::gpu::open_first;
use costscope::profile::gpu::timer::{Bench, Timer};
use costscope::profile::gpu::transformer::GpuEncoder;
use costscope::profile::gpu::transformer_rows::pick_variant;
use costscope::profile::stats::{SamplingBudget, percentile};
use costscope::profile::workloads::transformer::accounting::flops_per_item;
use costscope::profile::workloads::transformer::op_time::OpLap;
use costscope::profile::workloads::transformer::ops::OpKind;
use costscope::profile::workloads::transformer::weights::{Weights, random_tokens};
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};
use criterion::{Criterion, criterion_group, criterion_main};

/// Encoders and shape of the GPU host-overhead check: (model, tokens, batch).
const GPU_CASES: [(&str, usize, usize); 2] = [("tiny-bert", 32, 1), ("all-MiniLM-L6-v2", 32, 1)];
/// Runs per figure of the host-overhead check (its medians are reported).
const GPU_RUNS: usize = 21;
/// Tokens of the CPU passes.
const CPU_SEQ: usize = 128;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    percentile(&xs, 50.0)
}

fn gpu_pass(c: &mut Criterion) {
    let ctx = match open_first(std::env::var("COSTSCOPE_BENCH_ADAPTER").ok().as_deref()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("no GPU adapter ({e}); skipping the GPU encoder benchmark");
            return;
        }
    };
    let layout = GemmLayout::new(&ctx.device);
    let timer = Timer::new(&ctx, Duration::from_secs(120));
    let budget = SamplingBudget::new(Duration::from_secs(1), 0.02);
    let bench = Bench {
        ctx: &ctx,
        layout: &layout,
        timer: &timer,
        budget: &budget,
    };
    let mut results = Vec::new();
    let mut group = c.benchmark_group(format!("encoder_pass_{}", ctx.name.replace(' ', "_")));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (name, seq, batch) in GPU_CASES {
        let cfg = TransformerConfig::lookup(name).expect("shipped");
        let w = Weights::random(&cfg, Precision::F32, 1);
        let v = pick_variant(bench, &cfg, Precision::F32).expect("a variant verifies");
        let model = GpuEncoder::upload(&ctx, &layout, &w, Precision::F32, v).expect("upload");
        let plan = model
            .plan(&ctx, &layout, (batch, seq), cfg.num_layers)
            .expect("plan");
        plan.write_tokens(&ctx, &random_tokens(batch * seq, cfg.vocab_size, 2))
            .expect("tokens");
        let run = || {
            timer
                .run_pass(&ctx, "bench pass", &|pass| model.record(pass, &plan))
                .expect("pass")
        };
        group.bench_function(format!("{name}_seq{seq}_b{batch}"), |bch| {
            bch.iter_custom(|iters| {
                (0..iters)
                    .map(|_| Duration::from_secs_f64(run().wall_ms / 1e3))
                    .sum()
            })
        });
        let kinds = plan.op_kinds();
        let Some(steps) = StepTimer::new(&ctx, kinds.len()).expect("query sets") else {
            eprintln!("RESULT {name}: the adapter has no TIMESTAMP_QUERY; no kernel timestamps");
            continue;
        };
        let runs: Vec<_> = (0..GPU_RUNS).map(|_| run()).collect();
        let wall = median(runs.iter().map(|r| r.wall_ms).collect());
        let pass_gpu = median(runs.iter().filter_map(|r| r.gpu_ms).collect());
        let kernels = median(
            (0..GPU_RUNS)
                .map(|_| {
                    let (ms, _) = steps
                        .run(&ctx, &timer, &kinds, &|p, i| model.record_step(p, &plan, i))
                        .expect("ops run");
                    ms.iter().sum()
                })
                .collect(),
        );
        results.push((name, seq, batch, kinds.len(), wall, pass_gpu, kernels));
    }
    group.finish();
    for (name, seq, batch, steps, wall, pass_gpu, kernels) in results {
        eprintln!(
            "RESULT gpu {name} seq {seq} b{batch} ({steps} dispatches): run_pass wall {wall:.3} ms, \
             pass timestamps {pass_gpu:.3} ms, Σ kernel timestamps {kernels:.3} ms; \
             wall / Σ kernels = {:.3} (target ≤ 1.1), wall / pass = {:.3}",
            wall / kernels,
            wall / pass_gpu
        );
    }
}

/// Median ms of `runs` calls of `f`.
fn time_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    median(
        (0..runs)
            .map(|_| {
                let t0 = Instant::now();
                f();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn cpu_pass(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_encoder");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    // The lap's cost: the same pass with and without it, interleaved so load drifts hit
    // both alike.
    let cfg = TransformerConfig::lookup("tiny-bert").expect("shipped");
    let model = CpuTransformer::<f32>::new(&Weights::random(&cfg, Precision::F32, 1));
    let mut bufs = model.buffers(1, CPU_SEQ, CPU_SEQ);
    let tokens = random_tokens(CPU_SEQ, cfg.vocab_size, 3);
    let layers = cfg.num_layers;
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        off.push(time_ms(1, || {
            model.forward(&mut bufs, &tokens, (CPU_SEQ, 0), layers)
        }));
        on.push(time_ms(1, || {
            let mut ms = [0.0; OpKind::COUNT];
            let mut lap = OpLap::on(&mut ms);
            model.forward_lap(&mut bufs, &tokens, (CPU_SEQ, 0), layers, &mut lap);
        }));
    }
    let (off, on) = (median(off), median(on));
    eprintln!(
        "RESULT cpu tiny-bert seq {CPU_SEQ} b1: forward {off:.4} ms, forward_lap {on:.4} ms, \
         lap overhead {:+.2} %",
        100.0 * (on / off - 1.0)
    );
    let peak = fma_peak_gflops(20_000_000);
    let cfg = TransformerConfig::lookup("bert-base-uncased").expect("shipped");
    let model = CpuTransformer::<f32>::new(&Weights::random(&cfg, Precision::F32, 1));
    let mut bufs = model.buffers(1, CPU_SEQ, CPU_SEQ);
    let tokens = random_tokens(CPU_SEQ, cfg.vocab_size, 3);
    let mut seen = (Duration::ZERO, 0u64);
    group.bench_function(format!("bert-base-uncased_seq{CPU_SEQ}_b1"), |bch| {
        bch.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                model.forward(&mut bufs, &tokens, (CPU_SEQ, 0), cfg.num_layers);
            }
            let d = t0.elapsed();
            seen = (seen.0 + d, seen.1 + iters);
            d
        })
    });
    group.finish();
    if seen.1 == 0 {
        return; // filtered out on the command line
    }
    let ms = seen.0.as_secs_f64() * 1e3 / seen.1 as f64;
    let flops = flops_per_item(&cfg, Pass::Encoder, CPU_SEQ);
    let bound_ms = flops / (peak * 1e6);
    eprintln!(
        "RESULT cpu bert-base-uncased seq {CPU_SEQ} b1: {ms:.1} ms ({:.1} GFLOP/s); FMA peak \
         {peak:.1} GFLOP/s → FLOP bound {bound_ms:.1} ms; measured / bound = {:.2} (target ≤ 2)",
        flops / (ms * 1e6),
        ms / bound_ms
    );
}

criterion_group!(benches, gpu_pass, cpu_pass);
criterion_main!(benches);
