//! `costscope plan --hardware`: the optimiser choosing among catalog offers, end to end
//! through the real binary — a projected L(b) from a real CPU profile equal to
//! `model::projection`'s, the catalog scaling rule, an LLM refused where it does not
//! fit, unknown offers and the plan's `hardware_candidates` field.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::costscope;

use std::time::Duration;

use costscope::model::catalog::Catalog;
use costscope::model::projection::{OpMeasurement, ProjectionOptions, Roofline, project};
use costscope::model::{HardwareCandidates, Precision as PlanPrecision};
use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};
use serde_json::Value;

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("costscope-hwplan-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn catalog() -> Catalog {
    costscope::plan::catalog::shipped().unwrap()
}

fn plan_json(args: &[&str]) -> Value {
    let (code, out, err) = costscope(args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// The recommended offer's entry in `plan --json`'s `hardware.offers`.
fn recommended(v: &Value) -> &Value {
    let h = &v["hardware"];
    let i = h["recommendation"].as_u64().expect("a recommendation") as usize;
    &h["offers"][i]
}

#[test]
fn a_profiled_plan_recommends_an_offer_at_the_projected_latency() {
    let mut opts = ProfileOptions::quick();
    opts.device = DeviceChoice::Cpu;
    opts.models = vec!["tiny-bert".into()];
    opts.precisions = vec![Precision::F32];
    opts.gemm_sizes = Vec::new();
    opts.seq_lens = vec![32];
    opts.batches = vec![1, 4];
    opts.budget_per_row = Duration::from_millis(200);
    let report = run_profile(&opts, &mut |_| {}).expect("profile");
    let d = dir();
    let report_path = d.join("tiny-bert.json");
    report.write(&report_path).unwrap();
    let (mut plan, _) = costscope::plan::load("healthcare-triage").unwrap();
    plan.service.seq_len = 32;
    let plan_path = d.join("triage-32.ron");
    costscope::plan::save_file(&plan, &plan_path).unwrap();

    let args = [
        "plan",
        plan_path.to_str().unwrap(),
        "--profile",
        report_path.to_str().unwrap(),
        "--profile-model",
        "tiny-bert",
        "--hardware",
        "all",
        "--json",
    ];
    let v = plan_json(&args);
    let best = recommended(&v);
    assert_eq!(best["best"]["feasible"], true, "{best}");
    assert!(
        v["hardware"]["latency_from"]
            .as_str()
            .unwrap()
            .contains("per-operator rows of cpu"),
        "{}",
        v["hardware"]["latency_from"]
    );
    // The same rows projected by the library to the recommended accelerator.
    let cat = catalog();
    let acc = cat
        .accelerator(best["accelerator"].as_str().unwrap())
        .unwrap();
    let peak = report.peaks.iter().find(|p| p.device == "cpu").unwrap();
    let local = Roofline {
        flops_per_s: peak.fma_gflops * 1e9,
        bytes_per_s: peak.bandwidth_gbytes_per_s.unwrap() * 1e9,
    };
    let points = best["curve"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{best}");
    for (point, batch) in points.iter().zip([1usize, 4]) {
        let row = report
            .results
            .iter()
            .find(|r| r.batch == Some(batch) && r.seq_len == Some(32) && !r.ops.is_empty())
            .unwrap();
        let ops: Vec<OpMeasurement> = row
            .ops
            .iter()
            .map(|o| OpMeasurement {
                name: o.name.clone(),
                ms: o.ms,
                flops: o.flops,
                bytes: o.bytes,
            })
            .collect();
        let weights = row.weights_bytes.unwrap();
        let kv = row.kv_bytes_per_token.unwrap_or(0.0) * 32.0 * batch as f64;
        let p = project(
            &ops,
            local,
            acc,
            Precision::F32,
            Some((weights, kv)),
            ProjectionOptions::default(),
        )
        .unwrap();
        assert_eq!(point["batch"].as_u64(), Some(batch as u64));
        assert_eq!(point["latency_ms"].as_f64(), Some(p.latency_ms), "{point}");
        assert_eq!(point["low_ms"].as_f64(), Some(p.low_ms), "{point}");
        assert_eq!(point["high_ms"].as_f64(), Some(p.high_ms), "{point}");
    }
    let at = best["at_batch"].as_u64().unwrap() as usize;
    let shown = points
        .iter()
        .find(|p| p["batch"].as_u64() == Some(at as u64))
        .unwrap();
    assert_eq!(best["projected_latency_ms"], shown["latency_ms"]);

    // The table names the recommendation with its projected latency and band.
    let (code, out, err) = costscope(&args[..args.len() - 1]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("* recommended: "))
        .unwrap();
    assert!(line.contains(best["offer"].as_str().unwrap()), "{line}");
    assert!(line.contains("ms projected (band "), "{line}");
}

#[test]
fn without_a_profile_the_stated_accelerator_is_scaled_by_catalog_figures() {
    let v = plan_json(&["plan", "healthcare-triage", "--hardware", "all", "--json"]);
    let h = &v["hardware"];
    assert_eq!(
        h["offers"].as_array().unwrap().len(),
        catalog().offers.len()
    );
    assert!(
        h["latency_from"].as_str().unwrap().contains("(catalog L4)"),
        "{h}"
    );
    let best = recommended(&v);
    assert_eq!(best["best"]["feasible"], true, "{best}");
    // L(b) / speed_vs_profiled over the lesser of the FP32 FLOP-rate and bandwidth
    // speed-ups of the target over the L4, the band down to the greater.
    let (plan, _) = costscope::plan::load("healthcare-triage").unwrap();
    assert_eq!(
        costscope::model::hardware_sweep::plan_precision(&plan),
        PlanPrecision::F32
    );
    let cat = catalog();
    let (l4, target) = (
        cat.accelerator("L4").unwrap(),
        cat.accelerator(best["accelerator"].as_str().unwrap())
            .unwrap(),
    );
    let compute = target.fp32_tflops.unwrap() / l4.fp32_tflops.unwrap();
    let memory = target.memory_bandwidth_gbytes_per_s / l4.memory_bandwidth_gbytes_per_s;
    let (b, ms) = plan.service.batch_latency_ms[0];
    let point = &best["curve"]["points"][0];
    assert_eq!(point["batch"].as_u64(), Some(u64::from(b)));
    let stated = ms / plan.hardware.speed_vs_profiled;
    let expect = stated / compute.min(memory);
    assert!(
        (point["latency_ms"].as_f64().unwrap() - expect).abs() < 1e-9 * expect,
        "{point}"
    );
    let low = stated / compute.max(memory);
    assert!(
        (point["low_ms"].as_f64().unwrap() - low).abs() < 1e-9 * low,
        "{point}"
    );
    // The frontier spans offers and every point on it is feasible.
    let pareto = h["pareto"].as_array().unwrap();
    assert!(!pareto.is_empty());
    assert!(
        pareto.iter().all(|p| p["evaluation"]["feasible"] == true),
        "{pareto:?}"
    );
}

#[test]
fn an_llm_that_does_not_fit_a_16_gb_card_is_infeasible_there_and_runs_on_a_larger_one() {
    let v = plan_json(&[
        "plan",
        "llm-chatbot",
        "--hardware",
        "Modal T4,RunPod H200 141GB",
        "--json",
    ]);
    let offers = v["hardware"]["offers"].as_array().unwrap();
    let (t4, h200) = (&offers[0], &offers[1]);
    assert_eq!(t4["accelerator"], "T4");
    assert!(t4["best"].is_null(), "{t4}");
    let why = t4["reason"].as_str().unwrap();
    assert!(
        why.contains("does not fit") && why.contains("has 16.00 GB"),
        "{why}"
    );
    assert_eq!(h200["accelerator"], "H200");
    assert_eq!(h200["best"]["feasible"], true, "{h200}");
    assert_eq!(v["hardware"]["recommendation"], 1);
}

#[test]
fn an_unknown_offer_is_a_one_line_error() {
    let (code, out, err) = costscope(&["plan", "healthcare-triage", "--hardware", "Nowhere X1"]);
    assert_ne!(code, 0, "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("no offer 'Nowhere X1' in the catalog"),
        "{err}"
    );
    let (code, _, err) = costscope(&["plan", "textbook-mmc", "--hardware", "all"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("hardware.name 'generic server' names no catalog accelerator"),
        "{err}"
    );
}

/// The healthcare preset with `hardware_candidates` as RON text `field`.
fn plan_with(field: &str) -> std::path::PathBuf {
    let (mut plan, _) = costscope::plan::load("healthcare-triage").unwrap();
    plan.hardware_candidates = Some(HardwareCandidates::Offers(vec!["PLACEHOLDER".into()]));
    let text = costscope::plan::to_ron_string(&plan).unwrap();
    let at = text
        .find("hardware_candidates:")
        .expect("the field is written");
    // The field is the plan's last: everything after it is the closing parenthesis.
    assert!(text.trim_end().ends_with(')'));
    let text = format!("{}hardware_candidates: {field},\n)\n", &text[..at]);
    let path = dir().join(format!("cand-{}.ron", field.len()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_plan_field_lists_candidates_and_is_checked() {
    let p = plan_with(r#"Some(Offers(["Modal L4", "runpod l40s 48gb"]))"#);
    let v = plan_json(&["plan", p.to_str().unwrap(), "--json"]);
    let offers = v["hardware"]["offers"].as_array().unwrap();
    let names: Vec<&str> = offers
        .iter()
        .map(|o| o["offer"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Modal L4", "RunPod L40S 48GB"]);
    // --hardware overrides the field.
    let v = plan_json(&[
        "plan",
        p.to_str().unwrap(),
        "--hardware",
        "Modal T4",
        "--json",
    ]);
    assert_eq!(v["hardware"]["offers"].as_array().unwrap().len(), 1);

    let p = plan_with("Some(All)");
    let v = plan_json(&["plan", p.to_str().unwrap(), "--json"]);
    assert_eq!(
        v["hardware"]["offers"].as_array().unwrap().len(),
        catalog().offers.len()
    );

    for (field, expect) in [
        ("Some(Offers([]))", "hardware_candidates"),
        (
            r#"Some(Offers(["Modal L4", "modal l4"]))"#,
            "hardware_candidates[1]",
        ),
        (r#"Some(Offers([" "]))"#, "hardware_candidates[0]"),
        ("Some(Everything)", "Everything"),
    ] {
        let p = plan_with(field);
        let (code, out, err) = costscope(&["plan", p.to_str().unwrap()]);
        assert_ne!(code, 0, "{field}: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{field}: {err}");
    }
    // A plan without the field has no hardware section.
    let v = plan_json(&["plan", "healthcare-triage", "--json"]);
    assert!(v.get("hardware").is_none());
}

#[test]
fn a_dominated_offer_left_unsearched_is_no_better_when_searched() {
    use costscope::model::hardware_sweep::{
        OfferCase, scaled_curve, stated_accelerator, sweep, sweep_with,
    };
    let (plan, _) = costscope::plan::load("healthcare-triage").unwrap();
    let cat = catalog();
    let stated = stated_accelerator(&cat, &plan.hardware.name).unwrap();
    let cases: Vec<OfferCase> = (cat.offers.iter())
        .map(|o| {
            let acc = cat.accelerator(&o.accelerator).unwrap().clone();
            OfferCase {
                offer: o.clone(),
                curve: scaled_curve(&plan, stated, &acc),
                accelerator: acc,
            }
        })
        .collect();
    let options = costscope::model::SweepOptions::for_plan(&plan);
    let pruned = sweep(&plan, &options, &cases, Some(stated));
    let full = sweep_with(&plan, &options, &cases, Some(stated), false);
    let objective = |i: usize| full.offers[i].best.as_ref().and_then(|b| b.objective);
    let mut checked = 0;
    for (i, o) in pruned.offers.iter().enumerate() {
        let Some(by) = &o.dominated_by else { continue };
        let j = pruned.offers.iter().position(|p| &p.offer == by).unwrap();
        let (mine, theirs) = (
            objective(i),
            objective(j).expect("the dominating offer is feasible"),
        );
        assert!(
            mine.is_none_or(|m| m >= theirs),
            "{} {mine:?} beats {by} {theirs}",
            o.offer
        );
        checked += 1;
    }
    assert!(checked > 0, "no offer was dominated");
    assert_eq!(pruned.recommendation, full.recommendation);
    let pick = |s: &costscope::model::hardware_sweep::HardwareSweep| {
        let b = s.offers[s.recommendation.unwrap()].best.clone().unwrap();
        (b.objective, b.cost_usd_per_hour, b.candidate_name())
    };
    assert_eq!(pick(&pruned), pick(&full));
    let frontier = |s: &costscope::model::hardware_sweep::HardwareSweep| -> Vec<(String, f64)> {
        (s.pareto.iter())
            .map(|p| (p.offer.clone(), p.evaluation.cost_usd_per_hour))
            .collect()
    };
    assert_eq!(frontier(&pruned), frontier(&full));
}

#[test]
fn a_routed_plan_searches_a_two_class_mix_and_says_whether_it_beats_one_offer() {
    use costscope::model::hardware_mix::mix_plan;
    use costscope::model::hardware_sweep::{OfferCase, scaled_curve, stated_accelerator, sweep};
    use costscope::model::objective::candidate_of;
    let (plan, _) = costscope::plan::load("workstation-vs-cloud").unwrap();
    let routing = plan.routing.clone().expect("the preset routes a share");
    let cat = catalog();
    let stated = stated_accelerator(&cat, &plan.hardware.name).expect("RTX-4090");
    let cases: Vec<OfferCase> = (cat.offers.iter())
        .map(|o| {
            let acc = cat.accelerator(&o.accelerator).unwrap().clone();
            OfferCase {
                offer: o.clone(),
                curve: scaled_curve(&plan, stated, &acc),
                accelerator: acc,
            }
        })
        .collect();
    let options = costscope::model::SweepOptions::for_plan(&plan);
    let s = sweep(&plan, &options, &cases, Some(stated));
    let mix = s.mix.clone().expect("a mix is searched for a routed plan");
    let r = s.recommendation.unwrap();
    assert_eq!(mix.fast, s.offers[r].offer);
    assert_eq!(mix.fraction, routing.fraction);
    let cheap = cases
        .iter()
        .position(|c| c.offer.label() == mix.cheap)
        .unwrap();
    assert!(s.offers[cheap].server_usd_per_hour < s.offers[r].server_usd_per_hour);
    // The mix evaluated directly: the routed class is priced per accelerator of the
    // cheaper offer and the whole costs what the sweep reported.
    let p = mix_plan(&plan, &cases, r, cheap, Some(stated)).unwrap();
    let second = p.routing.as_ref().unwrap();
    let n = f64::from(cases[cheap].offer.accelerators_per_instance.max(1));
    assert_eq!(
        second.hardware.on_demand_usd_per_hour,
        cases[cheap].offer.on_demand_usd_per_hour / n
    );
    assert_eq!(second.fraction, routing.fraction);
    let direct = costscope::model::Evaluator::new(&p)
        .unwrap()
        .evaluate(&candidate_of(&p, &mix.best));
    assert_eq!(direct.cost_usd_per_hour, mix.best.cost_usd_per_hour);
    assert_eq!(direct.objective, mix.best.objective);
    assert!(direct.routing.is_some() && direct.feasible);
    let single = s.offers[r].best.as_ref().unwrap().objective.unwrap();
    assert_eq!(mix.beats_single, mix.best.objective.unwrap() < single);
    // The same mix through the binary's JSON.
    let v = plan_json(&[
        "plan",
        "workstation-vs-cloud",
        "--hardware",
        "all",
        "--json",
    ]);
    let m = &v["hardware"]["mix"];
    assert_eq!(m["cheap"].as_str(), Some(mix.cheap.as_str()), "{m}");
    assert_eq!(m["beats_single"].as_bool(), Some(mix.beats_single));
    assert_eq!(
        m["best"]["cost_usd_per_hour"].as_f64(),
        Some(mix.best.cost_usd_per_hour)
    );
    // A plan without routing has no mix.
    let v = plan_json(&["plan", "healthcare-triage", "--hardware", "all", "--json"]);
    assert!(v["hardware"]["mix"].is_null());
}
