//! App layer: the Caching & lazy panel's figures as data — each line names the
//! evaluation it belongs to (the recommendation, the plan as written, the optimum
//! without the cache) and shows the numbers `costscope plan --json` prints for it.

use super::format::{fmt_sig, fmt_sig_pair};
use super::state::Results;
use crate::model::compare::{Optima, SameFleet};

/// One line of figures.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureLine {
    /// What is shown, evaluation named first.
    pub text: String,
    /// What it means, on hover.
    pub hover: &'static str,
    /// The figures behind `text` in the order written, unrounded and as the evaluation
    /// holds them (a hit rate as a share, where the text writes a percent): for
    /// whoever needs them exact, since the text rounds them.
    pub numbers: Vec<f64>,
}

/// A heading and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureSection {
    /// The heading.
    pub heading: &'static str,
    /// Its lines, in order.
    pub lines: Vec<FigureLine>,
}

/// Who a same-fleet comparison is of, as the panel names it.
const RECOMMENDATION: &str = "the recommendation";
/// The plan's own policy and batch.
const AS_WRITTEN: &str = "the plan as written";

fn line(text: String, hover: &'static str) -> FigureLine {
    FigureLine {
        text,
        hover,
        numbers: Vec::new(),
    }
}

/// A line showing `numbers`.
fn figures(text: String, hover: &'static str, numbers: Vec<f64>) -> FigureLine {
    FigureLine {
        text,
        hover,
        numbers,
    }
}

/// The panel's figures for `results`, in the order shown: what the cache saves, then
/// what lazy evaluation saves, then the recommendation's latency.
pub fn figure_sections(results: &Results) -> Vec<FigureSection> {
    let best = results.best();
    if best.is_none() && results.evaluation.is_none() {
        return vec![FigureSection {
            heading: "What it saves",
            lines: vec![line(
                "No feasible plan to compare.".into(),
                "Neither the plan as written nor any candidate the optimiser tried is \
                 stable and within the SLO.",
            )],
        }];
    }
    let mut sections = vec![cache_section(results), lazy_section(results)];
    if let Some(l) = best.and_then(|e| e.latency_ms) {
        sections.push(FigureSection {
            heading: "Latency",
            lines: vec![figures(
                format!(
                    "{RECOMMENDATION}: mean {} ms, p95 {} ms",
                    fmt_sig(l.mean, 3),
                    fmt_sig(l.p95, 3)
                ),
                "The day's response-time mixture of needed requests, cache hits included.",
                vec![l.mean, l.p95],
            )],
        });
    }
    sections
}

/// Hit rate, the same fleets with and without the cache, the two optima, reuse.
fn cache_section(results: &Results) -> FigureSection {
    let mut lines = Vec::new();
    let Some(c) = &results.cache_comparison else {
        lines.push(line(
            "The plan has no cache: no hits, no L2 tier, no storage cost.".into(),
            "Set a hit rate, derive one from Zipf popularity or add an L2 tier.",
        ));
        return FigureSection {
            heading: "What the cache saves",
            lines,
        };
    };
    if let Some(e) = results.best() {
        lines.push(figures(
            format!(
                "{RECOMMENDATION}: hit rate (all tiers) {} %",
                fmt_sig(e.cache.hit_rate * 100.0, 3)
            ),
            "h₁ + (1 − h₁)·h₂: requests answered by L1 or L2 without inference.",
            vec![e.cache.hit_rate],
        ));
    }
    for (who, same) in [
        (RECOMMENDATION, &c.recommendation),
        (AS_WRITTEN, &c.as_written),
    ] {
        if let Some(s) = same {
            same_fleet_lines(&mut lines, who, s, &CACHE_WORDS);
        }
    }
    optima_lines(&mut lines, &c.optima);
    if let Some(e) = results.best() {
        lines.push(figures(
            format!(
                "{RECOMMENDATION}: reuse savings (r − 1)·C_E {} $ per million computed results",
                fmt_sig(e.cache.reuse_savings_usd_per_million, 3)
            ),
            "C_E is what the recommendation's fleet pays per computed result; each extra \
             use of a result saves one C_E.",
            vec![e.cache.reuse_savings_usd_per_million],
        ));
    }
    FigureSection {
        heading: "What the cache saves",
        lines,
    }
}

/// How a same-fleet comparison's lines name the feature.
struct Words {
    /// The fleet with the feature, e.g. "with the cache".
    with: &'static str,
    /// The same fleet without it, e.g. "without the cache".
    without: &'static str,
    /// The feature, e.g. "the cache".
    feature: &'static str,
}

const CACHE_WORDS: Words = Words {
    with: "with the cache",
    without: "without the cache",
    feature: "the cache",
};

/// Three lines for one fleet: its cost with the feature, without it, and the difference.
fn same_fleet_lines(lines: &mut Vec<FigureLine>, who: &str, s: &SameFleet, w: &Words) {
    let why = s.without_infeasible.as_deref().unwrap_or("infeasible");
    let (Some(cost), Some(saves)) = (s.without_usd_per_hour, s.savings_usd_per_hour) else {
        lines.push(figures(
            format!(
                "{who}, {}, {}: {} $/hour",
                s.fleet,
                w.with,
                fmt_sig(s.with_usd_per_hour, 3)
            ),
            WITH_HOVER,
            vec![s.with_usd_per_hour],
        ));
        lines.push(line(
            format!(
                "{who}, same fleet {}: cannot serve the plan ({why})",
                w.without
            ),
            "Without the feature this fleet is overloaded, so it has no cost to compare: \
             it needs the feature to run at all. Compare the optima instead.",
        ));
        return;
    };
    // With and without side by side: as many digits as it takes to tell them apart.
    let (with, without) = fmt_sig_pair(s.with_usd_per_hour, cost, 3);
    lines.push(figures(
        format!("{who}, {}, {}: {with} $/hour", s.fleet, w.with),
        WITH_HOVER,
        vec![s.with_usd_per_hour],
    ));
    let short = s
        .without_infeasible
        .as_ref()
        .map_or_else(String::new, |why| format!(" (infeasible: {why})"));
    lines.push(figures(
        format!("{who}, same fleet {}: {without} $/hour{short}", w.without),
        "The same policy, servers and batch evaluated with the feature off.",
        vec![cost],
    ));
    let adds = if saves < 0.0 {
        format!("; {} adds {} $/hour", w.feature, fmt_sig(-saves, 3))
    } else {
        String::new()
    };
    lines.push(figures(
        format!(
            "{who}: {} saves {} $/hour (same fleet, without − with){adds}",
            w.feature,
            fmt_sig(saves, 3)
        ),
        "Cost without the feature minus cost with it, for the same fleet: never more than \
         the fleet costs without it.",
        vec![saves],
    ));
}

/// What a fleet's cost with the feature means, on hover.
const WITH_HOVER: &str =
    "This evaluation's cost: servers held, cache storage, routed class, electricity.";

/// The optimum with the cache (the recommendation) and the optimum without it.
fn optima_lines(lines: &mut Vec<FigureLine>, o: &Optima) {
    let p95 = |ms: Option<f64>| ms.map_or_else(|| "-".into(), |v| fmt_sig(v, 3));
    let costs = (
        o.with.as_ref().map(|f| f.cost_usd_per_hour),
        o.without.as_ref().map(|f| f.cost_usd_per_hour),
    );
    // The two optima's costs side by side: digits enough to tell them apart.
    let (with_cost, without_cost) = match costs {
        (Some(a), Some(b)) => fmt_sig_pair(a, b, 3),
        (a, b) => (
            a.map_or_else(String::new, |x| fmt_sig(x, 3)),
            b.map_or_else(String::new, |x| fmt_sig(x, 3)),
        ),
    };
    if let Some(w) = &o.with {
        lines.push(figures(
            format!(
                "{RECOMMENDATION}, the optimum with the cache: {}, {with_cost} $/hour, p95 {} ms",
                w.fleet,
                p95(w.p95_ms)
            ),
            "The best fleet the optimiser finds with the plan's cache.",
            [Some(w.cost_usd_per_hour), w.p95_ms]
                .into_iter()
                .flatten()
                .collect(),
        ));
    }
    let without = match &o.without {
        Some(f) => figures(
            format!(
                "the optimum without the cache: {}, {without_cost} $/hour, p95 {} ms",
                f.fleet,
                p95(f.p95_ms)
            ),
            WITHOUT_HOVER,
            [Some(f.cost_usd_per_hour), f.p95_ms]
                .into_iter()
                .flatten()
                .collect(),
        ),
        None => line(
            "the optimum without the cache: no feasible fleet".into(),
            WITHOUT_HOVER,
        ),
    };
    lines.push(without);
    if let Some(s) = o.savings_usd_per_hour {
        lines.push(figures(
            format!(
                "optimum against optimum: the cache saves {} $/hour",
                fmt_sig(s, 3)
            ),
            "The optimum's cost without the cache minus the recommendation's cost.",
            vec![s],
        ));
    }
}

/// What the optimum without the cache means, on hover.
const WITHOUT_HOVER: &str = "The best fleet the optimiser finds for the same plan with its \
     cache off: often another fleet than the recommendation.";

const LAZY_WORDS: Words = Words {
    with: "computing only p of results",
    without: "computing every result (p = 1)",
    feature: "lazy evaluation",
};

/// The recommendation and the plan as written at p and at p = 1.
fn lazy_section(results: &Results) -> FigureSection {
    let mut lines = Vec::new();
    match &results.lazy_comparison {
        Some(l) => {
            lines.push(figures(
                format!(
                    "p = {}: every cost on this panel already computes only p of results",
                    fmt_sig(l.fraction_needed, 3)
                ),
                "The model sends only p of the traffic to servers, so an evaluation's cost is \
                 already the lazy cost; the full cost is the same fleet evaluated at p = 1.",
                vec![l.fraction_needed],
            ));
            for (who, same) in [
                (RECOMMENDATION, &l.recommendation),
                (AS_WRITTEN, &l.as_written),
            ] {
                if let Some(s) = same {
                    same_fleet_lines(&mut lines, who, s, &LAZY_WORDS);
                }
            }
        }
        None => lines.push(line(
            "p = 1: every result is computed, so lazy evaluation saves nothing.".into(),
            "Lower the fraction needed p to compute only the results that are read.",
        )),
    }
    FigureSection {
        heading: "What lazy evaluation saves",
        lines,
    }
}
