//! LLM serving plans: their parse errors, the replica's fixed point (by hand, Little's
//! law, monotone in load, its capacity), the KV-bound and overloaded regimes, and the
//! `llm` block of `plan --json`.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::costscope;
use costscope::model::llm_replica::{Overload, Replica};
use costscope::model::{Candidate, Evaluator, Plan, Policy};
use costscope::plan::{load_str, presets};

fn chatbot() -> Plan {
    presets::load("llm-chatbot").unwrap()
}

fn replica(plan: &Plan) -> Replica {
    let llm = plan.service.llm.as_ref().unwrap();
    Replica::new(
        plan.workload.tokens.as_ref().unwrap(),
        llm,
        llm.footprint.unwrap(),
        plan.hardware.speed_vs_profiled,
        plan.workload.arrival_cv,
    )
    .unwrap()
}

/// The preset's text with `from` replaced by `to`, loaded.
fn edited(from: &str, to: &str) -> Result<Plan, String> {
    let text = presets::find("llm-chatbot").unwrap().text;
    assert!(text.contains(from), "{from}");
    load_str(&text.replace(from, to), "t.ron").map_err(|e| e.to_string())
}

#[test]
fn the_fixed_point_matches_the_closed_form_by_hand() {
    // The preset at 1 req/s on one replica: 512-token prompts, 30 % cached, so 358.4
    // prefilled: a prefill iteration costs 60 + 0.27·358.4 = 156.768 ms, a share
    // f = 0.156768 of each second. A running sequence's mean context is the prompt
    // and its length-biased output so far, 512 + 256·(1 + 0.8²)/2 = 721.92 tokens, so
    // D(n) = 60 + (0.27 + 0.00049·721.92)·n ms. A running sequence's steps carry
    // itself and the n others it finds on average, so
    // n = λ·(156.768 + 255·D(n + 1)/(1 − f)) is linear in n: n = A/(1 − B).
    let r = replica(&chatbot());
    let s = r.steady(1.0).unwrap();
    let f: f64 = 0.156_768;
    let slope = 0.27 + 0.00049 * 721.92;
    let a = 1e-3 * (156.768 + 255.0 * (60.0 + slope) / (1.0 - f));
    let b = 1e-3 * 255.0 * slope / (1.0 - f);
    let n = a / (1.0 - b);
    assert!((s.prefill_share - f).abs() < 1e-12, "{}", s.prefill_share);
    assert!(
        (s.running_seqs - n).abs() < 1e-9,
        "{} vs {n}",
        s.running_seqs
    );
    let tpot = (60.0 + slope * (n + 1.0)) / (1.0 - f);
    assert!((s.tpot_ms - tpot).abs() < 1e-9, "{} vs {tpot}", s.tpot_ms);
    // Little's law: running = rate × time running (own prefill + 255 decode steps).
    let residence_s = (s.prefill_ms + 255.0 * s.tpot_ms) / 1000.0;
    assert!((s.running_seqs - 1.0 * residence_s).abs() < 1e-9);
    // KV in use: 721.92 tokens of context and half a 16-token block per sequence.
    assert!((s.kv_used_tokens - n * 729.92).abs() < 1e-6);
}

#[test]
fn running_sequences_ttft_and_tpot_grow_with_load_up_to_the_capacity() {
    for chunked in [None, Some(2048)] {
        let mut plan = chatbot();
        plan.service.llm.as_mut().unwrap().chunked_prefill_tokens = chunked;
        let r = replica(&plan);
        let cap = r.capacity_rps();
        assert!(cap > 0.5 && cap < 10.0, "{chunked:?}: {cap}");
        let mut last = r.steady(0.0).unwrap();
        for i in 1..50 {
            let s = r.steady(cap * f64::from(i) / 50.0).unwrap();
            assert!(s.running_seqs > last.running_seqs, "{chunked:?} {i}");
            assert!(s.tpot_ms > last.tpot_ms, "{chunked:?} {i}");
            assert!(s.ttft_mean_ms() >= last.ttft_mean_ms(), "{chunked:?} {i}");
            assert!(
                s.admission_p_wait >= last.admission_p_wait,
                "{chunked:?} {i}"
            );
            // Little's law holds with chunking too (the prefill spans iterations).
            let residence_s = (s.prefill_ms + 255.0 * s.tpot_ms) / 1000.0;
            let rate = cap * f64::from(i) / 50.0;
            assert!(
                (s.running_seqs - rate * residence_s).abs() < 1e-6 * s.running_seqs.max(1.0),
                "{chunked:?} {i}: {} vs {}",
                s.running_seqs,
                rate * residence_s
            );
            last = s;
        }
        assert!(r.steady(cap * (1.0 - 1e-9)).is_ok(), "{chunked:?}");
        assert!(r.steady(cap * (1.0 + 1e-6)).is_err(), "{chunked:?}");
    }
}

#[test]
fn a_kv_cache_smaller_than_max_num_seqs_bounds_the_replica() {
    // 19 GB × 0.9 − 16.06 GB of weights = 1.04 GB of KV: 495 blocks of 16 tokens at
    // 128 KiB a token, 7920 tokens, 10 sequences of 729.92 — fewer than max_num_seqs 64.
    let plan = edited("gpu_memory_gb: 24.0", "gpu_memory_gb: 19.0").unwrap();
    let r = replica(&plan);
    assert_eq!(r.kv_capacity_tokens, 7920.0);
    assert_eq!(r.seq_cap(), 10);
    match r.steady(1.0) {
        Err(Overload::KvBound { needed, fit: 10 }) => assert!(needed > 10.0, "{needed}"),
        other => panic!("{other:?}"),
    }
    let ctx = Evaluator::new(&plan).unwrap();
    let e = ctx.evaluate(&Candidate {
        policy: Policy::AlwaysOn { servers: 1 },
        batch: 1,
        max_num_seqs: None,
    });
    assert!(!e.feasible && e.latency_ms.is_none() && e.llm.is_none());
    let why = e.why_infeasible.unwrap();
    assert!(why.contains("KV-bound"), "{why}");
    assert!(why.contains("the KV cache holds 10"), "{why}");
    // With replicas enough for the day, the optimiser still finds a fleet.
    let opt = costscope::model::optimize(&plan, &costscope::model::SweepOptions::for_plan(&plan))
        .unwrap();
    let best = opt.best.unwrap();
    assert!(best.servers > 3, "{}", best.candidate_name());
    assert!(best.llm.unwrap().mean_running_seqs < 10.0);
}

#[test]
fn weights_that_leave_no_room_for_a_sequence_make_every_candidate_infeasible() {
    // 17.9 GB × 0.9 = 16.11 GB: 0.05 GB beside the weights, less than 730 tokens.
    let plan = edited("gpu_memory_gb: 24.0", "gpu_memory_gb: 17.9").unwrap();
    let ctx = Evaluator::new(&plan).unwrap();
    for servers in [1, 16] {
        let e = ctx.evaluate(&Candidate {
            policy: Policy::AlwaysOn { servers },
            batch: 1,
            max_num_seqs: None,
        });
        let why = e.why_infeasible.unwrap();
        assert!(
            why.starts_with("KV-bound: Llama-3.1-8B weights of 16.1 GB"),
            "{why}"
        );
    }
}

#[test]
fn too_few_replicas_are_overloaded_with_the_rate_per_replica() {
    let plan = chatbot();
    let ctx = Evaluator::new(&plan).unwrap();
    let e = ctx.evaluate(&Candidate {
        policy: Policy::AlwaysOn { servers: 1 },
        batch: 1,
        max_num_seqs: None,
    });
    assert!(!e.feasible);
    let why = e.why_infeasible.unwrap();
    assert!(why.contains("overloaded at hour"), "{why}");
}

#[test]
fn a_tight_ttft_slo_lowers_goodput_and_the_rate_a_replica_carries() {
    let loose = chatbot();
    let tight = edited("ttft_slo_ms: Some(2000.0)", "ttft_slo_ms: Some(250.0)").unwrap();
    let fleet = Candidate {
        policy: Policy::AlwaysOn { servers: 3 },
        batch: 1,
        max_num_seqs: None,
    };
    let a = Evaluator::new(&loose).unwrap().evaluate(&fleet);
    let b = Evaluator::new(&tight).unwrap().evaluate(&fleet);
    let (la, lb) = (a.llm.unwrap(), b.llm.unwrap());
    assert!(la.goodput > 0.999, "{}", la.goodput);
    assert!(
        lb.goodput < la.goodput && lb.goodput > 0.0,
        "{}",
        lb.goodput
    );
    assert!(lb.max_requests_per_s_at_slo < la.max_requests_per_s_at_slo);
    // p95 TTFT over 250 ms: the tight plan's fleet is infeasible by that SLO.
    assert!(lb.ttft_ms.p95 > 250.0);
    assert!(b.why_infeasible.unwrap().contains("TTFT p95"));
}

#[test]
fn bad_llm_sections_are_refused_naming_the_field() {
    let cases = [
        (
            "output_mean: 256.0",
            "output_mean: 0.5",
            "workload.tokens.output_mean",
        ),
        (
            "prefix_cache_hit: 0.3",
            "prefix_cache_hit: 1.0",
            "workload.tokens.prefix_cache_hit",
        ),
        (
            "max_num_seqs: 64",
            "max_num_seqs: 0",
            "service.llm.max_num_seqs",
        ),
        (
            "gpu_memory_gb: 24.0",
            "gpu_memory_gb: -1.0",
            "service.llm.gpu_memory_gb",
        ),
        (
            "kv_block_tokens: 16,",
            "kv_block_tokens: 16, chunked_prefill_tokens: Some(64),",
            "service.llm.chunked_prefill_tokens",
        ),
        (
            "decode_base_ms: 60.0",
            "decode_base_ms: 0.0",
            "service.llm.iteration.decode_base_ms",
        ),
        (
            "tpot_slo_ms: Some(150.0)",
            "tpot_slo_ms: Some(-3.0)",
            "objective.tpot_slo_ms",
        ),
        (
            "model: \"Llama-3.1-8B\"",
            "model: \"Llama-9\"",
            "service.llm.model: unknown model `Llama-9`",
        ),
        (
            "    policy: Optimize",
            "    batching: (max_batch: 4, window_ms: 5.0),\n    policy: Optimize",
            "batching.max_batch",
        ),
    ];
    for (from, to, names) in cases {
        let err = edited(from, to).unwrap_err();
        assert!(err.contains(names), "{to}: {err}");
        assert!(err.starts_with("t.ron:"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // Tokens without a replica, and an LLM SLO on a request-level plan.
    let text = presets::find("llm-chatbot").unwrap().text;
    let start = text.find("        llm: Some((").unwrap();
    let end = text[start..].find("        )),\n").unwrap() + start + "        )),\n".len();
    let err = load_str(&format!("{}{}", &text[..start], &text[end..]), "t.ron").unwrap_err();
    assert!(err.to_string().contains("service.llm"), "{err}");
    let text = presets::find("healthcare-triage").unwrap().text;
    let err = load_str(
        &text.replace(
            "slo_ms: Some(300.0)",
            "slo_ms: Some(300.0), ttft_slo_ms: Some(100.0)",
        ),
        "t.ron",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("objective.ttft_slo_ms") && err.contains("only with workload.tokens"),
        "{err}"
    );
}

#[test]
fn plan_json_has_a_finite_llm_block_for_llm_plans_only() {
    let (code, out, err) = costscope(&["plan", "llm-chatbot", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let best = &v["best"];
    assert_eq!(best["feasible"], true);
    let mut blocks = vec![&best["llm"]];
    blocks.extend(
        v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["llm"]),
    );
    assert!(blocks.len() >= 2);
    for llm in blocks {
        for stat in ["ttft_ms", "tpot_ms", "e2e_ms"] {
            for q in ["mean", "p50", "p95", "p99"] {
                let x = llm[stat][q].as_f64().unwrap_or(f64::NAN);
                assert!(x.is_finite() && x > 0.0, "{stat}.{q}: {llm}");
            }
            assert!(llm[stat]["p50"].as_f64() <= llm[stat]["p99"].as_f64());
        }
        for key in [
            "output_tokens_per_s",
            "cost_usd_per_million_output_tokens",
            "cost_usd_per_million_tokens",
            "goodput",
            "kv_bytes_per_token",
            "kv_capacity_tokens",
            "kv_utilization",
            "mean_running_seqs",
            "max_requests_per_s_at_slo",
        ] {
            let x = llm[key].as_f64().unwrap_or(f64::NAN);
            assert!(x.is_finite() && x > 0.0, "{key}: {llm}");
        }
        assert_eq!(llm["kv_bytes_per_token"], 131_072.0);
        assert!(llm["goodput"].as_f64().unwrap() <= 1.0);
    }
    // The delivered tokens: the day's mean rate × 256 output tokens.
    let out_tps = best["llm"]["output_tokens_per_s"].as_f64().unwrap();
    let mean_rps = (3.0 + 0.1) / 2.0;
    assert!(
        (out_tps - mean_rps * 256.0).abs() < 1e-9 * out_tps,
        "{out_tps}"
    );
    let (code, out, err) = costscope(&["plan", "healthcare-triage", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("\"llm\""), "{out}");
    let (code, text, err) = costscope(&["plan", "llm-chatbot"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        "TTFT (ms)",
        "TPOT (ms)",
        "$ per million output tokens",
        "KV cache",
        "Replica: Llama-3.1-8B",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
}
