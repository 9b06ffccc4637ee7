//! Every shipped preset loads, validates, round-trips and plans to a feasible best;
//! random bytes and random mutations of presets never panic the loader or the model.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::{Candidate, Evaluator, SweepOptions, optimize};
use costscope::plan::{load_file, load_str, presets, save_file, to_ron_string};
use proptest::prelude::*;

#[test]
fn there_are_at_least_six_story_presets() {
    assert!(presets::PRESETS.len() >= 6);
    assert_eq!(presets::PRESETS[0].name, presets::DEFAULT_PRESET);
    assert!(presets::default_plan().is_ok());
}

#[test]
fn every_preset_loads_round_trips_and_plans() {
    for p in presets::PRESETS {
        let plan = presets::load(p.name).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert!(
            plan.notes.contains("20") || p.name == "textbook-mmc",
            "{}: prices need a date",
            p.name
        );
        // The file on disk is the embedded text.
        let on_disk = std::fs::read_to_string(format!("presets/{}.ron", p.name)).unwrap();
        assert_eq!(on_disk, p.text);
        // Round trip through the writer.
        let text = to_ron_string(&plan).unwrap();
        let again =
            load_str(&text, "<round trip>").unwrap_or_else(|e| panic!("{}: {e}\n{text}", p.name));
        assert_eq!(plan, again, "{} does not round-trip", p.name);
        // The plan as written is stable, and the search finds a feasible best.
        if let Some(c) = Candidate::from_plan(&plan) {
            let e = Evaluator::new(&plan).unwrap().evaluate(&c);
            assert!(e.latency_ms.is_some(), "{}: {:?}", p.name, e.why_infeasible);
        }
        let opt = optimize(&plan, &SweepOptions::for_plan(&plan)).unwrap();
        let best = opt
            .best
            .unwrap_or_else(|| panic!("{}: no feasible candidate", p.name));
        assert!(best.feasible);
    }
}

#[test]
fn atomic_save_then_load() {
    let dir = std::env::temp_dir().join(format!("costscope-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.ron");
    let plan = presets::load("startup-chatbot").unwrap();
    save_file(&plan, &path).unwrap();
    assert_eq!(load_file(&path).unwrap(), plan);
    // No temp file is left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_name_the_place_and_the_field() {
    let text = presets::find("textbook-mmc").unwrap().text;
    let bad = text.replace("arrival_cv: 1.0", "arrival_cv: -2.0");
    let err = load_str(&bad, "t.ron").unwrap_err().to_string();
    let line = bad.lines().position(|l| l.contains("arrival_cv")).unwrap() + 1;
    assert!(err.starts_with(&format!("t.ron:{line}:")), "{err}");
    assert!(
        err.contains("workload.arrival_cv = -2") && err.contains("0 to 10"),
        "{err}"
    );

    let typo = text.replace("service_cv:", "servce_cv:");
    let err = load_str(&typo, "t.ron").unwrap_err().to_string();
    assert!(
        err.contains("servce_cv") && err.starts_with("t.ron:"),
        "{err}"
    );

    let newer = text.replace("version: 1", "version: 7");
    let err = load_str(&newer, "t.ron").unwrap_err().to_string();
    assert!(err.contains("version 7"), "{err}");

    let nan = text.replace("Constant(8.0)", "Constant(NaN)");
    let err = load_str(&nan, "t.ron").unwrap_err().to_string();
    assert!(err.contains("workload.rate_rps"), "{err}");
}

fn mutate(text: &str, ops: &[(u8, usize, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(op, pos, b) in ops {
        if bytes.is_empty() {
            break;
        }
        let i = pos % bytes.len();
        match op % 4 {
            0 => bytes[i] = b,
            1 => {
                bytes.remove(i);
            }
            2 => bytes.insert(i, b),
            _ if bytes[i].is_ascii_digit() => bytes[i] = b'0' + b % 10,
            _ => bytes[i] = b"-9e+.,()[]:"[usize::from(b) % 11],
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_str(&text, "random");
    }

    #[test]
    fn mutated_presets_never_panic(which in 0usize..7, ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6)) {
        let preset = &presets::PRESETS[which % presets::PRESETS.len()];
        let text = mutate(preset.text, &ops);
        if let Ok(plan) = load_str(&text, "mutated") {
            // A mutation that still validates must still evaluate without panicking.
            let ctx = Evaluator::new(&plan).unwrap();
            if let Some(c) = Candidate::from_plan(&plan) {
                let e = ctx.evaluate(&c);
                prop_assert!(e.cost_usd_per_hour.is_finite());
            }
        }
    }
}
