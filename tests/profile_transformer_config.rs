//! profile layer tests: every shipped Hugging Face config parses to its published
//! shape, a bad config names its file and key, and the FLOP / byte accounting matches
//! hand-computed formulas.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::profile::workloads::transformer::accounting as acc;
use costscope::profile::workloads::transformer::config::SHIPPED;
use costscope::profile::workloads::transformer::{Family, Pass, TransformerConfig};

fn cfg(name: &str) -> TransformerConfig {
    TransformerConfig::lookup(name).unwrap()
}

/// (name, family, vocab, hidden, inter, layers, heads, kv heads, head dim, positions, tied, qkv bias)
type Shape = (
    &'static str,
    Family,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    bool,
    bool,
);

const PUBLISHED: [Shape; 13] = [
    (
        "bert-base-uncased",
        Family::Encoder,
        30522,
        768,
        3072,
        12,
        12,
        12,
        64,
        512,
        true,
        true,
    ),
    (
        "distilbert-base-uncased",
        Family::Encoder,
        30522,
        768,
        3072,
        6,
        12,
        12,
        64,
        512,
        true,
        true,
    ),
    (
        "all-MiniLM-L6-v2",
        Family::Encoder,
        30522,
        384,
        1536,
        6,
        12,
        12,
        32,
        512,
        true,
        true,
    ),
    (
        "roberta-base",
        Family::Encoder,
        50265,
        768,
        3072,
        12,
        12,
        12,
        64,
        514,
        true,
        true,
    ),
    (
        "gpt2",
        Family::Gpt2,
        50257,
        768,
        3072,
        12,
        12,
        12,
        64,
        1024,
        true,
        true,
    ),
    (
        "Llama-3.2-1B",
        Family::Llama,
        128256,
        2048,
        8192,
        16,
        32,
        8,
        64,
        131072,
        true,
        false,
    ),
    (
        "Llama-3.1-8B",
        Family::Llama,
        128256,
        4096,
        14336,
        32,
        32,
        8,
        128,
        131072,
        false,
        false,
    ),
    (
        "Qwen2.5-0.5B",
        Family::Llama,
        151936,
        896,
        4864,
        24,
        14,
        2,
        64,
        32768,
        true,
        true,
    ),
    (
        "TinyLlama-1.1B",
        Family::Llama,
        32000,
        2048,
        5632,
        22,
        32,
        4,
        64,
        2048,
        false,
        false,
    ),
    (
        "tiny-bert",
        Family::Encoder,
        256,
        64,
        128,
        2,
        4,
        4,
        16,
        128,
        true,
        true,
    ),
    (
        "tiny-gpt2",
        Family::Gpt2,
        256,
        64,
        128,
        2,
        4,
        4,
        16,
        128,
        true,
        true,
    ),
    (
        "tiny-llama",
        Family::Llama,
        256,
        64,
        128,
        2,
        4,
        2,
        16,
        128,
        false,
        false,
    ),
    (
        "tiny-qwen2",
        Family::Llama,
        256,
        64,
        128,
        2,
        4,
        1,
        16,
        128,
        true,
        true,
    ),
];

#[test]
fn every_shipped_config_has_its_published_shape() {
    assert_eq!(SHIPPED.len(), PUBLISHED.len());
    for (name, family, vocab, hidden, inter, layers, heads, kv, hd, pos, tied, bias) in PUBLISHED {
        let c = cfg(name);
        let got = (
            c.family,
            c.vocab_size,
            c.hidden_size,
            c.intermediate_size,
            c.num_layers,
            c.num_heads,
            c.num_kv_heads,
            c.head_dim,
            c.max_positions,
            c.tied_embeddings,
            c.qkv_bias,
        );
        assert_eq!(
            got,
            (
                family, vocab, hidden, inter, layers, heads, kv, hd, pos, tied, bias
            ),
            "{name}"
        );
        assert_eq!(c.name, name);
        assert_eq!(c.rope_theta.is_some(), family == Family::Llama, "{name}");
    }
    assert_eq!(cfg("llama-3.2-1b").rope_theta, Some(500_000.0));
    assert_eq!(cfg("BERT-BASE-UNCASED").norm_eps, 1e-12);
    assert_eq!(cfg("gpt2").norm_eps, 1e-5);
}

#[test]
fn a_users_file_is_read_and_bad_configs_name_file_and_key() {
    let dir = std::env::temp_dir().join(format!("costscope-tfcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |file: &str, text: &str| {
        let p = dir.join(file);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let ok = write(
        "my-gpt.json",
        r#"{"model_type":"gpt2","n_embd":32,"n_layer":1,"n_head":2,"n_inner":null,"n_positions":64,"vocab_size":100}"#,
    );
    let c = cfg(&ok);
    assert_eq!(
        (c.name.as_str(), c.intermediate_size, c.head_dim),
        ("my-gpt", 128, 16)
    );

    let unknown = write("t5.json", r#"{"model_type":"t5","d_model":512}"#);
    let e = TransformerConfig::lookup(&unknown).unwrap_err().to_string();
    assert!(
        e.contains("t5.json")
            && e.contains("`model_type`")
            && e.contains("unknown model type `t5`"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");

    let missing = write(
        "nolayers.json",
        r#"{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_attention_heads":4,"max_position_embeddings":8,"vocab_size":10}"#,
    );
    let e = TransformerConfig::lookup(&missing).unwrap_err().to_string();
    assert!(
        e.contains("nolayers.json") && e.contains("`num_hidden_layers` is missing"),
        "{e}"
    );

    let typed = write(
        "typed.json",
        r#"{"model_type":"bert","hidden_size":"768","intermediate_size":3072,"num_hidden_layers":12,"num_attention_heads":12,"max_position_embeddings":512,"vocab_size":30522}"#,
    );
    let e = TransformerConfig::lookup(&typed).unwrap_err().to_string();
    assert!(
        e.contains("typed.json") && e.contains("`hidden_size` must be a non-negative integer"),
        "{e}"
    );

    let e = TransformerConfig::lookup(&dir.join("absent.json").display().to_string()).unwrap_err();
    assert!(e.to_string().contains("absent.json"), "{e}");
    let e = TransformerConfig::lookup("gpt5").unwrap_err().to_string();
    assert!(e.contains("unknown transformer `gpt5`"), "{e}");
}

#[test]
fn parameter_counts_match_the_published_models() {
    // Published totals (the transformers library's `num_parameters()`).
    assert_eq!(acc::total_params(&cfg("Llama-3.2-1B")), 1_235_814_400);
    assert_eq!(acc::total_params(&cfg("Llama-3.1-8B")), 8_030_261_248);
    assert_eq!(acc::total_params(&cfg("Qwen2.5-0.5B")), 494_032_768);
    assert_eq!(acc::total_params(&cfg("gpt2")), 124_439_808);
    // BertModel's 109,482,240 less the token-type table (2·768) and the pooler
    // (768² + 768), which the encoder pass does not run.
    assert_eq!(
        acc::total_params(&cfg("bert-base-uncased")),
        109_482_240 - 1536 - 590_592
    );
}

#[test]
fn bert_base_at_128_tokens_is_22_gflop() {
    let c = cfg("bert-base-uncased");
    let (d, i, layers, heads, hd, s) = (768.0, 3072.0, 12.0, 12.0, 64.0, 128.0);
    // Projections: Q, K, V, O (4·d²) and the MLP (2·d·i), 2 FLOPs per MAC, every token.
    let matmuls = 2.0 * s * layers * (4.0 * d * d + 2.0 * d * i);
    // Scores and weighted sum: 2·hd each per (query, key) pair, all S² pairs, every head.
    let attention = 4.0 * hd * s * s * heads * layers;
    let want = matmuls + attention;
    assert_eq!(want, 22_347_251_712.0);
    assert_eq!(acc::flops_per_item(&c, Pass::Encoder, 128), want);
    // ≈ 2 · (85M parameters in the blocks) · 128 tokens + attention; the rule also
    // multiplies the biases and norm weights (0.13 % of the block parameters).
    let blocks = 12 * acc::layer_params(&c);
    assert_eq!(blocks, 85_054_464);
    let rule = 2.0 * blocks as f64 * s;
    assert!(
        (want - rule - attention).abs() / want < 2e-3,
        "{want} vs {rule}"
    );
    assert!((want / 1e9 - 22.35).abs() < 0.01);
}

#[test]
fn decoder_passes_count_the_causal_triangle_and_the_head() {
    let c = cfg("tiny-llama");
    let (d, q, kv, i, layers, heads, hd, vocab) = (64.0, 64.0, 32.0, 128.0, 2.0, 4.0, 16.0, 256.0);
    let per_token = 2.0 * layers * (d * (q + 2.0 * kv) + q * d + 3.0 * d * i);
    let head = 2.0 * d * vocab;
    let s = 16.0;
    let prefill = s * per_token + 4.0 * hd * heads * layers * (s * (s + 1.0) / 2.0) + head;
    assert_eq!(acc::flops_per_item(&c, Pass::Prefill, 16), prefill);
    let ctx = 32.0;
    let decode = per_token + 4.0 * hd * heads * layers * (ctx + 1.0) + head;
    assert_eq!(acc::flops_per_item(&c, Pass::Decode, 32), decode);
    // KV bytes per token: K and V × layers × kv heads × head dim × bytes.
    assert_eq!(acc::kv_bytes_per_token(&c, 2), 2.0 * 2.0 * 2.0 * 16.0 * 2.0);
    assert_eq!(acc::kv_bytes_per_token(&cfg("Llama-3.1-8B"), 2), 131_072.0);
    assert_eq!(acc::kv_bytes_per_token(&cfg("Llama-3.2-1B"), 2), 32_768.0);
    // A decode step reads every weight once, the whole cache, and writes one token's K, V.
    let elem = 4;
    let weights = acc::weights_read_bytes(&c, Pass::Decode, elem);
    let wanted_weights = (2 * acc::layer_params(&c) + 64 + 256 * 64) as f64 * 4.0;
    assert_eq!(weights, wanted_weights);
    let item = acc::bytes_per_item(&c, Pass::Decode, 32, elem);
    assert_eq!(
        item,
        64.0 * 4.0 + 33.0 * acc::kv_bytes_per_token(&c, elem) + 256.0 * 4.0
    );
    assert_eq!(
        acc::bytes_per_pass(&c, Pass::Decode, (8, 32), elem),
        weights + 8.0 * item
    );
    assert_eq!(
        acc::weights_bytes(&c, 2),
        acc::total_params(&c) as f64 * 2.0
    );
}
