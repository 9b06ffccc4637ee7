//! The LLM plan's model footprint (plan layer reading config.json into the model
//! layer's shape arithmetic) agrees with the profiler's accounting on every shipped
//! decoder, at every precision: the two readers of `models/` cannot drift apart.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::Precision;
use costscope::plan::llm_model::{SHIPPED_DECODERS, shape_of};
use costscope::profile::workloads::transformer::config::SHIPPED;
use costscope::profile::workloads::transformer::{TransformerConfig, accounting};

#[test]
fn every_shipped_decoder_has_the_profilers_weights_and_kv_bytes() {
    for (name, _) in SHIPPED_DECODERS {
        let cfg = TransformerConfig::lookup(name).unwrap();
        assert!(cfg.family.is_decoder(), "{name}");
        let shape = shape_of(name, None).unwrap();
        for p in Precision::ALL {
            let f = shape.footprint(p);
            let bytes = p.bytes_per_element();
            assert_eq!(
                f.weights_bytes,
                accounting::weights_bytes(&cfg, bytes),
                "{name} {p}"
            );
            assert_eq!(
                f.kv_bytes_per_token,
                accounting::kv_bytes_per_token(&cfg, bytes),
                "{name} {p}"
            );
        }
    }
}

#[test]
fn the_plan_knows_every_decoder_the_profiler_ships() {
    let decoders: Vec<&str> = SHIPPED
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| TransformerConfig::lookup(n).unwrap().family.is_decoder())
        .collect();
    let plan: Vec<&str> = SHIPPED_DECODERS.iter().map(|(n, _)| *n).collect();
    assert_eq!(plan, decoders);
    // Same text, not a copy.
    for (name, text) in SHIPPED_DECODERS {
        let profiler = SHIPPED.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(text, profiler, "{name}");
    }
}

#[test]
fn an_encoder_or_unknown_model_is_refused_by_name() {
    let err = shape_of("bert-base-uncased", None).unwrap_err();
    assert!(err.contains("unknown model `bert-base-uncased`"), "{err}");
    assert!(err.contains("Llama-3.1-8B"), "{err}");
    let err = shape_of("/nonexistent/config.json", None).unwrap_err();
    assert!(
        err.contains("cannot read /nonexistent/config.json"),
        "{err}"
    );
    // A config.json path is read like a shipped one.
    let dir = std::env::temp_dir().join(format!("costscope-llm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        SHIPPED_DECODERS
            .iter()
            .find(|d| d.0 == "tiny-llama")
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(
        shape_of("config.json", Some(&dir)).unwrap(),
        shape_of("tiny-llama", None).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
