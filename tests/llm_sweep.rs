//! The optimiser's sweep over an LLM replica's `max_num_seqs`: it finds a better limit
//! than a poor one the plan names, a reported candidate evaluates again to the same
//! figures, limits past what the KV cache holds collapse into one, and the CLI's
//! `seqs` column, `--max-num-seqs` and JSON `max_num_seqs`.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::costscope;
use costscope::model::llm_replica::Replica;
use costscope::model::objective::{SweepOptions, candidate_of, optimize};
use costscope::model::sweep::tried_candidates;
use costscope::model::{Candidate, Evaluator, Plan};
use costscope::plan::{load_str, presets};

/// The chatbot preset allowed only `n` sequences per replica, searched up to 64
/// replicas (a poor limit needs many).
fn chatbot_with_seqs(n: u32) -> Plan {
    let text = presets::find("llm-chatbot").unwrap().text;
    assert!(text.contains("max_num_seqs: 64,") && text.contains("Optimize(max_servers: 16)"));
    let text = text
        .replace("max_num_seqs: 64,", &format!("max_num_seqs: {n},"))
        .replace("Optimize(max_servers: 16)", "Optimize(max_servers: 64)");
    load_str(&text, "t.ron").unwrap()
}

#[test]
fn a_poor_limit_in_the_plan_loses_to_the_sweep() {
    // Four sequences per replica on a KV cache that holds ~55: each replica carries a
    // fraction of what it could, so the fleet is far larger than it need be.
    let plan = chatbot_with_seqs(4);
    let options = SweepOptions::for_plan(&plan);
    assert!(options.max_num_seqs.contains(&4) && options.max_num_seqs.len() > 1);
    let swept = optimize(&plan, &options).unwrap().best.unwrap();
    let own_only = SweepOptions {
        max_num_seqs: vec![4],
        ..options.clone()
    };
    let own = optimize(&plan, &own_only).unwrap().best.unwrap();
    assert_eq!(own.max_num_seqs, Some(4));
    let chosen = swept.max_num_seqs.unwrap();
    assert!(chosen > 4, "{chosen}");
    assert!(swept.feasible);
    // The plan's own value is among those swept, so the sweep can only do better.
    assert!(swept.objective.unwrap() < own.objective.unwrap());
    assert!(
        swept.cost_usd_per_hour < 0.5 * own.cost_usd_per_hour,
        "{} vs {}",
        swept.cost_usd_per_hour,
        own.cost_usd_per_hour
    );
    // Its replicas run more sequences than the plan's limit would allow.
    assert!(swept.llm.as_ref().unwrap().mean_running_seqs > 4.0);
}

#[test]
fn a_reported_candidate_evaluates_again_to_the_same_figures() {
    let plan = chatbot_with_seqs(4);
    let best = optimize(&plan, &SweepOptions::for_plan(&plan))
        .unwrap()
        .best
        .unwrap();
    let c = candidate_of(&plan, &best);
    assert_eq!(c.max_num_seqs, best.max_num_seqs);
    // Through the plan as written (its own limit is 4): the candidate's limit wins.
    let again = Evaluator::new(&plan).unwrap().evaluate(&c);
    assert_eq!(again, best);
    // And through the plan the candidate describes, with the limit written in.
    let written = c.apply_to(&plan);
    assert_eq!(
        written.service.llm.as_ref().unwrap().max_num_seqs,
        best.max_num_seqs.unwrap()
    );
    let own = Candidate::from_plan(&written).unwrap();
    assert_eq!(own.max_num_seqs, None);
    let from_written = Evaluator::new(&written).unwrap().evaluate(&own);
    assert_eq!(from_written, best);
}

#[test]
fn limits_past_what_the_kv_cache_holds_collapse_into_one() {
    let plan = chatbot_with_seqs(64);
    let best = optimize(&plan, &SweepOptions::for_plan(&plan))
        .unwrap()
        .best
        .unwrap();
    let llm = plan.service.llm.as_ref().unwrap();
    let replica = Replica::new(
        plan.workload.tokens.as_ref().unwrap(),
        llm,
        llm.footprint.unwrap(),
        plan.hardware.speed_vs_profiled,
        plan.workload.arrival_cv,
    )
    .unwrap();
    let fit = replica.seqs_fit();
    // The KV cache over a sequence's mean context and half a block, as the report says.
    let kv = best.llm.as_ref().unwrap();
    assert_eq!(
        fit,
        (kv.kv_capacity_tokens / replica.kv_tokens_per_seq()) as u32
    );
    assert!((8..64).contains(&fit), "{fit}");
    let options = SweepOptions {
        max_num_seqs: vec![fit + 1, fit + 50, fit + 100, 2],
        ..SweepOptions::for_plan(&plan)
    };
    let tried = tried_candidates(&plan, &options).unwrap();
    let seen: BTreeSet<u32> = tried.iter().map(|(c, _)| c.max_num_seqs.unwrap()).collect();
    assert_eq!(seen, BTreeSet::from([2, fit + 1, 64]));
    // Every candidate tried reports the limit it was evaluated with.
    assert!(tried.iter().all(|(c, e)| c.max_num_seqs == e.max_num_seqs));
}

#[test]
fn the_optimiser_counts_what_it_tried() {
    let plan = chatbot_with_seqs(64);
    let options = SweepOptions::for_plan(&plan);
    let optimum = optimize(&plan, &options).unwrap();
    let tried = tried_candidates(&plan, &options).unwrap();
    let with_latency = tried.iter().filter(|(_, e)| e.latency_ms.is_some()).count();
    assert_eq!(optimum.evaluated, with_latency);
    // The best of each policy family is one of those tried.
    for best in &optimum.candidates {
        assert!(
            tried.iter().any(|(_, e)| e == best),
            "{}",
            best.candidate_name()
        );
    }
}

#[test]
fn the_cli_shows_and_takes_max_num_seqs() {
    let (code, out, err) = costscope(&["plan", "llm-chatbot"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(" seqs ") && out.contains("max_num_seqs 4/8/16"),
        "{out}"
    );
    let (code, json, err) = costscope(&["plan", "llm-chatbot", "--max-num-seqs", "16", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["best"]["max_num_seqs"], 16);
    // A request-level plan has no such knob, and says so.
    let (code, json, _) = costscope(&["plan", "healthcare-triage", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["best"].get("max_num_seqs").is_none(), "{}", v["best"]);
    let (code, _, err) = costscope(&["plan", "healthcare-triage", "--max-num-seqs", "8"]);
    assert_ne!(code, 0);
    assert!(err.contains("service.llm.max_num_seqs"), "{err}");
    let (code, _, err) = costscope(&["plan", "llm-chatbot", "--max-num-seqs", "0"]);
    assert_ne!(code, 0);
    assert!(err.contains("service.llm.max_num_seqs"), "{err}");
}

#[test]
fn the_bounded_sweep_finds_what_each_limit_searched_alone_finds() {
    // The sweep scores another limit's candidates only where their cost and the least
    // latency a fleet of that limit can have leave room to beat its policy's best at
    // the plan's own limit. That must never lose the optimum: the best over all
    // limits is the best of each limit searched on its own.
    let mut plans: Vec<(String, Plan)> = ["llm-chatbot", "llm-rag", "llm-batch-summarize"]
        .iter()
        .map(|p| (p.to_string(), presets::load(p).unwrap()))
        .collect();
    plans.push(("llm-chatbot at 4 sequences".into(), chatbot_with_seqs(4)));
    for (name, plan) in &plans {
        let options = SweepOptions::for_plan(plan);
        let swept = optimize(plan, &options).unwrap().best.unwrap();
        let alone = options
            .max_num_seqs
            .iter()
            .filter_map(|&n| {
                let one = SweepOptions {
                    max_num_seqs: vec![n],
                    ..options.clone()
                };
                optimize(plan, &one).unwrap().best
            })
            .filter_map(|e| e.objective)
            .fold(f64::INFINITY, f64::min);
        let j = swept.objective.unwrap();
        assert!(
            (j - alone).abs() <= 1e-9 * alone.abs(),
            "{name}: the sweep's best J {j} vs {alone} searched limit by limit"
        );
    }
}
