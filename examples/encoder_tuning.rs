//! profile layer example: one GPU encoder pass with every projection on the first GEMM
//! variant that verifies, against the same pass with each projection shape tuned
//! (`gpu::gemm_tune`), on the first wgpu adapter (`COSTSCOPE_BENCH_ADAPTER` picks
//! another). Both assignments are verified against the f64 reference first, then timed
//! alternately (GPU timestamps, else the wall clock) so load drifts hit both alike.
//!
//! `cargo run --release --example encoder_tuning -- MODEL SEQ BATCH PRECISION [ROUNDS]`,
//! e.g. `-- all-MiniLM-L6-v2 128 1 f32`.

// An example's panic is its error report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use costscope::profile::Precision;
use costscope::profile::cpu::transformer_rows::tolerance;
use costscope::profile::gpu::gemm_tune::ProjectionTuner;
use costscope::profile::gpu::kernels::GemmLayout;
use costscope::profile::gpu::open_first;
use costscope::profile::gpu::timer::{Bench, Timer};
use costscope::profile::gpu::transformer::{GemmChoice, GpuEncoder};
use costscope::profile::gpu::transformer_rows::{PassCheck, TUNED, pick_variant, tune_plan};
use costscope::profile::stats::percentile;
use costscope::profile::workloads::transformer::TransformerConfig;
use costscope::profile::workloads::transformer::weights::{Weights, random_tokens};

/// Timed passes per assignment per round.
const PASSES_PER_ROUND: usize = 5;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    percentile(&xs, 50.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let name = arg(0, "tiny-bert");
    let seq: usize = arg(1, "128").parse().expect("SEQ");
    let batch: usize = arg(2, "1").parse().expect("BATCH");
    let p: Precision = arg(3, "f32").parse().expect("PRECISION");
    let rounds: usize = arg(4, "3").parse().expect("ROUNDS");
    let ctx =
        open_first(std::env::var("COSTSCOPE_BENCH_ADAPTER").ok().as_deref()).expect("adapter");
    let layout = GemmLayout::new(&ctx.device);
    let timer = Timer::new(&ctx, Duration::from_secs(300));
    let budget = costscope::profile::stats::SamplingBudget::new(Duration::from_secs(1), 0.02);
    let bench = Bench {
        ctx: &ctx,
        layout: &layout,
        timer: &timer,
        budget: &budget,
    };
    let cfg = TransformerConfig::lookup(&name).expect("a shipped config");
    let w = Weights::random(&cfg, p, 1);
    let model = GpuEncoder::upload_with(&ctx, &layout, &w, p, &TUNED).expect("upload");
    let mut check = PassCheck::new(bench, &model, &w, 3).expect("check plan");
    drop(w);
    let mut plan = model
        .plan(&ctx, &layout, (batch, seq), cfg.num_layers)
        .expect("plan");
    plan.write_tokens(&ctx, &random_tokens(batch * seq, cfg.vocab_size, 2))
        .expect("tokens");
    let first = pick_variant(bench, &cfg, p).expect("a variant verifies");
    let untuned: GemmChoice = plan
        .projections(&model)
        .iter()
        .map(|s| ((s.shape.1, s.shape.2), first))
        .collect();
    let t0 = Instant::now();
    let tuned = tune_plan(bench, &model, &mut plan, &ProjectionTuner::new()).expect("tunes");
    let tuning_s = t0.elapsed().as_secs_f64();
    println!(
        "{} {name} {} seq {seq} batch {batch}; tuning took {tuning_s:.2} s",
        ctx.name,
        p.name()
    );
    for (key, c) in &tuned.shapes {
        let times: Vec<String> = c
            .candidates
            .iter()
            .map(|x| match x.ms {
                Some(ms) => format!("{} {ms:.3} ms ({} runs)", x.variant.name(), x.runs),
                None => format!("{} not verified ({:.1e})", x.variant.name(), x.rel_error),
            })
            .collect();
        println!(
            "  {:?}: {} <- {}",
            key.shape,
            c.variant.name(),
            times.join(", ")
        );
    }
    for (label, choice) in [("first-verified", &untuned), ("tuned", &tuned.choice)] {
        let err = check.error(bench, &model, choice).expect("verifies");
        assert!(err <= tolerance(p), "{label} pass does not verify: {err}");
        println!("  {label} pass rel error {err:.2e}");
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, choice) in [&untuned, &tuned.choice].into_iter().enumerate() {
            plan.assign(&model, choice).expect("assign");
            let run = || {
                let r = timer
                    .run_pass(&ctx, "encoder pass", &|pass| model.record(pass, &plan))
                    .expect("pass");
                r.gpu_ms.unwrap_or(r.wall_ms)
            };
            run(); // warm-up after the switch
            times[i].extend((0..PASSES_PER_ROUND).map(|_| run()));
        }
    }
    let [a, b] = times.map(median);
    println!(
        "  pass median over {} runs each: first-verified ({}) {a:.2} ms, tuned {b:.2} ms, {:.2}x",
        rounds * PASSES_PER_ROUND,
        first.name(),
        a / b
    );
}
