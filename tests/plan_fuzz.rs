//! Fuzzing the plan loader with every shipped preset as the seed: bytes deleted,
//! duplicated and replaced, numbers swapped for extreme values, strings made huge and
//! values buried in deep nesting. The loader never panics, every error names
//! `line:col` or a field path, and every plan it accepts evaluates to finite, ordered
//! numbers.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::{Candidate, Evaluation, Evaluator, Plan, SweepOptions, optimize};
use costscope::plan::{PlanError, load_str, presets};
use proptest::prelude::*;

/// Values a hostile file puts where a number was.
const EXTREME_NUMBERS: &[&str] = &[
    "0",
    "0.0",
    "-1",
    "-0.0",
    "1e308",
    "-1e308",
    "1e-320",
    "NaN",
    "inf",
    "-inf",
    "4294967296",
    "18446744073709551616",
    "99999999999999999999999",
    "2.5",
    "1e3",
    "0.000001",
    "86400",
    "10000",
    "10001",
    // Edges inside the ranges, which validation accepts and the model must survive.
    "1e-9",
    "0.5",
    "0.999999",
    "1000000",
    "1e9",
    "604800",
];

/// Lengths a string is blown up to: just over a name, just over the notes, far over.
const LONG_STRING_CHARS: &[usize] = &[201, 20_001, 100_000];

/// Largest fleet the fuzzed sweep tries, so a mutated `max_servers: 10000` stays fast.
const MAX_FUZZ_SERVERS: u32 = 64;

/// Cases per property: the whole file runs in a few seconds in the dev profile.
/// `PLAN_FUZZ_CASES=N` runs more when hunting.
const CASES: u32 = 400;

fn cases() -> u32 {
    std::env::var("PLAN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES)
}

/// Longest error message accepted: one line, not a pasted value.
const MAX_MESSAGE_CHARS: usize = 600;

/// Relative slack in p50 ≤ p95 ≤ p99, for quantiles computed by different roundings.
const QUANTILE_SLACK: f64 = 1e-9;

/// One change to a preset's text; positions are taken modulo what exists.
#[derive(Debug, Clone)]
enum Op {
    Replace(usize, u8),
    Delete(usize),
    Duplicate(usize, usize),
    Number(usize, usize),
    LongString(usize, usize),
    Nest(usize, usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    // Number swaps weigh most: they keep the text readable, so the plan reaches
    // validation and the model more often than a random byte does.
    prop_oneof![
        1 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Op::Replace(p, b)),
        1 => any::<usize>().prop_map(Op::Delete),
        1 => (any::<usize>(), 1usize..40).prop_map(|(p, n)| Op::Duplicate(p, n)),
        6 => (any::<usize>(), 0..EXTREME_NUMBERS.len()).prop_map(|(p, v)| Op::Number(p, v)),
        1 => (any::<usize>(), 0..LONG_STRING_CHARS.len()).prop_map(|(p, n)| Op::LongString(p, n)),
        1 => (any::<usize>(), 1usize..300, any::<bool>()).prop_map(|(p, d, b)| Op::Nest(p, d, b)),
    ]
}

/// Byte ranges, start to end.
type Spans = Vec<(usize, usize)>;

/// Byte ranges of the number literals and of the string contents in `text`, outside
/// `//` comments.
fn literals(text: &str) -> (Spans, Spans) {
    let (mut numbers, mut strings) = (Vec::new(), Vec::new());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                strings.push((start, i.min(b.len())));
                i += 1;
            }
            c if c.is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_digit() || b".eE+-".contains(&b[i])) {
                    i += 1;
                }
                numbers.push((start, i));
            }
            _ => i += 1,
        }
    }
    (numbers, strings)
}

fn mutate(text: &str, ops: &[Op]) -> String {
    let mut s = text.to_owned();
    for op in ops {
        let (numbers, strings) = literals(&s);
        let mut bytes = std::mem::take(&mut s).into_bytes();
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % len };
        match *op {
            Op::Replace(p, b) if !bytes.is_empty() => {
                let i = at(p, bytes.len());
                bytes[i] = b;
            }
            Op::Delete(p) if !bytes.is_empty() => {
                bytes.remove(at(p, bytes.len()));
            }
            Op::Duplicate(p, n) if !bytes.is_empty() => {
                let i = at(p, bytes.len());
                let span = bytes[i..(i + n).min(bytes.len())].to_vec();
                bytes.splice(i..i, span);
            }
            Op::Number(p, v) if !numbers.is_empty() => {
                let (a, z) = numbers[at(p, numbers.len())];
                bytes.splice(a..z, EXTREME_NUMBERS[v].bytes());
            }
            Op::LongString(p, n) if !strings.is_empty() => {
                let (a, z) = strings[at(p, strings.len())];
                bytes.splice(a..z, std::iter::repeat_n(b'x', LONG_STRING_CHARS[n]));
            }
            Op::Nest(p, depth, square) if !numbers.is_empty() => {
                let (a, z) = numbers[at(p, numbers.len())];
                let (open, close) = if square { (b'[', b']') } else { (b'(', b')') };
                bytes.splice(z..z, std::iter::repeat_n(close, depth));
                bytes.splice(a..a, std::iter::repeat_n(open, depth));
            }
            _ => {}
        }
        s = String::from_utf8_lossy(&bytes).into_owned();
    }
    s
}

/// The lines of `mutated` that differ from `original`, each cut to 200 characters, so a
/// failure shows the plan text that caused it without a 100 KB string.
fn changed_lines(original: &str, mutated: &str) -> String {
    let old: Vec<&str> = original.lines().collect();
    mutated
        .lines()
        .enumerate()
        .filter(|(i, l)| old.get(*i) != Some(l))
        .map(|(i, l)| {
            let cut: String = l.chars().take(200).collect();
            format!("  line {}: {cut}", i + 1)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An error names where it is: `line:col` for syntax, a field path for a value.
fn check_error(e: &PlanError) -> Result<(), String> {
    let message = e.to_string();
    if message.contains('\n') || message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(format!("not one short line: {} chars", message.len()));
    }
    let placed = match e {
        PlanError::Parse { at, .. }
        | PlanError::Version { at, .. }
        | PlanError::Model { at, .. } => at.line_col.is_some(),
        PlanError::Invalid { path, .. } => !path.is_empty(),
        _ => false,
    };
    if placed {
        Ok(())
    } else {
        Err(format!("names neither line:col nor a field: {message}"))
    }
}

/// Finite cost and latency, p50 ≤ p95 ≤ p99.
fn check_evaluation(what: &str, e: &Evaluation) -> Result<(), String> {
    let mut numbers = vec![("cost_usd_per_hour", e.cost_usd_per_hour)];
    numbers.extend(e.cost_usd_per_million.map(|c| ("cost_usd_per_million", c)));
    numbers.extend(e.objective.map(|o| ("objective", o)));
    if let Some(l) = &e.latency_ms {
        numbers.extend([
            ("latency mean", l.mean),
            ("p50", l.p50),
            ("p95", l.p95),
            ("p99", l.p99),
        ]);
        let ordered = |lo: f64, hi: f64| lo <= hi * (1.0 + QUANTILE_SLACK);
        if !(ordered(l.p50, l.p95) && ordered(l.p95, l.p99)) {
            return Err(format!(
                "{what}: quantiles out of order: p50 {} p95 {} p99 {} ({:?} servers {} batch {})",
                l.p50, l.p95, l.p99, e.policy, e.servers, e.batch
            ));
        }
    }
    match numbers.iter().find(|(_, x)| !x.is_finite()) {
        Some((name, x)) => Err(format!(
            "{what}: {name} = {x} ({:?} servers {} batch {})",
            e.policy, e.servers, e.batch
        )),
        None => Ok(()),
    }
}

/// The plan as written and the sweep's answers all evaluate to finite, ordered numbers.
fn check_plan(plan: &Plan) -> Result<(), String> {
    let ctx = Evaluator::new(plan).map_err(|e| format!("Evaluator::new: {e}"))?;
    if let Some(c) = Candidate::from_plan(plan) {
        check_evaluation("the plan's candidate", &ctx.evaluate(&c))?;
    }
    let mut options = SweepOptions::for_plan(plan);
    options.max_servers = options.max_servers.min(MAX_FUZZ_SERVERS);
    let opt = optimize(plan, &options).map_err(|e| format!("optimize: {e}"))?;
    for e in opt.best.iter().chain(&opt.candidates).chain(&opt.pareto) {
        check_evaluation("optimize", e)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn mutated_presets_load_or_fail_cleanly_and_evaluate_finitely(
        which in 0..presets::PRESETS.len(),
        ops in proptest::collection::vec(op(), 1..5),
    ) {
        let preset = &presets::PRESETS[which];
        let text = mutate(preset.text, &ops);
        let outcome = match load_str(&text, "fuzz.ron") {
            Err(e) => check_error(&e),
            Ok(plan) => {
check_plan(&plan)
            }
        };
        if let Err(why) = outcome {
            let changed = changed_lines(preset.text, &text);
            prop_assert!(false, "{}: {why}\nchanged lines:\n{changed}", preset.name);
        }
    }
}

#[test]
fn the_mutations_reach_numbers_strings_and_nesting() {
    let text = presets::PRESETS[0].text;
    let (numbers, strings) = literals(text);
    assert!(numbers.len() > 10 && strings.len() >= 3);
    let huge = mutate(text, &[Op::Number(0, 4)]);
    assert!(huge.contains("1e308"));
    let long = mutate(text, &[Op::LongString(0, 0)]);
    assert!(long.contains(&"x".repeat(201)));
    let deep = mutate(text, &[Op::Nest(3, 5, true)]);
    assert!(deep.contains("[[[[["));
    // Every preset, unmutated, passes the same checks.
    for p in presets::PRESETS {
        check_plan(&load_str(p.text, p.name).unwrap()).unwrap();
    }
}

/// Plans the fuzzer found that validate but evaluate to infinite or disordered numbers:
/// one edit of a preset each. They are model-side (src/model) and fail here until the
/// model is fixed; kept as a fixed list so the failure is not left to chance.
const MODEL_FAILURES: &[(&str, &[(&str, &str)])] = &[
    // A subnormal rate: cost per million requests overflows to infinity.
    ("textbook-mmc", &[("Constant(8.0)", "Constant(1e-320)")]),
    // Deterministic service and a one-in-a-billion cache hit: the spot mix's p50 lies
    // above its p95.
    (
        "healthcare-triage",
        &[
            ("service_cv: 0.3", "service_cv: 0.0"),
            ("hit_rate: 0.0", "hit_rate: 1e-9"),
        ],
    ),
];

#[test]
fn plans_the_fuzzer_found_evaluate_finitely() {
    let mut failures = Vec::new();
    for (name, edits) in MODEL_FAILURES {
        let mut text = presets::find(name).unwrap().text.to_owned();
        for (old, new) in *edits {
            assert!(text.contains(old), "{name}: {old}");
            text = text.replacen(old, new, 1);
        }
        let plan = load_str(&text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(why) = check_plan(&plan) {
            failures.push(format!("{name} with {edits:?}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
