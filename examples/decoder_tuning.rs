//! profile layer example: one GPU decoder pass (prefill or one decode step) with every
//! projection and the LM head on the first GEMM variant that verifies, against the
//! same pass with each projection shape tuned (`gpu::decoder_tune`), on the first wgpu
//! adapter (`COSTSCOPE_BENCH_ADAPTER` picks another). Both assignments are verified
//! against the f64 reference first, then timed alternately (GPU timestamps, else the
//! wall clock) so load drifts hit both alike.
//!
//! `cargo run --release --example decoder_tuning -- MODEL PASS LEN BATCH PRECISION
//! [ROUNDS] [LAYERS] [VOCAB]`: PASS is `prefill` (LEN prompt tokens) or `decode` (one
//! step against LEN cached tokens); LAYERS keeps the first blocks only, VOCAB cuts the
//! vocabulary (so gpt2's token table fits a 128 MiB binding in f32), e.g.
//! `-- gpt2 decode 512 1 f32 3 2 32000`.

// An example's panic is its error report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use costscope::profile::Precision;
use costscope::profile::cpu::transformer_rows::tolerance;
use costscope::profile::gpu::decoder::{DecoderShape, GpuDecoder};
use costscope::profile::gpu::decoder_check::DecoderCheck;
use costscope::profile::gpu::decoder_tune::{DecoderChoice, ProjectionSlot, tune_plan};
use costscope::profile::gpu::gemm_tune::ProjectionTuner;
use costscope::profile::gpu::kernels::GemmLayout;
use costscope::profile::gpu::open_first;
use costscope::profile::gpu::timer::{Bench, Timer};
use costscope::profile::gpu::transformer_rows::{TUNED, pick_variant};
use costscope::profile::stats::percentile;
use costscope::profile::workloads::transformer::weights::{Weights, random_tokens};
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};

/// Timed passes per assignment per round.
const PASSES_PER_ROUND: usize = 3;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    percentile(&xs, 50.0)
}

/// The shipped config `name`, cut to its first `layers` blocks and `vocab` tokens.
fn config(name: &str, layers: Option<usize>, vocab: Option<usize>) -> TransformerConfig {
    let mut cfg = TransformerConfig::lookup(name).expect("a shipped config");
    if let Some(l) = layers {
        cfg.num_layers = l.clamp(1, cfg.num_layers);
    }
    if let Some(v) = vocab {
        cfg.vocab_size = v.clamp(1, cfg.vocab_size);
    }
    cfg
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let opt = |i: usize| args.get(i).map(|s| s.parse::<usize>().expect("a count"));
    let name = arg(0, "tiny-gpt2");
    let pass = match arg(1, "prefill").as_str() {
        "decode" => Pass::Decode,
        "prefill" => Pass::Prefill,
        other => panic!("PASS is prefill or decode, not {other}"),
    };
    let len: usize = arg(2, "64").parse().expect("LEN");
    let batch: usize = arg(3, "1").parse().expect("BATCH");
    let p: Precision = arg(4, "f32").parse().expect("PRECISION");
    let rounds: usize = arg(5, "3").parse().expect("ROUNDS");
    let cfg = config(&name, opt(6), opt(7));
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
    let w = Weights::random(&cfg, p, 1);
    let model = GpuDecoder::upload_with(&ctx, &layout, &w, p, &TUNED).expect("upload");
    let mut check = DecoderCheck::new(&model, &w, None, &[pass], 3);
    drop(w);
    let shape = DecoderShape { pass, batch, len };
    let cache = model
        .kv_cache(&ctx, batch, shape.cache_len())
        .expect("cache");
    let mut plan = model
        .plan(&ctx, &layout, shape, cfg.num_layers, &cache)
        .expect("plan");
    let count = batch * shape.rows();
    plan.write_tokens(&ctx, &random_tokens(count, cfg.vocab_size, 2))
        .expect("tokens");
    let first = pick_variant(bench, &cfg, p).expect("a variant verifies");
    let untuned: DecoderChoice = plan
        .projections(&model)
        .iter()
        .map(|s| (ProjectionSlot::of(s), first))
        .collect();
    let t0 = Instant::now();
    let tuned = tune_plan(bench, &model, &mut plan, &ProjectionTuner::new()).expect("tunes");
    let tuning_s = t0.elapsed().as_secs_f64();
    println!(
        "{} {} ({} layers, vocab {}) {} {pass:?} len {len} batch {batch}; tuning took {tuning_s:.2} s",
        ctx.name,
        cfg.name,
        cfg.num_layers,
        cfg.vocab_size,
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
        let err = check.error(bench, &model, pass, choice).expect("verifies");
        assert!(err <= tolerance(p), "{label} pass does not verify: {err}");
        println!("  {label} pass rel error {err:.2e}");
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, choice) in [&untuned, &tuned.choice].into_iter().enumerate() {
            plan.assign(&model, choice).expect("assign");
            let run = || {
                let r = timer
                    .run_pass(&ctx, "decoder pass", &|cp| model.record(cp, &plan))
                    .expect("pass");
                r.gpu_ms.unwrap_or(r.wall_ms)
            };
            run(); // warm-up after the switch
            times[i].extend((0..PASSES_PER_ROUND).map(|_| run()));
        }
    }
    let [a, b] = times.map(median);
    println!(
        "  pass median over {} runs each ({:?}): first-verified ({}) {a:.2} ms, tuned {b:.2} ms, {:.2}x",
        rounds * PASSES_PER_ROUND,
        timer.method(),
        first.name(),
        a / b
    );
}
