//! profile layer benchmark: tuned vs naive f32 GEMM at 256³ on the first wgpu adapter
//! (lavapipe here), and the CPU `gemm` crate at 1024³ vs the measured CPU FMA peak.
//! Prints achieved GFLOP/s and the ratios to stderr after criterion's own output.

// A benchmark's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use costscope::profile::Precision;
use costscope::profile::autotune::{TuneCache, tune_gemm};
use costscope::profile::cpu::{CpuGemm, fma_peak_gflops};
use costscope::profile::gpu::buffers::{Operands, Timer};
use costscope::profile::gpu::kernels::{GemmKernel, GemmLayout, Variant};
use costscope::profile::gpu::{GpuContext, open_first};
use costscope::profile::reference::{Epilogue, Rng};
use costscope::profile::stats::SamplingBudget;
use criterion::{Criterion, criterion_group, criterion_main};

const N: usize = 256;
const CPU_N: usize = 1024;

fn gflops(n: usize, per_iter: Duration) -> f64 {
    2.0 * (n * n * n) as f64 / per_iter.as_secs_f64() / 1e9
}

fn gpu_iter(
    ctx: &GpuContext,
    timer: &Timer,
    kernel: &GemmKernel,
    ops: &Operands,
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        match timer.run(ctx, &[(kernel, ops)], "bench") {
            Ok(t) => total += Duration::from_secs_f64(t.gpu_ms.unwrap_or(t.wall_ms) / 1e3),
            Err(e) => panic!("benchmark dispatch failed: {e}"),
        }
    }
    total
}

fn gpu_gemm(c: &mut Criterion) {
    let ctx = match open_first(std::env::var("COSTSCOPE_BENCH_ADAPTER").ok().as_deref()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("no GPU adapter ({e}); skipping the GPU GEMM benchmark");
            return;
        }
    };
    let layout = GemmLayout::new(&ctx.device);
    let timer = Timer::new(&ctx, Duration::from_secs(60));
    let budget = SamplingBudget::new(Duration::from_secs(1), 0.02);
    let mut cache = TuneCache::default();
    let tuned = tune_gemm(
        &ctx,
        &layout,
        &timer,
        &budget,
        Precision::F32,
        (N, N, N),
        &mut cache,
    )
    .expect("autotune");
    let best = tuned.winner.expect("a correct variant");
    let naive = GemmKernel::new(&ctx, &layout, Variant::Naive, Precision::F32).expect("naive");
    let mut rng = Rng::new(1);
    let (a, b) = (rng.vec(N * N, 1.0), rng.vec(N * N, 1.0));
    let ops = Operands::upload(
        &ctx,
        &layout,
        Precision::F32,
        (N, N, N),
        Epilogue::None,
        [&a, &b, &[0.0]],
    )
    .expect("upload");
    let mut group = c.benchmark_group(format!("gemm{N}_f32_{}", ctx.name.replace(' ', "_")));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    let mut per_iter = Vec::new();
    for (name, kernel) in [("naive", &naive), ("tuned", &best)] {
        let mut seen = (Duration::ZERO, 0u64);
        group.bench_function(name, |bch| {
            bch.iter_custom(|iters| {
                let d = gpu_iter(&ctx, &timer, kernel, &ops, iters);
                seen = (seen.0 + d, seen.1 + iters);
                d
            })
        });
        // A benchmark filtered out on the command line never runs: nothing to report.
        if seen.1 > 0 {
            per_iter.push((name, kernel.variant.name(), seen.0 / seen.1 as u32));
        }
    }
    group.finish();
    for (name, variant, d) in &per_iter {
        eprintln!(
            "RESULT gpu {name} ({variant}) {N}^3 f32: {:.3} ms, {:.2} GFLOP/s",
            d.as_secs_f64() * 1e3,
            gflops(N, *d)
        );
    }
    if let [(_, _, naive_d), (_, _, tuned_d)] = per_iter[..] {
        eprintln!(
            "RESULT gpu tuned/naive speedup: {:.1}x",
            naive_d.as_secs_f64() / tuned_d.as_secs_f64()
        );
    }
}

fn cpu_gemm(c: &mut Criterion) {
    let peak = fma_peak_gflops(20_000_000);
    let mut g = CpuGemm::new(Precision::F32, (CPU_N, CPU_N, CPU_N)).expect("cpu gemm");
    let mut group = c.benchmark_group("cpu_gemm_f32");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    let mut seen = (Duration::ZERO, 0u64);
    group.bench_function(format!("{CPU_N}"), |bch| {
        bch.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                g.run();
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
    let per = seen.0 / seen.1 as u32;
    let achieved = gflops(CPU_N, per);
    eprintln!(
        "RESULT cpu gemm {CPU_N}^3 f32: {:.2} ms, {achieved:.1} GFLOP/s; FMA peak {peak:.1} GFLOP/s; {:.0} % of peak",
        per.as_secs_f64() * 1e3,
        100.0 * achieved / peak
    );
}

criterion_group!(benches, gpu_gemm, cpu_gemm);
criterion_main!(benches);
