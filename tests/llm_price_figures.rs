//! The figures LLM users price by, checked against what defines them: output tokens
//! per dollar against $ per million output tokens, the tokens/s one replica carries
//! within the SLOs against a replica evaluated at that rate, tokens/s per serving
//! replica against the fleet's serving replicas, and the break-even in tokens/s
//! against on-demand and always-on evaluated there; the CLI prints them.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::costscope;

use costscope::model::llm::LlmReport;
use costscope::model::objective::{candidate_of, policy_at};
use costscope::model::spot::down_fraction;
use costscope::model::{
    Candidate, Evaluation, Evaluator, Plan, Policy, PolicyKind, Rate, SweepOptions, break_even,
    optimize,
};
use costscope::plan::presets;
use serde_json::Value;

/// The LLM presets with TTFT / TPOT SLOs, where the SLO capacity is a search.
const PRESETS: [&str; 2] = ["llm-chatbot", "llm-rag"];

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

fn output_mean(plan: &Plan) -> f64 {
    plan.workload.tokens.as_ref().unwrap().output_mean
}

fn best(plan: &Plan) -> Evaluation {
    optimize(plan, &SweepOptions::for_plan(plan))
        .unwrap()
        .best
        .unwrap()
}

fn llm(e: &Evaluation) -> &LlmReport {
    e.llm.as_ref().unwrap()
}

/// One candidate of `plan` with the plan's day replaced by a constant `rate_rps`.
fn at_constant_rate(plan: &Plan, rate_rps: f64, policy: Policy, seqs: Option<u32>) -> Evaluation {
    let mut p = plan.clone();
    p.workload.rate_rps = Rate::Constant(rate_rps);
    Evaluator::new(&p).unwrap().evaluate(&Candidate {
        policy,
        batch: 1,
        max_num_seqs: seqs,
    })
}

#[test]
fn tokens_per_dollar_is_the_inverse_of_the_price_per_million() {
    for preset in PRESETS {
        let plan = presets::load(preset).unwrap();
        let e = best(&plan);
        let l = llm(&e);
        let per_usd = l.output_tokens_per_usd.expect("the fleet costs something");
        assert!(
            close(per_usd * l.cost_usd_per_million_output_tokens, 1e6, 1e-9),
            "{preset}: {per_usd} tokens/$ × {} $/M",
            l.cost_usd_per_million_output_tokens
        );
        // From the fleet's own cost and the day's tokens.
        let from_cost = l.output_tokens_per_s * 3600.0 / e.cost_usd_per_hour;
        assert!(close(per_usd, from_cost, 1e-12), "{preset}");
        assert!(per_usd.is_finite() && per_usd > 0.0, "{preset}");
    }
}

#[test]
fn a_replica_at_its_slo_rate_meets_the_slos_and_five_percent_more_does_not() {
    for preset in PRESETS {
        let plan = presets::load(preset).unwrap();
        let e = best(&plan);
        let l = llm(&e);
        let rps = l.max_requests_per_s_at_slo;
        assert!(
            close(
                l.replica_output_tokens_per_s_at_slo,
                rps * output_mean(&plan),
                1e-12
            ),
            "{preset}: {} vs {rps} req/s",
            l.replica_output_tokens_per_s_at_slo
        );
        // One always-on replica all day at that constant rate, the recommendation's
        // sequence limit: every request reaches it warm.
        let one = Policy::AlwaysOn { servers: 1 };
        let at = at_constant_rate(&plan, rps, one.clone(), e.max_num_seqs);
        assert!(
            at.feasible,
            "{preset} at {rps} req/s: {:?}",
            at.why_infeasible
        );
        assert_eq!(at.cache.hit_rate, 0.0, "{preset}: no result cache");
        let past = at_constant_rate(&plan, rps * 1.05, one, e.max_num_seqs);
        assert!(!past.feasible, "{preset} at 1.05 × {rps} req/s is feasible");
        // The SLO binds (not the replica's capacity): the replica is stable there
        // and it is an SLO that fails.
        assert!(
            past.latency_ms.is_some(),
            "{preset}: {:?}",
            past.why_infeasible
        );
        let why = past.why_infeasible.unwrap();
        assert!(why.contains("SLO"), "{preset}: {why}");
        // The warm replica's tokens/s at the SLO rate is what the evaluation delivers.
        let tokens = llm(&at).output_tokens_per_s;
        assert!(
            close(tokens, l.replica_output_tokens_per_s_at_slo, 1e-12),
            "{preset}: {tokens}"
        );
    }
}

/// Mean replicas serving over the plan's day for a fixed fleet (every hour of the
/// presets' days has traffic): the fleet, or the spot mix's on-demand plus its spot
/// replicas up on average.
fn serving_replicas(plan: &Plan, policy: &Policy) -> Option<f64> {
    match *policy {
        Policy::AlwaysOn { servers } => Some(f64::from(servers)),
        Policy::SpotMix {
            on_demand, spot, ..
        } => {
            let down = down_fraction(
                plan.hardware.spot_interruptions_per_hour,
                plan.service.cold_start_s,
            );
            Some((f64::from(on_demand) + f64::from(spot) * (1.0 - down)).max(1.0))
        }
        _ => None,
    }
}

#[test]
fn tokens_per_replica_times_the_serving_replicas_is_the_fleets_tokens() {
    for preset in PRESETS {
        let plan = presets::load(preset).unwrap();
        let e = best(&plan);
        let always_on = Policy::AlwaysOn {
            servers: e.servers + 1,
        };
        let fixed = Evaluator::new(&plan).unwrap().evaluate(&Candidate {
            policy: always_on.clone(),
            batch: 1,
            max_num_seqs: e.max_num_seqs,
        });
        let mut checked = 0;
        for (eval, policy) in [(&e, candidate_of(&plan, &e).policy), (&fixed, always_on)] {
            let Some(n) = serving_replicas(&plan, &policy) else {
                continue;
            };
            let l = llm(eval);
            assert!(
                close(
                    l.output_tokens_per_s_per_replica * n,
                    l.output_tokens_per_s,
                    1e-9
                ),
                "{preset} {policy:?}: {} × {n} vs {}",
                l.output_tokens_per_s_per_replica,
                l.output_tokens_per_s
            );
            checked += 1;
        }
        assert!(checked >= 1, "{preset}: no fixed fleet checked");
    }
}

#[test]
fn the_break_even_in_tokens_is_where_on_demand_and_always_on_cost_the_same() {
    for preset in PRESETS {
        let plan = presets::load(preset).unwrap();
        let b = break_even(&plan).expect("a crossing");
        assert_eq!(plan.lazy.fraction_needed, 1.0, "{preset}");
        let tokens = b
            .output_tokens_per_s
            .expect("an LLM plan's break-even in tokens");
        assert!(
            close(tokens, b.rate_rps * output_mean(&plan), 1e-12),
            "{preset}: {tokens} vs {} req/s",
            b.rate_rps
        );
        let cap = SweepOptions::for_plan(&plan).max_servers;
        let cost = |rate: f64, kind: PolicyKind| {
            let policy = match kind {
                PolicyKind::AlwaysOn => Policy::AlwaysOn {
                    servers: b.always_on_servers,
                },
                _ => {
                    let mut p = plan.clone();
                    p.workload.rate_rps = Rate::Constant(rate);
                    policy_at(&p, kind, cap, cap)
                }
            };
            at_constant_rate(&plan, rate, policy, None).cost_usd_per_hour
        };
        let (od, ao) = (
            cost(b.rate_rps, PolicyKind::OnDemand),
            cost(b.rate_rps, PolicyKind::AlwaysOn),
        );
        // The crossing: on demand costs at least the always-on fleet there and less
        // just below. (An elastic LLM fleet's cost can jump there: at a constant rate
        // the replicas its first boot's arrivals start are never idle long enough to
        // stop.)
        let just_below = cost(b.rate_rps * (1.0 - 1e-3), PolicyKind::OnDemand);
        assert!(
            od >= ao * (1.0 - 1e-6) && just_below <= ao * (1.0 + 1e-6),
            "{preset}: on demand {just_below} just below and {od} at {} vs always-on {ao}",
            b.rate_rps
        );
        assert!(close(ao, b.cost_usd_per_hour, 1e-12), "{preset}");
        assert!(
            cost(b.rate_rps / 2.0, PolicyKind::OnDemand)
                < cost(b.rate_rps / 2.0, PolicyKind::AlwaysOn),
            "{preset}: on-demand is cheaper below"
        );
        assert!(
            cost(b.rate_rps * 2.0, PolicyKind::OnDemand)
                > cost(b.rate_rps * 2.0, PolicyKind::AlwaysOn),
            "{preset}: always-on is cheaper above"
        );
    }
    // A request-level plan has no tokens to count.
    let plan = presets::load("startup-transcribe").unwrap();
    assert_eq!(break_even(&plan).unwrap().output_tokens_per_s, None);
}

fn plan_json(preset: &str) -> Value {
    let (code, out, err) = costscope(&["plan", preset, "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_json_carries_the_break_even_in_tokens_only_for_an_llm_plan() {
    let llm = plan_json("llm-chatbot");
    let b = &llm["break_even"];
    let rate = b["rate_rps"].as_f64().unwrap();
    let tokens = b["output_tokens_per_s"].as_f64().unwrap();
    let plan = presets::load("llm-chatbot").unwrap();
    assert!(close(tokens, rate * output_mean(&plan), 1e-12), "{b}");
    let other = plan_json("startup-transcribe");
    let b = other["break_even"].as_object().unwrap();
    assert!(b.contains_key("rate_rps"), "{b:?}");
    assert!(!b.contains_key("output_tokens_per_s"), "{b:?}");
    // Every evaluation's llm block has the new fields, and they are numbers.
    for key in [
        "replica_output_tokens_per_s_at_slo",
        "output_tokens_per_s_per_replica",
        "output_tokens_per_usd",
    ] {
        assert!(llm["best"]["llm"][key].is_f64(), "best.llm.{key}");
        for c in llm["candidates"].as_array().unwrap() {
            assert!(c["llm"][key].is_f64(), "candidate {key}: {c}");
        }
    }
}

#[test]
fn the_cli_prints_the_price_figures_with_their_units() {
    let v = plan_json("llm-chatbot");
    let l = &v["best"]["llm"];
    let f = |k: &str| l[k].as_f64().unwrap();
    let (code, out, err) = costscope(&["plan", "llm-chatbot"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        format!("{:.0} output tokens per $", f("output_tokens_per_usd")),
        format!(
            "at most {:.3} req/s = {:.1} output tokens/s within the SLOs",
            f("max_requests_per_s_at_slo"),
            f("replica_output_tokens_per_s_at_slo")
        ),
        format!(
            "{:.1} output tokens/s per serving replica, day mean",
            f("output_tokens_per_s_per_replica")
        ),
        format!(
            "= {:.2} output tokens/s on-demand is cheaper",
            v["break_even"]["output_tokens_per_s"].as_f64().unwrap()
        ),
    ] {
        assert!(out.contains(&line), "missing {line:?} in:\n{out}");
    }
    // A request-level plan's break-even is a request rate only.
    let (code, out, err) = costscope(&["plan", "startup-transcribe"]);
    assert_eq!(code, 0, "{err}");
    let be = out.lines().find(|l| l.starts_with("Break-even")).unwrap();
    assert!(!be.contains("tokens"), "{be}");
}

#[test]
fn the_simulated_day_measures_tokens_per_replica_and_per_dollar() {
    let (code, out, err) = costscope(&[
        "simulate",
        "llm-chatbot",
        "--policy",
        "always-on",
        "--servers",
        "3",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let (a, s) = (&v["analytic"]["llm"], &v["simulated"]["llm"]);
    let f = |x: &Value, k: &str| x[k].as_f64().unwrap();
    // Three warm replicas serve the whole measured day.
    assert!(
        close(
            f(s, "output_tokens_per_s_per_replica") * 3.0,
            f(s, "output_tokens_per_s"),
            1e-9
        ),
        "{s}"
    );
    assert!(
        close(
            f(s, "output_tokens_per_usd") * f(s, "cost_usd_per_million_output_tokens"),
            1e6,
            1e-9
        ),
        "{s}"
    );
    // A search the simulation does not make.
    assert!(s["replica_output_tokens_per_s_at_slo"].is_null(), "{s}");
    // The model's fixed fleet agrees with the simulated one (docs/llm.md's day of
    // always-on 3: 397 / 395 output tokens/s).
    for k in ["output_tokens_per_s_per_replica", "output_tokens_per_usd"] {
        assert!(close(f(a, k), f(s, k), 0.02), "{k}: {} vs {}", a[k], s[k]);
    }
}
