//! The LLM fleet simulator: deterministic for a seed, every request answered, one
//! always-on replica at a constant rate agreeing with the iteration-by-iteration
//! replica simulator (same arrivals and lengths, decode runs advanced in closed
//! form), scale to zero adding its boots to TTFT, spot interruptions restarting
//! sequences, and `costscope simulate --json` giving finite `llm` blocks.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use costscope::model::llm_replica::Replica;
use costscope::model::{Plan, Policy, Rate};
use costscope::plan::presets;
use costscope::sim::llm::{LlmSimOptions, simulate_replica};
use costscope::sim::{LlmFleetResult, SimOptions, simulate_llm};

fn chatbot(policy: Policy, edit: impl Fn(&mut Plan)) -> Plan {
    let mut plan = presets::load("llm-chatbot").unwrap();
    plan.policy = policy;
    edit(&mut plan);
    plan
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

fn run(plan: &Plan, hours: f64, seed: u64) -> LlmFleetResult {
    simulate_llm(
        plan,
        &SimOptions {
            seed,
            hours,
            ..SimOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn the_same_seed_gives_the_same_day_and_every_request_is_answered() {
    let plan = chatbot(
        Policy::SpotMix {
            on_demand: 1,
            spot: 2,
            checkpoint_interval_s: 3600.0,
            checkpoint_s: 0.0,
        },
        |p| p.hardware.spot_interruptions_per_hour = 2.0,
    );
    let a = run(&plan, 24.0, 5);
    let b = run(&plan, 24.0, 5);
    let c = run(&plan, 24.0, 6);
    assert_eq!(a, b);
    assert_ne!(a, c);
    // Conservation: what arrived was answered, interruptions or not.
    assert!(a.fleet.requests > 100_000, "{}", a.fleet.requests);
    assert_eq!(
        a.fleet.completed, a.fleet.requests,
        "{:?}",
        a.fleet.warnings
    );
    assert!(a.fleet.spot_interruptions > 0);
}

#[test]
fn one_always_on_replica_matches_the_one_replica_simulator() {
    for chunked in [None, Some(2048)] {
        let base = chatbot(Policy::AlwaysOn { servers: 1 }, |p| {
            p.service.llm.as_mut().unwrap().chunked_prefill_tokens = chunked;
        });
        let r = replica(&base);
        let rate = 0.5 * r.capacity_rps();
        let plan = chatbot(Policy::AlwaysOn { servers: 1 }, |p| {
            p.service.llm.as_mut().unwrap().chunked_prefill_tokens = chunked;
            p.workload.rate_rps = Rate::Constant(rate);
        });
        let one = simulate_replica(
            &r,
            &LlmSimOptions {
                rate_rps: rate,
                measure_s: 20_000.0,
                warmup_s: 2_000.0,
                seed: 1,
            },
        );
        let fleet = simulate_llm(
            &plan,
            &SimOptions {
                seed: 1,
                hours: 20_000.0 / 3600.0,
                warmup_hours: 2_000.0 / 3600.0,
                ..SimOptions::default()
            },
        )
        .unwrap();
        let l = &fleet.llm;
        let close = |what: &str, a: f64, b: f64, tol: f64| {
            assert!(
                (a / b - 1.0).abs() <= tol,
                "{chunked:?} {what}: fleet {a:.3} vs one replica {b:.3}"
            );
        };
        close(
            "TTFT",
            l.ttft_ms.unwrap().mean,
            one.ttft_ms.unwrap().mean,
            0.02,
        );
        close(
            "TTFT p95",
            l.ttft_ms.unwrap().p95,
            one.ttft_ms.unwrap().p95,
            0.02,
        );
        close(
            "TPOT",
            l.tpot_ms.unwrap().mean,
            one.tpot_ms.unwrap().mean,
            0.01,
        );
        close(
            "E2E",
            l.e2e_ms.unwrap().mean,
            one.e2e_ms.unwrap().mean,
            0.01,
        );
        close(
            "tokens/s",
            l.output_tokens_per_s,
            one.output_tokens_per_s,
            0.01,
        );
        close("running", l.mean_running_seqs, one.mean_running_seqs, 0.02);
        close("KV", l.kv_utilization, one.kv_utilization, 0.03);
        assert_eq!(l.preemptions, one.preemptions);
        // A fixed replica is billed for every hour.
        close("cost", fleet.fleet.cost_usd_per_hour, 0.71, 1e-9);
    }
}

#[test]
fn scale_to_zero_adds_its_cold_starts_to_ttft() {
    let light = |p: &mut Plan| p.workload.rate_rps = Rate::Constant(0.004);
    let warm = run(&chatbot(Policy::AlwaysOn { servers: 1 }, light), 24.0, 2);
    let cold = run(
        &chatbot(
            Policy::OnDemand {
                idle_timeout_s: 60.0,
                max_servers: 4,
            },
            light,
        ),
        24.0,
        2,
    );
    assert_eq!(warm.fleet.cold_starts, 0);
    // One request every 250 s against a 60 s timeout: most find no replica.
    assert!(cold.fleet.cold_starts > 150, "{}", cold.fleet.cold_starts);
    let frac = cold.fleet.cold_start_fraction;
    assert!(frac > 0.5, "{frac}");
    let (w, c) = (warm.llm.ttft_ms.unwrap(), cold.llm.ttft_ms.unwrap());
    // The request that starts a replica waits its whole 90 s boot before its
    // prefill (those arriving during the boot wait what is left of it).
    let starts = cold.fleet.cold_starts as f64 / cold.fleet.server_requests as f64;
    assert!(
        c.mean - w.mean > starts * 90_000.0,
        "{} vs {} ({starts} starts a request)",
        c.mean,
        w.mean
    );
    assert!(
        c.mean - w.mean < frac * 90_000.0 + 1_000.0,
        "{} vs {frac}",
        c.mean
    );
    assert!(c.p95 > 90_000.0, "{}", c.p95);
    // TPOT is the warm replica's: the boot comes before the first token.
    let (wt, ct) = (
        warm.llm.tpot_ms.unwrap().mean,
        cold.llm.tpot_ms.unwrap().mean,
    );
    assert!((ct / wt - 1.0).abs() < 0.05, "{ct} vs {wt}");
    // Less billed than one replica held all day.
    assert!(
        cold.fleet.cost_usd_per_hour < 0.71,
        "{}",
        cold.fleet.cost_usd_per_hour
    );
}

#[test]
fn spot_interruptions_restart_the_lost_sequences() {
    let plan = |per_hour: f64| {
        chatbot(
            Policy::SpotMix {
                on_demand: 0,
                spot: 3,
                checkpoint_interval_s: 3600.0,
                checkpoint_s: 0.0,
            },
            move |p| p.hardware.spot_interruptions_per_hour = per_hour,
        )
    };
    let calm = run(&plan(0.0), 12.0, 3);
    let stormy = run(&plan(6.0), 12.0, 3);
    assert_eq!((calm.fleet.spot_interruptions, calm.llm.restarts), (0, 0));
    assert!(
        stormy.fleet.spot_interruptions > 50,
        "{}",
        stormy.fleet.spot_interruptions
    );
    assert!(stormy.llm.restarts > 100, "{}", stormy.llm.restarts);
    assert_eq!(stormy.fleet.completed, stormy.fleet.requests);
    // Restarted sequences are prefilled again and replicas reboot: slower answers.
    let (a, b) = (calm.llm.e2e_ms.unwrap(), stormy.llm.e2e_ms.unwrap());
    assert!(b.p99 > a.p99, "{} vs {}", b.p99, a.p99);
    assert!(
        stormy.fleet.server_hours.booting > 0.5,
        "{:?}",
        stormy.fleet.server_hours
    );
}

#[test]
fn simulate_json_has_finite_llm_blocks_for_the_chatbot() {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args([
            "simulate",
            "llm-chatbot",
            "--policy",
            "spot-mix",
            "--servers",
            "3",
            "--hours",
            "2",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for side in ["analytic", "simulated"] {
        let llm = &v[side]["llm"];
        for key in ["ttft_ms", "tpot_ms", "e2e_ms"] {
            for q in ["mean", "p50", "p95", "p99"] {
                let x = llm[key][q].as_f64().unwrap_or(f64::NAN);
                assert!(x.is_finite() && x > 0.0, "{side}.llm.{key}.{q} = {x}");
            }
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
        ] {
            let x = llm[key].as_f64().unwrap_or(f64::NAN);
            assert!(x.is_finite() && x > 0.0, "{side}.llm.{key} = {x}");
        }
    }
    assert!(
        v["analytic"]["llm"]["max_requests_per_s_at_slo"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(v["simulated"]["llm"]["max_requests_per_s_at_slo"].is_null());
    assert!(v["simulated"]["requests"].as_u64().unwrap() > 0);
}

#[test]
fn plan_verify_simulates_an_llm_recommendation() {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args([
            "plan",
            "llm-chatbot",
            "--verify",
            "--replications",
            "2",
            "--hours",
            "6",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &v["verification"]["candidates"][0];
    assert_eq!(first["candidate"]["policy"], v["best"]["policy"]);
    for key in ["cost_usd_per_hour", "metric_ms", "ttft_ms", "tpot_ms"] {
        let x = first["simulated"][key]["mean"].as_f64().unwrap_or(f64::NAN);
        assert!(x.is_finite() && x > 0.0, "simulated.{key} = {x}");
    }
}

#[test]
fn an_overloaded_fleet_is_named_in_a_warning() {
    // One replica carries at most 1.7 req/s; the afternoon brings 3.
    let r = run(&chatbot(Policy::AlwaysOn { servers: 1 }, |_| {}), 24.0, 1);
    assert!(
        r.fleet.warnings.iter().any(|w| w.contains("overloaded")),
        "{:?}",
        r.fleet.warnings
    );
    assert_eq!(r.fleet.completed, r.fleet.requests);
}
