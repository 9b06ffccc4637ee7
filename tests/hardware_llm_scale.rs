//! An LLM plan's iteration model carried to another catalog accelerator by the hardware
//! sweep: each term divided by the ratio of the resource that bounds it on a roofline
//! (weights passes and KV reads by bandwidth, per-token and per-sequence matmuls by
//! FLOP rate), so the carried figures are the roofline estimate made on the target;
//! and the `llm-chatbot-gpus` preset's sweep over L4, A10G and H100 offers.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::Routing;
use costscope::model::catalog::Accelerator;
use costscope::model::hardware_mix::mix_plan;
use costscope::model::hardware_sweep::{OfferCase, scaled_curve, stated_accelerator};
use costscope::model::{Plan, Precision};

/// The roofline iteration estimate of the presets' notes on `acc`: (weights pass ms,
/// ms per token or sequence, ms per context token) at 90 % of the bandwidth and half
/// the dense bf16 peak.
fn roofline(plan: &Plan, acc: &Accelerator) -> (f64, f64, f64) {
    let llm = plan.service.llm.as_ref().unwrap();
    let fp = llm
        .footprint
        .expect("a shipped model's footprint is filled in");
    let bytes_per_ms = 0.9 * acc.memory_bandwidth_gbytes_per_s * 1e6;
    let flop_per_ms = acc.tflops(Precision::Bf16).unwrap() / 2.0 * 1e9;
    // 2 FLOP per parameter per token; bf16 weights are 2 bytes per parameter.
    let flop_per_token = 2.0 * fp.weights_bytes / 2.0;
    (
        fp.weights_bytes / bytes_per_ms,
        flop_per_token / flop_per_ms,
        fp.kv_bytes_per_token / bytes_per_ms,
    )
}

#[test]
fn each_iteration_term_is_carried_by_the_resource_that_bounds_it() {
    let (mut plan, _) = costscope::plan::load("llm-chatbot-gpus").unwrap();
    let cat = costscope::plan::catalog::shipped().unwrap();
    let stated = stated_accelerator(&cat, &plan.hardware.name).expect("L4");
    assert_eq!(stated.name, "L4");
    // The plan's own iteration model is the roofline estimate on its L4 (to the
    // rounding of the figures written in the preset).
    let it = plan.service.llm.as_ref().unwrap().iteration.clone();
    let (base, per, ctx) = roofline(&plan, stated);
    let close = |a: f64, b: f64| (a - b).abs() <= 2e-3 * b;
    assert!(
        close(it.decode_base_ms, base) && close(it.prefill_base_ms, base),
        "{it:?} vs {base}"
    );
    assert!(
        close(it.decode_ms_per_seq, per) && close(it.prefill_ms_per_token, per),
        "{it:?} vs {per}"
    );
    assert!(
        close(it.decode_ms_per_context_token, ctx),
        "{it:?} vs {ctx}"
    );
    // `mix_plan` builds each class's plan as the sweep does (`offer_plan`); a routing
    // block is all it asks for, and the L4 serves as the routed class.
    plan.routing = Some(Routing {
        fraction: 0.5,
        name: "routed".into(),
        hardware: plan.hardware.clone(),
        service: None,
        servers: 0,
    });
    let case = |label: &str| {
        let o = cat.offers.iter().find(|o| o.label() == label).unwrap();
        let acc = cat.accelerator(&o.accelerator).unwrap().clone();
        OfferCase {
            offer: o.clone(),
            curve: scaled_curve(&plan, stated, &acc),
            accelerator: acc,
        }
    };
    for label in ["RunPod H100 SXM 80GB", "RunPod H100 PCIe 80GB"] {
        let cases = [case(label), case("RunPod L4 24GB")];
        let p = mix_plan(&plan, &cases, 0, 1, Some(stated)).unwrap();
        let llm = p.service.llm.as_ref().unwrap();
        let target = &cases[0].accelerator;
        assert_eq!(Some(llm.gpu_memory_gb), target.memory_gb);
        let (base, per, ctx) = roofline(&plan, target);
        let it = &llm.iteration;
        assert!(close(it.decode_base_ms, base), "{label}: {it:?} vs {base}");
        assert!(close(it.prefill_base_ms, base), "{label}: {it:?} vs {base}");
        assert!(close(it.decode_ms_per_seq, per), "{label}: {it:?} vs {per}");
        assert!(
            close(it.prefill_ms_per_token, per),
            "{label}: {it:?} vs {per}"
        );
        assert!(
            close(it.decode_ms_per_context_token, ctx),
            "{label}: {it:?} vs {ctx}"
        );
        // Bandwidth and FLOP rate grow by different factors to these cards, so a term
        // carried by the wrong one would miss by their ratio, well past the tolerance.
        let bw = target.memory_bandwidth_gbytes_per_s / stated.memory_bandwidth_gbytes_per_s;
        let fl = target.tflops(Precision::Bf16).unwrap() / stated.tflops(Precision::Bf16).unwrap();
        assert!((bw / fl - 1.0).abs() > 0.05, "{label}: {bw} vs {fl}");
    }
}

#[test]
fn the_gpu_class_chatbot_sweeps_l4_a10g_and_h100_offers() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args(["plan", "llm-chatbot-gpus", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let offers = v["hardware"]["offers"].as_array().unwrap();
    let accs: Vec<&str> = offers
        .iter()
        .map(|o| o["accelerator"].as_str().unwrap())
        .collect();
    assert_eq!(accs, ["L4", "A10G", "H100-PCIe", "H100-SXM"]);
    // The catalog has no dense bf16 rate for the A10G: it is reported, not guessed.
    assert!(offers[1]["best"].is_null());
    let why = offers[1]["reason"].as_str().unwrap();
    assert!(why.contains("no verified bf16 FLOP rate"), "{why}");
    for o in [&offers[0], &offers[2], &offers[3]] {
        assert_eq!(o["best"]["feasible"], true, "{o}");
        let tpot = o["best"]["llm"]["tpot_ms"]["p95"].as_f64().unwrap();
        assert!(tpot <= 150.0, "{o}");
    }
    assert!(v["hardware"]["recommendation"].is_u64());
}
