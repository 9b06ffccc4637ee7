//! profile layer tests: `--weights` safetensors checkpoints — tiny files written in the
//! Hugging Face names and PyTorch layouts of every family load as written (transposes,
//! fused GPT-2 QKV, token types folded, RoBERTa's position offset, F16/BF16), run like
//! the f64 reference; broken files give one line naming the tensor and the file, never
//! a panic. Profile runs with `--weights` are in tests/checkpoint_run.rs.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod checkpoint_common;

use checkpoint_common::{Tensors, assert_same, checkpoint, encoder, temp};
use costscope::profile::cpu::attention::Elem;
use costscope::profile::cpu::transformer::CpuTransformer;
use costscope::profile::cpu::transformer_rows::{tolerance, verify};
use costscope::profile::reference::Rng;
use costscope::profile::workloads::transformer::weights::Weights;
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};
use costscope::profile::{Precision, ProfileError};
use safetensors::Dtype;

fn cfg(name: &str) -> TransformerConfig {
    TransformerConfig::lookup(name).unwrap()
}

/// Random f32 weights of `name`, with an untied head of its own where the config is
/// untied (random weights share the token table).
fn master(name: &str, seed: u64) -> Weights {
    let c = cfg(name);
    let mut w = Weights::random(&c, Precision::F32, seed);
    if c.family.is_decoder() && !c.tied_embeddings {
        w.lm_head = Rng::new(seed + 1).vec(c.vocab_size * c.hidden_size, 0.1);
    }
    w
}

fn precision_of(dtype: Dtype) -> Precision {
    match dtype {
        Dtype::F16 => Precision::F16,
        Dtype::BF16 => Precision::Bf16,
        _ => Precision::F32,
    }
}

/// Every pass of `w` on the CPU in storage `T` against the f64 reference over `w`.
fn check_forward<T: Elem>(w: &Weights, precision: Precision) {
    let model = CpuTransformer::<T>::new(w);
    for &pass in Pass::for_family(w.cfg.family) {
        let e = verify(&model, w, pass, 3);
        assert!(
            e <= tolerance(precision),
            "{} {pass:?} {precision}: {e}",
            w.cfg.name
        );
    }
}

#[test]
fn every_family_loads_as_written_and_runs_like_the_reference() {
    for (name, dtype) in [
        ("tiny-bert", Dtype::F32),
        ("tiny-gpt2", Dtype::F16),
        ("tiny-llama", Dtype::BF16),
        ("tiny-qwen2", Dtype::F32),
    ] {
        let w = master(name, 5);
        let file = checkpoint(&w);
        let path = temp(&format!("{name}.safetensors"));
        file.write(&path, dtype);
        let loaded = Weights::load(&w.cfg, &path, Precision::F32).unwrap();
        // The file holds the values rounded to its dtype, and nothing else changes them.
        assert_same(&loaded, &w.clone().rounded(precision_of(dtype)));
        check_forward::<f32>(&loaded, Precision::F32);
        let f16 = Weights::load(&w.cfg, &path, Precision::F16).unwrap();
        assert_same(&f16, &loaded.clone().rounded(Precision::F16));
        check_forward::<half::f16>(&f16, Precision::F16);
    }
}

#[test]
fn transposes_and_fused_matrices_land_where_the_forward_pass_reads_them() {
    let c = cfg("tiny-llama");
    let (d, i, q, kv) = (c.hidden_size, c.intermediate_size, c.q_dim(), c.kv_dim());
    let w = master("tiny-llama", 9);
    let file = checkpoint(&w);
    let path = temp("llama-elements.safetensors");
    file.write(&path, Dtype::F32);
    let l = Weights::load(&c, &path, Precision::F32).unwrap();
    // nn.Linear [out, in]: element (o, i) is input i's weight into output o.
    let k = file.get("model.layers.1.self_attn.k_proj.weight");
    assert_eq!(l.layers[1].wqkv[5 * (q + 2 * kv) + q + 3], k[3 * d + 5]);
    let up = file.get("model.layers.0.mlp.up_proj.weight");
    assert_eq!(l.layers[0].w_up[9 * 2 * i + i + 7], up[7 * d + 9]);
    let gate = file.get("model.layers.0.mlp.gate_proj.weight");
    assert_eq!(l.layers[0].w_up[9 * 2 * i + 7], gate[7 * d + 9]);
    let o = file.get("model.layers.0.self_attn.o_proj.weight");
    assert_eq!(l.layers[0].wo[2 * d + 11], o[11 * q + 2]);
    assert_eq!(l.lm_head, file.get("lm_head.weight"));

    // GPT-2's Conv1D is [in, out] already: element (i, j) stays (i, j).
    let g = cfg("tiny-gpt2");
    let w = master("tiny-gpt2", 2);
    let file = checkpoint(&w);
    let path = temp("gpt2-elements.safetensors");
    file.write(&path, Dtype::F32);
    let l = Weights::load(&g, &path, Precision::F32).unwrap();
    let qkv = file.get("h.1.attn.c_attn.weight");
    assert_eq!(
        l.layers[1].wqkv[2 * 3 * g.hidden_size + 150],
        qkv[2 * 3 * g.hidden_size + 150]
    );
    assert!(l.lm_head.is_empty(), "GPT-2's head is the token table");
}

#[test]
fn bert_folds_token_type_zero_into_the_positions_and_reads_gamma_beta() {
    let w = master("tiny-bert", 4);
    let d = w.cfg.hidden_size;
    let types = Rng::new(8).vec(2 * d, 0.1);
    let file = encoder(&w, "bert", "", &types, &w.positions);
    let path = temp("bert-types.safetensors");
    file.write(&path, Dtype::F32);
    let loaded = Weights::load(&w.cfg, &path, Precision::F32).unwrap();
    let mut want = w.clone();
    for row in want.positions.chunks_mut(d) {
        row.iter_mut().zip(&types[..d]).for_each(|(p, t)| *p += t);
    }
    assert_same(&loaded, &want);
    check_forward::<f32>(&loaded, Precision::F32);
}

/// A config.json in the temp folder, parsed.
fn config(name: &str, json: &str) -> TransformerConfig {
    TransformerConfig::parse(name, name, json).unwrap()
}

#[test]
fn distilbert_and_roberta_names_load_too() {
    let distil = config(
        "tiny-distilbert",
        r#"{"model_type": "distilbert", "dim": 64, "n_heads": 4, "hidden_dim": 128,
            "n_layers": 2, "max_position_embeddings": 128, "vocab_size": 256}"#,
    );
    let w = Weights::random(&distil, Precision::F32, 6);
    let path = temp("distilbert.safetensors");
    encoder(&w, "distilbert", "distilbert.", &[], &w.positions).write(&path, Dtype::BF16);
    let loaded = Weights::load(&distil, &path, Precision::F32).unwrap();
    assert_same(&loaded, &w.clone().rounded(Precision::Bf16));
    check_forward::<f32>(&loaded, Precision::F32);

    // RoBERTa numbers positions from pad_token_id + 1 = 2: file row p + 2 is position p.
    let roberta = config(
        "tiny-roberta",
        r#"{"model_type": "roberta", "hidden_size": 64, "num_attention_heads": 4,
            "intermediate_size": 128, "num_hidden_layers": 2, "max_position_embeddings": 130,
            "vocab_size": 256, "pad_token_id": 1}"#,
    );
    assert_eq!(
        (roberta.position_offset, roberta.usable_positions()),
        (2, 128)
    );
    let w = Weights::random(&roberta, Precision::F32, 7);
    let d = roberta.hidden_size;
    let table = Rng::new(3).vec(130 * d, 0.1);
    let zeros = vec![0.0; 2 * d];
    let path = temp("roberta.safetensors");
    encoder(&w, "bert", "roberta.", &zeros, &table).write(&path, Dtype::F32);
    let loaded = Weights::load(&roberta, &path, Precision::F32).unwrap();
    assert_eq!(loaded.positions[..128 * d], table[2 * d..]);
    assert!(loaded.positions[128 * d..].iter().all(|&v| v == 0.0));
    check_forward::<f32>(&loaded, Precision::F32);
}

/// The error loading `bytes` as `name`'s weights, checked to be one line naming the file.
fn load_error(name: &str, tag: &str, bytes: &[u8]) -> String {
    let path = temp(&format!("{tag}.safetensors"));
    std::fs::write(&path, bytes).unwrap();
    let e = Weights::load(&cfg(name), &path, Precision::F32).expect_err(tag);
    let text = e.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    text
}

#[test]
fn broken_files_name_the_tensor_and_the_file() {
    let w = master("tiny-llama", 1);
    let good = checkpoint(&w);

    let mut missing = Tensors(good.0.clone());
    missing.remove("model.layers.1.mlp.down_proj.weight");
    let e = load_error("tiny-llama", "missing", &missing.bytes(Dtype::F32));
    assert!(
        e.contains(
            "tensor `model.layers.1.mlp.down_proj.weight` is missing (expected shape [64, 128])"
        ),
        "{e}"
    );

    let mut wrong = Tensors(good.0.clone());
    let k = wrong
        .0
        .iter_mut()
        .find(|t| t.0 == "model.layers.0.self_attn.k_proj.weight")
        .unwrap();
    k.1 = vec![64, 32];
    let e = load_error("tiny-llama", "shape", &wrong.bytes(Dtype::F32));
    assert!(
        e.contains(
            "tensor `model.layers.0.self_attn.k_proj.weight` has shape [64, 32], expected [32, 64]"
        ),
        "{e}"
    );

    let ints = good.bytes_with(&|n| {
        if n == "model.norm.weight" {
            Dtype::I32
        } else {
            Dtype::F32
        }
    });
    let e = load_error("tiny-llama", "dtype", &ints);
    assert!(
        e.contains("tensor `model.norm.weight` is stored as I32; only F32, F16 and BF16 are read"),
        "{e}"
    );

    let bytes = good.bytes(Dtype::F32);
    let e = load_error("tiny-llama", "truncated", &bytes[..bytes.len() - 10]);
    assert!(e.contains("truncated: its header describes"), "{e}");

    let e = load_error(
        "tiny-llama",
        "text",
        b"this is a config.json, not weights\n",
    );
    assert!(e.contains("not a safetensors file"), "{e}");

    // Another family's file: the first tensor the model needs is named.
    let e = load_error(
        "tiny-llama",
        "gpt2",
        &checkpoint(&master("tiny-gpt2", 1)).bytes(Dtype::F32),
    );
    assert!(e.contains("tensor `embed_tokens.weight` is missing"), "{e}");

    let mut nan = Tensors(good.0.clone());
    nan.0[0].2[3] = f32::NAN;
    let e = load_error("tiny-llama", "nan", &nan.bytes(Dtype::F32));
    assert!(e.contains("holds a non-finite value (element 3)"), "{e}");
}

#[test]
fn a_load_too_big_for_host_memory_is_refused_before_reading() {
    let w = master("tiny-qwen2", 1);
    let path = temp("memory.safetensors");
    checkpoint(&w).write(&path, Dtype::F32);
    let e = Weights::load_within(&w.cfg, &path, Precision::F32, Some(64 << 10)).unwrap_err();
    assert!(matches!(e, ProfileError::Invalid(_)), "{e}");
    assert!(
        e.to_string().contains("needs about") && e.to_string().contains("64.0 KiB available"),
        "{e}"
    );
    assert!(Weights::load_within(&w.cfg, &path, Precision::F32, Some(1 << 30)).is_ok());
}

#[test]
fn truncated_and_corrupted_files_are_errors_never_panics() {
    let c = cfg("tiny-gpt2");
    let bytes = checkpoint(&master("tiny-gpt2", 3)).bytes(Dtype::F16);
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let path = temp("fuzz.safetensors");
    let mut cuts = vec![
        0,
        1,
        7,
        8,
        9,
        20,
        header_end - 1,
        header_end,
        header_end + 1,
        bytes.len() - 1,
    ];
    let mut rng = Rng::new(17);
    cuts.extend((0..20).map(|_| (rng.next_u64() % bytes.len() as u64) as usize));
    for cut in cuts {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(
            Weights::load(&c, &path, Precision::F32).is_err(),
            "cut at {cut}"
        );
    }
    // Bytes flipped in the header and the length: an error or (in the data) other values.
    for _ in 0..40 {
        let mut b = bytes.clone();
        let at = (rng.next_u64() % header_end as u64) as usize;
        b[at] ^= 1 << (rng.next_u64() % 8);
        std::fs::write(&path, &b).unwrap();
        let _ = Weights::load(&c, &path, Precision::F32);
    }
    let mut huge = bytes.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&path, &huge).unwrap();
    let e = Weights::load(&c, &path, Precision::F32)
        .unwrap_err()
        .to_string();
    assert!(e.contains("over the format's limit"), "{e}");
}
