//! profile layer tests: the CPU transformer forward pass of every family (encoder,
//! GPT-2, Llama with GQA, Qwen2 with QKV bias) matches the f64 reference in f32 and
//! with f16 storage, for the encoder, prefill and decode passes; a corrupted model fails.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::profile::Precision;
use costscope::profile::cpu::attention::Elem;
use costscope::profile::cpu::packed::{self, Tile};
use costscope::profile::cpu::projection::Kernel;
use costscope::profile::cpu::transformer::CpuTransformer;
use costscope::profile::cpu::transformer_rows::{self, tolerance, verify, verify_at};
use costscope::profile::workloads::transformer::reference::{erf, gelu_erf};
use costscope::profile::workloads::transformer::weights::Weights;
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};

fn check<T: Elem>(name: &str, precision: Precision) -> Vec<(Pass, f64)> {
    let cfg = TransformerConfig::lookup(name).unwrap();
    let w = Weights::random(&cfg, precision, 42);
    let model = CpuTransformer::<T>::new(&w);
    Pass::for_family(cfg.family)
        .iter()
        .map(|&p| (p, verify(&model, &w, p, 7)))
        .collect()
}

#[test]
fn every_tiny_family_matches_the_reference_in_f32_and_f16() {
    for name in ["tiny-bert", "tiny-gpt2", "tiny-llama", "tiny-qwen2"] {
        let f32_errors = check::<f32>(name, Precision::F32);
        let f16_errors = check::<half::f16>(name, Precision::F16);
        eprintln!("{name}: f32 {f32_errors:?}, f16 {f16_errors:?}");
        for (pass, e) in f32_errors {
            assert!(e <= tolerance(Precision::F32), "{name} {pass:?} f32: {e}");
        }
        for (pass, e) in f16_errors {
            assert!(
                e <= tolerance(Precision::F16) && e > 0.0,
                "{name} {pass:?} f16: {e}"
            );
        }
    }
}

#[test]
fn sequences_longer_than_a_query_block_match_too() {
    // 45 tokens: two query blocks of 32, the causal mask crossing the block edge, and a
    // batch of 3 with 2 KV heads per 4 query heads.
    for name in ["tiny-bert", "tiny-llama"] {
        let cfg = TransformerConfig::lookup(name).unwrap();
        let w = Weights::random(&cfg, Precision::F32, 11);
        let model = CpuTransformer::<f32>::new(&w);
        for &pass in Pass::for_family(cfg.family) {
            let e = verify_at(&model, &w, pass, (3, 45, 2), 5);
            assert!(e <= tolerance(Precision::F32), "{name} {pass:?}: {e}");
        }
    }
}

#[test]
fn every_projection_kernel_and_tile_matches_the_reference_in_every_family() {
    if !packed::available() {
        // Without AVX2/FMA/F16C `with_kernel_on` falls back to the gemm crate and
        // unpacked attention, which this still checks; on CI (x86-64 with AVX2) the
        // packed kernel runs.
        assert!(std::env::var_os("CI").is_none() || !cfg!(target_arch = "x86_64"));
    }
    // The default is the packed kernel on AVX-512 CPUs, the gemm crate elsewhere, and
    // attention takes the widest tile: every pairing the CPU runs is checked here
    // whichever the default is (the A/B example times them).
    let tiles: Vec<Option<Tile>> = [Some(Tile::Avx512), Some(Tile::Avx2), None]
        .into_iter()
        .filter(|t| t.is_none_or(Tile::runs_here))
        .collect();
    let mut arms = Vec::new();
    for &tile in &tiles {
        arms.push((Kernel::GemmCrate, tile));
        if tile.is_some() {
            arms.push((Kernel::Packed, tile));
        }
    }
    for (kernel, tile) in arms {
        for name in ["tiny-bert", "tiny-gpt2", "tiny-llama", "tiny-qwen2"] {
            let cfg = TransformerConfig::lookup(name).unwrap();
            for precision in [Precision::F32, Precision::F16] {
                let w = Weights::random(&cfg, precision, 13);
                let errors: Vec<f64> = if precision == Precision::F32 {
                    let model = CpuTransformer::<f32>::with_kernel_on(&w, kernel, tile);
                    let passes = Pass::for_family(cfg.family).iter();
                    passes
                        .map(|&p| verify_at(&model, &w, p, (3, 45, 2), 5))
                        .collect()
                } else {
                    let model = CpuTransformer::<half::f16>::with_kernel_on(&w, kernel, tile);
                    let passes = Pass::for_family(cfg.family).iter();
                    passes.map(|&p| verify(&model, &w, p, 5)).collect()
                };
                for e in errors {
                    assert!(
                        e <= tolerance(precision),
                        "{kernel:?} on {tile:?} {name} {precision:?}: {e}"
                    );
                }
            }
        }
    }
}

#[test]
fn rows_name_the_default_kernel_the_avx512_packed_one_where_the_cpu_runs_it() {
    // The measured rule (docs/profiler.md): packed projections on the AVX-512 tile where
    // it runs, the gemm crate elsewhere; the rows' variant says which ran.
    let want = match Tile::best() {
        Some(Tile::Avx512) => "packed-avx512+attn",
        _ => "gemm-crate+attn",
    };
    assert_eq!(transformer_rows::variant(), want);
    assert_eq!(Kernel::Packed.variant(Some(Tile::Avx2)), "packed-avx2+attn");
    assert_eq!(Kernel::Packed.variant(None), "gemm-crate+attn");
}

#[test]
fn a_wrong_weight_is_caught() {
    let cfg = TransformerConfig::lookup("tiny-llama").unwrap();
    let w = Weights::random(&cfg, Precision::F32, 3);
    let mut bad = w.clone();
    // The second block's down projection, perturbed only on the CPU side.
    bad.layers[1].w_down[5] += 0.5;
    let model = CpuTransformer::<f32>::new(&bad);
    let e = verify(&model, &w, Pass::Decode, 1);
    assert!(e > tolerance(Precision::F32), "{e}");
}

#[test]
fn erf_and_gelu_match_known_values() {
    assert!((erf(0.5) - 0.520_499_877_813_046_5).abs() < 1e-15);
    assert!((erf(-2.0) + 0.995_322_265_018_952_7).abs() < 1e-15);
    assert_eq!(erf(7.0), 1.0);
    assert!((gelu_erf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
}

#[test]
fn a_cpu_run_with_transformers_counts_every_planned_unit() {
    let mut opts = costscope::profile::ProfileOptions::quick();
    opts.device = costscope::profile::DeviceChoice::Cpu;
    opts.models = vec!["small".into(), "tiny-bert".into(), "tiny-llama".into()];
    opts.precisions = vec![Precision::F32, Precision::Bf16];
    opts.gemm_sizes = Vec::new();
    opts.peaks = false;
    opts.batches = vec![1, 2];
    opts.seq_lens = vec![8];
    opts.context_lens = vec![16, 24];
    opts.budget_per_row = std::time::Duration::from_millis(20);
    // Per precision: small × 2 batches, tiny-bert 1 length × 2, tiny-llama (1 + 2) × 2.
    assert_eq!(opts.units_per_precision(), 2 + 2 + 6);
    let meter = opts.meter.clone();
    let mut fractions = Vec::new();
    let report =
        costscope::profile::run_profile(&opts, &mut |_| fractions.push(meter.snapshot().fraction))
            .expect("profile");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
    assert_eq!(meter.done_units(), opts.units_per_device(false));
    let timed = report
        .results
        .iter()
        .filter(|r| r.workload.transformer_name().is_some() && r.timing.is_some());
    assert_eq!(timed.count(), 2 + 6);
}

#[test]
fn top1_agreement_is_one_on_the_same_weights_and_falls_on_other_ones() {
    use costscope::profile::cpu::agreement::{agreement, reference};
    // With the head tied to the token table the arg-max is nearly always the last input
    // token (its own embedding dominates the residual stream), whatever the blocks do:
    // an independent head makes the answer depend on them.
    let cfg = TransformerConfig::lookup("tiny-llama").unwrap();
    let head = |seed| {
        costscope::profile::reference::Rng::new(seed).vec(cfg.vocab_size * cfg.hidden_size, 1.0)
    };
    let mut w = Weights::random(&cfg, Precision::F32, 21);
    w.lm_head = head(31);
    let mut other = Weights::random(&cfg, Precision::F32, 22);
    other.lm_head = head(32);
    for &pass in Pass::for_family(cfg.family) {
        let r = reference(&w, pass, 4);
        let same = agreement(&CpuTransformer::<f32>::new(&w), &r);
        let f16 = agreement(
            &CpuTransformer::<half::f16>::new(&w.clone().rounded(Precision::F16)),
            &r,
        );
        let wrong = agreement(&CpuTransformer::<f32>::new(&other), &r);
        eprintln!("{pass:?}: same {same}, f16 {f16}, other weights {wrong}");
        assert_eq!(same, 1.0, "{pass:?}");
        assert!(f16 > 0.5, "{pass:?}: {f16}");
        assert!(wrong < 0.5, "{pass:?}: {wrong}");
    }
}

#[test]
fn f16_decoder_rows_carry_top1_agreement_and_every_row_its_weights() {
    let mut opts = costscope::profile::ProfileOptions::quick();
    opts.device = costscope::profile::DeviceChoice::Cpu;
    opts.models = vec!["tiny-bert".into(), "tiny-gpt2".into()];
    opts.precisions = vec![Precision::F32, Precision::F16];
    opts.gemm_sizes = Vec::new();
    opts.batches = vec![1];
    opts.seq_lens = vec![8];
    opts.context_lens = vec![8];
    opts.budget_per_row = std::time::Duration::from_millis(20);
    let report = costscope::profile::run_profile(&opts, &mut |_| {}).expect("profile");
    let rows: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.workload.transformer_name().is_some())
        .collect();
    assert_eq!(rows.len(), 2 * (1 + 2), "{rows:?}");
    for r in rows {
        let label = r.weights.as_deref().unwrap_or_default();
        assert!(label.starts_with("random (seed "), "{label}");
        let decoder = r.workload.transformer_name() == Some("tiny-gpt2");
        match (decoder, r.precision) {
            (true, Precision::F16) => {
                let a = r
                    .top1_agreement
                    .expect("an f16 decoder row has top1_agreement");
                assert!((0.0..=1.0).contains(&a), "{a}");
            }
            _ => assert_eq!(r.top1_agreement, None, "{r:?}"),
        }
    }
}
