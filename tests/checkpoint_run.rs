//! profile layer tests: profile runs with `--weights` — the real binary on the CPU
//! (rows name the file, f16 decoder rows carry top1_agreement, a wrong model or file is
//! refused before the run) and the encoder sweep on a GPU adapter.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod checkpoint_common;
mod common;
mod profile_common;

use checkpoint_common::{checkpoint, temp};
use costscope::profile::reference::Rng;
use costscope::profile::report::ProfileReport;
use costscope::profile::workloads::transformer::TransformerConfig;
use costscope::profile::workloads::transformer::weights::Weights;
use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};
use safetensors::Dtype;

/// Random f32 weights of `name`, with an untied head of its own where the config is
/// untied.
fn master(name: &str, seed: u64) -> Weights {
    let c = TransformerConfig::lookup(name).unwrap();
    let mut w = Weights::random(&c, Precision::F32, seed);
    if c.family.is_decoder() && !c.tied_embeddings {
        w.lm_head = Rng::new(seed + 1).vec(c.vocab_size * c.hidden_size, 0.1);
    }
    w
}

#[test]
fn the_binary_reports_the_file_and_the_f16_top1_agreement() {
    let w = master("tiny-llama", 12);
    let path = temp("run.safetensors");
    checkpoint(&w).write(&path, Dtype::BF16);
    let out = temp("run.json");
    let file = path.display().to_string();
    let (code, _, err) = common::costscope(&[
        "profile",
        "--cpu",
        "--quick",
        "--model",
        "tiny-llama",
        "--weights",
        &file,
        "--precision",
        "f32,f16",
        "--batches",
        "1",
        "--seq-len",
        "8",
        "--context-len",
        "8",
        "--budget-s",
        "0.05",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let report = ProfileReport::read(&out).unwrap();
    let rows: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.workload.transformer_name() == Some("tiny-llama"))
        .collect();
    assert_eq!(rows.len(), 4, "prefill + decode at f32 and f16");
    for r in rows {
        assert_eq!(r.weights.as_deref(), Some(file.as_str()));
        assert!(r.correct && r.timing.is_some(), "{r:?}");
        match r.precision {
            Precision::F32 => assert_eq!(r.top1_agreement, None),
            _ => {
                let a = r
                    .top1_agreement
                    .expect("f16 decoder rows have top1_agreement");
                assert!((0.0..=1.0).contains(&a), "{a}");
            }
        }
    }

    let (code, _, err) =
        common::costscope(&["profile", "--cpu", "--model", "small", "--weights", &file]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--weights needs exactly one --model, a transformer config"),
        "{err}"
    );
    let (code, _, err) = common::costscope(&[
        "profile",
        "--cpu",
        "--model",
        "tiny-gpt2",
        "--weights",
        &file,
        "--quick",
        "--seq-len",
        "8",
        "--context-len",
        "8",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("{file}: tensor `wte.weight` is missing")),
        "{err}"
    );
}

#[test]
fn the_library_refuses_weights_beside_a_second_model() {
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Cpu;
    opts.models = vec!["tiny-llama".into(), "tiny-gpt2".into()];
    opts.seq_lens = vec![8];
    opts.context_lens = vec![8];
    opts.weights = Some(temp("unused.safetensors"));
    let e = run_profile(&opts, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("a weights file (--weights) needs exactly one model, a transformer; got `tiny-llama,tiny-gpt2`"), "{e}");
}

#[test]
fn the_gpu_encoder_sweep_runs_a_checkpoint() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let path = temp("gpu-bert.safetensors");
    checkpoint(&master("tiny-bert", 14)).write(&path, Dtype::F16);
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Adapter(ctx.name.clone());
    drop(ctx);
    opts.models = vec!["tiny-bert".into()];
    opts.precisions = vec![Precision::F32];
    opts.gemm_sizes = Vec::new();
    opts.peaks = false;
    opts.seq_lens = vec![16];
    opts.batches = vec![1];
    opts.budget_per_row = std::time::Duration::from_millis(30);
    opts.weights = Some(path.clone());
    let report = run_profile(&opts, &mut |_| {}).expect("profile");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let gpu: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.workload.transformer_name().is_some() && r.device != "cpu")
        .collect();
    assert_eq!(gpu.len(), 1, "{:?}", report.results);
    let file = path.display().to_string();
    for r in report
        .results
        .iter()
        .filter(|r| r.workload.transformer_name().is_some())
    {
        assert_eq!(r.weights.as_deref(), Some(file.as_str()), "{r:?}");
        assert!(
            r.correct && r.timing.is_some() && r.top1_agreement.is_none(),
            "{r:?}"
        );
    }
}
