//! App layer: the Caching & lazy panel's figures as data — each line names the
//! evaluation it belongs to (the recommendation, the plan as written, the optimum
//! without the cache) and shows the numbers `costscope plan --json` prints for it.

use super::state::Results;
use crate::model::compare::{Optima, SameFleet};

/// One line of figures.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureLine {
    /// What is shown, evaluation named first.
    pub text: String,
    /// What it means, on hover.
    pub hover: &'static str,
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
    FigureLine { text, hover }
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
            lines: vec![line(
                format!(
                    "{RECOMMENDATION}: mean {:.1} ms, p95 {:.1} ms",
                    l.mean, l.p95
                ),
                "The day's response-time mixture of needed requests, cache hits included.",
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
        lines.push(line(
            format!(
                "{RECOMMENDATION}: hit rate (all tiers) {:.1} %",
                e.cache.hit_rate * 100.0
            ),
            "h₁ + (1 − h₁)·h₂: requests answered by L1 or L2 without inference.",
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
        lines.push(line(
            format!(
                "{RECOMMENDATION}: reuse savings (r − 1)·C_E {:.2} $ per million computed results",
                e.cache.reuse_savings_usd_per_million
            ),
            "C_E is what the recommendation's fleet pays per computed result; each extra \
             use of a result saves one C_E.",
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
    lines.push(line(
        format!(
            "{who}, {}, {}: {:.3} $/hour",
            s.fleet, w.with, s.with_usd_per_hour
        ),
        "This evaluation's cost: servers held, cache storage, routed class, electricity.",
    ));
    let why = s.without_infeasible.as_deref().unwrap_or("infeasible");
    let (Some(cost), Some(saves)) = (s.without_usd_per_hour, s.savings_usd_per_hour) else {
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
    let short = s
        .without_infeasible
        .as_ref()
        .map_or_else(String::new, |why| format!(" (infeasible: {why})"));
    lines.push(line(
        format!("{who}, same fleet {}: {cost:.3} $/hour{short}", w.without),
        "The same policy, servers and batch evaluated with the feature off.",
    ));
    let adds = if saves < 0.0 {
        format!("; {} adds {:.3} $/hour", w.feature, -saves)
    } else {
        String::new()
    };
    lines.push(line(
        format!(
            "{who}: {} saves {saves:.3} $/hour (same fleet, without − with){adds}",
            w.feature
        ),
        "Cost without the feature minus cost with it, for the same fleet: never more than \
         the fleet costs without it.",
    ));
}

/// The optimum with the cache (the recommendation) and the optimum without it.
fn optima_lines(lines: &mut Vec<FigureLine>, o: &Optima) {
    let p95 = |ms: Option<f64>| ms.map_or_else(|| "-".into(), |v| format!("{v:.1}"));
    if let Some(w) = &o.with {
        lines.push(line(
            format!(
                "{RECOMMENDATION}, the optimum with the cache: {}, {:.3} $/hour, p95 {} ms",
                w.fleet,
                w.cost_usd_per_hour,
                p95(w.p95_ms)
            ),
            "The best fleet the optimiser finds with the plan's cache.",
        ));
    }
    let without = match &o.without {
        Some(f) => format!(
            "the optimum without the cache: {}, {:.3} $/hour, p95 {} ms",
            f.fleet,
            f.cost_usd_per_hour,
            p95(f.p95_ms)
        ),
        None => "the optimum without the cache: no feasible fleet".into(),
    };
    lines.push(line(
        without,
        "The best fleet the optimiser finds for the same plan with its cache off: often \
         another fleet than the recommendation.",
    ));
    if let Some(s) = o.savings_usd_per_hour {
        lines.push(line(
            format!("optimum against optimum: the cache saves {s:.3} $/hour"),
            "The optimum's cost without the cache minus the recommendation's cost.",
        ));
    }
}

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
            lines.push(line(
                format!(
                    "p = {:.3}: every cost on this panel already computes only p of results",
                    l.fraction_needed
                ),
                "The model sends only p of the traffic to servers, so an evaluation's cost is \
                 already the lazy cost; the full cost is the same fleet evaluated at p = 1.",
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
